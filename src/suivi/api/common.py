"""Pieces shared by the API routers: bounded input types, pagination, sorting, contract and
`as_of` resolution. Inputs are bounded so that no value can reach the database or the
progress engine in a shape that would fail there (NUL characters, 64-bit overflows,
infinite or absurd numbers, dates in year 9999)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Generic, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlmodel import Session

from suivi import clock
from suivi.auth.principal import Principal
from suivi.contract.models import Contract
from suivi.errors import Invalid, NotFound
from suivi.validation import MAX_ABS_NUMBER, clean_number, clean_text, clean_url

MAX_ID = 2**31 - 1
MAX_ABS_VALUE = MAX_ABS_NUMBER
MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)

T = TypeVar("T")


def _clean_text(value: str) -> str:
    # One text domain for every writer (control characters refused, line breaks normalised);
    # the length is bounded by each field.
    return clean_text(value, len(value) + 1)


def _finite(value: float) -> float:
    return clean_number(value)


def _reasonable_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"date hors limites ({MIN_DATE.year}–{MAX_DATE.year})")
    return value


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_clean_text)
    ]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Number = Annotated[float, AfterValidator(_finite)]
# A link shown to readers: http(s) only (`suivi.validation.clean_url`).
Url = Annotated[str, Field(max_length=500), AfterValidator(clean_url)]
Day = Annotated[date, AfterValidator(_reasonable_date)]

# Query/path parameters
# Every numeric id in a URL path (one definition: bounded like the database's integers).
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
PageQuery = Annotated[int, Query(ge=1, le=100_000, description="Numéro de page (à partir de 1).")]
SizeQuery = Annotated[int, Query(ge=1, le=200, description="Taille de la page.")]
ContractQuery = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="Contrat (défaut : le premier de l'utilisateur)."),
]
AsOfQuery = Annotated[
    date | None,
    Query(description="Date de référence AAAA-MM-JJ (défaut : aujourd'hui)."),
]
FilterId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


def paginate(session: Session, query, page: int, size: int) -> tuple[list, int]:
    """Run `query` (a select) for one page; returns (rows, total)."""
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.limit(size).offset((page - 1) * size)).scalars().all()
    return list(rows), total


def sort_clause(sort: str | None, columns: dict, default: str):
    """`sort=name` or `sort=-name` → ORDER BY expressions (always ending with the id so that
    pages are stable)."""
    key = sort or default
    descending = key.startswith("-")
    name = key.lstrip("-")
    if name not in columns:
        allowed = ", ".join(sorted(columns))
        raise Invalid("sort", f"Tri inconnu « {name} » (possibles : {allowed}, préfixe - ).")
    column = columns[name]
    order = [column.desc() if descending else column.asc()]
    if "id" in columns and name != "id":
        order.append(columns["id"].asc())
    return order


def resolve_contract(session: Session, principal: Principal, contract_id: int | None) -> Contract:
    """The contract asked for (or the user's default), if it is one of the user's."""
    contract_id = contract_id if contract_id is not None else principal.default_contract_id
    if contract_id is None or contract_id not in principal.contract_ids:
        raise NotFound("Contrat introuvable.")
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound("Contrat introuvable.")
    return contract


def resolve_as_of(as_of: date | None, settings) -> date:
    if as_of is None:
        return clock.today(settings.tz)
    if not MIN_DATE <= as_of <= MAX_DATE:
        raise Invalid("as_of", f"Date hors limites ({MIN_DATE.year}–{MAX_DATE.year}).")
    return as_of


def check_in_term(contract: Contract, day: date, field: str) -> None:
    if not contract.term_start <= day <= contract.term_end:
        raise Invalid(
            field,
            f"La date {day.isoformat()} est hors de la durée du contrat "
            f"({contract.term_start.isoformat()} – {contract.term_end.isoformat()}).",
        )
