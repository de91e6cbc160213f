"""Open data: the contract's commitments and indicator values per quartier, as one CSV (UTF-8,
comma, dot decimals, ISO dates) with its Table Schema (frictionless) written beside it.

One row per (indicator, quartier): an indicator attached to a quartier gives one row
(`perimetre` = « quartier »); an indicator of a commitment that targets several quartiers
gives one row per quartier with the commitment-wide value (`perimetre` = « engagement »);
a whole-contract commitment gives one row with no QPV code (`perimetre` = « contrat »).
A commitment without indicator still has its row(s), with the indicator columns empty.
Official codes: QPV code, INSEE codes of the quartier's communes, SIREN of the lead partner
where known. Statuses are the French labels of `suivi.labels`.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import Session

from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.contract.models import contract_quartier_ids
from suivi.governance.service import TargetLine
from suivi.governance.service import revision_steps
from suivi.governance.service import target_line
from suivi.indicators.evaluation import commitment_links
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Target
from suivi.io.safe_text import csv_text
from suivi.labels import AGGREGATION_LABELS
from suivi.labels import BREAKDOWN_LABELS
from suivi.labels import COMPARABILITY_LABELS
from suivi.labels import DIRECTION_LABELS
from suivi.labels import FUNDING_TYPE_LABELS
from suivi.labels import LIFECYCLE_LABELS
from suivi.labels import PERFORMANCE_LABELS

SCHEMA_SUFFIX = ".schema.json"
QPV_PATTERN = "QN[0-9]{5}[A-Z]?"
INSEE_PATTERN = "[0-9][0-9AB][0-9]{3}"
SCOPES = ("quartier", "engagement", "contrat")


def _field(name, type_, title, description, required=False, **constraints) -> dict:
    spec: dict[str, Any] = {
        "name": name,
        "type": type_,
        "title": title,
        "description": description,
    }
    if type_ == "number":
        spec["decimalChar"] = "."
    if type_ == "boolean":
        spec["trueValues"] = ["true"]
        spec["falseValues"] = ["false"]
    if required:
        constraints["required"] = True
    if constraints:
        spec["constraints"] = constraints
    return spec


# One constructor per field type, so that each field below says only its name, title,
# description (none by default) and constraints.
def _string(name, title, description="", **constraints) -> dict:
    return _field(name, "string", title, description, **constraints)


def _number(name, title, description="", **constraints) -> dict:
    return _field(name, "number", title, description, **constraints)


def _integer(name, title, description="", **constraints) -> dict:
    return _field(name, "integer", title, description, **constraints)


def _date(name, title, description="", **constraints) -> dict:
    return _field(name, "date", title, description, **constraints)


def _boolean(name, title, description="", **constraints) -> dict:
    return _field(name, "boolean", title, description, **constraints)


FIELDS: tuple[dict, ...] = (
    _string("code_contrat", "Code du contrat", "Code du contrat de ville.", required=True),
    _boolean(
        "donnees_fictives",
        "Données fictives",
        "true si les données sont inventées (démonstration).",
        required=True,
    ),
    _string("code_engagement", "Code de l'engagement", "Code stable.", required=True),
    _string("intitule_engagement", "Intitulé de l'engagement", required=True),
    _string(
        "statut_engagement",
        "Statut",
        "Cycle de vie de l'engagement.",
        required=True,
        enum=list(LIFECYCLE_LABELS.values()),
    ),
    _string(
        "type_financement",
        "Type de financement",
        required=True,
        enum=list(FUNDING_TYPE_LABELS.values()),
    ),
    _string("code_orientation", "Orientation", "Code de l'orientation du contrat.", required=True),
    _string("code_partenaire_pilote", "Code du partenaire pilote", required=True),
    _string("partenaire_pilote", "Partenaire pilote", required=True),
    _string(
        "siren_partenaire_pilote",
        "SIREN du partenaire pilote",
        "Numéro SIREN quand il est connu.",
        pattern="[0-9]{9}",
    ),
    _number(
        "montant_total_engage",
        "Montant total engagé (€)",
        "Somme des montants annuels de l'engagement (tous partenaires).",
        required=True,
        minimum=0,
    ),
    _string(
        "perimetre",
        "Périmètre de la valeur",
        "quartier : indicateur propre au quartier ; engagement : valeur de l'engagement, "
        "répétée pour chacun de ses quartiers ; contrat : tout le contrat.",
        required=True,
        enum=list(SCOPES),
    ),
    _string(
        "code_qpv",
        "Code QPV",
        "Code officiel du quartier prioritaire (vide pour tout le contrat).",
        pattern=QPV_PATTERN,
    ),
    _string("nom_qpv", "Nom du quartier"),
    _string(
        "codes_insee",
        "Codes INSEE des communes",
        "Codes INSEE des communes du quartier, séparés par « | ».",
        pattern=f"{INSEE_PATTERN}(\\|{INSEE_PATTERN})*",
    ),
    _string("code_indicateur", "Code de l'indicateur"),
    _string("indicateur", "Indicateur"),
    _string("unite", "Unité"),
    _string("sens", "Sens attendu", enum=list(DIRECTION_LABELS.values())),
    _boolean("cumulatif", "Indicateur cumulatif"),
    _number("valeur_reference", "Valeur de référence"),
    _date("date_reference", "Date de la valeur de référence"),
    _number(
        "valeur_actuelle",
        "Valeur actuelle",
        "Dernière valeur (cumul depuis la référence pour un indicateur cumulatif).",
    ),
    _date("date_valeur", "Date de la valeur actuelle"),
    _number("cible_finale", "Cible finale"),
    _date("date_cible_finale", "Date de la cible finale"),
    # Original vs revised (suivi.governance): the final target above is the one in force.
    _number(
        "cible_finale_initiale",
        "Cible finale initiale",
        "Cible finale du contrat signé, avant toute révision (égale à la cible finale si "
        "elle n'a pas été révisée).",
    ),
    _string(
        "decision_revision_cible",
        "Décision de révision de la cible",
        "Décision du comité qui a révisé la cible finale (vide si non révisée).",
    ),
    _string(
        "avenant_revision_cible",
        "Avenant de révision de la cible",
        "Avenant au contrat qui porte la révision de la cible finale (vide si aucun).",
    ),
    _number(
        "avancement",
        "Avancement",
        "(valeur actuelle − référence) / (cible finale − référence), non borné.",
    ),
    _string(
        "situation",
        "Situation",
        "Appréciation par rapport à la trajectoire.",
        enum=list(PERFORMANCE_LABELS.values()),
    ),
    _date("date_situation", "Date d'appréciation", "Date de calcul.", required=True),
    # The indicator's reference sheet (fiche indicateur).
    _string("definition", "Définition de l'indicateur"),
    _string("formule", "Formule de calcul"),
    _boolean("taux", "Indicateur exprimé en taux", "true : un taux (numérateur / dénominateur)."),
    _string("numerateur", "Numérateur", "Pour un taux."),
    _string("denominateur", "Dénominateur", "Pour un taux."),
    _string("source", "Source"),
    _string("producteur", "Producteur de la donnée"),
    _integer(
        "delai_publication_jours",
        "Délai de publication (jours)",
        "Jours entre la fin de la période et la publication de la valeur.",
        minimum=0,
    ),
    _string("ventilations", "Ventilations disponibles", enum=list(BREAKDOWN_LABELS.values())),
    _string(
        "regle_agregation",
        "Règle d'agrégation entre quartiers",
        "Comment les valeurs des quartiers se combinent : un taux ne s'additionne jamais.",
        enum=list(AGGREGATION_LABELS.values()),
    ),
    _string("ponderation", "Pondération", "Pour une moyenne pondérée."),
    _string(
        "comparabilite",
        "Comparabilité dans le temps",
        "Une statistique non comparable d'une année sur l'autre n'a pas de projection.",
        enum=list(COMPARABILITY_LABELS.values()),
    ),
    _number(
        "marge",
        "Marge (précision)",
        "Précision de l'indicateur dans son unité : un écart à la trajectoire qui ne la "
        "dépasse pas n'est pas un écart.",
        minimum=0,
    ),
    _string("justification_marge", "Justification de la marge"),
    _string(
        "responsable_donnee",
        "Organisme responsable de la donnée",
        "Le partenaire dont un contact est responsable de la donnée (pas de donnée "
        "personnelle publiée).",
    ),
)
FIELD_NAMES = tuple(f["name"] for f in FIELDS)
STRING_FIELDS = frozenset(f["name"] for f in FIELDS if f["type"] == "string")


def table_schema() -> dict:
    return {
        "$schema": "https://specs.frictionlessdata.io/schemas/table-schema.json",
        "name": "engagements-indicateurs-qpv",
        "title": "Engagements du contrat de ville et valeurs des indicateurs par quartier",
        "fields": [dict(f) for f in FIELDS],
        "missingValues": [""],
    }


def opendata_rows(session: Session, contract_id: int, as_of: date) -> list[dict[str, Any]]:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise LookupError(f"contract {contract_id} not found")
    quartiers = {
        q.id: q
        for q in session.scalars(
            select(Quartier).where(Quartier.id.in_(contract_quartier_ids(contract_id)))
        )
    }
    insee: dict[int, list[str]] = defaultdict(list)
    for quartier_id, code in session.execute(
        select(QuartierCommune.quartier_id, Commune.insee)
        .join(Commune, Commune.id == QuartierCommune.commune_id)
        .order_by(Commune.insee)
    ):
        insee[quartier_id].append(code)
    priorities = dict(
        session.execute(
            select(Priority.id, Priority.code).where(Priority.contract_id == contract_id)
        ).all()
    )
    partners = {
        p.id: p for p in session.scalars(select(Partner).where(Partner.contract_id == contract_id))
    }
    commitment_quartiers = commitment_links(session, contract_id, CommitmentQuartier.quartier_id)
    totals = dict(
        session.execute(
            select(CommitmentAmount.commitment_id, func.sum(CommitmentAmount.amount))
            .join(Commitment, Commitment.id == CommitmentAmount.commitment_id)
            .where(Commitment.contract_id == contract_id)
            .group_by(CommitmentAmount.commitment_id)
        ).all()
    )
    indicators: dict[int, list[Indicator]] = defaultdict(list)
    for indicator in session.scalars(
        select(Indicator).where(Indicator.contract_id == contract_id).order_by(Indicator.code)
    ):
        indicators[indicator.commitment_id].append(indicator)
    evaluated = evaluate_indicators(
        session, contract_id=contract_id, as_of=as_of, include_inactive=True
    )
    finals = _final_targets(session, contract_id)
    # The organisation of each data owner (a contact's name and e-mail are not published).
    owners = dict(
        session.execute(
            select(PartnerContact.id, Partner.name)
            .join(Partner, Partner.id == PartnerContact.partner_id)
            .where(Partner.contract_id == contract_id)
        ).all()
    )

    rows = []
    commitments = session.scalars(
        select(Commitment).where(Commitment.contract_id == contract_id).order_by(Commitment.code)
    )
    for commitment in commitments:
        lead = partners[commitment.lead_partner_id]
        base = {
            "code_contrat": contract.code,
            "donnees_fictives": contract.is_demo,
            "code_engagement": commitment.code,
            "intitule_engagement": commitment.title,
            "statut_engagement": LIFECYCLE_LABELS[commitment.status],
            "type_financement": FUNDING_TYPE_LABELS[commitment.funding_type],
            "code_orientation": priorities[commitment.priority_id],
            "code_partenaire_pilote": lead.code,
            "partenaire_pilote": lead.name,
            "siren_partenaire_pilote": lead.siren,
            "montant_total_engage": float(totals.get(commitment.id) or 0),
            "date_situation": as_of,
        }
        scope_ids = sorted(commitment_quartiers[commitment.id], key=lambda i: quartiers[i].code)
        for indicator in indicators[commitment.id] or [None]:
            values = _indicator_values(indicator, evaluated, owners, finals)
            if indicator is not None and indicator.quartier_id is not None:
                places = [("quartier", indicator.quartier_id)]
            elif scope_ids:
                places = [("engagement", quartier_id) for quartier_id in scope_ids]
            else:
                places = [("contrat", None)]
            for scope, quartier_id in places:
                quartier = quartiers.get(quartier_id)
                rows.append(
                    {
                        **base,
                        "perimetre": scope,
                        "code_qpv": quartier.code if quartier else None,
                        "nom_qpv": quartier.name if quartier else None,
                        "codes_insee": "|".join(insee[quartier_id]) if quartier else None,
                        **values,
                    }
                )
    return rows


def _final_targets(session: Session, contract_id: int) -> dict[int, TargetLine]:
    """Each indicator's final target: original and in force, with its revisions."""
    steps = revision_steps(session, contract_id=contract_id)
    finals: dict[int, TargetLine] = {}
    for target in session.scalars(
        select(Target)
        .join(Indicator, Indicator.id == Target.indicator_id)
        .where(Indicator.contract_id == contract_id)
        .order_by(Target.indicator_id, Target.target_date)
    ):
        finals[target.indicator_id] = target_line(target, steps.get(target.id, []))
    return finals


def _revision_values(final: TargetLine | None) -> dict[str, Any]:
    last = final.steps[-1] if final and final.steps else None
    return {
        "cible_finale_initiale": final.original if final else None,
        "decision_revision_cible": last.decision_label or None if last else None,
        "avenant_revision_cible": last.avenant or None if last else None,
    }


def _indicator_values(
    indicator: Indicator | None, evaluated, owners: dict[int, str], finals: dict[int, TargetLine]
) -> dict[str, Any]:
    if indicator is None:
        return {}
    entry = evaluated.get(indicator.id)
    evaluation = entry.evaluation if entry else None
    targets = entry.spec.targets if entry else ()
    final_day, final = targets[-1] if targets else (None, None)
    return {
        "code_indicateur": indicator.code,
        "indicateur": indicator.name,
        "unite": indicator.unit,
        "sens": DIRECTION_LABELS[indicator.direction],
        "cumulatif": indicator.cumulative,
        "valeur_reference": indicator.baseline_value,
        "date_reference": indicator.baseline_date,
        "valeur_actuelle": evaluation.actual if evaluation else None,
        "date_valeur": evaluation.measured_on if evaluation else None,
        "cible_finale": final,
        "date_cible_finale": final_day,
        **_revision_values(finals.get(indicator.id)),
        "avancement": evaluation.progress if evaluation else None,
        "situation": PERFORMANCE_LABELS[evaluation.performance] if evaluation else None,
        **_sheet_values(indicator, owners),
    }


def _sheet_values(indicator: Indicator, owners: dict[int, str]) -> dict[str, Any]:
    return {
        "definition": indicator.definition or None,
        "formule": indicator.formula or None,
        "taux": indicator.is_rate,
        "numerateur": indicator.numerator or None,
        "denominateur": indicator.denominator or None,
        "source": indicator.source or None,
        "producteur": indicator.producer or None,
        "delai_publication_jours": indicator.publication_lag_days,
        "ventilations": BREAKDOWN_LABELS[indicator.breakdown],
        "regle_agregation": AGGREGATION_LABELS[indicator.aggregation],
        "ponderation": indicator.aggregation_weight or None,
        "comparabilite": COMPARABILITY_LABELS[indicator.comparability],
        "marge": indicator.margin,
        "justification_marge": indicator.margin_justification or None,
        "responsable_donnee": owners.get(indicator.data_owner_contact_id),
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def _field_text(name: str, value: Any) -> str:
    """A string field is neutralised against formulas; numbers, dates, booleans as they are."""
    text = _text(value)
    return csv_text(text) if name in STRING_FIELDS else text


def write_opendata(session: Session, contract_id: int, out: Path, as_of: date) -> Path:
    """Write the CSV at `out` and its Table Schema at `out` with `.schema.json`; returns the
    schema's path."""
    rows = opendata_rows(session, contract_id, as_of)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELD_NAMES)
        for row in rows:
            writer.writerow([_field_text(name, row.get(name)) for name in FIELD_NAMES])
    schema_path = out.with_name(out.stem + SCHEMA_SUFFIX)
    schema_path.write_text(
        json.dumps(table_schema(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return schema_path


# -- SCDL « subventions » 2.1.1 (décret n° 2017-779) ------------------------------------------

SCDL_FREE_TEXT = ("nomAttribuant", "referenceDecision", "nomBeneficiaire", "objet")


def write_subventions(session: Session, contract_id: int, out: Path, year: int):
    """Write the year's subsidy conventions above 23 000 € at `out` in the SCDL format (its
    official schema: `suivi.finance.scdl.SCHEMA_PATH`); returns the `SubsidyRows` (with the
    lines left out and why)."""
    from suivi.finance.scdl import scdl_field_names
    from suivi.finance.scdl import subsidy_rows

    result = subsidy_rows(session, contract_id, year)
    names = scdl_field_names()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in result.rows:
            writer.writerow(
                [
                    csv_text(_text(row.get(name)))
                    if name in SCDL_FREE_TEXT
                    else _text(row.get(name))
                    for name in names
                ]
            )
    return result
