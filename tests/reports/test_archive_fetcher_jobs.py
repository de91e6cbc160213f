"""Archive (hash, never overwrite), reproducibility, the confined resource fetcher, the
generate_reports job and the `suivi report` command."""

from __future__ import annotations

import hashlib
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from typer.testing import CliRunner

from suivi.audit.models import AuditEvent
from suivi.cli import app
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.jobs import JobContext
from suivi.jobs import registered_jobs
from suivi.reports import jobs as report_jobs
from suivi.reports.archive import generate_report
from suivi.reports.archive import publish
from suivi.reports.archive import report_path
from suivi.reports.archive import store_report
from suivi.reports.models import ReportFile
from suivi.reports.render import ResourceRefusedError
from suivi.reports.render import TemplatesFetcher
from suivi.reports.render import render_html
from suivi.reports.render import render_pdf
from suivi.reports.render import render_report
from tests.support.databases import DEMO_AS_OF
from tests.support.reports import PARTNER_CODE
from tests.support.reports import archived_report
from tests.support.reports import build


def _partner_id(db) -> int:
    with db.session(write=False) as session:
        return session.execute(select(Partner.id).where(Partner.code == PARTNER_CODE)).scalar()


def test_same_data_and_as_of_give_the_same_bytes(demo_db):
    scope = str(_partner_id(demo_db))
    templates = demo_db.settings.reports.templates_dir
    first = render_report(build(demo_db, "partner", scope), templates)
    second = render_report(build(demo_db, "partner", scope), templates)
    assert first.pdf == second.pdf
    # A later as_of is another document.
    with demo_db.session(write=False) as session:
        from suivi.reports.context import build_report_context

        later = build_report_context(
            session, contract_id=1, kind="partner", scope=scope, as_of=DEMO_AS_OF + timedelta(1)
        )
    assert render_report(later, templates).pdf != first.pdf


def test_archive_hashes_and_never_overwrites(demo_db):
    settings = demo_db.settings
    scope = str(_partner_id(demo_db))
    # A clash on the file name (same second, same report) never replaces the existing file.
    context = build(demo_db, "partner", scope)
    rendered = render_report(context, settings.reports.templates_dir)
    at = datetime(2026, 11, 15, 5, 0, 0, tzinfo=UTC)
    existing = Path(settings.reports.dir) / report_path("partner", scope, DEMO_AS_OF, at)
    existing.parent.mkdir(parents=True, exist_ok=True)
    existing.write_bytes(b"earlier file")
    with demo_db.session(write=True) as session:
        stored = store_report(session, settings, context, rendered, generated_at=at)
    stored = publish(stored)
    assert existing.read_bytes() == b"earlier file"
    assert stored.path != existing and stored.path.read_bytes() == rendered.pdf

    # Generating the same bytes again (same data, same as_of) reuses the archived entry.
    one = generate_report(demo_db.engine, settings, kind="partner", scope=scope, as_of=DEMO_AS_OF)
    two = generate_report(demo_db.engine, settings, kind="partner", scope=scope, as_of=DEMO_AS_OF)
    assert one.file.id == two.file.id == stored.file.id and one.path == two.path == stored.path
    data = one.path.read_bytes()
    assert one.file.sha256 == hashlib.sha256(data).hexdigest()
    assert one.file.size_bytes == len(data)
    assert one.file.pages == one.rendered.pages > 1
    assert one.path.is_relative_to(settings.reports.dir)
    assert sorted(Path(settings.reports.dir).rglob("*.pdf")) == sorted([existing, one.path])
    with demo_db.session(write=False) as session:
        rows = session.execute(select(ReportFile).order_by(ReportFile.id)).scalars().all()
        assert [(r.kind, r.scope, r.as_of, r.is_demo) for r in rows] == [
            ("partner", scope, DEMO_AS_OF, True)
        ]
        audits = session.execute(
            select(AuditEvent.entity, func.count())
            .where(AuditEvent.entity.in_(("report_file", "report_request")))
            .group_by(AuditEvent.entity)
        ).all()
        assert dict(audits) == {"report_file": 1, "report_request": 2}


def test_fetcher_refuses_everything_outside_the_templates_folder(tmp_path):
    templates = Path(__file__).resolve().parents[2] / "reports" / "templates"
    fetcher = TemplatesFetcher(templates)
    assert fetcher.fetch((templates / "report.css").as_uri()).read().startswith(b"/*")
    outside = tmp_path / "secret.css"
    outside.write_text("body { color: red }")
    for url in (
        outside.as_uri(),
        "file:///etc/passwd",
        (templates / ".." / ".." / "pyproject.toml").as_uri(),
        templates.as_uri() + "/../../pyproject.toml",
        "http://example.org/style.css",
        "https://example.org/font.ttf",
        "ftp://example.org/x",
        "file://remote-host/etc/passwd",
    ):
        with pytest.raises(ResourceRefusedError):
            fetcher.fetch(url)
    # A symbolic link inside the folder pointing outside is refused too.
    link_dir = tmp_path / "templates"
    link_dir.mkdir()
    (link_dir / "link.css").symlink_to(outside)
    with pytest.raises(ResourceRefusedError):
        TemplatesFetcher(link_dir).fetch((link_dir / "link.css").as_uri())


def test_rendering_cannot_pull_outside_files(demo_db, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not really")
    context = build(demo_db, "partner", str(_partner_id(demo_db)))
    templates = demo_db.settings.reports.templates_dir
    html = render_html(context, templates).replace(
        "</body>",
        f'<img src="{secret.as_uri()}" alt="x"><link rel="stylesheet" href="file:///etc/passwd">'
        '<img src="http://127.0.0.1:9/x.png" alt="y"></body>',
    )
    rendered = render_pdf(html, context, templates)
    assert secret.as_uri() in rendered.refused
    assert "file:///etc/passwd" in rendered.refused
    assert "http://127.0.0.1:9/x.png" in rendered.refused


def test_generate_reports_job_is_idempotent_through_the_archive(demo_db, monkeypatch):
    calls = []

    def fake_generate(engine, settings, *, kind, as_of, contract_id, meeting_id=None, **_):
        calls.append((kind, as_of, meeting_id))
        with demo_db.session(write=True) as session:
            session.add(
                archived_report(
                    contract_id=contract_id,
                    kind=kind,
                    as_of=as_of,
                    meeting_id=meeting_id,
                    path=f"fake-{len(calls)}.pdf",
                )
            )

        class Done:
            class file:  # noqa: N801 - mimics GeneratedReport.file
                path = "fake"

        return Done

    monkeypatch.setattr(report_jobs, "generate_report", fake_generate)
    job = registered_jobs()["generate_reports"]
    with demo_db.session(write=False) as session:
        copil_2026 = session.execute(
            select(Meeting).where(Meeting.held_on == date(2026, 12, 8))
        ).scalar_one()

    def run(day):
        return job(JobContext(demo_db.engine, demo_db.settings, day)).counts

    # Far from any meeting: the monthly report only, once.
    assert run(date(2026, 10, 5)) == {"meeting": 0, "monthly": 1}
    assert run(date(2026, 10, 20)) == {"meeting": 0, "monthly": 0}
    # 14 days before the COPIL of 8 December 2026: its report, once (it is also November's).
    assert run(date(2026, 11, 24)) == {"meeting": 1, "monthly": 0}
    assert run(date(2026, 11, 25)) == {"meeting": 0, "monthly": 0}
    # A new month: its monthly report, once.
    assert run(date(2026, 12, 1)) == {"meeting": 0, "monthly": 1}
    assert run(date(2026, 12, 2)) == {"meeting": 0, "monthly": 0}
    assert calls[1] == ("copil", date(2026, 11, 24), copil_2026.id)


def test_report_command(demo_db, monkeypatch, tmp_path):
    (demo_db.work_dir / "none.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", demo_db.url)
    monkeypatch.setenv("SUIVI_REPORTS_DIR", str(demo_db.settings.reports.dir))
    monkeypatch.setenv("SUIVI_REPORTS_TEMPLATES_DIR", str(demo_db.settings.reports.templates_dir))
    monkeypatch.delenv("SUIVI_CONFIG", raising=False)
    config = ["--config", str(demo_db.work_dir / "none.toml")]
    out = tmp_path / "copie" / "partenaire.pdf"
    result = CliRunner().invoke(
        app,
        [*config, "report", "partner", str(_partner_id(demo_db)), "--as-of", "2026-11-15",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "15 novembre 2026" in result.output and "SHA-256" in result.output
    assert out.read_bytes().startswith(b"%PDF-1.7")
    with demo_db.session(write=False) as session:
        row = session.execute(select(ReportFile)).scalar_one()
    assert row.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()

    unknown = CliRunner().invoke(
        app, [*config, "report", "quartier", "QN99999Z", "--as-of", "2026-11-15"]
    )
    assert unknown.exit_code == 1
    assert "Quartier inconnu" in unknown.output


def test_open_alerts_come_from_the_alert_table_once_the_checks_ran(demo_db):
    from collections import Counter

    from suivi.monitoring.models import Alert
    from suivi.monitoring.service import check_indicators

    assert build(demo_db, "copil").alerts_computed
    with demo_db.session(write=True) as session:
        check_indicators(session, contract_id=1, as_of=DEMO_AS_OF)
    context = build(demo_db, "copil")
    assert not context.alerts_computed
    with demo_db.session(write=False) as session:
        stored = session.execute(select(Alert).where(Alert.resolved_on.is_(None))).scalars().all()
    assert stored
    assert Counter(a.kind for a in context.alerts) == Counter(a.kind for a in stored)
