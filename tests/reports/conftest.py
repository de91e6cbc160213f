"""Reports fixtures: one demo database and one rendering of each report kind per module
(the COPIL report of 160 commitments takes several seconds to lay out)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from suivi.contract.models import ContractQuartier
from suivi.contract.models import Quartier
from tests.support.databases import BACKENDS
from tests.support.reports import PARTNER_CODE
from tests.support.reports import QUARTIER_CODE
from tests.support.reports import Report
from tests.support.reports import build
from tests.support.reports import render


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
