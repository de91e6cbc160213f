"""Scheduled jobs of the notifications domain.

The partner summaries job (`send_partner_summaries`) lives with the summaries code and
registers itself with `@job` the same way. A message left pending (SMTP server down)
makes its run partial and is sent again by the hourly `retry_emails` job.
"""

from __future__ import annotations

from suivi.db import utcnow
from suivi.jobs import JobContext, JobResult, job
from suivi.notifications.delivery import delivery_result, retry_pending
from suivi.notifications.reminders import send_reminders


@job("send_reminders")
def send_reminders_job(context: JobContext) -> JobResult:
    # A run started by hand retries pending messages at once; a scheduled run waits for
    # each message's backoff.
    counts = send_reminders(
        context.engine,
        context.settings,
        as_of=context.as_of,
        respect_backoff=context.trigger != "manual",
    )
    return delivery_result(counts)


@job("retry_emails")
def retry_emails_job(context: JobContext) -> JobResult:
    """Pending reminders and partner summaries sent again as they were stored, until
    `[smtp] max_attempts`; light when nothing waits (one query)."""
    counts = retry_pending(
        context.engine,
        context.settings,
        run_started_at=utcnow(),
        respect_backoff=context.trigger != "manual",
    )
    return delivery_result(counts)
