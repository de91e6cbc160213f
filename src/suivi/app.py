"""The web application: JSON API under /api, French pages, /healthz."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from suivi import __version__
from suivi.api import install_api
from suivi.config import Settings, load_settings
from suivi.db import database_status, get_engine
from suivi.io.routes import router as io_router
from suivi.monitoring.routes import router as monitoring_router
from suivi.notifications import routes as notification_routes
from suivi.reports.routes import router as reports_router
from suivi.web import install_web

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    settings.check_secret()
    app = FastAPI(
        title="Suivi — contrats de ville",
        version=__version__,
        description="Suivi des engagements des partenaires d'un contrat de ville.",
        openapi_url="/openapi.json",
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.engine = get_engine(settings)

    @app.get("/healthz", tags=["santé"], summary="État du service et de la base")
    def healthz() -> JSONResponse:
        status = database_status(app.state.engine)
        code = 200 if status["database"] == "ok" else 503
        return JSONResponse({"status": "ok" if code == 200 else "error", **status}, code)

    install_api(app)  # /api: JSON API, error format, audit
    app.include_router(io_router)  # /api/io: spreadsheets in and out, open data
    app.include_router(monitoring_router)  # /api/alerts, /api/jobs
    app.include_router(notification_routes.router)  # contacts, email deliveries
    app.include_router(notification_routes.public)  # /desabonnement/{token} (no login)
    app.include_router(reports_router)  # /api/reports: archive, download, generate
    install_web(app)  # French pages (/, /connexion, /contrat…) and /static
    return app
