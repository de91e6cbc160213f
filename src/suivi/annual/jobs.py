"""Jobs of the annual report and the conseils citoyens: the daily check of the
consultations (after the deadline, each body that did not answer is recorded « avis réputé
favorable (absence de réponse) ») and the monthly summary to the conseils citoyens."""

from __future__ import annotations

from suivi.annual.service import deem_all_silent_bodies
from suivi.annual.summaries import send_conseil_summaries
from suivi.db import session_scope
from suivi.jobs import JobContext
from suivi.jobs import JobResult
from suivi.jobs import job
from suivi.notifications.jobs import run_sender


@job("close_annual_consultations")
def close_annual_consultations_job(context: JobContext) -> JobResult:
    with session_scope(context.engine, write=True) as session:
        deemed = deem_all_silent_bodies(session, context.as_of)
    return JobResult({"deemed_favorable": deemed}, done=deemed)


@job("send_conseil_summaries")
def send_conseil_summaries_job(context: JobContext) -> JobResult:
    return run_sender(context, send_conseil_summaries)
