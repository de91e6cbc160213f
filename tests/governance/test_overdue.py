"""Decisions past their due date: `decision_overdue` alerts opened and resolved by the daily
check, and a « Décisions du comité en retard » section in the owners' reminder digests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.contract.models import Meeting
from suivi.governance import service
from suivi.governance.models import DecisionAlert
from suivi.notifications.reminders import plan_reminders
from suivi.notifications.reminders import reminder_email
from suivi.scheduler import run_job
from tests.support.databases import DEMO_AS_OF
from tests.support.governance import new_meeting


def _late_decision(demo_db) -> tuple[int, int]:
    meeting_id = new_meeting(demo_db)
    with demo_db.session() as session:
        users = {u.role: u for u in session.execute(select(User)).scalars()}
        chef = load_principal(session, users["chef_de_projet"])
        meeting = session.get(Meeting, meeting_id)
        service.hold_meeting(session, chef, meeting, as_of=DEMO_AS_OF)
        decision = service.create_decision(
            session,
            chef,
            meeting,
            fields={
                "text": "Signer la convention d'insertion",
                "owner_partner_id": users["partenaire"].partner_id,
                "due_on": date(2026, 9, 30),
            },
        )
        service.create_decision(
            session, chef, meeting, fields={"text": "À temps", "due_on": date(2026, 12, 31)}
        )
        return decision.id, users["partenaire"].id


def test_the_daily_check_opens_and_resolves_decision_overdue_alerts(demo_db):
    decision_id, _ = _late_decision(demo_db)
    run = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    assert run.outcome == "success"
    with demo_db.session(write=False) as session:
        late = len(service.overdue_decisions(session, 1, DEMO_AS_OF))
    assert run.counts["decisions_opened"] == late >= 1  # the demo's late ones and this one
    again = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    assert "decisions_opened" not in again.counts  # never twice
    with demo_db.session(write=False) as session:
        (alert,) = (
            session.execute(select(DecisionAlert).where(DecisionAlert.decision_id == decision_id))
            .scalars()
            .all()
        )
        assert (alert.decision_id, alert.kind, alert.opened_on) == (
            decision_id,
            "decision_overdue",
            DEMO_AS_OF,
        )
    with demo_db.session() as session:
        chef = load_principal(
            session, session.execute(select(User).where(User.role == "chef_de_projet")).scalar_one()
        )
        decision = session.get(service.Decision, decision_id)
        service.add_update(
            session, chef, decision, status="realisee", comment="Signée.", as_of=DEMO_AS_OF
        )
    later = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    assert later.counts["decisions_resolved"] == 1
    with demo_db.session(write=False) as session:
        resolved = select(DecisionAlert.resolved_on).where(DecisionAlert.decision_id == decision_id)
        assert session.execute(resolved).scalar_one() == DEMO_AS_OF


def test_overdue_decisions_are_in_their_owners_reminder_digests(demo_db):
    decision_id, partner_user_id = _late_decision(demo_db)
    with demo_db.session(write=False) as session:
        digests = {
            d.user_id: d for d in plan_reminders(session, demo_db.settings, as_of=DEMO_AS_OF)
        }
        roles = {u.id: u.role for u in session.execute(select(User)).scalars()}
    partner_digest = digests[partner_user_id]
    assert [d.decision_id for d in partner_digest.decisions][-1:] == [decision_id]
    assert partner_digest.decisions[-1].days_late == (DEMO_AS_OF - date(2026, 9, 30)).days
    chefs = [d for uid, d in digests.items() if roles[uid] == "chef_de_projet"]
    assert chefs and all(d.decisions for d in chefs)
    others = [
        d for uid, d in digests.items() if roles[uid] == "partenaire" and uid != partner_user_id
    ]
    assert all(not d.decisions for d in others)
    email = reminder_email(demo_db.settings, partner_digest, as_of=DEMO_AS_OF)
    assert "DÉCISIONS DU COMITÉ EN RETARD (" in email.text
    assert "Signer la convention d" in email.html and f"/decisions/{decision_id}" in email.html
