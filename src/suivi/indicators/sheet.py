"""The indicator reference sheet (fiche indicateur) as people read it: French sections of
(label, text) rows, shared by the indicator page and the COPIL report's annex so that both
say the same thing; and the aggregation rule applied to values across quartiers."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from math import fsum

from sqlalchemy import select
from sqlmodel import Session

from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.formatting import MISSING
from suivi.formatting import format_number
from suivi.indicators.models import Indicator
from suivi.labels import label


@dataclass(frozen=True, slots=True)
class SheetSection:
    title: str
    rows: tuple[tuple[str, str], ...]


def data_owners(session: Session, contact_ids: Iterable[int | None]) -> dict[int, str]:
    """« Name (role), Partner » of each contact, in one query."""
    ids = sorted({i for i in contact_ids if i is not None})
    if not ids:
        return {}
    rows = session.execute(
        select(PartnerContact.id, PartnerContact.name, PartnerContact.role, Partner.name)
        .join(Partner, Partner.id == PartnerContact.partner_id)
        .where(PartnerContact.id.in_(ids))
    )
    return {
        contact_id: f"{name}{f' ({role})' if role else ''}, {partner}"
        for contact_id, name, role, partner in rows
    }


def sheet_sections(indicator: Indicator, owners: Mapping[int, str]) -> list[SheetSection]:
    """The sheet in the order of the fiche: definition, source, breakdowns, aggregation,
    comparability, margin, data owner. Empty texts show as « — »."""

    def text(value: str | None) -> str:
        return value.strip() if value and value.strip() else MISSING

    definition = [("Définition", text(indicator.definition)), ("Formule", text(indicator.formula))]
    if indicator.is_rate:
        definition += [
            ("Numérateur", text(indicator.numerator)),
            ("Dénominateur", text(indicator.denominator)),
        ]
    lag = indicator.publication_lag_days
    aggregation = label("aggregation", indicator.aggregation)
    if indicator.aggregation == "weighted_mean":
        aggregation += f", pondérée par : {text(indicator.aggregation_weight)}"
    comparability = label("comparability", indicator.comparability)
    if not indicator.forecast:
        comparability += " — pas de projection à l'échéance"
    unit = f" {indicator.unit}" if indicator.unit else ""
    margin = f"± {format_number(indicator.margin, 2)}{unit}"
    return [
        SheetSection("Définition et formule", tuple(definition)),
        SheetSection(
            "Source et calendrier",
            (
                ("Source", text(indicator.source)),
                ("Producteur", text(indicator.producer)),
                (
                    "Délai de publication",
                    MISSING if lag is None else f"{format_number(lag, 0)} jours",
                ),
            ),
        ),
        SheetSection("Ventilations", (("Ventilations", label("breakdown", indicator.breakdown)),)),
        SheetSection("Agrégation entre quartiers", (("Règle d'agrégation", aggregation),)),
        SheetSection("Comparabilité", (("Comparabilité", comparability),)),
        SheetSection(
            "Marge",
            (("Marge", margin), ("Justification", text(indicator.margin_justification))),
        ),
        SheetSection(
            "Responsable de la donnée",
            (
                (
                    "Responsable de la donnée",
                    owners.get(indicator.data_owner_contact_id, MISSING)
                    if indicator.data_owner_contact_id
                    else MISSING,
                ),
            ),
        ),
    ]


def sheet_of(session: Session, indicator: Indicator) -> list[SheetSection]:
    return sheet_sections(indicator, data_owners(session, [indicator.data_owner_contact_id]))


def aggregate(
    rule: str, values: Iterable[float], weights: Iterable[float] | None = None
) -> float | None:
    """Values of one indicator across quartiers combined by its sheet's rule: `sum` adds
    them, `weighted_mean` averages them with their weights (None when a weight is missing
    or they add up to zero), `none` gives None: a QPV rate is never summed."""
    values = list(values)
    if not values or rule == "none":
        return None
    if rule == "sum":
        return fsum(values)
    if rule == "weighted_mean":
        weights = None if weights is None else list(weights)
        if weights is None or len(weights) != len(values) or any(w is None for w in weights):
            return None
        total = fsum(weights)
        if total <= 0:
            return None
        return fsum(v * w for v, w in zip(values, weights, strict=True)) / total
    raise ValueError(f"unknown aggregation rule {rule!r}")
