"""The French pages for people: server-rendered Jinja2 + htmx, static files under /static.

`install_web(app)` mounts /static and registers the page routers and their error pages.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from suivi.web.common import WEB_DIR
from suivi.web.common import LoginRequired
from suivi.web.common import PageError
from suivi.web.common import login_required_handler
from suivi.web.common import page_error_handler


def install_web(app: FastAPI) -> None:
    from suivi.web import admin_pages
    from suivi.web import auth_pages
    from suivi.web import contract_choice
    from suivi.web import decision_pages
    from suivi.web import finance_pages
    from suivi.web import import_page
    from suivi.web import pages
    from suivi.web import reports_pages
    from suivi.web import review_pages
    from suivi.web import updates

    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    app.add_exception_handler(LoginRequired, login_required_handler)
    app.add_exception_handler(PageError, page_error_handler)
    for module in (
        auth_pages,
        updates,
        pages,
        finance_pages,
        reports_pages,
        import_page,
        admin_pages,
        contract_choice,
        decision_pages,
        review_pages,
    ):
        app.include_router(module.router)
