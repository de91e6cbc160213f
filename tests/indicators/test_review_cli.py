"""`suivi meetings lock ID --cutoff DATE` and `unlock`: a committee's cut-off from the command
line, audited, and the refusal it brings to the service."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from suivi.cli import app
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.errors import Conflict
from suivi.indicators import service
from suivi.indicators.models import Indicator
from tests.support.review import audit_rows
from tests.support.review import autumn_copil
from tests.support.review import france_travail_indicators


def _run(monkeypatch, db, *args):
    monkeypatch.setenv("SUIVI_DATABASE_URL", db.url)
    monkeypatch.delenv("SUIVI_CONFIG", raising=False)
    (db.work_dir / "none.toml").write_text("", encoding="utf-8")
    return CliRunner().invoke(app, ["--config", str(db.work_dir / "none.toml"), *args])


def test_meetings_lock_and_unlock(demo_db, monkeypatch):
    meeting = autumn_copil(demo_db)
    bad = _run(monkeypatch, demo_db, "meetings", "lock", str(meeting.id), "--cutoff", "31/10")
    assert bad.exit_code == 2 and "Date invalide" in bad.output
    late = _run(monkeypatch, demo_db, "meetings", "lock", str(meeting.id), "--cutoff", "2027-01-01")
    assert late.exit_code == 1 and "doit précéder" in late.output
    done = _run(monkeypatch, demo_db, "meetings", "lock", str(meeting.id), "--cutoff", "2026-10-31")
    assert done.exit_code == 0, done.output
    assert "données arrêtées au 31 octobre 2026, verrouillées" in done.output
    indicator_id = france_travail_indicators(demo_db)[0]
    with demo_db.session() as session:
        indicator = session.get(Indicator, indicator_id)
        contract = session.get(Contract, indicator.contract_id)
        with pytest.raises(Conflict, match="Comité de pilotage 2026"):
            service.create_measurement(
                session,
                contract,
                indicator,
                measured_on=date(2026, 10, 30),
                value=1,
                actor_id=None,
                today=date(2026, 11, 15),
            )
    reopened = _run(
        monkeypatch, demo_db, "meetings", "unlock", str(meeting.id), "--reason", "CAF tardive"
    )
    assert reopened.exit_code == 0, reopened.output
    with demo_db.session(write=False) as session:
        assert session.get(Meeting, meeting.id).locked is False
    labels = [row.actor_label for row in audit_rows(demo_db, "meeting", meeting.id)]
    assert labels == ["cli", "cli"]
    missing = _run(monkeypatch, demo_db, "meetings", "lock", "999999", "--cutoff", "2026-10-31")
    assert missing.exit_code == 2 and "introuvable" in missing.output
