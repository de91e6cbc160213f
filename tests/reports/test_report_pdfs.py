"""Every kind of report read back from the PDF: what it names, its statuses, PDF/A
identification, structure tags, metadata, the attached CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Quartier
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.labels import PERFORMANCE_LABELS
from suivi.progress import rollup
from suivi.reports.context import CSV_COLUMNS
from tests.support.databases import DEMO_AS_OF
from tests.support.reports import QUARTIER_CODE

KINDS = ("copil", "quartier", "partner", "annual")


def _pdf_kinds(reports):
    return [kind for kind in KINDS if reports[kind].path is not None]


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _engine(db):
    with db.session(write=False) as session:
        contract_id = session.execute(select(Indicator.contract_id).limit(1)).scalar_one()
        return evaluate_indicators(session, contract_id=contract_id, as_of=DEMO_AS_OF)


def test_pdfa_3a_identification_tags_and_metadata(reports):
    for kind in _pdf_kinds(reports):
        report = reports[kind]
        reader = PdfReader(report.path)
        root = reader.trailer["/Root"]
        xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
        assert re.search(r'pdfaid:part(="|>)3', xmp), kind
        assert re.search(r'pdfaid:conformance(="|>)A', xmp), kind
        assert "/StructTreeRoot" in root, kind
        assert root["/MarkInfo"]["/Marked"] is True or root["/MarkInfo"]["/Marked"] == True  # noqa: E712
        assert root["/Lang"] == "fr"
        info = reader.metadata
        assert info.title.startswith(report.context.title)
        assert info.author == report.context.contract.territory
        assert info.subject == report.context.subject
        assert len(reader.pages) == report.rendered.pages
        # Bookmarks from the headings.
        titles = [item.title for item in reader.outline if not isinstance(item, list)]
        assert "Annexe — comment lire ce rapport" in titles, kind


def test_csv_attached_and_equal_to_the_figures(reports, module_demo_db):
    engine = _engine(module_demo_db)
    for kind in _pdf_kinds(reports):
        report = reports[kind]
        attachments = PdfReader(report.path).attachments
        assert list(attachments) == [report.rendered.csv_name]
        data = attachments[report.rendered.csv_name][0]
        assert data == report.rendered.csv
        rows = _csv_rows(data)
        assert tuple(rows[0]) == CSV_COLUMNS
        assert len(rows) == report.context.summary.count == len(report.context.indicators)
        by_code = {item.code: item for item in engine.values()}
        for row in rows:
            ev = by_code[row["indicateur"]].evaluation
            assert row["performance"] == ev.performance
            assert row["performance_libelle"] == PERFORMANCE_LABELS[ev.performance]
            assert row["fraicheur"] == ev.freshness
            assert row["prevision_statut"] == (ev.forecast_status or "")
            assert (float(row["valeur_actuelle"]) if row["valeur_actuelle"] else None) == ev.actual
            assert (float(row["progression"]) if row["progression"] else None) == ev.progress


def test_statuses_match_the_engine(reports, module_demo_db):
    engine = {k: v for k, v in _engine(module_demo_db).items() if v.active}
    copil = reports["copil"].context
    assert copil.summary == rollup(item.evaluation for item in engine.values())
    for kind in KINDS:
        for block in reports[kind].context.commitments:
            for row in block.indicators:
                assert row.evaluation == engine[row.id].evaluation


def test_copil_names_every_in_contract_quartier_and_says_demo(reports, in_contract_quartiers):
    report = reports["copil"]
    if report.path is None:
        pytest.skip("the COPIL PDF is laid out on SQLite only")
    text = report.text
    flat = " ".join(text.split())
    for code, name in in_contract_quartiers:
        assert " ".join(name.split()) in flat, name
        assert code in flat
    for heading in (
        "Synthèse",
        "Points appelant une décision",
        "Ce qui a changé depuis le précédent comité",
        "Alertes ouvertes",
        "Avancement par orientation",
        "Quartiers et orientations",
        "Engagements des partenaires",
        "Détail des engagements",
        "Annexe — comment lire ce rapport",
    ):
        assert heading in text, heading
    pages = report.pages_text()
    assert len(pages) == report.rendered.pages
    for number, page in enumerate(pages, start=1):
        assert "Données fictives de démonstration" in page, number
        assert f"page {number} / {len(pages)}" in page, number
        assert "Situation au 15 novembre 2026" in page, number
    # Every active commitment has its section.
    for block in report.context.commitments:
        assert block.code in text


def test_quartier_report_holds_only_its_own_data(reports, module_demo_db):
    report = reports["quartier"]
    with module_demo_db.session(write=False) as session:
        quartier = session.execute(
            select(Quartier).where(Quartier.code == QUARTIER_CODE)
        ).scalar_one()
        targeted = set(
            session.execute(
                select(CommitmentQuartier.commitment_id).where(
                    CommitmentQuartier.quartier_id == quartier.id
                )
            ).scalars()
        )
        indicators = session.execute(select(Indicator, Commitment.status).join(Commitment)).all()
    expected = {
        i.code
        for i, status in indicators
        if status not in ("suspendu", "abandonne")
        and (
            i.quartier_id == quartier.id or (i.quartier_id is None and i.commitment_id in targeted)
        )
    }
    others = {i.code for i, _ in indicators} - expected
    rows = _csv_rows(report.rendered.csv)
    assert {row["indicateur"] for row in rows} == expected
    text = report.text
    assert quartier.name in text
    assert not [code for code in others if re.search(rf"\b{re.escape(code)}\b", text)]
    assert "Données fictives de démonstration" in text


def test_partner_report_holds_only_its_commitments(reports, module_demo_db, partner_id):
    report = reports["partner"]
    with module_demo_db.session(write=False) as session:
        commitments = session.execute(select(Commitment)).scalars().all()
        co = set(
            session.execute(
                select(CommitmentPartner.commitment_id).where(
                    CommitmentPartner.partner_id == partner_id
                )
            ).scalars()
        )
    own = {
        c.code
        for c in commitments
        if c.status not in ("suspendu", "abandonne")
        and (c.lead_partner_id == partner_id or c.id in co)
    }
    assert {b.code for b in report.context.commitments} == own
    text = report.text
    foreign = {c.code for c in commitments} - own
    assert own and all(code in text for code in own)
    assert not [code for code in foreign if re.search(rf"\b{re.escape(code)}\b", text)]
    assert {row["engagement"] for row in _csv_rows(report.rendered.csv)} <= own
    assert "France Travail" in text


def test_annual_report_follows_the_official_structure(reports):
    report = reports["annual"]
    text = report.text
    for heading in (
        "1. Les orientations du contrat",
        "2. L'évolution de la situation des quartiers",
        "3. Les actions de l'année 2026",
        "4. La mobilisation du droit commun",
        "5. Les communes bénéficiaires de la DSU",
        "6. Perspectives",
        "Annexe — avis des organes consultés",
    ):
        assert heading in text, heading
    assert "Rapport annuel politique de la ville 2026" in " ".join(text.split())


def test_postgres_and_sqlite_give_the_same_figures(
    reports, module_demo_db, database_factory, tmp_path
):
    """Run on each backend: the context built here from a fresh SQLite copy must equal."""
    from tests.support.reports import build

    sqlite_db = database_factory.create("sqlite", "demo", tmp_path)
    try:
        assert build(sqlite_db, "copil").figures == reports["copil"].context.figures
    finally:
        database_factory.drop(sqlite_db)


def test_copil_annex_holds_the_indicator_sheets(reports):
    """« Fiches indicateurs »: every indicator of the report on one sheet, read back from
    the PDF; a rate is never summed across quartiers, a count is."""
    report = reports["copil"]
    if report.path is None:
        pytest.skip("the COPIL PDF is laid out on SQLite only")
    sheets = report.context.sheets
    assert sorted(code for sheet in sheets for code in sheet.codes) == sorted(
        row.code for row in report.context.indicators
    )
    by_name = {sheet.name: sheet for sheet in sheets}
    rate = by_name["Part du droit commun dans les financements"]
    assert "ne s'additionne pas" in rate.aggregate and "Somme" not in rate.aggregate
    count = by_name["Logements réhabilités"]
    assert count.aggregate.startswith("Somme des ")
    flat = " ".join(report.text.split())
    assert "Annexe — Fiches indicateurs" in flat
    for text in (
        "Part du droit commun dans les financements",
        "Crédits de droit commun / financements totaux × 100",
        "Statistique non comparable d'une année sur l'autre — pas de projection",
        "Moyenne pondérée des quartiers, pondérée par : financements totaux",
        "Marge et comparabilité",
    ):
        assert " ".join(text.split()) in flat, text
