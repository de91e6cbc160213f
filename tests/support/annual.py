"""Shared steps of the annual report tests: principals of the demo accounts, and a report
taken through consultation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from suivi.annual import service
from suivi.auth.models import User
from suivi.auth.principal import load_principal

OPENED_ON = date(2026, 11, 15)
DEADLINE_DAYS = 30


def principal_of(session, email: str):
    user = session.execute(select(User).where(User.email == email)).scalar_one()
    return load_principal(session, user)


def open_2026(db) -> int:
    """Create the 2026 report of the demo and open its consultation; returns its id."""
    with db.session() as session:
        admin = principal_of(session, "admin@example.org")
        report = service.create_report(session, admin, contract_id=1, year=2026)
        service.open_consultation(
            session, admin, report, as_of=OPENED_ON, deadline_days=DEADLINE_DAYS
        )
        return report.id
