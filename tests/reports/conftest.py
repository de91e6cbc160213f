"""Reports fixtures: one demo database and one rendering of each report kind per module
(the COPIL report of 160 commitments takes several seconds to lay out)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from suivi.contract.models import Contract, ContractQuartier, Quartier
from suivi.reports.context import ReportContext, build_report_context
from suivi.reports.render import RenderedReport, render_report
from tests.databases import BACKENDS, DEMO_AS_OF, TestDatabase

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


@pytest.fixture(scope="module", params=BACKENDS)
def module_demo_db(request, database_factory, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp(f"reports-{request.param}")
    db = database_factory.create(request.param, "demo", work_dir)
    yield db
    database_factory.drop(db)


@pytest.fixture(scope="module")
def partner_id(module_demo_db) -> int:
    from suivi.contract.models import Partner

    with module_demo_db.session(write=False) as session:
        return session.execute(select(Partner.id).where(Partner.code == PARTNER_CODE)).scalar()


@pytest.fixture(scope="module")
def reports(module_demo_db, partner_id) -> dict[str, Report]:
    """Every kind rendered once. The COPIL PDF is laid out on SQLite only: layout does not
    depend on the backend, and the PostgreSQL figures are compared with SQLite's elsewhere."""
    db = module_demo_db
    result = {
        "quartier": render(db, build(db, "quartier", QUARTIER_CODE), "quartier"),
        "partner": render(db, build(db, "partner", str(partner_id)), "partner"),
        "annual": render(db, build(db, "annual"), "annual"),
    }
    copil = build(db, "copil")
    if db.backend == "sqlite":
        result["copil"] = render(db, copil, "copil")
    else:
        result["copil"] = Report(copil, None, None)  # type: ignore[arg-type]
    return result


@pytest.fixture(scope="module")
def in_contract_quartiers(module_demo_db) -> list[tuple[str, str]]:
    with module_demo_db.session(write=False) as session:
        return [
            (q.code, q.name)
            for q in session.execute(
                select(Quartier)
                .join(ContractQuartier, ContractQuartier.quartier_id == Quartier.id)
                .where(ContractQuartier.in_contract)
                .order_by(Quartier.code)
            ).scalars()
        ]
