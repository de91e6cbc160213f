"""Login and logout pages (`/connexion`, `/deconnexion`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from suivi.auth.deps import (
    SESSION_COOKIE,
    PagePrincipal,
    authenticate,
    clear_session_cookie,
    create_web_session,
    revoke_web_session,
    set_session_cookie,
)
from suivi.deps import SessionDep
from suivi.web.common import CSRF_FORM_FIELD, any_demo_contract, check_csrf, templates

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: Request, *, status_code: int = 200, **context) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "login.html",
        {
            "page": None,
            "user": None,
            "contract": None,
            "demo": any_demo_contract(request.app.state.engine),
            **context,
        },
        status_code=status_code,
    )


@router.get("/connexion")
def login_form(request: Request, principal: PagePrincipal, suivant: str = "/") -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(suivant), status_code=303)
    return _login_page(request, next=_safe_next(suivant), email="")


@router.post("/connexion")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    suivant: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    errors = {}
    if not email.strip():
        errors["email"] = "Indiquez votre adresse électronique."
    if not password:
        errors["password"] = "Indiquez votre mot de passe."  # noqa: S105 - a message
    user = authenticate(session, email, password) if not errors else None
    if user is None:
        if not errors:
            errors["form"] = (
                "Adresse électronique ou mot de passe incorrect (après plusieurs échecs, "
                "le compte est bloqué quelques minutes)."
            )
        # The failure counters must be committed: return a response, do not raise.
        return _login_page(
            request,
            status_code=401 if "form" in errors else 422,
            errors=errors,
            email=email,
            next=_safe_next(suivant),
        )
    settings = request.app.state.settings
    cookie_value, _ = create_web_session(
        session,
        user,
        request.headers.get("user-agent", ""),
        absolute_hours=settings.web.session_absolute_hours,
    )
    response = RedirectResponse(_safe_next(suivant), status_code=303)
    set_session_cookie(
        response,
        cookie_value,
        secure=settings.web.secure_cookies,
        max_age_hours=settings.web.session_absolute_hours,
    )
    return response


@router.post("/deconnexion")
def logout(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    csrf_token: Annotated[str | None, Form(alias=CSRF_FORM_FIELD)] = None,
) -> Response:
    if principal is not None:
        check_csrf(request, csrf_token)
        revoke_web_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/connexion?deconnecte=1", status_code=303)
    clear_session_cookie(response, secure=request.app.state.settings.web.secure_cookies)
    return response
