"""Scheduled job `generate_reports`: the COPIL report before each meeting, and monthly.

The schedule (when the job runs) is `[scheduler.jobs.generate_reports]` in config.toml; what
is due is worked out from the archive (`report_file`), so a rerun or a catch-up after a
missed run generates nothing twice:

* before each meeting (COPIL or COTECH) held within `DAYS_BEFORE_MEETING` days after
  `as_of`: one COPIL report for that meeting (`meeting_id` set), once;
* every month: one COPIL report whose `as_of` falls in the month, if none exists yet.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.db import session_scope
from suivi.jobs import JobContext
from suivi.jobs import JobResult
from suivi.jobs import job
from suivi.reports.archive import generate_report
from suivi.reports.models import ReportFile

log = logging.getLogger(__name__)

# A meeting's report is prepared when the meeting is at most this many days away.
DAYS_BEFORE_MEETING = 14


def due_reports(session, contract_id: int, as_of) -> list[tuple[str, int | None]]:
    """What to generate now for one contract: ("meeting", meeting_id) and/or ("monthly", None)."""
    due: list[tuple[str, int | None]] = []
    meetings = session.execute(
        select(Meeting.id)
        .where(
            Meeting.contract_id == contract_id,
            Meeting.held_on >= as_of,
            Meeting.held_on <= as_of + timedelta(days=DAYS_BEFORE_MEETING),
        )
        .order_by(Meeting.held_on, Meeting.id)
    ).scalars()
    done = set(
        session.execute(
            select(ReportFile.meeting_id).where(
                ReportFile.contract_id == contract_id,
                ReportFile.kind == "copil",
                ReportFile.meeting_id.is_not(None),
            )
        ).scalars()
    )
    due.extend(("meeting", meeting_id) for meeting_id in meetings if meeting_id not in done)
    month_start = as_of.replace(day=1)
    monthly = session.execute(
        select(ReportFile.id)
        .where(
            ReportFile.contract_id == contract_id,
            ReportFile.kind == "copil",
            ReportFile.as_of >= month_start,
            ReportFile.as_of <= as_of,
        )
        .limit(1)
    ).scalar_one_or_none()
    if monthly is None and not due:
        due.append(("monthly", None))
    return due


@job("generate_reports")
def generate_reports_job(context: JobContext) -> JobResult:
    """Each due report on its own: one that fails (logged, listed in the run log) leaves the
    others generated and the run partial; it is due again at the next run."""
    counts = {"meeting": 0, "monthly": 0}
    failures: list[str] = []
    with session_scope(context.engine) as session:
        contract_ids = session.execute(select(Contract.id).order_by(Contract.id)).scalars().all()
        plan = {cid: due_reports(session, cid, context.as_of) for cid in contract_ids}
    for contract_id, items in plan.items():
        for reason, meeting_id in items:
            try:
                generated = generate_report(
                    context.engine,
                    context.settings,
                    kind="copil",
                    as_of=context.as_of,
                    contract_id=contract_id,
                    meeting_id=meeting_id,
                )
            except Exception as exc:  # noqa: BLE001 - the other reports still go out
                log.error("report of contract %s (%s) failed", contract_id, reason, exc_info=exc)
                failures.append(
                    f"rapport du contrat {contract_id} ({reason}) : {type(exc).__name__}: {exc}"
                )
                continue
            log.info("report %s generated (%s)", generated.file.path, reason)
            counts[reason] += 1
    if failures:
        counts["failed"] = len(failures)
    return JobResult(
        counts=counts,
        done=counts["meeting"] + counts["monthly"],
        failed=len(failures),
        problems=tuple(line[:300] for line in failures),
    )
