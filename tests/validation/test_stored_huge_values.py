"""Values outside the input domain already in the database (an old base, a direct write):
every page, the open data, a report and the daily check still work; the indicator holding
them is judged « données invalides » (no verdict), never fatal to its neighbours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy import select

from suivi.commitments.models import Commitment
from suivi.contract.models import Contract
from suivi.contract.models import Quartier
from suivi.db import utcnow
from suivi.formatting import format_amount
from suivi.formatting import format_number
from suivi.formatting import format_percent
from suivi.formatting import format_signed
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.evaluation import evaluate_summaries
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.monitoring.service import check_indicators
from tests.support.databases import DEMO_AS_OF
from tests.support.web_clients import AS_OF

HUGE = 1.7e308


def _insert_measurement(session, **values) -> int:
    """A measurement written past every validator (a plain INSERT); returns its id."""
    row = {"comment": "", "evidence_url": "", "correction_reason": "", "entered_at": utcnow()}
    inserted = session.execute(insert(Measurement).values({**row, **values}))
    return inserted.inserted_primary_key[0]


def _store_huge_values(db, indicator_id: int) -> dict[str, int]:
    """Two huge current values on a cumulative indicator (their sum overflows), a huge
    superseded value and a huge target on others: written past every validator."""
    with db.session() as session:
        indicator = session.get(Indicator, indicator_id)
        indicator.cumulative = True
        # Two consecutive days with no reading yet (the demo has some near its day).
        taken = set(
            session.execute(
                select(Measurement.measured_on).where(Measurement.indicator_id == indicator_id)
            ).scalars()
        )
        day = DEMO_AS_OF - timedelta(days=3)
        while day in taken or day + timedelta(days=1) in taken:
            day -= timedelta(days=2)
        for offset in (0, 1):
            _insert_measurement(
                session,
                indicator_id=indicator_id,
                measured_on=day + timedelta(days=offset),
                value=HUGE,
            )
        other = session.execute(
            select(Indicator.id).where(Indicator.id != indicator_id).order_by(Indicator.id)
        ).scalars()
        superseded_on, targeted = next(other), next(other)
        current_id = _insert_measurement(
            session, indicator_id=superseded_on, measured_on=DEMO_AS_OF, value=1.0
        )
        _insert_measurement(
            session,
            indicator_id=superseded_on,
            measured_on=DEMO_AS_OF,
            value=1e27,
            superseded_by_id=current_id,
            correction_reason="erreur",
        )
        target = session.execute(
            select(Target).where(Target.indicator_id == targeted).limit(1)
        ).scalar_one()
        target.value = 1e300
        session.add(target)
        return {"huge": indicator_id, "superseded": superseded_on, "targeted": targeted}


def test_formatting_never_raises_on_a_stored_value():
    for value in (1e27, -1e27, HUGE, float("inf"), float("-inf"), float("nan")):
        for formatter in (format_number, format_amount, format_percent, format_signed):
            assert formatter(value)  # some French text, no exception


def test_pages_open_data_report_and_daily_check_survive_huge_stored_values(web):
    ids = _store_huge_values(web.db, web.ids["in_indicator"])
    chef = web["chef_de_projet"]
    with web.db.session() as session:
        contract_id = session.execute(select(Contract.id)).scalar_one()
        quartier = session.execute(select(Quartier.code).order_by(Quartier.id)).scalars().first()
        commitment_ids = [
            session.get(Indicator, indicator_id).commitment_id for indicator_id in ids.values()
        ]
        assert session.get(Commitment, commitment_ids[0]) is not None
    urls = ["/", "/contrat", "/engagements", "/quartiers", f"/quartiers/{quartier}", "/alertes"]
    urls += [f"/engagements/{commitment_id}" for commitment_id in commitment_ids]
    urls += [f"/indicateurs/{indicator_id}" for indicator_id in ids.values()]
    urls += ["/partenaires", "/api/rollups", "/api/io/opendata"]
    for url in urls:
        separator = "&" if "?" in url else "?"
        response = chef.get(f"{url}{separator}as_of={AS_OF}")
        assert response.status_code == 200, (url, response.status_code, response.text[-500:])

    # The API says why it cannot judge the bad indicator, as for an inconsistent one.
    evaluation = chef.get(f"/api/indicators/{ids['huge']}/evaluation?as_of={AS_OF}")
    assert evaluation.status_code == 422 and "incohérent" in evaluation.json()["detail"]

    report = chef.post(f"/rapports?as_of={AS_OF}", {"type": "copil"}, htmx=False)
    assert report.status_code == 303, report.text[-500:]

    with web.db.session() as session:
        evaluated = evaluate_indicators(
            session, contract_id=contract_id, as_of=DEMO_AS_OF, include_inactive=True
        )
        summaries = evaluate_summaries(
            session, contract_id=contract_id, as_of=DEMO_AS_OF, include_inactive=True
        )
        result = check_indicators(session, contract_id=contract_id, as_of=DEMO_AS_OF)
    # The bad indicators get no verdict; the others keep theirs.
    for bad in (ids["huge"], ids["targeted"]):
        assert evaluated[bad].evaluation is None
        assert summaries[bad].evaluation is None
    judged = [v for v in summaries.values() if v.evaluation is not None]
    assert len(judged) >= len(summaries) - 2
    assert result is not None


@pytest.mark.parametrize("value", [HUGE, -HUGE])
def test_evaluation_of_one_bad_indicator_is_none_not_an_error(demo_db, value):
    with demo_db.session() as session:
        indicator = session.execute(select(Indicator).order_by(Indicator.id).limit(1)).scalar_one()
        indicator.baseline_value = value
        session.add(indicator)
        session.flush()
        evaluated = evaluate_indicators(
            session, contract_id=indicator.contract_id, as_of=DEMO_AS_OF
        )
        summaries = evaluate_summaries(session, contract_id=indicator.contract_id, as_of=DEMO_AS_OF)
    assert evaluated[indicator.id].evaluation is None
    assert summaries[indicator.id].evaluation is None
