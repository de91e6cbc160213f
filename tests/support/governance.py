"""A fresh committee meeting for the governance tests (the demo's past meetings are held and
the autumn 2025 COPIL already has its decisions)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.contract.service import create_meeting
from suivi.governance.models import Decision
from suivi.indicators.models import Indicator
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision

MEETING_DAY = date(2026, 6, 2)


def new_meeting(db, held_on: date = MEETING_DAY, kind: str = "copil") -> int:
    """Create a meeting (status `prevue`) in the demo contract; returns its id."""
    with db.session() as session:
        meeting = create_meeting(
            session,
            session.get(Contract, 1),
            fields={"kind": kind, "held_on": held_on, "title": f"Instance du {held_on}"},
            actor_id=None,
        )
        return meeting.id


def avenant_revisions(db, avenant: str = "Avenant n° 1") -> list[dict]:
    """The demo's target revisions under `avenant` (two, from the mid-term preparation), as
    the database holds them: indicator code, target date, original and revised values, the
    decision's number and meeting day."""
    with db.session(write=False) as session:
        rows = session.execute(
            select(TargetRevision, Target, Indicator, Decision, Meeting)
            .join(Target, Target.id == TargetRevision.target_id)
            .join(Indicator, Indicator.id == Target.indicator_id)
            .join(Decision, Decision.id == TargetRevision.decision_id)
            .join(Meeting, Meeting.id == Decision.meeting_id)
            .where(TargetRevision.avenant_reference.like(f"{avenant}%"))
            .order_by(Indicator.code)
        ).all()
        return [
            {
                "code": indicator.code,
                "target_date": target.target_date,
                "original": revision.old_value,
                "revised": target.value,
                "number": decision.number,
                "held_on": meeting.held_on,
            }
            for revision, target, indicator, decision, meeting in rows
        ]
