"""Pages and JSON without login: /public, /public/quartiers/{code}, the published annual
reports, the open-data files, and /api/public/....

`[public] enabled = false` turns them all into 404. Anonymous readers never touch the write
path: each answer is built from a read-only session, then kept in memory for
`[public] cache_seconds` (per path and day), and sent with a public `Cache-Control` so a proxy
may keep it too. Nothing personal is read here (see `suivi.public.service`).
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi import APIRouter
from fastapi import HTTPException
from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader
from jinja2 import FileSystemLoader

from suivi import clock
from suivi.config import Settings
from suivi.db import session_scope
from suivi.formatting import format_date
from suivi.formatting import install_filters
from suivi.io.opendata import table_schema
from suivi.io.opendata import write_opendata
from suivi.io.opendata import write_subventions
from suivi.public import service
from suivi.reports.models import ReportFile
from suivi.web.common import WEB_DIR

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
# The public pages extend the site's base layout (demo banner, header, footer).
templates.env.loader = ChoiceLoader(
    [FileSystemLoader(str(HERE / "templates")), FileSystemLoader(str(WEB_DIR / "templates"))]
)
install_filters(templates.env)
# The shared data holds ISO dates (it is also the JSON): shown in French on the pages.
templates.env.filters["isofr"] = lambda value: format_date(
    date.fromisoformat(value) if value else None
)
templates.env.globals.update(CSRF_HEADER="", CSRF_FORM_FIELD="", ROLE_LABELS={})

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/public", tags=["public"])


class PublicCache:
    """Answers by key for `ttl` seconds (monotonic clock). Small: one entry per page."""

    def __init__(self, max_entries: int = 512) -> None:
        self._entries: dict[str, tuple[float, Response]] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.builds = 0  # how many answers were built (the tests read it)

    def get(self, key: str, ttl: float, build: Callable[[], Response]) -> Response:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        response = build()
        self.builds += 1
        if ttl > 0 and response.status_code == 200:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (now + ttl, response)
        return response

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _cache(request: Request) -> PublicCache:
    state = request.app.state
    if not hasattr(state, "public_cache"):
        state.public_cache = PublicCache()
    return state.public_cache


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    if not settings.public.enabled:
        raise HTTPException(404, "Les pages publiques ne sont pas activées.")
    return settings


def _cached(request: Request, build: Callable[[Settings], Response]) -> Response:
    settings = _settings(request)
    day = clock.today(settings.tz)
    key = f"{day.isoformat()}|{request.url.path}"
    response = _cache(request).get(key, settings.public.cache_seconds, lambda: build(settings))
    return response


def _headers(settings: Settings) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={settings.public.cache_seconds}"}


def _not_found_page(request: Request, message: str) -> Response:
    return templates.TemplateResponse(
        request,
        "public_error.html",
        {"page": None, "user": None, "contract": None, "message": message},
        status_code=404,
    )


def _read(request: Request, settings: Settings, work: Callable) -> Response:
    with session_scope(request.app.state.engine) as session:  # read-only
        contract = service.public_contract(session, settings.contract.code)
        if contract is None:
            return _not_found_page(request, "Aucun contrat n'est publié.")
        return work(session, contract)


def _public(request: Request, work: Callable) -> Response:
    """A public answer, kept for the day: `work(session, contract, settings)` builds it from
    the published contract (a 404 page without one)."""
    return _cached(
        request,
        lambda settings: _read(
            request, settings, lambda session, contract: work(session, contract, settings)
        ),
    )


def _render(request: Request, template: str, settings: Settings, contract, **context) -> Response:
    return templates.TemplateResponse(
        request,
        template,
        {"page": None, "user": None, "contract": contract, **context},
        headers=_headers(settings),
    )


# -- pages --------------------------------------------------------------------------------


@router.get("/public")
def public_home(request: Request) -> Response:
    def work(session, contract, settings: Settings) -> Response:
        overview = service.contract_overview(session, contract)
        return _render(request, "public_home.html", settings, contract, o=overview)

    return _public(request, work)


@router.get("/public/quartiers/{code}")
def public_quartier(request: Request, code: str) -> Response:
    def work(session, contract, settings: Settings) -> Response:
        detail = service.quartier_detail(session, contract, code[:12], clock.today(settings.tz))
        if detail is None:
            return _not_found_page(request, "Quartier introuvable.")
        return _render(request, "public_quartier.html", settings, contract, d=detail)

    return _public(request, work)


@router.get("/public/rapports-annuels/{year}.pdf")
def public_annual_report(request: Request, year: int) -> Response:
    def work(session, contract, settings: Settings) -> Response:
        file_id = service.published_report_file_id(session, contract, year)
        row = session.get(ReportFile, file_id) if file_id else None
        path = Path(settings.reports.dir) / row.path if row else None
        if path is None or not path.is_file():
            return _not_found_page(request, "Rapport annuel non publié.")
        return Response(
            path.read_bytes(),
            media_type="application/pdf",
            headers={
                **_headers(settings),
                "Content-Disposition": f'attachment; filename="rapport-annuel-{year}.pdf"',
            },
        )

    return _public(request, work)


def _csv_download(settings: Settings, filename: str, write: Callable[[Path], object]) -> Response:
    """A CSV written by `write(path)` (the same writers as the API and the command line)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / filename
        write(path)
        content = path.read_bytes()
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={**_headers(settings), "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/public/donnees-ouvertes.csv")
def public_opendata(request: Request) -> Response:
    def work(session, contract, settings: Settings) -> Response:
        return _csv_download(
            settings,
            f"engagements-qpv-{contract.code}.csv",
            lambda path: write_opendata(session, contract.id, path, clock.today(settings.tz)),
        )

    return _public(request, work)


@router.get("/public/subventions/{year}.csv")
def public_subsidies(request: Request, year: int) -> Response:
    """The SCDL « subventions » file of a budget year: open data by law (décret n° 2017-779),
    the same file as `GET /api/io/opendata/subventions?year=`."""

    def build(settings: Settings) -> Response:
        if not 2000 <= year <= 2100:
            return _not_found_page(request, "Année budgétaire inconnue.")

        def work(session, contract):
            return _csv_download(
                settings,
                f"subventions-{contract.code}-{year}.csv",
                lambda path: write_subventions(session, contract.id, path, year),
            )

        return _read(request, settings, work)

    return _cached(request, build)


@router.get("/public/donnees-ouvertes.schema.json")
def public_opendata_schema(request: Request) -> Response:
    settings = _settings(request)
    return _json(table_schema(), settings)


# -- JSON ---------------------------------------------------------------------------------


def _json(data, settings: Settings, status_code: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False),
        status_code=status_code,
        media_type="application/json",
        headers=_headers(settings) if status_code == 200 else {},
    )


def _json_of(request: Request, find: Callable, missing: str) -> Response:
    """A public JSON answer: `find(session, contract, settings)` gives the data, or None
    for a 404 saying `missing`."""

    def build(settings: Settings) -> Response:
        with session_scope(request.app.state.engine) as session:  # read-only
            contract = service.public_contract(session, settings.contract.code)
            data = find(session, contract, settings) if contract else None
            if data is None:
                return _json({"detail": missing}, settings, 404)
            return _json(data, settings)

    return _cached(request, build)


@api.get("/contract", summary="Le contrat, ses quartiers, ses partenaires (sans connexion)")
def api_public_contract(request: Request) -> Response:
    return _json_of(
        request,
        lambda session, contract, _: service.contract_overview(session, contract),
        "Aucun contrat n'est publié.",
    )


@api.get("/quartiers/{code}", summary="Les engagements d'un quartier (sans connexion)")
def api_public_quartier(request: Request, code: str) -> Response:
    return _json_of(
        request,
        lambda session, contract, settings: service.quartier_detail(
            session, contract, code[:12], clock.today(settings.tz)
        ),
        "Quartier introuvable.",
    )
