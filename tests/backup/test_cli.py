"""`suivi backup` and `suivi restore` through the real command (typer's CliRunner) with a
real config file per instance."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from suivi.cli import app
from suivi.db import dispose_engines
from suivi.jobs import registered_jobs
from tests.support.backup import files_of
from tests.support.backup import flip_byte
from tests.support.backup import generate_report_file
from tests.support.backup import instance_files
from tests.support.backup import rows
from tests.support.backup import settings_for
from tests.support.backup import write_emails


@pytest.fixture(autouse=True)
def _fresh_engines():
    yield
    dispose_engines()  # the CLI caches one engine per URL; the test databases are dropped


def write_config(db, work_dir: Path) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / "config.toml"
    path.write_text(
        f'[app]\nmode = "dev"\n[database]\nurl = "{db.url}"\n'
        '[reports]\ndir = "reports"\n[outbox]\ndir = "outbox"\n[backup]\ndir = "backups"\n',
        encoding="utf-8",
    )
    return path


def suivi(config: Path, *arguments: str):
    return CliRunner().invoke(app, ["--config", str(config), *arguments])


def test_backup_and_restore_commands(demo_db, empty_db, tmp_path):
    source_config = write_config(demo_db, tmp_path / "source")
    source = settings_for(demo_db, tmp_path / "source")
    generate_report_file(source)
    write_emails(source, 2)

    made = suivi(source_config, "backup")

    assert made.exit_code == 0, made.output
    [backup] = (tmp_path / "source" / "backups").iterdir()  # [backup] dir of the config
    assert f"Sauvegarde écrite : {backup}" in made.output
    assert "3 fichier(s)" in made.output

    target_config = write_config(empty_db, tmp_path / "target")
    target = settings_for(empty_db, tmp_path / "target")
    restored = suivi(target_config, "restore", str(backup))

    assert restored.exit_code == 0, restored.output
    assert f"Sauvegarde {backup.name} restaurée" in restored.output
    assert "conformes au manifeste" in restored.output
    assert instance_files(target) == instance_files(source)

    # The target now holds data: a second restore needs --force.
    refused = suivi(target_config, "restore", str(backup))
    assert refused.exit_code == 1
    assert "Restauration refusée : la base de données, le dossier [reports] dir" in refused.output
    assert "Relancez avec --force" in refused.output

    forced = suivi(target_config, "restore", str(backup), "--force")
    assert forced.exit_code == 0, forced.output


def test_backup_out_option_and_a_corrupted_backup(demo_db, reference_db, tmp_path):
    source_config = write_config(demo_db, tmp_path / "source")
    elsewhere = tmp_path / "elsewhere"
    made = suivi(source_config, "backup", "--out", str(elsewhere))
    assert made.exit_code == 0, made.output
    [backup] = elsewhere.iterdir()
    assert not (tmp_path / "source" / "backups").exists()
    flip_byte(
        backup / "database.sqlite3" if demo_db.backend == "sqlite" else backup / "database.pgdump",
        4000,
    )

    target_config = write_config(reference_db, tmp_path / "target")
    target = settings_for(reference_db, tmp_path / "target")
    before = rows(target)
    refused = suivi(target_config, "restore", str(backup), "--force")

    assert refused.exit_code == 1
    assert f"Sauvegarde {backup.name} refusée, elle est corrompue ou incomplète" in refused.output
    assert "contenu altéré (SHA-256 différent)" in refused.output
    assert rows(target) == before
    assert files_of(target.reports.dir) == {}


def test_a_missing_backup_folder_is_said_in_french(empty_db, tmp_path):
    config = write_config(empty_db, tmp_path / "instance")
    result = suivi(config, "restore", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "Sauvegarde introuvable" in result.output


def test_the_backup_job_is_registered_and_scheduled_daily():
    from suivi.config import load_settings

    assert "backup" in registered_jobs()
    settings = load_settings(Path(__file__).resolve().parents[2] / "config.toml", environ={})
    assert settings.scheduler.jobs["backup"].cron == "30 2 * * *"
    assert settings.backup.keep == 14
    assert settings.backup.dir == Path(__file__).resolve().parents[2] / "var" / "backups"


def test_backup_settings_come_from_the_environment_too():
    from suivi.config import load_settings

    settings = load_settings(
        Path(__file__).resolve().parents[2] / "config.toml",
        environ={"SUIVI_BACKUP_DIR": "/srv/sauvegardes", "SUIVI_BACKUP_KEEP": "3"},
    )
    assert (settings.backup.dir, settings.backup.keep) == (Path("/srv/sauvegardes"), 3)
