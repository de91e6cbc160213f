"""Who is asking: authentication dependencies for the API and the pages.

How a request is authenticated
------------------------------
- **API** (`CurrentPrincipal`): `Authorization: Bearer <token>` where the token is opaque and
  stored hashed (`POST /api/auth/token`, OAuth2 password flow, expires after
  `[web] api_token_hours`; or a personal token for integrations, `POST /api/tokens`).
  Without a bearer header, the web session cookie is accepted too, so the pages' htmx calls
  work; a state-changing request (POST, PUT, PATCH, DELETE) authenticated by the cookie must
  carry the session's CSRF token in the `X-CSRF-Token` header, else 403.
  Nothing valid → 401 with `WWW-Authenticate: Bearer`.
- **Pages** (`get_page_principal` / `PagePrincipal`): the cookie `SESSION_COOKIE` only
  (opaque id, HttpOnly, SameSite=Lax, Secure when `[web] secure_cookies`), server-side
  `AuthSession` row, refused after `[web] session_idle_minutes` without use or
  `[web] session_absolute_hours` after login, or once revoked (logout). Returns None when
  there is no valid session (the page redirects to the login form). Forms carry
  `principal.csrf_token` in a hidden field `csrf_token`; the POST handler calls
  `verify_csrf(request, token)`, which raises 403 when it does not match.
- **Login** (the form and `POST /api/auth/token` alike): first `login_rate_limit`, the
  per-address and per-account token buckets (in process, no I/O), then `attempt_login` →
  `check_login`: Argon2
  through pwdlib outside any transaction, the same time for an unknown email, failures
  counted per (email, address) with an exponential backoff for that address only. Refused
  for a while → `LoginCheck.retry_after` > 0: answer 429 with `Retry-After` and
  `too_many_attempts(seconds)`. The routes take no request session (no write lock while
  hashing): on success they open a short write transaction for `login_succeeded` and
  `create_web_session(session, user, user_agent)` → (cookie value, CSRF token) or the token;
  logout: `revoke_web_session(session, cookie_value)`.

What a user may do is decided by `suivi.scoping`, from the `Principal` built here with
`suivi.auth.principal` (no FastAPI there, so jobs and services can load one too).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Annotated
from typing import TypeVar

from fastapi import Depends
from fastapi import HTTPException
from fastapi import Request
from fastapi import status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from suivi.auth.models import ApiToken
from suivi.auth.models import AuthSession
from suivi.auth.models import User
from suivi.auth.principal import TOKEN_USER_AND_MEMBERSHIPS
from suivi.auth.principal import Principal
from suivi.auth.principal import load_principal
from suivi.auth.principal import principal_from_rows
from suivi.auth.ratelimit import login_limiter
from suivi.auth.service import LoginCheck
from suivi.auth.service import check_login
from suivi.auth.service import create_web_session
from suivi.auth.service import find_web_session
from suivi.auth.service import hash_secret
from suivi.auth.service import is_live
from suivi.auth.service import login_succeeded
from suivi.auth.service import new_secret
from suivi.auth.service import normalize_email
from suivi.auth.service import revoke_web_session
from suivi.auth.service import same_secret
from suivi.auth.service import touch
from suivi.db import reading_engine
from suivi.db import session_scope
from suivi.deps import SAFE_METHODS
from suivi.deps import SessionDep

T = TypeVar("T")

__all__ = [
    "SESSION_COOKIE",
    "CSRF_HEADER",
    "CSRF_FORM_FIELD",
    "CurrentPrincipal",
    "PagePrincipal",
    "get_current_principal",
    "get_page_principal",
    "require_role",
    "verify_csrf",
    "attempt_login",
    "login_rate_limit",
    "too_many_attempts",
    "login_succeeded",
    "create_web_session",
    "revoke_web_session",
    "set_session_cookie",
    "LOGIN_CSRF_COOKIE",
    "login_csrf_token",
    "login_csrf_valid",
    "set_login_csrf_cookie",
    "clear_session_cookie",
]

SESSION_COOKIE = "suivi_session"
# Before any session, the login form is protected by a signed double submit: this cookie
# holds a random nonce, the form's hidden field its HMAC with `[app] secret_key`.
LOGIN_CSRF_COOKIE = "suivi_login_csrf"
LOGIN_CSRF_MINUTES = 120
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token",
    auto_error=False,
    description="Jeton opaque obtenu par POST /api/auth/token ou un jeton personnel.",
)


def _unauthorized(message: str = "Authentification requise.") -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


@contextmanager
def _lookup_session(request: Request, session: Session) -> Iterator[Session]:
    """Where to read who is asking: the request's own session when it only reads; for a
    writing request, a short read transaction of its own. A writing request's session
    takes SQLite's write lock (its writer-queue slot) at its first query, and holds it until
    its commit: that first query must be the route's, not the authentication's, or the
    lock is held across every threadpool hop and event-loop turn between the dependency
    and the commit, and concurrent writers queue behind all of them (issue 14)."""
    if request.method in SAFE_METHODS:
        yield session
        return
    with session_scope(reading_engine(session.get_bind())) as lookup:
        yield lookup


def _separate(session: Session) -> bool:
    """Stamp a session or token's use (at most once a minute) in a short transaction of its
    own, unless the request's session already holds the write lock (a caller that wrote
    before authenticating): a reading request must not write in its own transaction, and a
    writing one must not take the lock before its route (see _lookup_session)."""
    return not (
        session.in_transaction() and reading_engine(session.get_bind()) is not session.get_bind()
    )


def _session_principal(request: Request, session: Session) -> Principal | None:
    settings = request.app.state.settings
    with _lookup_session(request, session) as lookup:
        row = find_web_session(
            lookup,
            request.cookies.get(SESSION_COOKIE),
            idle_minutes=settings.web.session_idle_minutes,
            absolute_hours=settings.web.session_absolute_hours,
        )
        if row is None:
            return None
        user = lookup.get(User, row.user_id)
        if user is None or not user.is_active:
            return None
        principal = load_principal(
            lookup, user, via="session", csrf_token=row.csrf_token, credential_id=row.id
        )
    touch(
        session, AuthSession, row.id, "last_seen_at", row.last_seen_at, separate=_separate(session)
    )
    request.state.principal = principal
    return principal


def get_current_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)] = None,
) -> Principal:
    """API authentication: bearer token, else the web session cookie (+ CSRF on writes)."""
    if bearer:
        # Plain columns, without the ORM's execution layer, which would cost more than the
        # query itself; outside a writing request's transaction (see _lookup_session).
        with _lookup_session(request, session) as lookup:
            rows = (
                lookup.connection()
                .execute(TOKEN_USER_AND_MEMBERSHIPS, {"token_hash": hash_secret(bearer)})
                .all()
            )
        if not rows or not is_live(rows[0].revoked_at, rows[0].expires_at):
            raise _unauthorized("Jeton invalide, expiré ou révoqué.")
        found = rows[0]
        if not found.is_active:
            raise _unauthorized("Compte désactivé.")
        touch(
            session,
            ApiToken,
            found.token_id,
            "last_used_at",
            found.last_used_at,
            separate=_separate(session),
        )
        memberships = [(r.contract_id, r.scope_partner_id, r.scope_quartier_id) for r in rows]
        principal = principal_from_rows(
            found, memberships, via="token", credential_id=found.token_id
        )
        request.state.principal = principal
        return principal
    if request.headers.get("authorization"):
        raise _unauthorized("En-tête Authorization invalide (attendu : Bearer <jeton>).")
    principal = _session_principal(request, session)
    if principal is None:
        raise _unauthorized()
    if request.method not in SAFE_METHODS:
        verify_csrf(request, request.headers.get(CSRF_HEADER))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


def get_page_principal(request: Request, session: SessionDep) -> Principal | None:
    """Pages: the user of the session cookie, or None (then redirect to the login form)."""
    return _session_principal(request, session)


PagePrincipal = Annotated[Principal | None, Depends(get_page_principal)]


def verify_csrf(request: Request, token: str | None) -> None:
    """Raise 403 unless `token` is the CSRF token of the request's web session.

    Call it after `get_page_principal` / `CurrentPrincipal` resolved a session principal.
    """
    principal: Principal | None = getattr(request.state, "principal", None)
    expected = principal.csrf_token if principal is not None else None
    if not same_secret(expected, token):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Jeton CSRF absent ou invalide : rechargez la page et recommencez.",
        )


def require_role(*roles: str):
    """Dependency: the principal, if its role is one of `roles`, else 403.

    Usage: `principal: Annotated[Principal, Depends(require_role("admin"))]` or
    `dependencies=[Depends(require_role("admin", "chef_de_projet"))]`.
    """

    def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail="Votre rôle ne permet pas cette action."
            )
        return principal

    return dependency


def set_session_cookie(response, cookie_value: str, *, secure: bool, max_age_hours: int) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie_value,
        max_age=max_age_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def clear_session_cookie(response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)


def client_address(request: Request) -> str:
    """The peer address (behind a proxy, run uvicorn with --proxy-headers and
    --forwarded-allow-ips so that this is the client's)."""
    return request.client.host if request.client is not None else "unknown"


def login_rate_limit(request: Request, email: str) -> int:
    """Take a login attempt from the per-address and per-account buckets: 0 if it may go
    on, else the seconds to wait. No I/O: routes call it on the event loop, so a flood of
    refused attempts costs no worker thread."""
    address = client_address(request)
    return login_limiter(request.app).retry_after(address, normalize_email(email or ""))


def attempt_login(request: Request, email: str, password: str) -> LoginCheck:
    """A login attempt through any way in, after `login_rate_limit`: `check_login` from the
    request's address (blocking: Argon2; run it in a worker thread)."""
    settings = request.app.state.settings
    return check_login(
        request.app.state.engine, email, password, client_address(request), settings.login
    )


# Threads for the logins only (Argon2 takes a core for ~0.2 s): a flood of logins from many
# addresses queues on the event loop for one of them, instead of filling the thread pool
# that every other request (the writes included) needs. A plain executor, not an anyio
# limiter: it serves every event loop of the process (the test client starts several).
LOGIN_THREADS = ThreadPoolExecutor(
    max_workers=max(1, (os.cpu_count() or 2) // 2), thread_name_prefix="suivi-login"
)


async def run_login(login: Callable[..., T], *args) -> T:
    """Run a blocking login step (`attempt_login` and what follows) in a login thread."""
    return await asyncio.wrap_future(LOGIN_THREADS.submit(login, *args))


def too_many_attempts(seconds: int) -> str:
    return (
        "Trop de tentatives de connexion depuis cette adresse ou pour ce compte : "
        f"réessayez dans {seconds} seconde{'s' if seconds > 1 else ''}."
    )


def _login_csrf_signature(request: Request, nonce: str) -> str:
    secret = request.app.state.settings.app.secret_key.encode("utf-8")
    return hmac.new(secret, f"login-form:{nonce}".encode(), hashlib.sha256).hexdigest()


def login_csrf_token(request: Request) -> tuple[str, str]:
    """(nonce, hidden field) for a login form: the browser's nonce if it has one, so that
    several open login tabs all work. Put the nonce back with `set_login_csrf_cookie`."""
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not (20 <= len(nonce) <= 64):
        nonce = new_secret()
    return nonce, _login_csrf_signature(request, nonce)


def set_login_csrf_cookie(request: Request, response, nonce: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        max_age=LOGIN_CSRF_MINUTES * 60,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.web.secure_cookies,
        path="/connexion",
    )


def login_csrf_valid(request: Request, token: str | None) -> bool:
    """Does the login form's hidden field match the nonce cookie of this browser?"""
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(nonce) and same_secret(_login_csrf_signature(request, nonce), token)
