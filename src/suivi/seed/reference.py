"""The real reference data of the Lens-Liévin contract, loaded idempotently (upsert by
business key): the contract, its communes, its 22 QPV, its partners and its priorities.

Sources and licence: see `data/PROVENANCE.md` (ANCT / INSEE / DGCL, Licence Ouverte 2.0).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session
from sqlmodel import select

from suivi.config import ContractSettings
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune

DATA_DIR = Path(__file__).parent / "data"
COMMUNES_FILE = DATA_DIR / "communes-call.csv"
QPV_CALL_FILE = DATA_DIR / "qpv-2024-call.geojson"
QPV_FRANCE_FILE = DATA_DIR / "qpv-2024-france.csv"


@dataclass(frozen=True)
class PartnerSeed:
    code: str
    name: str
    kind: str
    is_signatory: bool = False
    siren: str | None = None
    commune_insee: str | None = None


# Signatories named in the signing press release, State services and the usual operators.
# SIRENs are given only where they are public and certain.
PARTNERS: tuple[PartnerSeed, ...] = (
    PartnerSeed("prefecture-62", "Préfecture du Pas-de-Calais (État)", "etat", True),
    PartnerSeed("ddets-62", "DDETS du Pas-de-Calais", "etat"),
    PartnerSeed("dsden-62", "Éducation nationale — DSDEN du Pas-de-Calais", "etat"),
    PartnerSeed("ars-hdf", "Agence régionale de santé Hauts-de-France", "etat"),
    PartnerSeed("region-hdf", "Région Hauts-de-France", "region", True, "200053742"),
    PartnerSeed("departement-62", "Département du Pas-de-Calais", "departement", True, "226200012"),
    PartnerSeed("call", "Communauté d'agglomération de Lens-Liévin", "epci", True, "246200364"),
    PartnerSeed("france-travail", "France Travail", "operateur", False, "130005481"),
    PartnerSeed("caf-62", "CAF du Pas-de-Calais", "operateur"),
    PartnerSeed("mission-locale", "Mission locale de Lens-Liévin", "operateur"),
    PartnerSeed("maisons-et-cites", "Maisons & Cités", "bailleur"),
    PartnerSeed("sia-habitat", "SIA Habitat", "bailleur"),
    PartnerSeed("pdc-habitat", "Pas-de-Calais Habitat", "bailleur"),
)


@dataclass(frozen=True)
class PrioritySeed:
    code: str
    title: str
    domain: str
    tags: tuple[str, ...] = ()
    description: str = ""
    parent: str | None = None


# The three priorities of the press release (« Cap sur les priorités »), each with a few
# operational objectives across the domains of politique de la ville.
PRIORITIES: tuple[PrioritySeed, ...] = (
    PrioritySeed(
        "O1",
        "Remettre l'humain au cœur des quartiers",
        "cohesion_sociale",
        ("participation",),
        "Placer les habitants, leurs parcours et leurs besoins au centre de l'action publique.",
    ),
    PrioritySeed(
        "O1.1",
        "Accompagner vers l'emploi et la formation",
        "emploi",
        ("jeunesse", "egalite_femmes_hommes"),
        parent="O1",
    ),
    PrioritySeed(
        "O1.2", "Favoriser la réussite éducative", "cohesion_sociale", ("jeunesse",), parent="O1"
    ),
    PrioritySeed(
        "O1.3",
        "Améliorer l'accès aux droits, aux soins et à la santé",
        "cohesion_sociale",
        ("lutte_discriminations",),
        parent="O1",
    ),
    PrioritySeed(
        "O2",
        "Prévenir les risques de basculement et agir aux moments opportuns",
        "cadre_de_vie",
        (),
        "Repérer tôt les fragilités des personnes et des quartiers pour agir à temps.",
    ),
    PrioritySeed(
        "O2.1",
        "Repérer et accompagner les situations de fragilité",
        "cohesion_sociale",
        ("egalite_femmes_hommes",),
        parent="O2",
    ),
    PrioritySeed(
        "O2.2",
        "Améliorer le cadre de vie, l'habitat et la tranquillité publique",
        "cadre_de_vie",
        (),
        parent="O2",
    ),
    PrioritySeed(
        "O2.3",
        "Réussir la transition écologique des quartiers",
        "cadre_de_vie",
        ("transition_ecologique",),
        parent="O2",
    ),
    PrioritySeed(
        "O3",
        "Aborder les habitants de manière globale et non par une entrée thématique",
        "transversal",
        ("participation",),
        "Coordonner les partenaires et mobiliser leur droit commun autour des habitants.",
    ),
    PrioritySeed(
        "O3.1",
        "Développer la participation des habitants",
        "participation",
        ("participation",),
        parent="O3",
    ),
    PrioritySeed(
        "O3.2",
        "Mobiliser le droit commun des partenaires",
        "transversal",
        ("lutte_discriminations",),
        parent="O3",
    ),
    PrioritySeed(
        "O3.3",
        "Soutenir l'activité économique et le commerce de proximité",
        "emploi",
        ("transition_ecologique", "jeunesse"),
        parent="O3",
    ),
)


def read_communes() -> list[dict[str, str]]:
    with COMMUNES_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_quartiers() -> list[dict]:
    collection = json.loads(QPV_CALL_FILE.read_text(encoding="utf-8"))
    return [
        {**feature["properties"], "geometry": feature["geometry"]}
        for feature in collection["features"]
    ]


def read_national_qpv() -> list[dict[str, str]]:
    with QPV_FRANCE_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _upsert(session: Session, model, keys: dict, values: dict):
    row = session.exec(select(model).filter_by(**keys)).first()
    if row is None:
        row = model(**keys, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    return row


def load_reference(session: Session, contract_settings: ContractSettings) -> Contract:
    """Load (or refresh) the Lens-Liévin reference data. Idempotent; returns the contract.

    Editable facts (a quartier's in-contract flag) are only set on first load, so that an
    administrator's correction survives a reload.
    """
    contract = _upsert(
        session,
        Contract,
        {"code": contract_settings.code},
        {
            "name": contract_settings.name,
            "territory": contract_settings.territory,
            "signed_on": contract_settings.signed_on,
            "term_start": contract_settings.term_start,
            "term_end": contract_settings.term_end,
            "midterm_review_on": contract_settings.midterm_review_on,
        },
    )
    session.flush()

    communes: dict[str, Commune] = {}
    for row in read_communes():
        communes[row["insee"]] = _upsert(
            session,
            Commune,
            {"insee": row["insee"]},
            {
                "name": row["nom"],
                "epci": row["epci"],
                "longitude": float(row["lon"]),
                "latitude": float(row["lat"]),
            },
        )
    session.flush()

    for feature in read_quartiers():
        quartier = session.exec(select(Quartier).where(Quartier.code == feature["code"])).first()
        if quartier is None:
            quartier = Quartier(code=feature["code"])
            session.add(quartier)
        quartier.name = feature["nom"]
        quartier.cited_in_press_release = bool(feature["cite_dans_communique"])
        quartier.contour = feature["geometry"]
        session.flush()
        # The QPV is shared: another contract listing it keeps its own link and flag.
        if session.get(ContractQuartier, (contract.id, quartier.id)) is None:
            # The press release announces 21 quartiers and names 16; 22 QPV touch the CALL.
            # All 22 start in the contract; an administrator unflags the one that is not.
            session.add(
                ContractQuartier(contract_id=contract.id, quartier_id=quartier.id, in_contract=True)
            )
        linked = set(
            session.exec(
                select(QuartierCommune.commune_id).where(QuartierCommune.quartier_id == quartier.id)
            ).all()
        )
        for insee in feature["communes_insee"]:
            commune_id = communes[insee].id
            if commune_id not in linked:
                session.add(QuartierCommune(quartier_id=quartier.id, commune_id=commune_id))

    # Every member commune that holds a QPV is a signatory partner (the 19 of the contract).
    qpv_insee = {insee for feature in read_quartiers() for insee in feature["communes_insee"]}
    commune_partners = [
        PartnerSeed(
            f"commune-{row['insee']}", f"Ville de {row['nom']}", "commune", True, None, row["insee"]
        )
        for row in read_communes()
        if row["membre_call"] == "oui" and row["insee"] in qpv_insee
    ]
    for seed in (*PARTNERS, *commune_partners):
        _upsert(
            session,
            Partner,
            {"contract_id": contract.id, "code": seed.code},
            {
                "name": seed.name,
                "kind": seed.kind,
                "is_signatory": seed.is_signatory,
                "siren": seed.siren,
                "commune_id": communes[seed.commune_insee].id if seed.commune_insee else None,
            },
        )

    by_code: dict[str, Priority] = {}
    for position, seed in enumerate(PRIORITIES):
        by_code[seed.code] = _upsert(
            session,
            Priority,
            {"contract_id": contract.id, "code": seed.code},
            {
                "title": seed.title,
                "description": seed.description,
                "domain": seed.domain,
                "tags": list(seed.tags),
                "position": position,
                "parent_id": by_code[seed.parent].id if seed.parent else None,
            },
        )
        session.flush()
    return contract
