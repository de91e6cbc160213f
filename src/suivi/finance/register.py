"""Import of a subsidy register exported from a partner's tool (CSV, named columns, see
docs/registre-subventions.md): one row per subsidy, its payments in one column. Every row
goes through `suivi.finance.service.create_line`, i.e. the same rules as the API and the
pages; scoping decides which rows the importer may write. All or nothing: when one row is
refused, nothing is written and every refused row is listed with its line number."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.auth.principal import Principal
from suivi.codes import FUNDING_TYPES
from suivi.commitments.models import Commitment
from suivi.contract.models import Partner
from suivi.errors import ApiError
from suivi.finance import service
from suivi.finance.models import FundingLine
from suivi.labels import FUNDING_TYPE_LABELS

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
# Column (normalised header) → field. Headers are read without case, accents, spaces.
COLUMNS = {
    "engagement": "commitment",
    "financeur": "partner",
    "annee": "year",
    "typefinancement": "funding_type",
    "montantdemande": "amount_requested",
    "montantvote": "amount_voted",
    "datevote": "voted_on",
    "referencedecision": "vote_reference",
    "beneficiaire": "beneficiary_name",
    "siret": "beneficiary_siret",
    "rna": "beneficiary_rna",
    "dossierdauphin": "dauphin_number",
    "cpo": "cpo",
    "cpodebut": "cpo_first_year",
    "cpofin": "cpo_last_year",
    "versements": "payments",
    "motifdepassement": "overrun_reason",
    "montantjustifie": "amount_justified",
    "datejustification": "justified_on",
}
REQUIRED = ("commitment", "partner", "year")
YES = {"oui", "o", "yes", "1", "vrai", "x"}
NO = {"non", "n", "no", "0", "faux", ""}


@dataclass
class RegisterReport:
    rows: int = 0
    created: int = 0
    # (line number in the file, French message)
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _key(header: str) -> str:
    text = unicodedata.normalize("NFKD", header.strip().lower())
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in text if not unicodedata.combining(c)))


def _date(text: str, what: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        # JJ/MM/AAAA as French spreadsheets write it, else ISO (AAAA-MM-JJ).
        if "/" in text:
            return datetime.strptime(text, "%d/%m/%Y").date()
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} « {text} » n’est pas une date (JJ/MM/AAAA).") from None


def _year(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{4}", text):
        raise ValueError(f"{what} « {text} » n’est pas une année (AAAA).")
    return int(text)


def _payments(text: str) -> list[tuple[date, str, str]]:
    """« 04/05/2026=20000,01 | 05/10/2026=10000 » (or « ; » in a quoted cell) →
    [(day, amount, "")]."""
    result = []
    for part in filter(None, (p.strip() for p in re.split(r"[;|]", text))):
        if "=" not in part:
            raise ValueError(f"Versement « {part} » : écrivez DATE=MONTANT (ex. 04/05/2026=1200).")
        day, amount = part.split("=", 1)
        result.append((_date(day, "La date du versement"), amount.strip(), ""))
    return result


def _funding_type(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    by_label = {_key(label): code for code, label in FUNDING_TYPE_LABELS.items()}
    code = text if text in FUNDING_TYPES else by_label.get(_key(text))
    if code is None:
        raise ValueError(f"Type de financement inconnu : « {text} ».")
    return code


def read_register(content: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The file's fields (known columns) and its rows as (line number, {field: text})."""
    if len(content) > MAX_BYTES:
        raise ValueError("Le fichier dépasse 10 Mo.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252")  # a spreadsheet's « CSV (séparateur : point-virgule) »
    delimiter = (
        ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    )
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise ValueError("Le fichier est vide.")
    fields = [COLUMNS.get(_key(name)) for name in header]
    missing = [
        name for name, target in COLUMNS.items() if target in REQUIRED and target not in fields
    ]
    if missing:
        raise ValueError("Colonnes obligatoires absentes : " + ", ".join(missing) + ".")
    rows = []
    for index, values in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            raise ValueError(f"Le fichier dépasse {MAX_ROWS} lignes.")
        if not any(v.strip() for v in values):
            continue
        rows.append((index, {f: v for f, v in zip(fields, values, strict=False) if f is not None}))
    return [f for f in fields if f], rows


def import_register(
    session: Session,
    principal: Principal,
    *,
    contract_id: int,
    content: bytes,
    actor_id: int | None,
    actor_label: str = "import du registre des subventions",
) -> RegisterReport:
    """Create one financial line per row; all or nothing (a savepoint rolled back when a row
    is refused). The caller commits when `report.ok`."""
    report = RegisterReport()
    try:
        _, rows = read_register(content)
    except ValueError as exc:
        report.problems.append((1, str(exc)))
        return report
    commitments = {
        c.code: c
        for c in session.execute(
            select(Commitment).where(Commitment.contract_id == contract_id)
        ).scalars()
    }
    partners = dict(
        session.execute(
            select(Partner.code, Partner.id).where(Partner.contract_id == contract_id)
        ).all()
    )
    savepoint = session.begin_nested()
    for number, row in rows:
        report.rows += 1
        try:
            _import_row(session, principal, row, commitments, partners, actor_id, actor_label)
            report.created += 1
        except (ValueError, ApiError) as exc:
            report.problems.append((number, getattr(exc, "detail", None) or str(exc)))
    if report.problems:
        savepoint.rollback()
        report.created = 0
    else:
        savepoint.commit()
    return report


def _import_row(session, principal, row, commitments, partners, actor_id, actor_label) -> None:
    code = row.get("commitment", "").strip()
    commitment = commitments.get(code)
    if commitment is None or not scoping.can_read_commitment(session, principal, commitment):
        raise ValueError(f"Engagement « {code} » inconnu.")
    partner_code = row.get("partner", "").strip()
    partner_id = partners.get(partner_code)
    if partner_id is None:
        raise ValueError(f"Financeur « {partner_code} » inconnu (code du partenaire).")
    if not scoping.can_create_funding_line(session, principal, commitment, partner_id):
        raise ValueError(f"Vous ne pouvez pas saisir les financements de « {partner_code} ».")
    cpo = row.get("cpo", "").strip().lower()
    if cpo not in YES | NO:
        raise ValueError(f"CPO « {cpo} » : écrivez oui ou non.")
    fields = {
        "partner_id": partner_id,
        "year": _year(row.get("year", ""), "L’année"),
        "funding_type": _funding_type(row.get("funding_type", "")),
        "amount_requested": row.get("amount_requested", "").strip() or "0",
        "amount_voted": row.get("amount_voted", "").strip() or None,
        "voted_on": _date(row.get("voted_on", ""), "La date du vote"),
        "vote_reference": row.get("vote_reference", ""),
        "beneficiary_name": row.get("beneficiary_name", ""),
        "beneficiary_siret": row.get("beneficiary_siret", ""),
        "beneficiary_rna": row.get("beneficiary_rna", ""),
        "dauphin_number": row.get("dauphin_number", ""),
        "cpo": cpo in YES,
        "cpo_first_year": _year(row.get("cpo_first_year", ""), "La première année de la CPO"),
        "cpo_last_year": _year(row.get("cpo_last_year", ""), "La dernière année de la CPO"),
        "overrun_reason": row.get("overrun_reason", ""),
        "amount_justified": row.get("amount_justified", "").strip() or None,
        "justified_on": _date(row.get("justified_on", ""), "La date de justification"),
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    if fields.get("year") is None:
        raise ValueError("Indiquez l’année budgétaire.")
    duplicate = session.execute(
        select(FundingLine.id).where(
            FundingLine.commitment_id == commitment.id,
            FundingLine.partner_id == partner_id,
            FundingLine.year == fields["year"],
            FundingLine.beneficiary_name == fields.get("beneficiary_name", "").strip(),
        )
    ).first()
    if duplicate is not None:
        raise ValueError("Cette subvention est déjà enregistrée (même engagement, financeur, "
                         "année et bénéficiaire).")  # fmt: skip
    service.create_line(
        session,
        commitment,
        fields=fields,
        payments=_payments(row.get("payments", "")),
        actor_id=actor_id,
        actor_label=actor_label,
    )


def system_principal(contract_id: int) -> Principal:
    """Who imports from the command line: the operator, with an admin's rights on the
    configured contract."""
    return Principal(
        user_id=0,
        email="",
        full_name="ligne de commande",
        role="admin",
        partner_id=None,
        contract_ids=(contract_id,),
    )
