"""Scheduled jobs of the notifications domain.

The partner summaries job (`send_partner_summaries`) lives with the summaries code and
registers itself with `@job` the same way. A message left pending (SMTP server down)
makes its run partial and is sent again by the hourly `retry_emails` job.
"""

from __future__ import annotations

from collections.abc import Callable

from suivi.db import utcnow
from suivi.jobs import JobContext
from suivi.jobs import JobResult
from suivi.jobs import job
from suivi.notifications.delivery import delivery_result
from suivi.notifications.delivery import retry_pending
from suivi.notifications.reminders import send_reminders


def respects_backoff(context: JobContext) -> bool:
    """A run started by hand retries pending messages at once; a scheduled run waits for
    each message's backoff."""
    return context.trigger != "manual"


def run_sender(context: JobContext, send: Callable[..., dict[str, int]]) -> JobResult:
    """The job run of a sender (`send_reminders`, `send_partner_summaries`, …) as of the
    run's day. Messages left pending make the run partial (`delivery_result`)."""
    backoff = respects_backoff(context)
    counts = send(context.engine, context.settings, as_of=context.as_of, respect_backoff=backoff)
    return delivery_result(counts)


@job("send_reminders")
def send_reminders_job(context: JobContext) -> JobResult:
    return run_sender(context, send_reminders)


@job("retry_emails")
def retry_emails_job(context: JobContext) -> JobResult:
    """Pending reminders and partner summaries sent again as they were stored, until
    `[smtp] max_attempts`; light when nothing waits (one query)."""
    counts = retry_pending(
        context.engine,
        context.settings,
        run_started_at=utcnow(),
        respect_backoff=respects_backoff(context),
    )
    return delivery_result(counts)
