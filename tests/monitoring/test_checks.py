"""The daily check: alerts opened and resolved as data changes, idempotent, set-based."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.commitments.models import Commitment
from suivi.contract.models import Contract
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.monitoring.models import Alert
from suivi.monitoring.service import alerts_of
from suivi.monitoring.service import check_indicators
from suivi.scheduler import run_job
from tests.support.databases import DEMO_AS_OF
from tests.support.indicators import double_portfolio
from tests.support.indicators import write_correction


def contract_id(db) -> int:
    with db.session() as session:
        return session.execute(select(Contract.id)).scalar_one()


def check(db, as_of=DEMO_AS_OF):
    with db.session() as session:
        return check_indicators(session, contract_id=contract_id(db), as_of=as_of)


def alerts(db) -> list[tuple]:
    with db.session() as session:
        return [
            (a.id, a.indicator_id, a.kind, a.opened_on, a.resolved_on)
            for a in session.execute(select(Alert).order_by(Alert.id)).scalars()
        ]


def open_alerts(db) -> dict[tuple[int, str], tuple]:
    return {(a[1], a[2]): a for a in alerts(db) if a[4] is None}


def test_demo_gets_believable_alerts_and_a_second_run_changes_nothing(demo_db):
    first = check(demo_db)
    kinds = Counter(kind for _, kind in open_alerts(demo_db))
    assert set(kinds) == {"overdue", "off_track", "at_risk", "forecast_miss"}
    assert first.opened == sum(kinds.values()) == first.open
    # Believable: some indicators drift, most do not.
    assert 0 < first.open < first.evaluated
    before = alerts(demo_db)

    second = check(demo_db)
    assert (second.opened, second.resolved, second.open) == (0, 0, first.open)
    assert alerts(demo_db) == before
    with demo_db.session() as session:
        audits = session.execute(
            select(AuditEvent).where(AuditEvent.actor_label == "job:check_indicators")
        ).scalars()
        assert len(list(audits)) == 1  # the first run changed something, the second did not


def test_alerts_match_the_engine_verdicts(demo_db):
    check(demo_db)
    with demo_db.session() as session:
        evaluated = evaluate_indicators(session, contract_id=contract_id(demo_db), as_of=DEMO_AS_OF)
    expected = {
        (item.id, kind)
        for item in evaluated.values()
        if item.evaluation is not None
        for kind in alerts_of(item.evaluation)
    }
    assert set(open_alerts(demo_db)) == expected


def test_overdue_alert_resolved_when_the_figure_arrives(demo_db):
    check(demo_db)
    overdue = sorted(key for key in open_alerts(demo_db) if key[1] == "overdue")
    indicator_id = overdue[0][0]
    others_before = {k: v for k, v in open_alerts(demo_db).items() if k[0] != indicator_id}

    next_day = DEMO_AS_OF + timedelta(days=1)
    with demo_db.session() as session:
        indicator = session.get(Indicator, indicator_id)
        session.add(
            Measurement(
                indicator_id=indicator_id, measured_on=DEMO_AS_OF, value=indicator.baseline_value
            )
        )
    result = check(demo_db, next_day)

    assert result.resolved >= 1
    resolved = {(a[1], a[2]): a for a in alerts(demo_db) if a[4] is not None}
    assert resolved[(indicator_id, "overdue")][4] == next_day
    assert (indicator_id, "overdue") not in open_alerts(demo_db)
    # Nothing else moved.
    assert {k: v for k, v in open_alerts(demo_db).items() if k[0] != indicator_id} == others_before


def test_off_track_resolved_then_reopened_as_a_new_alert(demo_db):
    check(demo_db)
    key = sorted(k for k in open_alerts(demo_db) if k[1] == "off_track")[0]
    indicator_id = key[0]
    with demo_db.session() as session:
        indicator = session.get(Indicator, indicator_id)
        final = session.execute(
            select(Target.value)
            .where(Target.indicator_id == indicator_id)
            .order_by(Target.target_date.desc())
        ).first()[0]
        # Reaching the final target (the demo's cumulative baselines are 0): achieved.
        assert not indicator.cumulative or indicator.baseline_value == 0
        value = final
        reading = Measurement(indicator_id=indicator_id, measured_on=DEMO_AS_OF, value=value)
        session.add(reading)
        session.flush()
        reading_id = reading.id
    day_two = DEMO_AS_OF + timedelta(days=1)
    check(demo_db, day_two)
    assert key not in open_alerts(demo_db)

    # The reading is corrected back to a poor figure: a NEW alert opens, the old one stays
    # resolved (history is kept).
    with demo_db.session() as session:
        old = session.get(Measurement, reading_id)
        indicator = session.get(Indicator, indicator_id)
        write_correction(session, old, indicator.baseline_value, "erreur de saisie")
    day_three = DEMO_AS_OF + timedelta(days=2)
    check(demo_db, day_three)
    rows = [a for a in alerts(demo_db) if (a[1], a[2]) == key]
    assert [(a[3], a[4]) for a in rows] == [(DEMO_AS_OF, day_two), (day_three, None)]


def test_suspended_commitment_alerts_are_resolved(demo_db):
    check(demo_db)
    indicator_id = sorted(open_alerts(demo_db))[0][0]
    with demo_db.session() as session:
        commitment_id = session.get(Indicator, indicator_id).commitment_id
        session.get(Commitment, commitment_id).status = "suspendu"
        members = set(
            session.execute(
                select(Indicator.id).where(Indicator.commitment_id == commitment_id)
            ).scalars()
        )
    result = check(demo_db)  # same day: only the suspension changed
    assert result.opened == 0 and result.resolved >= 1
    assert not [key for key in open_alerts(demo_db) if key[0] in members]


def test_check_is_set_based(demo_db):
    """The same number of statements whatever the number of indicators."""
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    event.listen(demo_db.engine, "before_cursor_execute", count)
    try:
        check(demo_db)
        first = len(statements)
        with demo_db.session() as session:
            double_portfolio(session)
        statements.clear()
        result = check(demo_db)
        assert result.opened > 100  # the copies got their alerts
        assert len(statements) <= first + 1
    finally:
        event.remove(demo_db.engine, "before_cursor_execute", count)


def test_job_run_is_logged(demo_db):
    run = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    assert run.outcome == "success"
    assert run.counts["opened"] > 0 and run.counts["contracts"] == 1
    assert run.finished_at is not None and run.started_at <= run.finished_at
    again = run_job(demo_db.engine, demo_db.settings, "check_indicators", as_of=DEMO_AS_OF)
    assert again.counts["opened"] == 0 and again.counts["resolved"] == 0


def test_job_failure_is_logged_not_raised(empty_db):
    def broken(_context):
        raise RuntimeError("base indisponible")

    run = run_job(
        empty_db.engine, empty_db.settings, "broken", as_of=DEMO_AS_OF, jobs={"broken": broken}
    )
    assert run.outcome == "failed"
    assert "base indisponible" in run.error
