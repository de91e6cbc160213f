"""The COPIL report of a locked meeting (issue #18): it states the cut-off, that the figures
are locked and how many are still unvalidated; it counts only validated figures dated on or
before the cut-off, so regenerating it after later entries gives the same bytes."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

from sqlalchemy import select

from suivi import clock
from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.indicators import review
from suivi.indicators import service
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.reports.archive import generate_report
from suivi.reports.context import build_report_context
from tests.support.reports import pdftotext
from tests.support.review import autumn_copil
from tests.support.review import france_travail_indicators


def _principal(session, role):
    user = session.execute(select(User).where(User.role == role)).scalar_one()
    return load_principal(session, user)


def _enter(session, indicator_id, day, value, *, validate):
    indicator = session.get(Indicator, indicator_id)
    row = service.create_measurement(
        session,
        session.get(Contract, indicator.contract_id),
        indicator,
        measured_on=day,
        value=value,
        actor_id=_principal(session, "admin").user_id,
        today=date(2026, 11, 20),
    )
    if validate:
        review.validate_measurement(
            session, _principal(session, "partenaire"), session.get(Measurement, row["id"])
        )


def test_locked_meeting_report_states_the_cutoff_and_is_reproducible(demo_db):
    first, second = france_travail_indicators(demo_db)[:2]
    meeting = autumn_copil(demo_db)
    settings = demo_db.settings

    def copil_report(as_of: date):
        return generate_report(
            demo_db.engine, settings, kind="copil", as_of=as_of, meeting_id=meeting.id
        )

    with clock.frozen_at(datetime(2026, 11, 16, 9, tzinfo=UTC)):
        with demo_db.session() as session:
            # One figure before the cut-off stays unvalidated: the report counts it apart.
            _enter(session, first, date(2026, 10, 20), 5, validate=False)
            review.lock_meeting(
                session,
                _principal(session, "admin"),
                session.get(Meeting, meeting.id),
                data_cutoff=date(2026, 10, 31),
            )
        one = copil_report(date(2026, 11, 16))
    assert one.rendered.pages > 1 and one.file.as_of == date(2026, 10, 31)
    text = " ".join(pdftotext(one.path).split())
    assert "Données arrêtées au 31 octobre 2026 pour le Comité de pilotage 2026" in text
    assert "les chiffres sont verrouillés" in text
    assert "1 mesure datée jusqu’à l’arrêt reste non validée" in text

    # Later: a figure after the cut-off is entered and validated, another submitted.
    with clock.frozen_at(datetime(2026, 11, 20, 9, tzinfo=UTC)):
        with demo_db.session() as session:
            _enter(session, second, date(2026, 11, 18), 999, validate=True)
            _enter(session, first, date(2026, 11, 19), 998, validate=False)
        two = copil_report(date(2026, 11, 20))
    assert two.rendered.pdf == one.rendered.pdf

    # Reopened by an admin: the next report says so (its context; rendering it is the same
    # template line as above).
    with clock.frozen_at(datetime(2026, 11, 21, 9, tzinfo=UTC)), demo_db.session() as session:
        admin = _principal(session, "admin")
        locked = session.get(Meeting, meeting.id)
        review.unlock_meeting(session, admin, locked, reason="Chiffres CAF tardifs")
        review.lock_meeting(session, admin, locked, data_cutoff=date(2026, 10, 31))
    with demo_db.session(write=False) as session:
        context = build_report_context(
            session,
            contract_id=one.file.contract_id,
            kind="copil",
            as_of=date(2026, 11, 21),
            tz=settings.tz,
            meeting_id=meeting.id,
            charts_enabled=False,
        )
    assert context.as_of == date(2026, 10, 31)
    assert context.cutoff.locked and context.cutoff.unvalidated == 1
    assert context.cutoff.reopenings == [(date(2026, 11, 21), "Chiffres CAF tardifs")]
