"""Import of a subsidy register (CSV, named columns): the same rules as the API, every
refused row listed with its line number, and nothing written unless every row is right."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy import select
from typer.testing import CliRunner

from suivi.app import create_app
from suivi.cli import app as cli_app
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.contract.models import Partner
from suivi.db import dispose_engines
from suivi.finance.models import FundingLine
from suivi.finance.models import FundingPayment
from suivi.finance.register import import_register
from suivi.finance.register import system_principal
from tests.support.api_clients import login

HEADER = (
    "Engagement;Financeur;Année;Montant demandé;Montant voté;Date vote;Référence décision;"
    "Bénéficiaire;SIRET;RNA;CPO;CPO début;CPO fin;Versements;Motif dépassement\n"
)


def _register(db, *, bad: bool) -> bytes:
    with db.session(write=False) as session:
        code, partner = session.execute(
            select(Commitment.code, Partner.code)
            .join(Partner, Partner.id == Commitment.lead_partner_id)
            .where(Commitment.status.not_in(INACTIVE_STATUSES))
            .order_by(Commitment.id)
        ).first()
    rows = [
        f"{code};{partner};2026;30 000,00;28 000,00;15/04/2026;DEL-2026-101;Asso Un;"
        f'73282932000074;W623001234;oui;2025;2027;"15/05/2026=16800 ; 20/10/2026=11200";',
        f"{code};{partner};2026;5000;4000;15/04/2026;DEL-2026-102;Asso Deux;;W623001235;non;;;"
        f"15/05/2026={'4000,01' if bad else '4000'};",
        f"{code};{partner};2026;5000;4000;15/04/2026;DEL-2026-103;Asso Trois;"
        f"{'73282932000075' if bad else '73282932000074'};;non;;;;",
    ]
    return (HEADER + "\n".join(rows) + "\n").encode("utf-8")


def _counts(db):
    with db.session(write=False) as session:
        return tuple(
            session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (FundingLine, FundingPayment)
        )


def test_refused_rows_are_listed_with_their_numbers_and_nothing_is_written(demo_db):
    before = _counts(demo_db)
    with demo_db.session() as session:
        report = import_register(
            session, system_principal(1), contract_id=1, content=_register(demo_db, bad=True),
            actor_id=None,
        )  # fmt: skip
    assert [number for number, _ in report.problems] == [3, 4]
    assert "dépasse le montant voté" in report.problems[0][1]
    assert "SIRET « 73282932000075 » est invalide" in report.problems[1][1]
    assert _counts(demo_db) == before


def test_a_right_register_is_imported_once(demo_db):
    before = _counts(demo_db)
    content = _register(demo_db, bad=False)
    with demo_db.session() as session:
        report = import_register(
            session, system_principal(1), contract_id=1, content=content, actor_id=None
        )
    assert report.ok and report.created == 3
    assert _counts(demo_db) == (before[0] + 3, before[1] + 3)
    with demo_db.session(write=False) as session:
        cpo = session.execute(
            select(FundingLine).where(FundingLine.beneficiary_name == "Asso Un")
        ).scalar_one()
    assert (cpo.cpo, cpo.cpo_first_year, cpo.cpo_last_year) == (True, 2025, 2027)
    with demo_db.session() as session:
        again = import_register(
            session, system_principal(1), contract_id=1, content=content, actor_id=None
        )
    assert [n for n, _ in again.problems] == [2, 3, 4]
    assert "déjà enregistrée" in again.problems[0][1]


def test_cli_and_api_refuse_the_same_rows(demo_db, tmp_path, monkeypatch):
    path = tmp_path / "registre.csv"
    path.write_bytes(_register(demo_db, bad=True))
    config = tmp_path / "config.toml"
    config.write_text("[app]\nmode = 'dev'\n", encoding="utf-8")
    monkeypatch.setenv("SUIVI_DATABASE_URL", demo_db.url)
    try:
        result = CliRunner().invoke(
            cli_app, ["--config", str(config), "financements", "importer", str(path)]
        )
    finally:
        dispose_engines()
    assert result.exit_code == 1
    assert "ligne 3 :" in result.output and "ligne 4 :" in result.output
    client = TestClient(create_app(demo_db.settings))
    token = login(client, "admin@example.org")
    response = client.post(
        "/api/funding-lines/register",
        files={"file": ("registre.csv", path.read_bytes(), "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["ligne 3", "ligne 4"]
