"""A reading is checked once, by the shared rules, whoever writes it (issue 16): what
`CheckedMeasurements.check` accepted is written by `create_measurements` without a second
check, but only for exactly the values, term, baseline and today it was checked with;
anything else is checked again. An import checks every row once. Readings are written and audited in
chunks, each matched to its id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from suivi.errors import Invalid
from suivi.indicators import service
from suivi.indicators.models import Measurement
from suivi.indicators.service import CheckedMeasurements
from suivi.indicators.service import NewMeasurement
from suivi.indicators.service import create_measurements
from tests.support.databases import DEMO_AS_OF
from tests.support.indicators import first_indicator_and_contract
from tests.support.indicators import free_days
from tests.support.io import import_from


@pytest.fixture
def check_calls(monkeypatch) -> list:
    """Every call of the shared check (`check_measurement`), wherever it comes from."""
    calls: list = []
    original = service.check_measurement

    def counted(*args, **kwargs):
        calls.append(kwargs["measured_on"])
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "check_measurement", counted)
    return calls


def test_a_checked_reading_is_written_without_a_second_check(demo_db, check_calls):
    with demo_db.session() as session:
        indicator, contract = first_indicator_and_contract(session)
        [day] = free_days(session, indicator, 1)
        checked = CheckedMeasurements(contract, DEMO_AS_OF)
        cleaned = checked.check(
            contract,
            indicator.baseline_date,
            measured_on=day,
            value=2.5,
            comment="relevé\r\nmanuel",
        )
        assert check_calls == [day]
        item = NewMeasurement(indicator, day, cleaned["value"], cleaned["comment"])

        [row] = create_measurements(
            session, contract, [item], actor_id=None, today=DEMO_AS_OF, checked=checked
        )

        assert check_calls == [day]  # not checked again
        stored = session.get(Measurement, row["id"])
        assert (stored.measured_on, stored.value, stored.comment) == (day, 2.5, "relevé\nmanuel")


def test_a_refused_reading_is_not_remembered_as_checked(demo_db):
    with demo_db.session() as session:
        indicator, contract = first_indicator_and_contract(session)
        [day] = free_days(session, indicator, 1)
        checked = CheckedMeasurements(contract, DEMO_AS_OF)
        with pytest.raises(Invalid):
            checked.check(contract, indicator.baseline_date, measured_on=day, value=1e13)
        item = NewMeasurement(indicator, day, 1e13)

        assert not checked.holds(
            (contract.id, contract.term_start, contract.term_end), DEMO_AS_OF, item
        )
        with pytest.raises(Invalid):
            create_measurements(
                session, contract, [item], actor_id=None, today=DEMO_AS_OF, checked=checked
            )


@pytest.mark.parametrize("change", ["value", "comment", "today", "baseline", "date"])
def test_a_reading_unlike_what_was_checked_is_checked_again(demo_db, check_calls, change):
    with demo_db.session() as session:
        indicator, contract = first_indicator_and_contract(session)
        [day] = free_days(session, indicator, 1)
        checked = CheckedMeasurements(contract, DEMO_AS_OF)
        checked.check(contract, indicator.baseline_date, measured_on=day, value=2.0)
        value, comment, today = 2.0, "", DEMO_AS_OF
        if change == "value":
            value = 1e13  # not the value that was checked, and out of bounds
        elif change == "comment":
            comment = "\x00"  # not the comment that was checked, and refused
        elif change == "today":
            today = day - timedelta(days=1)  # the reading is now in the future
        elif change == "baseline":
            indicator.baseline_date = day + timedelta(days=1)  # now before the baseline
        else:
            day = contract.term_end + timedelta(days=1)  # another date, out of the term
            today = DEMO_AS_OF if day <= DEMO_AS_OF else day
        item = NewMeasurement(indicator, day, value, comment)

        with pytest.raises(Invalid):
            create_measurements(
                session, contract, [item], actor_id=None, today=today, checked=checked
            )

        assert len(check_calls) == 2  # checked again, and refused
        session.rollback()


def test_an_import_checks_each_reading_once(demo_db, check_calls, tmp_path):
    with demo_db.session() as session:
        indicator, _ = first_indicator_and_contract(session)
        code, days = indicator.code, free_days(session, indicator, 3)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Mesures")
    sheet.append(["Code indicateur", "Date", "Valeur", "Commentaire"])
    for n, day in enumerate(days):
        sheet.append([code, day, 10.0 + n, f"ligne {n}"])
    path = tmp_path / "mesures.xlsx"
    workbook.save(path)

    report = import_from(demo_db, path, today=DEMO_AS_OF)

    assert report.ok, [str(p) for p in report.problems]
    assert report.created["Mesures"] == 3
    assert sorted(check_calls) == days  # once per row: by the import, not again by the service
    with demo_db.session(write=False) as session:
        stored = session.execute(
            select(Measurement.measured_on, Measurement.value, Measurement.comment).where(
                Measurement.indicator_id == indicator.id, Measurement.measured_on.in_(days)
            )
        ).all()
    assert sorted(stored) == [(day, 10.0 + n, f"ligne {n}") for n, day in enumerate(days)]
