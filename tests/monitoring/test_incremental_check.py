"""The daily job judges only what may have changed, and still ends with exactly the alerts a
full check would open: change notes written by database triggers, per-indicator conclusions
that hold until a known day."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from suivi.commitments.models import Commitment
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.monitoring.models import Alert
from suivi.monitoring.models import IndicatorChange
from suivi.monitoring.models import IndicatorCheck
from suivi.monitoring.service import alerts_of
from suivi.scheduler import run_job
from tests.support.databases import DEMO_AS_OF
from tests.support.indicators import write_correction


def run_check(db, as_of: date) -> dict:
    run = run_job(db.engine, db.settings, "check_indicators", as_of=as_of)
    assert run.outcome == "success", run.error
    return run.counts


def open_alert_keys(db) -> set[tuple[int, str]]:
    with db.session() as session:
        rows = session.execute(
            select(Alert.indicator_id, Alert.kind).where(Alert.resolved_on.is_(None))
        ).all()
    return {tuple(row) for row in rows}


def full_check_alerts(db, as_of: date) -> set[tuple[int, str]]:
    """What a check judging every indicator from its measurements would leave open."""
    with db.session() as session:
        contract_ids = session.execute(text("SELECT id FROM contract")).scalars().all()
        wanted = set()
        for contract_id in contract_ids:
            evaluated = evaluate_indicators(session, contract_id=contract_id, as_of=as_of)
            for item in evaluated.values():
                if item.active and item.evaluation is not None:
                    wanted |= {(item.id, kind) for kind in alerts_of(item.evaluation)}
    return wanted


def notes(db) -> list[int]:
    with db.session() as session:
        return list(session.execute(select(IndicatorChange.indicator_id)).scalars())


def some_indicator(db, **where) -> Indicator:
    with db.session() as session:
        query = select(Indicator).order_by(Indicator.id)
        for name, value in where.items():
            query = query.where(getattr(Indicator, name) == value)
        indicator = session.execute(query).scalars().first()
        session.expunge(indicator)
        return indicator


def test_an_ordinary_day_judges_nothing_and_keeps_every_alert(demo_db):
    first = run_check(demo_db, DEMO_AS_OF)
    assert first["evaluated"] > 200 and first["unchanged"] == 0
    assert notes(demo_db) == []  # the demo's change notes were consumed
    before = open_alert_keys(demo_db)

    next_day = run_check(demo_db, DEMO_AS_OF + timedelta(days=1))
    assert next_day["evaluated"] == 0 and next_day["contracts"] == 0
    with demo_db.session() as session:
        total = len(session.execute(select(Indicator.id)).all())
    assert next_day["unchanged"] == total
    assert next_day["open"] == len(before) == first["open"]
    assert open_alert_keys(demo_db) == before == full_check_alerts(demo_db, DEMO_AS_OF)


def test_only_the_changed_indicator_is_judged_again(demo_db):
    run_check(demo_db, DEMO_AS_OF)
    indicator = some_indicator(demo_db)
    with demo_db.session() as session:
        session.add(Measurement(indicator_id=indicator.id, measured_on=DEMO_AS_OF, value=1.0))
    assert notes(demo_db) == [indicator.id]
    counts = run_check(demo_db, DEMO_AS_OF)
    assert counts["evaluated"] == 1 and counts["contracts"] == 1
    assert notes(demo_db) == []
    assert open_alert_keys(demo_db) == full_check_alerts(demo_db, DEMO_AS_OF)


WRITES = {
    "measurement inserted": "INSERT INTO measurement (indicator_id, measured_on, value, comment, "
    "evidence_url, correction_reason, entered_at) VALUES (:id, '2026-11-01', 3, '', '', '', "
    "CURRENT_TIMESTAMP)",
    "measurement superseded": "UPDATE measurement SET correction_reason = 'x' "
    "WHERE indicator_id = :id",
    "target revised": "UPDATE target SET value = value + 1 WHERE indicator_id = :id",
    "target deleted": "DELETE FROM target WHERE indicator_id = :id",
    "indicator edited": "UPDATE indicator SET grace_days = grace_days + 1 WHERE id = :id",
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_kind_of_write_leaves_a_change_note(demo_db, write):
    run_check(demo_db, DEMO_AS_OF)
    indicator = some_indicator(demo_db)
    with demo_db.session() as session:
        session.execute(text(WRITES[write]), {"id": indicator.id})
    assert set(notes(demo_db)) == {indicator.id}


def test_a_commitment_status_change_notes_its_indicators_and_nothing_else(demo_db):
    run_check(demo_db, DEMO_AS_OF)
    indicator = some_indicator(demo_db)
    with demo_db.session() as session:
        members = set(
            session.execute(
                select(Indicator.id).where(Indicator.commitment_id == indicator.commitment_id)
            ).scalars()
        )
        # Another column than the status: no note.
        session.execute(
            update(Commitment)
            .where(Commitment.id == indicator.commitment_id)
            .values(title=Commitment.title + " ")
        )
    assert notes(demo_db) == []
    with demo_db.session() as session:
        session.execute(
            update(Commitment)
            .where(Commitment.id == indicator.commitment_id)
            .values(status="suspendu")
        )
    assert set(notes(demo_db)) == members
    run_check(demo_db, DEMO_AS_OF)
    assert not {key for key in open_alert_keys(demo_db) if key[0] in members}
    assert open_alert_keys(demo_db) == full_check_alerts(demo_db, DEMO_AS_OF)


def test_a_note_of_an_unknown_indicator_is_dropped(demo_db):
    run_check(demo_db, DEMO_AS_OF)
    with demo_db.session() as session:
        session.add(IndicatorChange(indicator_id=10**9))
    counts = run_check(demo_db, DEMO_AS_OF)
    assert counts["evaluated"] == 0 and notes(demo_db) == []


def test_a_check_for_an_earlier_day_judges_everything_again(demo_db):
    run_check(demo_db, DEMO_AS_OF)
    earlier = DEMO_AS_OF - timedelta(days=200)
    counts = run_check(demo_db, earlier)
    assert counts["unchanged"] == 0
    assert open_alert_keys(demo_db) == full_check_alerts(demo_db, earlier)


def test_months_of_daily_checks_match_a_full_check_every_day(demo_db):
    """Days go by while figures arrive, get corrected, targets move and commitments are
    suspended: after every run the open alerts are exactly those a full check opens."""
    with demo_db.session() as session:
        indicators = session.execute(
            select(Indicator.id, Indicator.commitment_id, Indicator.baseline_value).order_by(
                Indicator.id
            )
        ).all()
    judged = 0
    day = DEMO_AS_OF
    for step in range(40):
        day = DEMO_AS_OF + timedelta(days=4 * step)
        indicator_id, commitment_id, baseline = indicators[(step * 37) % len(indicators)]
        with demo_db.session() as session:
            if step % 4 == 0:  # a figure arrives (sometimes dated in the future)
                on = day + timedelta(days=10 if step % 8 == 0 else -1)
                session.add(Measurement(indicator_id=indicator_id, measured_on=on, value=baseline))
            elif step % 4 == 1:  # a figure is corrected
                current = select(Measurement).where(
                    Measurement.indicator_id == indicator_id,
                    Measurement.superseded_by_id.is_(None),
                )
                old = session.scalars(current.order_by(Measurement.measured_on.desc())).first()
                if old is not None:
                    write_correction(session, old, old.value * 3 + 1, "erreur de saisie")
            elif step % 4 == 2:  # a target is revised
                session.execute(
                    update(Target)
                    .where(Target.indicator_id == indicator_id)
                    .values(value=Target.value * 2)
                )
            elif step % 8 == 3:  # a commitment is suspended
                session.execute(
                    update(Commitment)
                    .where(Commitment.id == commitment_id)
                    .values(status="suspendu")
                )
        counts = run_check(demo_db, day)
        judged += counts["evaluated"]
        assert open_alert_keys(demo_db) == full_check_alerts(demo_db, day), day
    # Far fewer judgements than a full check every run (40 × ~270).
    assert judged < 10 * len(indicators)


def test_conclusions_are_kept_per_indicator(demo_db):
    run_check(demo_db, DEMO_AS_OF)
    with demo_db.session() as session:
        rows = session.execute(select(IndicatorCheck)).scalars().all()
        count = session.execute(select(Indicator.id)).all()
    assert len(rows) == len(count)
    assert {row.checked_on for row in rows} == {DEMO_AS_OF}
    assert all(row.recheck_on is None or row.recheck_on > DEMO_AS_OF for row in rows)
    # Deleting them (e.g. after a change of rules) makes the next run judge everything.
    with demo_db.session() as session:
        session.execute(delete(IndicatorCheck))
    assert run_check(demo_db, DEMO_AS_OF)["unchanged"] == 0


def test_a_figure_dated_in_the_future_counts_on_its_day(demo_db):
    """Entered before the first run (when everything is judged in one pass) and dated after
    it: judged again on its date, not only when its indicator next comes due."""
    with demo_db.session() as session:
        evaluated = evaluate_indicators(session, contract_id=1, as_of=DEMO_AS_OF)
    # An indicator with no alert whose figure will be far off track.
    calm = next(
        item
        for item in evaluated.values()
        if item.evaluation is not None
        and item.spec.direction == "increase"
        and item.spec.targets
        and not alerts_of(item.evaluation)
    )
    later = DEMO_AS_OF + timedelta(days=3)
    with demo_db.session() as session:
        worst = calm.spec.baseline_value - 10 * abs(calm.spec.targets[-1][1])
        session.add(Measurement(indicator_id=calm.id, measured_on=later, value=worst - 100))
    run_check(demo_db, DEMO_AS_OF)
    assert not {key for key in open_alert_keys(demo_db) if key[0] == calm.id}
    with demo_db.session() as session:
        assert session.get(IndicatorCheck, calm.id).recheck_on == later
    counts = run_check(demo_db, later)
    assert counts["evaluated"] >= 1
    assert (calm.id, "off_track") in open_alert_keys(demo_db)
    assert open_alert_keys(demo_db) == full_check_alerts(demo_db, later)


def test_check_all_from_the_command_line_judges_everything_again(demo_db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from suivi.audit.models import AuditEvent
    from suivi.cli import app
    from suivi.db import dispose_engines

    config = tmp_path / "config.toml"
    config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", demo_db.url)
    runner = CliRunner()
    try:
        day = ["--config", str(config), "check", "--as-of", DEMO_AS_OF.isoformat()]
        first = runner.invoke(app, day)
        assert first.exit_code == 0, first.output
        again = runner.invoke(app, day)
        assert again.exit_code == 0 and "evaluated 0," in again.output
        everything = runner.invoke(app, [*day, "--all"])
        assert everything.exit_code == 0, everything.output
        assert "unchanged 0," in everything.output and "opened 0," in everything.output
    finally:
        dispose_engines()
    with demo_db.session() as session:
        audit = session.execute(
            select(AuditEvent).where(AuditEvent.entity == "indicator_check")
        ).scalar_one()
    assert audit.actor_label == "cli:check --all" and audit.after["forgotten"] > 200


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ("margin = 1e6", "off_track"),
        ("margin = 1e6", "at_risk"),
        ("forecast = :no", "forecast_miss"),
    ],
)
def test_a_changed_margin_or_forecast_flag_is_judged_again(demo_db, change, kind):
    """The indicator trigger of migration 0002 notes any update of an indicator, so the
    reference sheet's margin and forecast flag (migration 0007) need nothing more: the next
    daily check judges the indicator again and closes the alert the change made false."""
    run_check(demo_db, DEMO_AS_OF)
    alerted = sorted(i for i, k in open_alert_keys(demo_db) if k == kind)
    assert alerted, f"the demo has no open {kind} alert"
    indicator_id = alerted[0]
    with demo_db.session() as session:
        session.execute(
            text(f"UPDATE indicator SET {change} WHERE id = :id"), {"id": indicator_id, "no": False}
        )
    assert notes(demo_db) == [indicator_id]
    counts = run_check(demo_db, DEMO_AS_OF)
    assert counts["evaluated"] == 1
    assert (indicator_id, kind) not in open_alert_keys(demo_db)
    assert open_alert_keys(demo_db) == full_check_alerts(demo_db, DEMO_AS_OF)
