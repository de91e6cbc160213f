"""Backups and restores on real databases (SQLite file, PostgreSQL) with real files."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from suivi import clock
from suivi.audit.models import AuditEvent
from suivi.audit.service import record
from suivi.backup.service import BackupError
from suivi.backup.service import RestoreRefusedError
from suivi.backup.service import compare_with_manifest
from suivi.backup.service import create_backup
from suivi.backup.service import list_backups
from suivi.backup.service import restore_backup
from suivi.contract.models import Meeting
from suivi.migrate import current_heads
from suivi.reports.models import ReportFile
from suivi.scheduler import run_job
from tests.support.backup import files_of
from tests.support.backup import flip_byte
from tests.support.backup import generate_partner_report
from tests.support.backup import generate_report_file
from tests.support.backup import instance_files
from tests.support.backup import rows
from tests.support.backup import settings_for
from tests.support.backup import write_emails
from tests.support.databases import DEMO_AS_OF


def audit_rows(db, action: str) -> list[AuditEvent]:
    with db.session(write=False) as session:
        return list(
            session.execute(
                select(AuditEvent).where(AuditEvent.entity == "backup", AuditEvent.action == action)
            ).scalars()
        )


def test_backup_then_restore_into_a_fresh_database(demo_db, empty_db, tmp_path):
    source = settings_for(demo_db, tmp_path / "source")
    report = generate_partner_report(demo_db, source)
    write_emails(source, 2)
    (source.outbox.dir / "being-written.eml.tmp").write_bytes(b"half a mess")
    before = rows(source)

    backup = create_backup(demo_db.engine, source, tmp_path / "backups")

    manifest = backup.manifest
    assert backup.path.parent == tmp_path / "backups"
    assert list_backups(tmp_path / "backups") == [backup.path]
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [backup.path.name]  # no partial
    assert manifest["tables"] == before and manifest["tables"]["measurement"] > 0
    assert manifest["schema_revision"] == current_heads()[0]
    expected_files = {f"reports/{k}" for k in files_of(source.reports.dir)} | {
        f"outbox/{k}" for k in files_of(source.outbox.dir) if not k.endswith(".tmp")
    }
    assert set(manifest["files"]) == expected_files | {manifest["database"]}
    assert len(expected_files) == 3  # one report, two e-mails; the .tmp file is left out
    assert json.loads((backup.path / "manifest.json").read_text())["name"] == backup.path.name
    # The backup is recorded in the database it saved.
    assert [event.entity_id for event in audit_rows(demo_db, "create")] == [backup.path.name]

    target = settings_for(empty_db, tmp_path / "target")
    result = restore_backup(backup.path, target)

    assert result.differences == []
    restored = rows(target)
    assert restored == {**before, "audit_event": before["audit_event"] + 1}  # + the restore's
    source_files = instance_files(source)
    source_files["outbox"].pop("being-written.eml.tmp")
    assert instance_files(target) == source_files
    with empty_db.session(write=False) as session:
        archived = session.execute(select(ReportFile)).scalar_one()
    assert archived.path == report.relative_to(source.reports.dir).as_posix()
    assert files_of(target.reports.dir)[archived.path] == archived.sha256
    assert [event.actor_label for event in audit_rows(empty_db, "import")] == ["cli"]


def test_writes_during_the_backup_are_kept_up_to_its_start(
    backend, reference_db, database_factory, tmp_path
):
    """A thread commits audit rows while the backup runs: every write acknowledged before
    the backup started is restored, the restored rows are a prefix of the writes (one
    consistent snapshot), and writers were not held up by the backup."""
    source = settings_for(reference_db, tmp_path / "source")
    # Enough archive to copy that the backup takes a while.
    for number in range(40):
        path = source.reports.dir / "copil" / "2026" / f"big-{number}.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([number]) * 1_000_000)
    acknowledged: list[tuple[int, float]] = []
    stop = threading.Event()

    def write_burst() -> None:
        number = 0
        while not stop.is_set():
            with reference_db.session(write=True) as session:
                record(
                    session,
                    action="create",
                    entity="burst",
                    entity_id=number,
                    actor_label="test",
                )
            acknowledged.append((number, time.perf_counter()))
            number += 1

    writer = threading.Thread(target=write_burst)
    writer.start()
    try:
        while len(acknowledged) < 20:
            time.sleep(0.01)
        started = time.perf_counter()
        backup = create_backup(reference_db.engine, source, tmp_path / "backups")
        finished = time.perf_counter()
    finally:
        stop.set()
        writer.join()

    target_db = database_factory.create(backend, "empty", tmp_path)
    try:
        target = settings_for(target_db, tmp_path / "target")
        result = restore_backup(backup.path, target)
        with target_db.session(write=False) as session:
            restored = {
                int(value)
                for value in session.execute(
                    select(AuditEvent.entity_id).where(AuditEvent.entity == "burst")
                ).scalars()
            }
        restored_rows = rows(target)
    finally:
        database_factory.drop(target_db)

    assert result.differences == []
    before_start = {number for number, at in acknowledged if at < started}
    assert before_start <= restored
    assert restored == set(range(len(restored)))  # a prefix: one consistent snapshot
    assert backup.manifest["tables"]["audit_event"] == len(restored)
    assert restored_rows["audit_event"] == len(restored) + 1  # + the restore's audit row
    assert {k: v for k, v in restored_rows.items() if k != "audit_event"} == {
        k: v for k, v in backup.manifest["tables"].items() if k != "audit_event"
    }
    assert files_of(target.reports.dir) == files_of(source.reports.dir)
    during = [number for number, at in acknowledged if started <= at <= finished]
    assert during, "writers were blocked during the backup"


def truncate(path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def _damage(backup, how: str) -> str:
    """Damage the backup; return what the refusal must say."""
    database = backup.path / backup.manifest["database"]
    report = next(name for name in backup.manifest["files"] if name.startswith("reports/"))
    if how == "flipped byte in the database":
        flip_byte(database, database.stat().st_size // 2)
        return f"{database.name} : contenu altéré (SHA-256 différent)"
    if how == "truncated database":
        truncate(database, database.stat().st_size // 3)
        return f"{database.name} : {database.stat().st_size} octets au lieu de"
    if how == "truncated report":
        truncate(backup.path / report, 100)
        return f"{report} : 100 octets au lieu de"
    if how == "missing e-mail":
        email = next(name for name in backup.manifest["files"] if name.startswith("outbox/"))
        (backup.path / email).unlink()
        return f"{email} : fichier absent"
    if how == "altered manifest":
        manifest = backup.path / "manifest.json"
        manifest.write_text(manifest.read_text().replace('"measurement": ', '"measurement": 1'))
        return "manifest.json ne correspond pas à son empreinte SHA-256"
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        "flipped byte in the database",
        "truncated database",
        "truncated report",
        "missing e-mail",
        "altered manifest",
    ],
)
def test_a_damaged_backup_is_refused_and_the_target_left_untouched(
    demo_db, reference_db, tmp_path, how
):
    source = settings_for(demo_db, tmp_path / "source")
    generate_report_file(source)
    write_emails(source, 1)
    backup = create_backup(demo_db.engine, source, tmp_path / "backups")
    expected_message = _damage(backup, how)

    target = settings_for(reference_db, tmp_path / "target")
    write_emails(target, 1)
    rows_before, files_before = rows(target), instance_files(target)

    with pytest.raises(BackupError) as refusal:
        restore_backup(backup.path, target, force=True)

    message = str(refusal.value)
    assert "corrompue" in message and expected_message in message
    assert not isinstance(refusal.value, RestoreRefusedError)
    assert rows(target) == rows_before
    assert instance_files(target) == files_before
    assert sorted(p.name for p in target.reports.dir.parent.iterdir()) == ["outbox"]


def test_restore_into_a_database_with_data_needs_force(demo_db, reference_db, tmp_path):
    source = settings_for(demo_db, tmp_path / "source")
    generate_report_file(source)
    backup = create_backup(demo_db.engine, source, tmp_path / "backups")
    target = settings_for(reference_db, tmp_path / "target")
    rows_before = rows(target)
    assert rows_before["commitment"] == 0 and rows_before["quartier"] > 0

    with pytest.raises(RestoreRefusedError) as refusal:
        restore_backup(backup.path, target)

    assert "la base de données contient déjà des données" in str(refusal.value)
    assert "--force" in str(refusal.value)
    assert rows(target) == rows_before
    assert files_of(target.reports.dir) == {}

    result = restore_backup(backup.path, target, force=True)

    assert result.differences == []
    manifest_rows = backup.manifest["tables"]
    assert rows(target) == {**manifest_rows, "audit_event": manifest_rows["audit_event"] + 1}
    assert files_of(target.reports.dir) == files_of(source.reports.dir)


def test_the_check_after_a_restore_says_what_differs(demo_db, empty_db, tmp_path):
    source = settings_for(demo_db, tmp_path / "source")
    generate_report_file(source)
    write_emails(source, 1)
    backup = create_backup(demo_db.engine, source, tmp_path / "backups")
    target = settings_for(empty_db, tmp_path / "target")
    restore_backup(backup.path, target)
    report_name, report_hash = next(iter(files_of(target.reports.dir).items()))
    # Someone writes between the restore and the check.
    (target.reports.dir / report_name).write_bytes(b"changed")
    (target.outbox.dir / "late.eml").write_bytes(b"late")
    with empty_db.session() as session:
        session.execute(
            delete(Meeting).where(Meeting.id == select(func.min(Meeting.id)).scalar_subquery())
        )
    meetings = backup.manifest["tables"]["meeting"]

    differences = compare_with_manifest(target.database.url, target, backup.manifest)

    assert differences == [
        "table audit_event : 1 ligne au lieu de 0",  # the restore's own audit row
        f"table meeting : {meetings - 1} lignes au lieu de {meetings}",
        f"[reports] {report_name} : 7 octets au lieu de "
        f"{backup.manifest['files']['reports/' + report_name]['size']} (tronqué)",
        "[outbox] late.eml : fichier en trop",
    ]
    assert report_hash == backup.manifest["files"]["reports/" + report_name]["sha256"]


def test_the_backup_job_keeps_the_latest_backups(demo_db, tmp_path):
    settings = settings_for(demo_db, tmp_path / "instance")
    settings.backup.keep = 3
    folder = settings.backup.dir
    other = folder / "notes-de-l-administrateur"
    other.mkdir(parents=True)
    start = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    runs = []
    for day in range(5):
        with clock.frozen_at(start + timedelta(days=day)):
            runs.append(
                run_job(demo_db.engine, settings, "backup", as_of=DEMO_AS_OF, trigger="schedule")
            )

    assert [run.outcome for run in runs] == ["success"] * 5
    assert [run.counts["deleted"] for run in runs] == [0, 0, 0, 1, 1]
    assert runs[0].counts["tables"] == len(rows(settings))
    assert runs[0].counts["rows"] > 1000
    assert [path.name for path in list_backups(folder)] == [
        "suivi-backup-20261122T013000Z",
        "suivi-backup-20261123T013000Z",
        "suivi-backup-20261124T013000Z",
    ]
    assert other.is_dir()  # not a backup: never deleted
    assert len(audit_rows(demo_db, "create")) == 5
    assert {event.actor_label for event in audit_rows(demo_db, "create")} == {
        "job:backup (schedule)"
    }
