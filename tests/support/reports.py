"""Report helpers: a report context built as of the demo day, rendered to a PDF file and
read back with pdftotext; a quartier and a partner of the demo with their own data."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from suivi.contract.models import Contract
from suivi.reports.context import ReportContext
from suivi.reports.context import build_report_context
from suivi.reports.models import ReportFile
from suivi.reports.render import RenderedReport
from suivi.reports.render import render_report
from tests.support.databases import DEMO_AS_OF
from tests.support.databases import TestDatabase

# A quartier and a partner of the demo with their own data (Camus; France Travail).
QUARTIER_CODE = "QN06202M"
PARTNER_CODE = "france-travail"


@dataclass
class Report:
    context: ReportContext
    rendered: RenderedReport
    path: Path

    @property
    def text(self) -> str:
        return pdftotext(self.path)

    def pages_text(self) -> list[str]:
        return self.text.split("\f")[: self.rendered.pages]


def archived_report(**columns) -> ReportFile:
    """An archive row for a report that was never rendered: one page, a one-byte size and a
    placeholder checksum unless `columns` say otherwise."""
    return ReportFile(**{"pages": 1, "size_bytes": 1, "sha256": "0" * 64, **columns})


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def build(db: TestDatabase, kind: str, scope: str = "") -> ReportContext:
    with db.session(write=False) as session:
        contract_id = session.execute(select(Contract.id)).scalar()
        return build_report_context(
            session,
            contract_id=contract_id,
            kind=kind,
            scope=scope,
            as_of=DEMO_AS_OF,
            tz=db.settings.tz,
        )


def render(db: TestDatabase, context: ReportContext, name: str) -> Report:
    rendered = render_report(context, db.settings.reports.templates_dir)
    path = db.work_dir / f"{name}.pdf"
    path.write_bytes(rendered.pdf)
    return Report(context, rendered, path)
