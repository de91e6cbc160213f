"""Pieces shared by the API routers: the router itself (`api_router`), bounded input types,
pagination (`Paging`), sorting, contract (`CurrentContract`) and `as_of` resolution. Inputs
are bounded so that no value can reach the database or the progress engine in a shape that
would fail there (NUL characters, 64-bit overflows, infinite or absurd numbers, dates in
year 9999)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Annotated
from typing import Any
from typing import Generic
from typing import TypeVar

from fastapi import APIRouter
from fastapi import Depends
from fastapi import Path
from fastapi import Query
from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import create_model
from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import Session

from suivi import clock
from suivi.api.errors import API_PREFIX
from suivi.api.errors import ERROR_RESPONSES
from suivi.auth.deps import CurrentPrincipal
from suivi.auth.deps import require_role
from suivi.auth.principal import Principal
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.deps import SessionDep
from suivi.deps import SettingsDep
from suivi.deps import UnitOfWorkRoute
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.validation import MAX_ABS_NUMBER
from suivi.validation import clean_number
from suivi.validation import clean_text
from suivi.validation import clean_url

MAX_ID = 2**31 - 1
MAX_ABS_VALUE = MAX_ABS_NUMBER
MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def api_router(tag: str, under: str = "", **options: Any) -> APIRouter:
    """A router of the JSON API: under /api (then `under`, e.g. "/io"), with the one error
    format documented (`suivi.api.errors`) and, unless `route_class` says otherwise, each
    request one unit of work committed by the endpoint (`UnitOfWorkRoute`)."""
    options.setdefault("route_class", UnitOfWorkRoute)
    return APIRouter(prefix=API_PREFIX + under, tags=[tag], responses=ERROR_RESPONSES, **options)


# The principal, if an administrator (else 403).
Admin = Annotated[Principal, Depends(require_role("admin"))]


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
# `sort=name` or `sort=-name` (the names each list allows: `sort_clause`).
SortQuery = Annotated[str | None, Query(max_length=40, pattern=r"^-?[a-z_]+$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The `version` a client read, sent back with a change (409 if the row changed since).
Version = Annotated[int, Field(ge=1, le=MAX_ID)]


def patch_model(
    model: type[BaseModel], name: str, *, leave_out: tuple[str, ...] = (), **own: Any
) -> type[StrictModel]:
    """The body of a PATCH of what `model` creates: its fields with the same types and bounds,
    each optional (`None`: not sent, left unchanged), but those of `leave_out`; `own`: fields
    of the PATCH alone, as `pydantic.create_model` takes them (`name=(type, default)`)."""
    fields: dict[str, Any] = {}
    for key, field in model.model_fields.items():
        if key not in leave_out:
            kind = field.annotation
            if field.metadata:  # its bounds and validators
                kind = Annotated[(kind, *field.metadata)]
            fields[key] = (kind | None, None)
    return create_model(name, __base__=StrictModel, __module__=model.__module__, **own, **fields)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


def paginate(
    session: Session, query, page: int, size: int, *, scalars: bool = True
) -> tuple[list, int]:
    """Run `query` (a select) for one page; returns (rows, total). A row is the first column
    (an entity), or with `scalars=False` a tuple of all the columns."""
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    result = session.execute(query.limit(size).offset((page - 1) * size))
    return list(result.scalars().all() if scalars else result.all()), total


@dataclass(frozen=True, slots=True)
class Paging:
    """The page a list asks for (`page`, `size` query parameters: the `PagingDep`)."""

    page: int
    size: int

    def of(
        self, session: Session, query, items: Callable[[list], list], *, scalars: bool = True
    ) -> Page:
        """One page of `query`'s rows, turned into the page's items by `items`."""
        rows, total = paginate(session, query, self.page, self.size, scalars=scalars)
        return Page(items=items(rows), total=total, page=self.page, size=self.size)

    def slice(self, matching: Sequence, items: Callable[[list], list] = list) -> Page:
        """One page of rows already filtered in memory, turned into items by `items`."""
        start = (self.page - 1) * self.size
        rows = list(matching[start : start + self.size])
        return Page(items=items(rows), total=len(matching), page=self.page, size=self.size)


def _paging(page: PageQuery = 1, size: SizeQuery = 50) -> Paging:
    return Paging(page, size)


PagingDep = Annotated[Paging, Depends(_paging)]


def read_as(model: type[M]) -> Callable[[Any], M]:
    """A row read into the response `model` (the attributes of its field names)."""
    return partial(model.model_validate, from_attributes=True)


def models(model: type[BaseModel]) -> Callable[[list], list]:
    """`items` for `Paging.of`: each row read into `model` (same field names)."""
    return lambda rows: list(map(read_as(model), rows))


def from_row(model: type[M], row: object, **extra: Any) -> M:
    """`row` read into the response `model`: the attributes of the model's field names, but
    those given in `extra` (what the row does not hold, or shows otherwise)."""
    values = {name: getattr(row, name) for name in model.model_fields if name not in extra}
    return model(**values, **extra)


def _itself(value: Any) -> Any:
    return value


def children(
    session: Session, query, parent_ids: list[int], item: Callable[..., Any] = _itself
) -> dict[int, list]:
    """What a page of rows shows of their children, in one query: `query` selects the
    parent's id then the child's columns (in the order wanted); each parent of `parent_ids`
    gets the list of its children, each turned into `item(*columns)` (by default the one
    column itself); no child: an empty list."""
    found: dict[int, list] = {parent_id: [] for parent_id in parent_ids}
    if parent_ids:
        parent = query.selected_columns[0]
        for parent_id, *columns in session.execute(query.where(parent.in_(parent_ids))):
            found[parent_id].append(item(*columns))
    return found


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


def _current_contract(
    session: SessionDep, principal: CurrentPrincipal, contract_id: ContractQuery = None
) -> Contract:
    return resolve_contract(session, principal, contract_id)


# The `contract_id` query parameter resolved (`resolve_contract`: 404 unless the user's), for
# reads. A dependency runs before the route's own parameters and body are validated: writes
# call `resolve_contract` themselves, so that an invalid body is refused first (422).
CurrentContract = Annotated[Contract, Depends(_current_contract)]


def resolve_as_of(as_of: date | None, settings) -> date:
    if as_of is None:
        return clock.today(settings.tz)
    if not MIN_DATE <= as_of <= MAX_DATE:
        raise Invalid("as_of", f"Date hors limites ({MIN_DATE.year}–{MAX_DATE.year}).")
    return as_of


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, in which unit of work: the two parameters nearly every route takes
    (`CallerDep`)."""

    session: Session
    principal: Principal


# The parameter bundles below only gather values that other dependencies resolved: they are
# `async def` so that FastAPI calls them in the event loop, not in one more threadpool hop per
# request (a sync dependency costs one: bench/api.py measured 0.4 ms an update).
async def _caller(session: SessionDep, principal: CurrentPrincipal) -> Caller:
    return Caller(session, principal)


CallerDep = Annotated[Caller, Depends(_caller)]


def audit_actor(principal: Principal) -> dict[str, Any]:
    """Who makes a change, as the services take it for the audit log."""
    return {"actor_id": principal.user_id, "actor_label": principal.label}


async def _admin_call(session: SessionDep, admin: Admin) -> Caller:
    return Caller(session, admin)


# A `Caller` who is an administrator (else 403).
AdminCallDep = Annotated[Caller, Depends(_admin_call)]


@dataclass(frozen=True, slots=True)
class DatedCaller(Caller):
    """A `Caller` with the settings and the `as_of` query parameter (`DatedCallerDep`)."""

    settings: Settings
    as_of: date | None

    def day(self) -> date:
        """The reference date asked for (`resolve_as_of`: today by default); resolved when
        the route asks, so that a 404 of its lookups comes first, as before."""
        return resolve_as_of(self.as_of, self.settings)


async def _dated_caller(
    session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal, as_of: AsOfQuery = None
) -> DatedCaller:
    return DatedCaller(session, principal, settings, as_of)


DatedCallerDep = Annotated[DatedCaller, Depends(_dated_caller)]


def check_in_term(contract: Contract, day: date, field: str) -> None:
    if not contract.term_start <= day <= contract.term_end:
        raise Invalid(
            field,
            f"La date {day.isoformat()} est hors de la durée du contrat "
            f"({contract.term_start.isoformat()} – {contract.term_end.isoformat()}).",
        )
