"""What every page needs: the Jinja2 environment, the logged-in user, the contract, `as_of`,
French form parsing, pagination and the HTML error pages.

Pages are thin: a route resolves the user (`UserDep`, else a redirect to the login form),
builds a `Page` (contract + as_of), reads through `suivi.scoping`, and renders a template.
Objects the user may not read answer 404 (`PageError`), never a hint that they exist.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from pathlib import Path
from typing import Annotated
from typing import Any
from typing import TypeVar
from urllib.parse import quote
from urllib.parse import urlencode

from fastapi import Depends
from fastapi import Form
from fastapi import HTTPException
from fastapi import Path as PathParam
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import Result
from sqlmodel import Session

from suivi import clock
from suivi import labels
from suivi.api.common import MAX_DATE
from suivi.api.common import MAX_ID
from suivi.api.common import MIN_DATE
from suivi.auth.deps import CSRF_FORM_FIELD
from suivi.auth.deps import CSRF_HEADER
from suivi.auth.deps import PagePrincipal
from suivi.auth.deps import verify_csrf
from suivi.auth.principal import Principal
from suivi.config import Settings
from suivi.contract.models import Contract
from suivi.contract.models import Quartier
from suivi.contract.models import contract_quartier_ids
from suivi.deps import SessionDep
from suivi.errors import Forbidden
from suivi.errors import NotFound
from suivi.formatting import install_filters
from suivi.io.workbook import parse_day
from suivi.validation import clean_number

WEB_DIR = Path(__file__).parent
PAGE_SIZE = 20
MAX_TEXT = 2000

templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
install_filters(templates.env)
# Every label table of `suivi.labels` (PERFORMANCE_LABELS, ROLE_LABELS, …) under its own name.
templates.env.globals.update(
    {name: table for name, table in vars(labels).items() if name.endswith("_LABELS")}
)
templates.env.globals.update(
    labels=labels,
    tone=labels.tone,
    CSRF_FORM_FIELD=CSRF_FORM_FIELD,
    CSRF_HEADER=CSRF_HEADER,
)


class PageError(Exception):
    """An HTML error page (404 for what the user may not read, 403 for a refused action)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class LoginRequired(Exception):  # noqa: N818 - a control-flow signal, not an error
    pass


def not_found(what: str = "Page") -> PageError:
    return PageError(404, f"{what} introuvable (ou hors de votre périmètre).")


@contextmanager
def page_errors() -> Iterator[None]:
    """The domain's refusals (`suivi.errors`) of a fetch-and-authorise call as the error
    page: 404 « … introuvable (ou hors de votre périmètre). », 403 with its reason."""
    try:
        yield
    except NotFound as exc:
        raise PageError(404, f"{exc.detail.rstrip('.')} (ou hors de votre périmètre).") from None
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None


def require_user(request: Request, principal: PagePrincipal) -> Principal:
    if principal is None:
        raise LoginRequired()
    return principal


UserDep = Annotated[Principal, Depends(require_user)]

# Every numeric id in a page's path: bounded like the database's integers (a larger one
# would overflow the query), refused with 422 before anything is read.
PageId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def parse_as_of(request: Request, settings: Settings) -> tuple[date, bool]:
    """`?as_of=AAAA-MM-JJ` (reproducible pages, tests), else today in the configured zone.
    Returns (day, explicit)."""
    raw = request.query_params.get("as_of") or ""
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise PageError(400, "Paramètre as_of invalide (format AAAA-MM-JJ).") from None
        if not MIN_DATE <= day <= MAX_DATE:
            raise PageError(422, f"Paramètre as_of hors limites ({MIN_DATE.year}–{MAX_DATE.year}).")
        return day, True
    return clock.today(settings.tz), False


@dataclass
class Page:
    """One request's context: who, which contract, which day."""

    request: Request
    session: Session
    principal: Principal
    contract: Contract
    as_of: date
    as_of_explicit: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.request.app.state.settings

    @property
    def can_edit(self) -> bool:
        """May log measurements somewhere (copil never sees an edit form)."""
        return self.principal.role in ("admin", "chef_de_projet", "partenaire")

    def url(self, path: str, **params: Any) -> str:
        """`path` with the query parameters (None/"" dropped) and the explicit as_of."""
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if self.as_of_explicit:
            query.setdefault("as_of", self.as_of.isoformat())
        return path + ("?" + urlencode(query) if query else "")

    def paginate(self, query) -> tuple[Pagination, Result]:
        """The rows of `query` on the page asked for (`?page=`, PAGE_SIZE a page), and the
        pagination (with the total count) the template's pager needs."""
        total = self.session.execute(
            select(func.count()).select_from(query.order_by(None).subquery())
        ).scalar_one()
        pagination = Pagination(page_number(self.request), PAGE_SIZE, total)
        rows = self.session.execute(query.limit(pagination.size).offset(pagination.offset))
        return pagination, rows

    def check_csrf(self, form_token: str | None) -> None:
        """Refuse the posted form without the session's CSRF token (see `check_csrf`)."""
        check_csrf(self.request, form_token)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            self.request,
            template,
            {"page": self, "user": self.principal, "contract": self.contract, **context},
            status_code=status_code,
        )


def contract_quartier(page: Page, code: str) -> Quartier:
    """The quartier of the page's contract that has this code, else the 404 page."""
    quartier = page.session.execute(
        select(Quartier).where(
            Quartier.code == code, Quartier.id.in_(contract_quartier_ids(page.contract.id))
        )
    ).scalar_one_or_none()
    if quartier is None:
        raise not_found("Quartier")
    return quartier


# The contract chosen in the header's selector (users of several contracts).
CONTRACT_COOKIE = "suivi_contrat"


def chosen_contract_id(request: Request, principal: Principal) -> int | None:
    """The cookie's contract if it is one of the user's, else the default (lowest id)."""
    raw = request.cookies.get(CONTRACT_COOKIE) or ""
    if raw.isdigit() and int(raw) in principal.contract_ids:
        return int(raw)
    return principal.default_contract_id


def get_page(request: Request, session: SessionDep, principal: UserDep) -> Page:
    contract_id = chosen_contract_id(request, principal)
    contract = session.get(Contract, contract_id) if contract_id is not None else None
    if contract is None:
        raise PageError(404, "Aucun contrat n'est associé à votre compte.")
    as_of, explicit = parse_as_of(request, request.app.state.settings)
    page = Page(request, session, principal, contract, as_of, explicit)
    if len(principal.contract_ids) > 1:  # the header's selector: (id, name) of each
        page.extra["contract_choices"] = session.execute(
            select(Contract.id, Contract.name)
            .where(Contract.id.in_(principal.contract_ids))
            .order_by(Contract.name, Contract.id)
        ).all()
    return page


PageDep = Annotated[Page, Depends(get_page)]


# The hidden field of every form that changes something (its check: `check_csrf`).
CsrfField = Annotated[str | None, Form(alias=CSRF_FORM_FIELD)]


class PostedForm(BaseModel):
    """The fields a page's form posts (a route takes `form: Posted[TheForm]`), with the
    hidden CSRF token that every form changing something carries (`Page.check_csrf`)."""

    csrf_token: str | None = None

    def values(self) -> dict[str, Any]:
        """The fields as typed (to save them, or to show the form again), without the token."""
        return self.model_dump(exclude={"csrf_token"})


AnyPostedForm = TypeVar("AnyPostedForm", bound=PostedForm)
# A route's form parameter: `form: Posted[TheForm]` reads TheForm's fields from the body.
Posted = Annotated[AnyPostedForm, Form()]


def check_csrf(request: Request, form_token: str | None) -> None:
    """Refuse a state-changing request without the session's CSRF token (hidden field, or
    the htmx header). Turns the 403 into the HTML error page."""
    token = form_token or request.headers.get(CSRF_HEADER)
    try:
        verify_csrf(request, token)
    except HTTPException as exc:
        raise PageError(403, str(exc.detail)) from None


# -- French form input -----------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def parse_french_number(raw: str) -> float:
    """« 1 234,5 », « 1234.5 », « -3 » → float; ValueError with a French message."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("Indiquez la valeur.")
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).replace("\u2212", "-")
    if not _NUMBER.match(cleaned):
        raise ValueError("Saisissez un nombre, par exemple 1 234,5.")
    return clean_number(float(cleaned.replace(",", ".")))


def parse_french_date(raw: str, missing: str = "Indiquez la date de la mesure.") -> date:
    """AAAA-MM-JJ (date input) or JJ/MM/AAAA (`parse_day`, as the spreadsheet cells);
    ValueError with a French message, `missing` when nothing is typed."""
    text = (raw or "").strip()
    if not text:
        raise ValueError(missing)
    try:
        return parse_day(text)
    except ValueError:
        raise ValueError("Date invalide : format attendu JJ/MM/AAAA.") from None


# -- pagination ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pagination:
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def slice(self, items: list) -> list:
        return items[self.offset : self.offset + self.size]


def page_number(request: Request) -> int:
    try:
        return max(1, min(int(request.query_params.get("page", "1")), 100_000))
    except ValueError:
        return 1


# -- exception handlers ----------------------------------------------------------------------


def any_demo_contract(engine) -> bool:
    """Pages without a contract (login, errors) still say when the instance holds demo data."""
    from sqlalchemy import select

    from suivi.db import session_scope

    with session_scope(engine) as session:
        return session.execute(select(Contract.id).where(Contract.is_demo)).first() is not None


async def page_error_handler(request: Request, exc: PageError) -> Response:
    principal = getattr(request.state, "principal", None)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "page": None,
            "user": principal,
            "contract": None,
            "demo": any_demo_contract(request.app.state.engine),
            "error": exc,
        },
        status_code=exc.status_code,
    )


async def login_required_handler(request: Request, exc: LoginRequired) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/connexion" if target == "/" else f"/connexion?suivant={quote(target)}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)
