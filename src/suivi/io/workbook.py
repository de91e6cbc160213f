"""The spreadsheet format shared by export, import and the blank template.

One sheet per entity, French headers, business keys (commitment, indicator, partner and
priority codes, QPV and INSEE codes) instead of database ids. Coded values (status, funding
type, direction, frequency, partner kind) are written as their French label and read back
from the label or the code. The same columns describe the xlsx sheets and the CSV files.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

from suivi.codes import AGGREGATIONS
from suivi.codes import BREAKDOWNS
from suivi.codes import COMPARABILITIES
from suivi.codes import DECISION_KINDS
from suivi.codes import DECISION_STATUSES
from suivi.codes import FUNDING_TYPES
from suivi.codes import LIFECYCLE_STATUSES
from suivi.codes import MEETING_KINDS
from suivi.codes import PARTNER_KINDS
from suivi.codes import TARGET_REVISION_KINDS
from suivi.governance.service import DECISION_KIND_LABELS
from suivi.governance.service import DECISION_STATUS_LABELS
from suivi.io.safe_text import csv_text
from suivi.labels import AGGREGATION_LABELS
from suivi.labels import BREAKDOWN_LABELS
from suivi.labels import COMPARABILITY_LABELS
from suivi.labels import DIRECTION_LABELS
from suivi.labels import FREQUENCY_LABELS
from suivi.labels import FUNDING_TYPE_LABELS
from suivi.labels import LIFECYCLE_LABELS
from suivi.labels import MEETING_KIND_LABELS
from suivi.labels import PARTNER_KIND_LABELS
from suivi.progress import DIRECTIONS
from suivi.progress import FREQUENCIES

DATE_FORMAT = "DD/MM/YYYY"
NUMBER_FORMAT = "#,##0.###"
INTEGER_FORMAT = "0"
AMOUNT_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"
LIST_SEPARATOR = "; "
YES, NO = "oui", "non"


def _choices(codes: tuple[str, ...], labels: dict[str, str]) -> dict[str, str]:
    return {code: labels.get(code, code) for code in codes}


STATUS_CHOICES = _choices(LIFECYCLE_STATUSES, LIFECYCLE_LABELS)
FUNDING_CHOICES = _choices(FUNDING_TYPES, FUNDING_TYPE_LABELS)
DIRECTION_CHOICES = _choices(DIRECTIONS, DIRECTION_LABELS)
FREQUENCY_CHOICES = _choices(FREQUENCIES, FREQUENCY_LABELS)
PARTNER_KIND_CHOICES = _choices(PARTNER_KINDS, PARTNER_KIND_LABELS)
AGGREGATION_CHOICES = _choices(AGGREGATIONS, AGGREGATION_LABELS)
BREAKDOWN_CHOICES = _choices(BREAKDOWNS, BREAKDOWN_LABELS)
COMPARABILITY_CHOICES = _choices(COMPARABILITIES, COMPARABILITY_LABELS)
REVISION_KIND_CHOICES = _choices(
    TARGET_REVISION_KINDS,
    {
        "avenant": "Avenant",
        "revue_mi_parcours": "Revue à mi-parcours",
        "correction": "Correction",
        "autre": "Autre",
    },
)
MEETING_KIND_CHOICES = _choices(
    MEETING_KINDS, {**MEETING_KIND_LABELS, "revue_mi_parcours": "Revue à mi-parcours"}
)
# The governance service's labels (« Révision de cible », « Réalisée »…).
DECISION_KIND_CHOICES = _choices(DECISION_KINDS, DECISION_KIND_LABELS)
DECISION_STATUS_CHOICES = _choices(DECISION_STATUSES, DECISION_STATUS_LABELS)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    # text | int | number | date | bool | choice | codes (a « ; »-separated list of codes)
    kind: str = "text"
    required: bool = False
    max_length: int | None = None
    choices: dict[str, str] | None = None
    number_format: str | None = None
    width: int = 18
    # Name of the drop-down list (sheet « Listes ») offered in this column, if any.
    dropdown: str | None = None
    # A drop-down that only suggests (free text allowed), e.g. units.
    dropdown_strict: bool = True
    default: Any = None


@dataclass(frozen=True)
class SheetSpec:
    name: str
    csv_name: str
    columns: tuple[Column, ...]
    # Columns that identify a row (duplicates are refused).
    key: tuple[str, ...]
    # Reference sheets are exported for information and not read back by the import.
    imported: bool = True
    description: str = ""
    by_key: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {column.key: column for column in self.columns})

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]


# One constructor per kind of column, with that kind's cell format (and the yes/no list of a
# boolean), so that each sheet below reads one column a line.
def _text(key, header, required=False, max_length=None, width=18, **extra) -> Column:
    return Column(key, header, "text", required, max_length, width=width, **extra)


def _date(key, header, required=False, **extra) -> Column:
    return Column(key, header, "date", required, number_format=DATE_FORMAT, **extra)


def _int(key, header, required=False, **extra) -> Column:
    return Column(key, header, "int", required, number_format=INTEGER_FORMAT, **extra)


def _number(key, header, required=False, number_format=NUMBER_FORMAT, **extra) -> Column:
    return Column(key, header, "number", required, number_format=number_format, **extra)


def _bool(key, header, default: bool, **extra) -> Column:
    return Column(key, header, "bool", default=default, dropdown="oui_non", **extra)


def _choice(key, header, choices, required=False, **extra) -> Column:
    return Column(key, header, "choice", required, choices=choices, **extra)


def _amount(key, header, required=False, **extra) -> Column:
    return _number(key, header, required, number_format=AMOUNT_FORMAT, **extra)


def _codes(key, header, required=False, **extra) -> Column:
    return Column(key, header, "codes", required, **extra)


# The same column on « Engagements » and « Financements ».
_FUNDING_TYPE = _choice(
    "funding_type", "Type de financement", FUNDING_CHOICES, True, width=30, dropdown="financements"
)

COMMITMENTS = SheetSpec(
    "Engagements",
    "engagements.csv",
    (
        _text("code", "Code engagement", True, 40, 16),
        _text("title", "Intitulé", True, 300, 50),
        _text("description", "Description", False, None, 50, default=""),
        _text("lead", "Partenaire pilote (code)", True, 40, 22, dropdown="partenaires"),
        _text("priority", "Orientation (code)", True, 20, 14, dropdown="orientations"),
        _date("start_date", "Date de début", True, width=14),
        _date("end_date", "Date de fin", True, width=14),
        _choice("status", "Statut", STATUS_CHOICES, True, dropdown="statuts"),
        _FUNDING_TYPE,
        _codes("quartiers", "Quartiers (codes QPV)", width=30, default=()),
    ),
    key=("code",),
    description="Un engagement par ligne. Quartiers : codes QPV séparés par « ; », "
    "vide = tout le contrat.",
)

CO_PARTNERS = SheetSpec(
    "Co-partenaires",
    "co-partenaires.csv",
    (
        _text("commitment", "Code engagement", True, 40, 16),
        _text("partner", "Partenaire (code)", True, 40, 22, dropdown="partenaires"),
        _number("share", "Part", True, number_format=PERCENT_FORMAT, width=10),
    ),
    key=("commitment", "partner"),
    description="Co-partenaires d'un engagement et leur part des montants (la part du pilote "
    "est le reste).",
)

AMOUNTS = SheetSpec(
    "Montants",
    "montants.csv",
    (
        _text("commitment", "Code engagement", True, 40, 16),
        _int("year", "Année", True, width=8),
        _amount("amount", "Montant (€)", True, width=16),
    ),
    key=("commitment", "year"),
    description="Montants engagés par année.",
)

INDICATORS = SheetSpec(
    "Indicateurs",
    "indicateurs.csv",
    (
        _text("code", "Code indicateur", True, 40, 18),
        _text("commitment", "Code engagement", True, 40, 16),
        _text("quartier", "Quartier (code QPV)", False, 12, 14, dropdown="quartiers"),
        _text("name", "Intitulé", True, 300, 45),
        _text("unit", "Unité", True, 40, 12, dropdown="unites", dropdown_strict=False),
        _text("source", "Source", False, 200, 24, default=""),
        _choice("direction", "Sens", DIRECTION_CHOICES, True, dropdown="sens"),
        _bool("cumulative", "Cumulatif", False, width=10),
        _choice("frequency", "Fréquence", FREQUENCY_CHOICES, True, dropdown="frequences"),
        _number("tolerance", "Tolérance", number_format=PERCENT_FORMAT, default=0.10),
        _int("grace_days", "Délai de grâce (jours)", default=30),
        _number("baseline_value", "Valeur de référence", True),
        _date("baseline_date", "Date de référence", True),
        # The reference sheet (fiche indicateur).
        _text("definition", "Définition", False, None, 40, default=""),
        _text("formula", "Formule de calcul", False, None, 30, default=""),
        _bool("is_rate", "Taux", False, width=8),
        _text("numerator", "Numérateur", False, 300, 24, default=""),
        _text("denominator", "Dénominateur", False, 300, 24, default=""),
        _text("producer", "Producteur", False, 200, 24, default=""),
        _int("publication_lag_days", "Délai de publication (jours)"),
        _choice("breakdown", "Ventilations", BREAKDOWN_CHOICES, default="none"),
        _choice(
            "aggregation",
            "Agrégation entre quartiers",
            AGGREGATION_CHOICES,
            width=30,
            default="none",
        ),
        _text("aggregation_weight", "Pondération", False, 200, 24, default=""),
        _choice(
            "comparability", "Comparabilité", COMPARABILITY_CHOICES, width=30, default="comparable"
        ),
        _bool("forecast", "Projection", True, width=10),
        _number("margin", "Marge", default=0.0),
        _text("margin_justification", "Justification de la marge", False, None, 30, default=""),
        _text("data_owner", "Responsable de la donnée (e-mail)", False, 254, 28),
    ),
    key=("code",),
    description="Un indicateur par ligne, rattaché à un engagement et éventuellement à un "
    "quartier, avec sa fiche (définition, source, agrégation, comparabilité, marge, "
    "responsable de la donnée).",
)

# The reference sheet's columns stored as they are (the data owner is read as an e-mail).
INDICATOR_SHEET_KEYS = tuple(
    column.key
    for column in INDICATORS.columns[INDICATORS.headers.index("Définition") :]
    if column.key != "data_owner"
)

TARGETS = SheetSpec(
    "Cibles",
    "cibles.csv",
    (
        _text("indicator", "Code indicateur", True, 40, 18),
        _date("target_date", "Date", True, width=14),
        _number("value", "Valeur", True),
        # How a changed value is revised (`suivi.indicators.service.revise_target`): read
        # only when the value changes, left blank by the export.
        _choice(
            "revision_kind",
            "Type de révision",
            REVISION_KIND_CHOICES,
            width=20,
            default="autre",
            dropdown="revisions",
        ),
        _text("revision_decision", "Décision de révision (date n° numéro)", False, 40, 22),
        _text("avenant_reference", "Référence d'avenant", False, 200, 24, default=""),
        _text("revision_reason", "Motif de révision", False, 2000, 30, default=""),
    ),
    key=("indicator", "target_date"),
    description="Cibles (jalons) des indicateurs, postérieures à la date de référence. Une "
    "valeur modifiée est une révision de la cible (l'ancienne est gardée) : une révision par "
    "avenant ou revue à mi-parcours cite la décision de comité qu'elle applique, par la date "
    "de l'instance et son numéro (« 25/11/2025 n° 3 »).",
)

MEASUREMENTS = SheetSpec(
    "Mesures",
    "mesures.csv",
    (
        _text("indicator", "Code indicateur", True, 40, 18),
        _date("measured_on", "Date", True, width=14),
        _number("value", "Valeur", True),
        _text("comment", "Commentaire", False, None, 40, default=""),
        _text("evidence_url", "Lien justificatif", False, 500, 30, default=""),
        _text("correction_reason", "Motif de correction", False, 500, 30, default=""),
    ),
    key=("indicator", "measured_on"),
    description="Valeurs mesurées (une par indicateur et par date). Une valeur modifiée est "
    "enregistrée comme une correction : l'ancienne est conservée.",
)

PARTNERS = SheetSpec(
    "Partenaires",
    "partenaires.csv",
    (
        _text("code", "Code partenaire", True, 40, 22),
        _text("name", "Nom", True, 200, 45),
        _choice("kind", "Type", PARTNER_KIND_CHOICES, True, dropdown="types"),
        _bool("is_signatory", "Signataire", False, width=11),
        _text("siren", "SIREN", False, 9, 12),
        _text("commune", "Commune (code INSEE)", False, 5, 14),
    ),
    key=("code",),
    description="Partenaires du contrat. Un partenaire nouveau doit figurer ici avant d'être "
    "cité ailleurs.",
)

QUARTIERS = SheetSpec(
    "Quartiers",
    "quartiers.csv",
    (
        _text("code", "Code QPV", True, 12, 12),
        _text("name", "Nom", True, 200, 45),
        _codes("communes", "Communes (codes INSEE)", True, width=24),
        _bool("in_contract", "Dans le contrat", False, width=14),
    ),
    key=("code",),
    description="Quartiers prioritaires (référentiel officiel : un code QPV inconnu est refusé).",
)

PRIORITIES = SheetSpec(
    "Orientations",
    "orientations.csv",
    (
        _text("code", "Code orientation", True, 20, 14),
        _text("title", "Intitulé", True, 300, 60),
        _text("parent", "Orientation parente (code)", False, 20, 14),
        _text("domain", "Domaine", True, 20, 18),
    ),
    key=("code",),
    imported=False,
    description="Pour information : les orientations du contrat (non relues à l'import).",
)

DECISIONS = SheetSpec(
    "Décisions",
    "decisions.csv",
    (
        _choice(
            "meeting_kind", "Instance", MEETING_KIND_CHOICES, True, width=22, dropdown="instances"
        ),
        _date("meeting_on", "Date de l'instance", True),
        _int("number", "N°", True, width=6),
        _text("text", "Décision", True, 4000, 60),
        _choice("kind", "Type", DECISION_KIND_CHOICES, True, width=20, dropdown="types_decision"),
        _choice(
            "status", "Statut", DECISION_STATUS_CHOICES, True, width=14, dropdown="statuts_decision"
        ),
        _text("owner", "Responsable (code partenaire)", False, 40, 22, dropdown="partenaires"),
        _date("due_on", "Échéance", width=14),
        _codes("commitments", "Engagements (codes)", width=24, default=()),
        _codes("indicators", "Indicateurs (codes)", width=24, default=()),
        _codes("quartiers", "Quartiers (codes QPV)", width=24, default=()),
        _text("avenant_reference", "Référence d'avenant", False, 200, 24, default=""),
    ),
    key=("meeting_kind", "meeting_on", "number"),
    description="Décisions des instances (COPIL, COTECH, revue à mi-parcours), reconnues par "
    "l'instance, sa date et leur numéro. L'instance doit exister et être tenue ; après la "
    "diffusion du relevé, le texte d'une décision ne se modifie plus par import.",
)

FUNDING = SheetSpec(
    "Financements",
    "financements.csv",
    (
        _text("commitment", "Code engagement", True, 40, 16),
        _text("partner", "Financeur (code partenaire)", True, 40, 22, dropdown="partenaires"),
        _int("year", "Année budgétaire", True, width=10),
        _text("beneficiary_name", "Bénéficiaire", False, 200, 30, default=""),
        _FUNDING_TYPE,
        _amount("amount_requested", "Montant demandé (€)", default=0.0),
        _amount("amount_voted", "Montant voté (€)"),
        _text("vote_reference", "Référence de la décision", False, 120, 20, default=""),
        _date("voted_on", "Date du vote", width=14),
        _text("payments", "Versements", False, None, 40, default=""),
        _text("overrun_reason", "Motif du dépassement", False, 2000, 30, default=""),
        _amount("amount_justified", "Montant justifié (€)"),
        _date("justified_on", "Date du CERFA 15059", width=14),
        _text("beneficiary_siret", "SIRET", False, 14, 16, default=""),
        _text("beneficiary_rna", "RNA", False, 10, 12, default=""),
        _text("dauphin_number", "Dossier Dauphin", False, 40, 16, default=""),
        _bool("cpo", "CPO", False, width=8),
        _int("cpo_first_year", "CPO : première année"),
        _int("cpo_last_year", "CPO : dernière année"),
    ),
    key=("commitment", "partner", "year", "beneficiary_name"),
    description="Lignes financières : une par engagement, financeur, année budgétaire et "
    "bénéficiaire. Versements : « JJ/MM/AAAA=montant (référence) » séparés par « ; » ; un "
    "versement enregistré ne se retire pas par import. Versé ≤ voté sauf motif, justifié ≤ "
    "versé, pas de versement avant le vote, SIRET et RNA vérifiés.",
)

# In dependency order: a sheet only refers to sheets above it (import order).
SHEETS: tuple[SheetSpec, ...] = (
    PARTNERS,
    QUARTIERS,
    PRIORITIES,
    COMMITMENTS,
    CO_PARTNERS,
    AMOUNTS,
    INDICATORS,
    TARGETS,
    MEASUREMENTS,
    DECISIONS,
    FUNDING,
)
SHEETS_BY_NAME = {sheet.name: sheet for sheet in SHEETS}
SHEETS_BY_CSV = {sheet.csv_name: sheet for sheet in SHEETS}
README_SHEET = "Lisez-moi"
LISTS_SHEET = "Listes"


# -- cell values: writing ------------------------------------------------------------------


def cell_value(column: Column, value: Any) -> Any:
    """The value written in a cell for a Python value of this column."""
    if value is None:
        return None
    if column.kind == "choice":
        return column.choices.get(value, value)
    if column.kind == "bool":
        return YES if value else NO
    if column.kind == "codes":
        return LIST_SEPARATOR.join(value) or None
    if column.kind == "number":
        return float(value)
    if isinstance(value, str):
        return value or None
    return value


# Columns written as text in CSV: neutralised against formulas (`suivi.io.safe_text`).
TEXT_KINDS = frozenset({"text", "codes", "choice"})


def csv_value(column: Column, value: Any) -> str:
    """The text of a CSV field: ISO dates, dot decimals, labels for codes; text that a
    spreadsheet would run as a formula quoted."""
    value = cell_value(column, value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return csv_text(str(value)) if column.kind in TEXT_KINDS else str(value)


# -- cell values: reading ------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be read; the message is in French, for people."""


_SPACES = re.compile(r"[\s\u00a0\u202f]")
_DATE_FR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def quote(value: Any) -> str:
    return f"« {value} »"


def parse_cell(column: Column, raw: Any) -> Any:
    """Read one cell (xlsx value or CSV text). Blank gives the column's default (None for a
    required column). Raises CellError with a French message."""
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            raw = None
    if raw is None:
        return column.default
    kind = column.kind
    if kind == "text":
        text = _as_text(raw)
        if column.max_length and len(text) > column.max_length:
            raise CellError(
                f"{quote(text[:40])} dépasse {column.max_length} caractères ({len(text)})"
            )
        return text
    if kind == "number":
        return _as_number(raw)
    if kind == "int":
        number = _as_number(raw)
        if not float(number).is_integer():
            raise CellError(f"{quote(raw)} n'est pas un nombre entier")
        return int(number)
    if kind == "date":
        return _as_date(raw)
    if kind == "bool":
        return _as_bool(raw)
    if kind == "choice":
        return _as_choice(column, raw)
    if kind == "codes":
        codes = [part.strip() for part in re.split(r"[;,]", _as_text(raw))]
        return tuple(code for code in codes if code)
    raise AssertionError(f"unknown column kind {kind}")


def _as_text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime | date):
        raise CellError(f"{quote(raw)} est une date, pas un texte")
    return str(raw)


def _as_number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise CellError(f"{quote(raw)} n'est pas un nombre")
    if isinstance(raw, int | float | Decimal):
        number = float(raw)
    elif isinstance(raw, str):
        text = _SPACES.sub("", raw)
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise CellError(f"{quote(raw)} n'est pas un nombre") from None
    else:
        raise CellError(f"{quote(raw)} n'est pas un nombre")
    if not math.isfinite(number):
        raise CellError(f"{quote(raw)} n'est pas un nombre fini")
    return number


def _as_date(raw: Any) -> date:
    if isinstance(raw, datetime):
        if raw.time() != datetime.min.time():
            raise CellError(f"{quote(raw)} contient une heure : une date seule est attendue")
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return parse_day(raw)
        except ValueError:
            pass
    raise CellError(f"{quote(raw)} n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ)")


def parse_day(text: str) -> date:
    """A date written JJ/MM/AAAA (the French way) or AAAA-MM-JJ; ValueError otherwise."""
    french = _DATE_FR.match(text)
    if french is None:
        return date.fromisoformat(text)
    day, month, year = (int(part) for part in french.groups())
    return date(year, month, day)


_TRUE = {"oui", "o", "vrai", "true", "1", "x", "yes"}
_FALSE = {"non", "n", "faux", "false", "0", "no"}


def _as_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _as_text(raw).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(f"{quote(raw)} n'est pas « oui » ou « non »")


def _as_choice(column: Column, raw: Any) -> str:
    text = _as_text(raw).strip().casefold()
    for code, label in column.choices.items():
        if text in (code.casefold(), label.casefold()):
            return code
    allowed = ", ".join(quote(label) for label in column.choices.values())
    raise CellError(f"{quote(raw)} n'est pas une valeur permise ({allowed})")


# -- the payments of a financial line, in one cell -------------------------------------------

_PAYMENT = re.compile(r"^(?P<day>[^=]+?)\s*=\s*(?P<amount>[^(]+?)\s*(?:\((?P<reference>.*)\))?$")


def payments_text(payments: list[tuple[date, Decimal, str]]) -> str:
    """« 04/05/2026=20000.00 (1er acompte); 05/10/2026=10000.00 (Solde) »."""
    parts = []
    for day, amount, reference in payments:
        part = f"{day.strftime('%d/%m/%Y')}={amount}"
        parts.append(f"{part} ({reference})" if reference else part)
    return LIST_SEPARATOR.join(parts)


def parse_payments(text: str) -> list[tuple[date, str, str]]:
    """The payments of a « Versements » cell: (day, amount as written, reference). Raises
    CellError (French) on a part that is not « JJ/MM/AAAA=montant (référence) »."""
    result = []
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        match = _PAYMENT.match(part)
        if match is None:
            raise CellError(
                f"versement {quote(part)} : écrivez JJ/MM/AAAA=montant, suivi si besoin de "
                "la référence entre parenthèses (ex. 04/05/2026=1200 (Solde))"
            )
        day = _as_date(match["day"].strip())
        result.append((day, match["amount"].strip(), (match["reference"] or "").strip()))
    return result


# « 25/11/2025 n° 3 »: a committee decision, by its meeting's date and its number.
_DECISION_REFERENCE = re.compile(
    r"^(?P<day>\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})\s*(?:n\s*°|no|#|,)?\s*(?P<number>\d+)$",
    re.IGNORECASE,
)


def parse_decision_reference(text: str) -> tuple[date, int]:
    """(meeting date, decision number) of « 25/11/2025 n° 3 ». Raises CellError (French)."""
    match = _DECISION_REFERENCE.match(_SPACES.sub(" ", text).strip())
    if match is None:
        raise CellError(
            f"{quote(text)} : écrivez la date de l'instance et le numéro de la décision "
            "(ex. « 25/11/2025 n° 3 »)"
        )
    return _as_date(match["day"]), int(match["number"])
