"""Eight simultaneous corrections of one measurement: exactly one succeeds (201), the others
are told it was already corrected (409), and one current value remains for the date. Also
the database itself refuses a second current value for one indicator and date."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from suivi.clock import frozen_at
from suivi.contract.models import Contract
from suivi.db import utcnow
from suivi.errors import Conflict
from suivi.indicators import service
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from tests.support.databases import DEMO_AS_OF

NOW = datetime.combine(DEMO_AS_OF, datetime.min.time().replace(hour=15), ZoneInfo("Europe/Paris"))
THREADS = 8


def test_parallel_corrections_leave_one_current_value(api):
    indicator = api.ids["in"]["indicator_id"]
    measurement = api.ids["in"]["measurement_id"]
    with api.db.session(write=False) as session:
        day = session.get(Measurement, measurement).measured_on
    url = f"/api/indicators/{indicator}/measurements/{measurement}/correction"
    headers = api.headers("chef_de_projet")
    clients = [TestClient(api.client.app) for _ in range(THREADS)]
    start = threading.Barrier(THREADS)
    statuses: list[int] = []

    def correct(client: TestClient, value: float) -> None:
        start.wait()
        response = client.post(
            url, headers=headers, json={"value": value, "reason": f"correction {value}"}
        )
        statuses.append(response.status_code)

    with frozen_at(NOW):
        threads = [
            threading.Thread(target=correct, args=(client, float(n)))
            for n, client in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(statuses) == [201] + [409] * (THREADS - 1)
    with api.db.session(write=False) as session:
        current = session.scalar(
            select(func.count())
            .select_from(Measurement)
            .where(
                Measurement.indicator_id == indicator,
                Measurement.measured_on == day,
                Measurement.superseded_by_id.is_(None),
            )
        )
    assert current == 1


def test_parallel_corrections_in_the_service_serialise(api):
    """The race itself, without the API's token bookkeeping (which happens to serialise
    requests of one token): eight transactions correct the same row at once."""
    measurement = api.ids["in"]["measurement_id"]
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def correct(value: float) -> None:
        start.wait()  # (before the session: on SQLite a writing session holds the lock)
        with api.db.session() as session:
            old = session.get(Measurement, measurement)
            indicator = session.get(Indicator, old.indicator_id)
            contract = session.get(Contract, indicator.contract_id)
            try:
                service.correct_measurement(
                    session,
                    contract,
                    indicator,
                    old,
                    measured_on=None,
                    value=value,
                    reason="course",
                    actor_id=None,
                    today=DEMO_AS_OF,
                )
                session.flush()
            except Conflict:
                outcomes.append("409")
                session.rollback()
                return
        outcomes.append("201")

    threads = [threading.Thread(target=correct, args=(float(n),)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["201"] + ["409"] * (THREADS - 1)
    with api.db.session(write=False) as session:
        old = session.get(Measurement, measurement)
        current = session.scalar(
            select(func.count())
            .select_from(Measurement)
            .where(
                Measurement.indicator_id == old.indicator_id,
                Measurement.measured_on == old.measured_on,
                Measurement.superseded_by_id.is_(None),
            )
        )
    assert current == 1


def test_database_refuses_a_second_current_value_for_a_date(api):
    measurement = api.ids["in"]["measurement_id"]
    with api.db.session() as session:
        old = session.get(Measurement, measurement)
        row = {
            "indicator_id": old.indicator_id,
            "measured_on": old.measured_on,
            "value": 1.0,
            "comment": "",
            "evidence_url": "",
            "correction_reason": "",
            "entered_at": utcnow(),
        }
        with pytest.raises(IntegrityError):
            session.execute(insert(Measurement).values(**row))
        session.rollback()


def test_api_create_on_a_date_already_measured_is_a_409(api):
    indicator = api.ids["in"]["indicator_id"]
    measurement = api.ids["in"]["measurement_id"]
    with api.db.session(write=False) as session:
        day = session.get(Measurement, measurement).measured_on
    with frozen_at(NOW):
        response = api.post(
            "chef_de_projet",
            f"/api/indicators/{indicator}/measurements",
            json={"measured_on": day.isoformat(), "value": 5.0},
        )
    assert response.status_code == 409
    assert "corrigez-la" in response.json()["detail"]
