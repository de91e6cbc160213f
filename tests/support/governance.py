"""A fresh committee meeting for the governance tests (the demo's past meetings are held and
the autumn 2025 COPIL already has its decisions)."""

from __future__ import annotations

from datetime import date

from suivi.contract.models import Contract
from suivi.contract.service import create_meeting

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
