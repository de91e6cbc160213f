"""The rules of a financial line, in one place for every writer (API, pages, spreadsheet and
subsidy-register import): identifiers of the beneficiary, amounts, and the order of a line's
life (asked → voted → paid → justified). Each check raises `Invalid` with a French message
naming the field at fault; nothing here touches the database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from decimal import ROUND_HALF_UP
from decimal import Decimal
from decimal import InvalidOperation

from suivi.errors import Invalid
from suivi.formatting import format_date
from suivi.formatting import format_euros
from suivi.validation import InputError
from suivi.validation import clean_text
from suivi.validation import siret_valid

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")
RNA_PATTERN = re.compile(r"^W\d{9}$")
# A financial report is due six months after the end of the budget year.
JUSTIFICATION_DELAY_MONTHS = 6


def clean_amount(value, field_name: str, what: str = "Le montant") -> Decimal:
    """A non-negative amount in euros, to the cent."""
    if isinstance(value, bool):
        raise Invalid(field_name, f"{what} doit être un nombre.")
    try:
        amount = Decimal(
            str(value).strip().replace("\u202f", "").replace(" ", "").replace(",", ".")
        )
    except (InvalidOperation, ValueError):
        raise Invalid(field_name, f"{what} doit être un nombre (en euros).") from None
    if not amount.is_finite():
        raise Invalid(field_name, f"{what} doit être un nombre (en euros).")
    if amount < 0:
        raise Invalid(field_name, f"{what} ne peut pas être négatif.")
    if amount > MAX_AMOUNT:
        raise Invalid(field_name, f"{what} dépasse le plus grand montant accepté.")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise Invalid(field_name, f"{what} a plus de deux décimales (centimes).")
    return amount.quantize(CENT)


def clean_siret(value: str) -> str:
    """14 digits whose Luhn key is right; spaces are dropped; "" stays "" (no SIRET)."""
    siret = re.sub(r"\s", "", value or "")
    if not siret:
        return ""
    if not re.fullmatch(r"\d{14}", siret):
        raise Invalid("beneficiary_siret", f"Le SIRET « {siret} » doit compter 14 chiffres.")
    if not siret_valid(siret):
        raise Invalid(
            "beneficiary_siret",
            f"Le SIRET « {siret} » est invalide (clé de contrôle fausse) : vérifiez-le.",
        )
    return siret


def clean_rna(value: str) -> str:
    """An association's RNA number: W followed by 9 digits; "" stays "" (not an association)."""
    rna = re.sub(r"\s", "", value or "").upper()
    if rna and not RNA_PATTERN.fullmatch(rna):
        raise Invalid(
            "beneficiary_rna",
            f"Le numéro RNA « {rna} » doit être un W suivi de 9 chiffres (ex. W623001234).",
        )
    return rna


def justification_due(year: int) -> date:
    """The last day for the financial report of budget year `year` (six months after its end)."""
    return date(year + 1, JUSTIFICATION_DELAY_MONTHS, 30)


@dataclass(frozen=True)
class LineFacts:
    """What the rules need to know of a line (its state after the change being checked)."""

    year: int
    amount_requested: Decimal = Decimal(0)
    amount_voted: Decimal | None = None
    voted_on: date | None = None
    overrun_reason: str = ""
    amount_justified: Decimal | None = None
    justified_on: date | None = None
    cpo: bool = False
    cpo_first_year: int | None = None
    cpo_last_year: int | None = None
    payments: list[tuple[date, Decimal]] = field(default_factory=list)

    @property
    def amount_paid(self) -> Decimal:
        return sum((amount for _, amount in self.payments), Decimal(0))


def check_line(facts: LineFacts) -> None:
    """Every rule of a line's life; the first broken one raises `Invalid`."""
    if facts.amount_voted is not None and facts.voted_on is None:
        raise Invalid("voted_on", "Un montant voté doit avoir sa date de décision.")
    if facts.voted_on is not None and facts.amount_voted is None:
        raise Invalid("amount_voted", "Une date de décision est donnée sans montant voté.")
    if facts.cpo:
        if facts.cpo_first_year is None or facts.cpo_last_year is None:
            raise Invalid(
                "cpo_first_year", "Une convention pluriannuelle (CPO) doit donner ses années."
            )
        if facts.cpo_first_year >= facts.cpo_last_year:
            raise Invalid(
                "cpo_last_year",
                "Une convention pluriannuelle (CPO) couvre au moins deux années.",
            )
        if not facts.cpo_first_year <= facts.year <= facts.cpo_last_year:
            raise Invalid(
                "cpo_first_year",
                f"L’année budgétaire {facts.year} est hors des années de la CPO "
                f"({facts.cpo_first_year}–{facts.cpo_last_year}).",
            )
    if facts.payments:
        if facts.amount_voted is None:
            raise Invalid("payments", "Un versement ne peut précéder le vote de la subvention.")
        for paid_on, amount in facts.payments:
            if amount <= 0:
                raise Invalid("amount", "Un versement doit être un montant positif.")
            if paid_on < facts.voted_on:
                raise Invalid(
                    "paid_on",
                    f"Le versement du {format_date(paid_on)} précède le vote du "
                    f"{format_date(facts.voted_on)}.",
                )
    paid = facts.amount_paid
    if (
        facts.amount_voted is not None
        and paid > facts.amount_voted
        and not facts.overrun_reason.strip()
    ):
        raise Invalid(
            "overrun_reason",
            f"Le montant versé ({format_euros(paid)}) dépasse le montant voté "
            f"({format_euros(facts.amount_voted)}) : indiquez le motif du dépassement.",
        )
    if facts.amount_justified is not None:
        if facts.amount_justified > paid:
            raise Invalid(
                "amount_justified",
                f"Le montant justifié ({format_euros(facts.amount_justified)}) dépasse le "
                f"montant versé ({format_euros(paid)}).",
            )
        if facts.justified_on is None:
            raise Invalid(
                "justified_on",
                "Indiquez la date de réception du compte rendu financier (CERFA n° 15059).",
            )
    elif facts.justified_on is not None:
        raise Invalid("amount_justified", "Une date de justification est donnée sans montant.")


# Text fields of a line and their length (the columns').
TEXT_FIELDS = {
    "vote_reference": (120, "La référence de la décision"),
    "overrun_reason": (2000, "Le motif du dépassement"),
    "beneficiary_name": (200, "Le nom du bénéficiaire"),
    "dauphin_number": (40, "Le numéro de dossier Dauphin"),
}
AMOUNT_FIELDS = {
    "amount_requested": "Le montant demandé",
    "amount_voted": "Le montant voté",
    "amount_justified": "Le montant justifié",
}


def clean_line_fields(fields: dict) -> dict:
    """The line's fields as every writer gives them, cleaned (amounts to the cent, SIRET and
    RNA checked, texts within the input domain); unknown keys are left as they are."""
    cleaned = dict(fields)
    for name, what in AMOUNT_FIELDS.items():
        if name in cleaned and cleaned[name] is not None:
            cleaned[name] = clean_amount(cleaned[name], name, what)
    if cleaned.get("amount_requested", 0) is None:
        cleaned["amount_requested"] = Decimal(0)
    for name, (max_length, what) in TEXT_FIELDS.items():
        if name in cleaned:
            try:
                cleaned[name] = clean_text(cleaned[name] or "", max_length, what).strip()
            except InputError as exc:
                raise Invalid(name, str(exc)) from None
    if "beneficiary_siret" in cleaned:
        cleaned["beneficiary_siret"] = clean_siret(cleaned["beneficiary_siret"])
    if "beneficiary_rna" in cleaned:
        cleaned["beneficiary_rna"] = clean_rna(cleaned["beneficiary_rna"])
    return cleaned
