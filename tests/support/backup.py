"""Helpers of the backup tests: real files in the reports archive and the outbox, what an
instance holds (rows per table, files with their SHA-256), and a damaged file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from suivi.backup.database import database_contents
from suivi.config import Settings
from suivi.contract.models import Partner
from suivi.notifications.email import OutboxTransport
from suivi.notifications.email import OutgoingEmail
from suivi.notifications.email import build_message
from suivi.reports.archive import generate_report
from tests.support.databases import DEMO_AS_OF
from tests.support.databases import TestDatabase
from tests.support.databases import make_settings


def settings_for(db: TestDatabase, work_dir: Path) -> Settings:
    """The settings of an instance whose reports and outbox live under `work_dir` (two
    instances of one test must not share folders)."""
    settings = make_settings(db.url, work_dir)
    settings.backup.dir = work_dir / "backups"
    return settings


def rows(settings: Settings) -> dict[str, int]:
    return database_contents(settings.database.url)[1]


def files_of(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> SHA-256)."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def instance_files(settings: Settings) -> dict[str, dict[str, str]]:
    return {"reports": files_of(settings.reports.dir), "outbox": files_of(settings.outbox.dir)}


def write_emails(settings: Settings, count: int) -> None:
    """`count` messages written by the real outbox transport."""
    transport = OutboxTransport(settings.outbox.dir)
    for number in range(count):
        outgoing = OutgoingEmail(
            dedup_key=f"test:backup:{number}",
            kind="reminder",
            period="2026-W47",
            recipient=f"agent{number}@example.org",
            subject=f"Rappel {number}",
            text=f"Bonjour, message {number}.",
            html=f"<p>Bonjour, message {number}.</p>",
        )
        transport.send(build_message(settings, outgoing), outgoing.recipient)


def generate_partner_report(db: TestDatabase, settings: Settings) -> Path:
    """A real PDF in the archive, with its `report_file` row."""
    with db.session(write=False) as session:
        partner_id = session.execute(select(Partner.id).order_by(Partner.id)).scalars().first()
    generated = generate_report(
        db.engine, settings, kind="partner", scope=str(partner_id), as_of=DEMO_AS_OF
    )
    return generated.path


def flip_byte(path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def generate_report_file(settings) -> None:
    """A file in the archive (the content does not matter to a backup)."""
    path = settings.reports.dir / "copil" / "2026" / "copil-2026-11-15.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
