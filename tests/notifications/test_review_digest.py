"""The reminder digest's « à valider » section (issue #18): a validator's pending figures,
flagged past `[validation] escalate_after_days`, and an author's returned figures."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select

from suivi import clock
from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.contract.models import Contract
from suivi.indicators import review
from suivi.indicators import service
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.notifications.reminders import plan_reminders
from suivi.notifications.reminders import reminder_email
from tests.support.databases import DEMO_AS_OF
from tests.support.review import france_travail_indicators

MONDAY = DEMO_AS_OF + timedelta(days=1)  # 2026-11-16


def _digests(db, as_of):
    with db.session(write=False) as session:
        return {d.email: d for d in plan_reminders(session, db.settings, as_of=as_of)}


def test_validator_digest_lists_the_figures_to_validate(demo_db):
    digest = _digests(demo_db, MONDAY)["partenaire@example.org"]
    assert len(digest.to_validate) == 3  # the demo's pending France Travail figures
    assert not any(item.escalated for item in digest.to_validate)
    assert all(item.days_waiting == 4 for item in digest.to_validate)
    email = reminder_email(demo_db.settings, digest, as_of=MONDAY)
    assert "3 mesures à valider" in email.subject
    assert "À VALIDER (3)" in email.text
    assert "À valider (3)" in email.html
    assert "http://testserver/a-valider" in email.text
    assert "12 novembre 2026" in email.text

    # Three weeks later they wait for more than 14 days: flagged, first.
    later = MONDAY + timedelta(days=14)
    digest = _digests(demo_db, later)["partenaire@example.org"]
    assert digest.to_validate and all(item.escalated for item in digest.to_validate)
    email = reminder_email(demo_db.settings, digest, as_of=later)
    escalate_after = demo_db.settings.validation.escalate_after_days
    assert f"(plus de {escalate_after} j)" in email.text
    assert f"plus de {escalate_after} j" in email.html


def test_author_digest_lists_the_returned_figures(demo_db):
    indicator_id = france_travail_indicators(demo_db)[0]
    with clock.frozen_at(datetime(2026, 11, 14, 9, tzinfo=UTC)), demo_db.session() as session:
        chef = session.execute(select(User).where(User.role == "chef_de_projet")).scalar_one()
        partner = session.execute(select(User).where(User.role == "partenaire")).scalar_one()
        indicator = session.get(Indicator, indicator_id)
        row = service.create_measurement(
            session,
            session.get(Contract, indicator.contract_id),
            indicator,
            measured_on=date(2026, 11, 13),
            value=17,
            actor_id=chef.id,
            today=date(2026, 11, 14),
        )
        review.return_measurement(
            session,
            load_principal(session, partner),
            session.get(Measurement, row["id"]),
            reason="Chiffre du mois précédent",
        )
    digest = _digests(demo_db, MONDAY)["chef@example.org"]
    assert [item.measurement_id for item in digest.returned] == [row["id"]]
    email = reminder_email(demo_db.settings, digest, as_of=MONDAY)
    assert "1 mesure à corriger" in email.subject
    assert "motif : Chiffre du mois précédent" in email.text
    assert "Chiffre du mois précédent" in email.html
    assert f"http://testserver/indicateurs/{indicator_id}" in email.text
