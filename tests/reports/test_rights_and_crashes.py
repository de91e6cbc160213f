"""Who generates reports (one rule, API and page), and an archive that a crash between
writing a PDF and committing its row never leaves inconsistent."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy import select

from suivi.app import create_app
from suivi.db import session_scope
from suivi.reports.archive import generate_report
from suivi.reports.archive import store_report
from suivi.reports.archive import sweep_archive
from suivi.reports.models import ReportFile
from suivi.reports.render import render_report
from tests.support.api_clients import ROLES
from tests.support.api_clients import login
from tests.support.databases import DEMO_AS_OF
from tests.support.reports import QUARTIER_CODE
from tests.support.reports import build
from tests.support.web_clients import AS_OF
from tests.support.web_clients import login as web_login


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(path for path in Path(folder).rglob(pattern) if path.is_file())


def _rows(db) -> int:
    with db.session(write=False) as session:
        return session.scalar(select(func.count()).select_from(ReportFile))


def test_copil_reads_and_downloads_but_never_generates(demo_db):
    client = TestClient(create_app(demo_db.settings))
    headers = {role: {"Authorization": f"Bearer {login(client, email)}"} for role, email in
               ROLES.items()}  # fmt: skip
    body = {"kind": "quartier", "scope": QUARTIER_CODE, "as_of": DEMO_AS_OF.isoformat()}
    refused = client.post("/api/reports", json=body, headers=headers["copil"])
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Votre rôle permet de consulter les rapports, pas d'en générer."
    )
    assert _rows(demo_db) == 0 and _files(demo_db.settings.reports.dir) == []

    made = client.post("/api/reports", json=body, headers=headers["chef_de_projet"])
    assert made.status_code == 201, made.text
    # The same bytes again: the archived entry, not a second file.
    again = client.post("/api/reports", json=body, headers=headers["admin"])
    assert again.status_code == 201 and again.json()["id"] == made.json()["id"]
    assert _rows(demo_db) == 1 and len(_files(demo_db.settings.reports.dir, "*.pdf")) == 1

    listed = client.get("/api/reports", headers=headers["copil"]).json()["items"]
    assert [item["id"] for item in listed] == [made.json()["id"]]
    download = client.get(made.json()["download_url"], headers=headers["copil"])
    assert download.status_code == 200 and download.content.startswith(b"%PDF")

    # The page: no form for the committee, and the POST is refused the same way.
    page = web_login(client.app, "copil")
    html = page.get(f"/rapports?as_of={AS_OF}").text
    assert "Générer un rapport" not in html and f"/rapports/{made.json()['id']}/" in html
    response = page.post(
        f"/rapports?as_of={AS_OF}", {"type": "quartier", "quartier": QUARTIER_CODE}, htmx=False
    )
    assert response.status_code == 403
    assert "Votre rôle permet de consulter les rapports, pas d&#39;en générer." in response.text
    chef = web_login(client.app, "chef_de_projet").get(f"/rapports?as_of={AS_OF}").text
    assert "Générer un rapport" in chef
    assert _rows(demo_db) == 1


def test_crash_before_the_commit_leaves_no_final_file_and_the_sweep_cleans(demo_db):
    settings = demo_db.settings
    folder = Path(settings.reports.dir)
    context = build(demo_db, "quartier", QUARTIER_CODE)
    rendered = render_report(context, settings.reports.templates_dir)

    # Killed after the PDF is written, before the commit (no cleanup code runs on kill -9:
    # the exception stands for it, and nothing here removes the temporary file).
    with pytest.raises(RuntimeError), session_scope(demo_db.engine, write=True) as session:
        store_report(session, settings, context, rendered)
        assert _files(folder, "*.part")
        raise RuntimeError("killed")
    assert _files(folder, "*.pdf") == [] and _rows(demo_db) == 0
    (leftover,) = _files(folder, "*.part")

    # A committed report, an old orphan PDF and a fresh one (a generation in progress).
    kept = generate_report(
        demo_db.engine, settings, kind="quartier", scope=QUARTIER_CODE, as_of=DEMO_AS_OF
    )
    assert leftover.exists()  # too fresh for the sweep that generation ran
    old_orphan, fresh_orphan = folder / "quartier" / "vieux.pdf", folder / "frais.pdf"
    old_orphan.write_bytes(b"%PDF old")
    fresh_orphan.write_bytes(b"%PDF fresh")
    # Two days before the filesystem's own "now" (the sweep reads ages on that clock).
    two_days_ago = fresh_orphan.stat().st_mtime - timedelta(days=2).total_seconds()
    for path in (old_orphan, kept.path, leftover):
        os.utime(path, (two_days_ago, two_days_ago))

    with session_scope(demo_db.engine) as session:
        removed = sweep_archive(session, settings)
    assert sorted(removed) == sorted([old_orphan, leftover])
    assert _files(folder) == sorted([kept.path, fresh_orphan])


def test_sweep_finishes_a_report_committed_but_not_renamed(demo_db):
    settings = demo_db.settings
    context = build(demo_db, "quartier", QUARTIER_CODE)
    rendered = render_report(context, settings.reports.templates_dir)
    # Killed after the commit, before the rename.
    with session_scope(demo_db.engine, write=True) as session:
        stored = store_report(session, settings, context, rendered)
    assert not stored.path.exists() and stored.temporary.exists()
    with session_scope(demo_db.engine) as session:
        assert sweep_archive(session, settings) == []
    assert stored.path.read_bytes() == rendered.pdf and not stored.temporary.exists()
