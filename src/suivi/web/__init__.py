"""The French pages for people: server-rendered Jinja2 + htmx, static files under /static.

`install_web(app)` mounts /static and registers the page routers and their error pages.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from suivi.web.common import (
    WEB_DIR,
    LoginRequired,
    PageError,
    login_required_handler,
    page_error_handler,
)


def install_web(app: FastAPI) -> None:
    from suivi.web import (
        admin_pages,
        auth_pages,
        contract_choice,
        decision_pages,
        finance_pages,
        import_page,
        pages,
        reports_pages,
        review_pages,
        updates,
    )

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
