"""The web application: JSON API under /api, French pages, /healthz, /docs.

Every response carries the security headers (`SecurityHeaders`): a strict
Content-Security-Policy (no inline script or style, nothing from another site), no framing,
no MIME sniffing, a same-origin referrer, `Cache-Control: no-store` on everything but the
static files, and HSTS when the configured base URL is https. /docs serves Swagger UI from an
installed package (fastapi-offline), never from a CDN, with its start-up script as a file.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from suivi import __version__
from suivi.annual import routes as annual_routes
from suivi.api import install_api
from suivi.api.auth import refused_token_request
from suivi.auth.login_gate import LoginGate
from suivi.config import Settings
from suivi.config import load_settings
from suivi.db import database_status
from suivi.db import get_engine
from suivi.deps import CommitOnSuccess
from suivi.finance.routes import router as finance_router
from suivi.governance.routes import router as governance_router
from suivi.io.routes import router as io_router
from suivi.monitoring.routes import router as monitoring_router
from suivi.notifications import routes as notification_routes
from suivi.public import routes as public_routes
from suivi.reports.routes import router as reports_router
from suivi.web import install_web
from suivi.web.auth_pages import refused_login_page

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The admin's preview of a partner's email shows the email's own HTML, styled inline (as
# emails must be), in a sandboxed srcdoc frame, which inherits the page's policy: that page
# only may apply inline style attributes. Scripts stay forbidden (and the frame is sandboxed).
PREVIEW_PATH = re.compile(r"^/administration/contacts/\d+/apercu$")
PREVIEW_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
STATIC_PREFIXES = ("/static/",)
HSTS = "max-age=31536000; includeSubDomains"

SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>{title} — documentation de l'API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
<link rel="icon" href="/static/swagger-ui/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task, unlike `BaseHTTPMiddleware`): adds the
    security headers to every HTTP response that does not already set them."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = self._headers_for(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        policy = (
            PREVIEW_CONTENT_SECURITY_POLICY if PREVIEW_PATH.match(path) else CONTENT_SECURITY_POLICY
        )
        headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if not path.startswith(STATIC_PREFIXES):
            # Pages and API answers hold what a signed-in user may read: never kept by a
            # browser or a shared cache.
            headers.append((b"cache-control", b"no-store"))
        if self.https:
            headers.append((b"strict-transport-security", HSTS.encode()))
        return headers


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    settings.check_secret()
    app = FastAPI(
        title="Suivi — contrats de ville",
        version=__version__,
        description="Suivi des engagements des partenaires d'un contrat de ville.",
        openapi_url="/openapi.json",
        docs_url=None,  # served below, without a CDN
        redoc_url=None,  # ReDoc injects inline styles, refused by the policy
    )
    app.state.settings = settings
    app.state.engine = get_engine(settings)
    # The request's unit of work commits only a success (see suivi.deps.get_session).
    app.add_middleware(CommitOnSuccess)
    # An address with no login attempt left: 429 before the form is read (inside
    # SecurityHeaders, so the refusals carry the headers too).
    app.add_middleware(
        LoginGate,
        answers={"/api/auth/token": refused_token_request, "/connexion": refused_login_page},
    )
    app.add_middleware(SecurityHeaders, https=settings.app.base_url.lower().startswith("https://"))

    @app.get("/healthz", tags=["santé"], summary="État du service et de la base")
    def healthz() -> JSONResponse:
        status = database_status(app.state.engine)
        code = 200 if status["database"] == "ok" else 503
        error = status.pop("error", None)
        if error:
            # The details (host, user, file path) are for the logs, not for anonymous callers.
            log.error("health check: database unreachable: %s", error)
        return JSONResponse({"status": "ok" if code == 200 else "error", **status}, code)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE.format(title=app.title, openapi_url=app.openapi_url))

    # Before install_web's /static mount, which would otherwise take these paths.
    app.mount("/static/swagger-ui", StaticFiles(directory=SWAGGER_ASSETS), name="swagger-ui")
    install_api(app)  # /api: JSON API, error format, audit
    app.include_router(finance_router)  # funding lines, payments, money roll-up
    app.include_router(governance_router)  # /api/meetings/{id}/…, /api/decisions
    app.include_router(io_router)  # /api/io: spreadsheets in and out, open data
    app.include_router(monitoring_router)  # /api/alerts, /api/jobs
    app.include_router(notification_routes.router)  # contacts, email deliveries
    app.include_router(notification_routes.public)  # /desabonnement/{token} (no login)
    app.include_router(reports_router)  # /api/reports: archive, download, generate
    app.include_router(annual_routes.api)  # /api/annual-reports, /api/conseils-citoyens
    app.include_router(annual_routes.pages)  # /rapport-annuel/{id}: the opinion form
    app.include_router(public_routes.router)  # /public: pages without login
    app.include_router(public_routes.api)  # /api/public: JSON without login
    install_web(app)  # French pages (/, /connexion, /contrat…) and /static
    return app
