"""The JSON API under /api: one router per resource, one error format (`errors.py`)."""

from __future__ import annotations

from fastapi import FastAPI

from suivi.api.errors import install_error_handlers


def install_api(app: FastAPI) -> None:
    """Error handlers and every API router."""
    from suivi.api import auth
    from suivi.api import commitments
    from suivi.api import indicators
    from suivi.api import reference
    from suivi.api import review
    from suivi.api import users
    from suivi.audit import routes as audit_routes

    install_error_handlers(app)
    # Indicators first: a request is matched against the routes in order (a few µs per
    # route passed), and logging a measurement is the API's hot path. No path overlaps.
    for module in (indicators, auth, reference, review, commitments, users, audit_routes):
        app.include_router(module.router)
