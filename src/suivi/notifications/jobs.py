"""Scheduled jobs of the notifications domain.

The partner summaries job (`send_partner_summaries`) lives with the summaries code and
registers itself with `@job` the same way.
"""

from __future__ import annotations

from suivi.jobs import JobContext, job
from suivi.notifications.reminders import send_reminders


@job("send_reminders")
def send_reminders_job(context: JobContext) -> dict[str, int]:
    # A run started by hand retries pending messages at once; a scheduled run waits for
    # each message's backoff to elapse.
    return send_reminders(
        context.engine,
        context.settings,
        as_of=context.as_of,
        respect_backoff=context.trigger != "manual",
    )
