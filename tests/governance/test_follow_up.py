"""The next COPIL report opens with « Suivi des décisions du comité du … »: each decision's
status, what its indicators did since the meeting, overdue decisions first."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime

from sqlalchemy import select

from suivi import clock
from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.contract.models import Meeting
from suivi.governance import service
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.reports.archive import generate_report
from tests.support.databases import DEMO_AS_OF
from tests.support.governance import new_meeting
from tests.support.reports import pdftotext


def test_the_copil_report_opens_with_the_follow_up_of_the_last_decisions(demo_db):
    meeting_id = new_meeting(demo_db)
    with demo_db.session() as session:
        chef = load_principal(
            session, session.execute(select(User).where(User.role == "chef_de_projet")).scalar_one()
        )
        meeting = session.get(Meeting, meeting_id)
        indicator_id, measured = session.execute(
            select(Indicator.id, Indicator.code)
            .join(Measurement, Measurement.indicator_id == Indicator.id)
            .where(
                Measurement.measured_on > meeting.held_on, Measurement.superseded_by_id.is_(None)
            )
            .order_by(Indicator.id)
            .limit(1)
        ).one()
        service.hold_meeting(session, chef, meeting, as_of=DEMO_AS_OF)
        done = service.create_decision(
            session,
            chef,
            meeting,
            fields={"text": "Décision réalisée", "due_on": date(2026, 7, 31)},
        )
        service.add_update(
            session, chef, done, status="realisee", comment="Fait.", as_of=date(2026, 7, 20)
        )
        service.create_decision(
            session,
            chef,
            meeting,
            fields={"text": "Décision en retard", "due_on": date(2026, 6, 30)},
            links={"indicator": [indicator_id]},
        )
        revision = service.create_decision(
            session,
            chef,
            meeting,
            fields={"text": "Relever la cible finale", "kind": "revision_cible"},
        )
        indicator = session.get(Indicator, indicator_id)
        final = (
            session.execute(
                select(Target)
                .where(Target.indicator_id == indicator_id)
                .order_by(Target.target_date)
            )
            .scalars()
            .all()[-1]
        )
        with clock.frozen_at(datetime(2026, 10, 1, 10, tzinfo=UTC)):
            service.revise_target_by_decision(
                session,
                chef,
                revision,
                final,
                value=final.value + (final.value - indicator.baseline_value) / 10,
                avenant_reference="Avenant n° 2",
                as_of=date(2026, 10, 1),
            )
    generated = generate_report(
        demo_db.engine, demo_db.settings, kind="copil", as_of=DEMO_AS_OF, contract_id=1
    )
    follow_up = generated.rendered  # the PDF, read back
    text = " ".join(pdftotext(generated.path).split())
    heading = "Suivi des décisions du comité de pilotage du 2 juin 2026"
    assert heading in text
    start = text.index(heading, text.index("Sommaire") + 200)
    assert start < text.index("Synthèse", start)  # the report opens with it
    section = text[start : text.index("Synthèse", start)]
    assert "dont 1 en retard" in section
    assert section.index("Décision en retard") < section.index("Décision réalisée")
    assert re.search(rf"{measured} : \d+ mesures? depuis le comité", section)
    assert "dernière" in section and "En retard" in section
    assert "Dernier suivi, 20 juillet 2026 : Fait." in section
    assert follow_up.pages > 1
    # The changed target, with the decision and avenant that changed it (the text's
    # non-breaking spaces were joined as plain ones above).
    assert (
        "En application de la décision n 3 du comité de pilotage du 2 juin 2026, Avenant n° 2"
        in text
    )
