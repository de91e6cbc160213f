"""The daily check of the annual report consultations: after the deadline, each body that
did not answer is recorded « avis réputé favorable (absence de réponse) »."""

from __future__ import annotations

from suivi.annual.service import deem_all_silent_bodies
from suivi.db import session_scope
from suivi.jobs import JobContext, JobResult, job


@job("close_annual_consultations")
def close_annual_consultations_job(context: JobContext) -> JobResult:
    with session_scope(context.engine, write=True) as session:
        deemed = deem_all_silent_bodies(session, context.as_of)
    return JobResult({"deemed_favorable": deemed}, done=deemed)
