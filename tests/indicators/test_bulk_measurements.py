"""The bulk measurement functions behind every writer (API, form, import): many readings in
one statement, each audited; one refused reading refuses them all; corrections keep the
reason on the replaced reading and write two audit events each."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.errors import Conflict
from suivi.errors import Invalid
from suivi.indicators import service
from suivi.indicators.models import Measurement
from suivi.indicators.service import MeasurementCorrection
from suivi.indicators.service import NewMeasurement
from suivi.indicators.service import correct_measurements
from suivi.indicators.service import create_measurements
from tests.support.databases import DEMO_AS_OF
from tests.support.indicators import first_indicator_and_contract
from tests.support.indicators import free_days


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("chunk", [None, 2], ids=["one-chunk", "chunks-of-2"])
def test_many_readings_are_created_and_each_audited(demo_db, monkeypatch, chunk):
    if chunk:  # written 2 at a time: the ids still match their readings
        monkeypatch.setattr(service, "_WRITE_CHUNK", chunk)
    with demo_db.session() as session:
        indicator, contract = first_indicator_and_contract(session)
        days = free_days(session, indicator, 5)
        items = [NewMeasurement(indicator, day, 10.0 + n) for n, day in enumerate(days)]
        rows = create_measurements(
            session, contract, items, actor_id=None, actor_label="test", today=DEMO_AS_OF
        )
        assert [(r["measured_on"], r["value"]) for r in rows] == [
            (d, 10.0 + n) for n, d in enumerate(days)
        ]
        stored = {
            m.id: m
            for m in session.scalars(
                select(Measurement).where(Measurement.id.in_([r["id"] for r in rows]))
            )
        }
        assert [(stored[r["id"]].measured_on, stored[r["id"]].value) for r in rows] == [
            (r["measured_on"], r["value"]) for r in rows
        ]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.actor_label == "test").order_by(AuditEvent.id)
        ).all()
        assert [(e.action, e.entity_id, e.after["value"]) for e in events] == [
            ("create", str(r["id"]), r["value"]) for r in rows
        ]
        assert len({e.at for e in events}) == 1  # one time for the whole batch


@pytest.mark.parametrize("case", ["same date twice", "date already measured", "bad value"])
def test_one_refused_reading_refuses_the_whole_batch(demo_db, case):
    with demo_db.session() as session:
        indicator, contract = first_indicator_and_contract(session)
        day, other = free_days(session, indicator, 2)
        measured = session.scalars(
            select(Measurement.measured_on).where(
                Measurement.indicator_id == indicator.id, Measurement.superseded_by_id.is_(None)
            )
        ).first()
        last = {
            "same date twice": NewMeasurement(indicator, day, 2.0),
            "date already measured": NewMeasurement(indicator, measured, 2.0),
            "bad value": NewMeasurement(indicator, other, 1e13),
        }[case]
        before = (_count(session, Measurement), _count(session, AuditEvent))
        with pytest.raises(Conflict if case != "bad value" else Invalid):
            create_measurements(
                session,
                contract,
                [NewMeasurement(indicator, day, 1.0), last],
                actor_id=None,
                today=DEMO_AS_OF,
            )
        assert (_count(session, Measurement), _count(session, AuditEvent)) == before


def test_corrections_keep_the_reason_on_the_replaced_readings(demo_db):
    with demo_db.session() as session:
        indicator, contract = first_indicator_and_contract(session)
        days = free_days(session, indicator, 2)
        rows = create_measurements(
            session,
            contract,
            [NewMeasurement(indicator, day, 1.0) for day in days],
            actor_id=None,
            today=DEMO_AS_OF,
        )
        olds = [session.get(Measurement, row["id"]) for row in rows]
        news = correct_measurements(
            session,
            contract,
            [
                MeasurementCorrection(indicator, old, 5.0 + n, f"motif {n}")
                for n, old in enumerate(olds)
            ],
            actor_id=None,
            actor_label="correction",
            today=DEMO_AS_OF,
        )
        assert [(o.superseded_by_id, o.correction_reason) for o in olds] == [
            (news[0].id, "motif 0"),
            (news[1].id, "motif 1"),
        ]
        assert [(n.value, n.superseded_by_id, n.correction_reason) for n in news] == [
            (5.0, None, ""),
            (6.0, None, ""),
        ]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.actor_label == "correction").order_by(AuditEvent.id)
        ).all()
        assert [(e.action, e.entity_id) for e in events] == [
            ("update", str(olds[0].id)),
            ("create", str(news[0].id)),
            ("update", str(olds[1].id)),
            ("create", str(news[1].id)),
        ]
        assert events[0].after["correction_reason"] == "motif 0"
