"""Login and logout pages (`/connexion`, `/deconnexion`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Form
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import RedirectResponse
from fastapi.responses import Response

from suivi.auth.deps import LOGIN_CSRF_COOKIE
from suivi.auth.deps import SESSION_COOKIE
from suivi.auth.deps import LoginCheck
from suivi.auth.deps import PagePrincipal
from suivi.auth.deps import attempt_login
from suivi.auth.deps import clear_session_cookie
from suivi.auth.deps import client_address
from suivi.auth.deps import create_web_session
from suivi.auth.deps import login_csrf_token
from suivi.auth.deps import login_csrf_valid
from suivi.auth.deps import login_rate_limit
from suivi.auth.deps import login_succeeded
from suivi.auth.deps import revoke_web_session
from suivi.auth.deps import run_login
from suivi.auth.deps import set_login_csrf_cookie
from suivi.auth.deps import set_session_cookie
from suivi.auth.deps import too_many_attempts
from suivi.db import session_scope
from suivi.deps import SessionDep
from suivi.web.common import CSRF_FORM_FIELD
from suivi.web.common import CsrfField
from suivi.web.common import any_demo_contract
from suivi.web.common import check_csrf
from suivi.web.common import templates

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(
    request: Request,
    *,
    status_code: int = 200,
    headers: dict | None = None,
    demo: bool | None = None,
    **context,
) -> HTMLResponse:
    if demo is None:
        demo = any_demo_contract(request.app.state.engine)
        # Remembered for the refusals of `refused_login_page`, which read no database.
        request.app.state.login_page_demo = demo
    nonce, csrf_token = login_csrf_token(request)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "page": None,
            "user": None,
            "contract": None,
            "demo": demo,
            "login_csrf": csrf_token,
            **context,
        },
        status_code=status_code,
        headers=headers,
    )
    set_login_csrf_cookie(request, response, nonce)
    return response


def refused_login_page(request: Request, seconds: int) -> HTMLResponse:
    """The login form's 429 as `suivi.auth.login_gate` answers it, before the form is read
    (its email and `suivant` are unknown: an empty form going back to /) and without any
    query: the demonstration hint is the one of the last login page shown."""
    return _too_many_attempts_page(
        request,
        seconds,
        demo=getattr(request.app.state, "login_page_demo", False),
        email="",
        next="/",
    )


def _too_many_attempts_page(request: Request, seconds: int, **page) -> HTMLResponse:
    return _login_page(
        request,
        status_code=429,
        headers={"Retry-After": str(seconds)},
        errors={"form": too_many_attempts(seconds)},
        **page,
    )


@router.get("/connexion")
def login_form(request: Request, principal: PagePrincipal, suivant: str = "/") -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(suivant), status_code=303)
    return _login_page(request, next=_safe_next(suivant), email="")


@router.post("/connexion")
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    suivant: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str | None, Form(alias=CSRF_FORM_FIELD, max_length=200)] = None,
) -> Response:
    return await run_login(_login, request, email, password, suivant, csrf_token)


def _login(request: Request, email: str, password: str, suivant: str, csrf_token) -> Response:
    # No request session: the password is checked outside any write transaction.
    page = {"email": email, "next": _safe_next(suivant)}
    if not login_csrf_valid(request, csrf_token):
        # A form from another site, or an old page: the new one carries a valid token.
        message = "La page de connexion a expiré : vérifiez vos informations et recommencez."
        return _login_page(request, status_code=403, errors={"form": message}, **page)
    errors = {}
    if not email.strip():
        errors["email"] = "Indiquez votre adresse électronique."
    if not password:
        errors["password"] = "Indiquez votre mot de passe."  # noqa: S105 - a message
    if errors:
        return _login_page(request, status_code=422, errors=errors, **page)
    wait = login_rate_limit(request, email)
    check = LoginCheck(None, retry_after=wait) if wait else attempt_login(request, email, password)
    if check.retry_after:
        return _too_many_attempts_page(request, check.retry_after, **page)
    if check.user is None:
        message = "Adresse électronique ou mot de passe incorrect."
        return _login_page(request, status_code=401, errors={"form": message}, **page)
    settings = request.app.state.settings
    with session_scope(request.app.state.engine, write=True) as session:
        login_succeeded(session, check.user, client_address(request))
        cookie_value, _ = create_web_session(
            session,
            check.user,
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
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/connexion")
    return response


@router.post("/deconnexion")
def logout(
    request: Request,
    session: SessionDep,
    principal: PagePrincipal,
    csrf_token: CsrfField = None,
) -> Response:
    if principal is not None:
        check_csrf(request, csrf_token)
        revoke_web_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/connexion?deconnecte=1", status_code=303)
    clear_session_cookie(response, secure=request.app.state.settings.web.secure_cookies)
    return response
