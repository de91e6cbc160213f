"""Authentication endpoints: OAuth2 password flow, personal API tokens, who am I."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Annotated

from fastapi import Form
from fastapi import Request
from fastapi import Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic import Field
from sqlalchemy import select

from suivi.api.common import PathId
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import api_router
from suivi.api.common import from_row
from suivi.api.errors import ErrorOut
from suivi.auth.deps import CurrentPrincipal
from suivi.auth.deps import attempt_login
from suivi.auth.deps import client_address
from suivi.auth.deps import login_rate_limit
from suivi.auth.deps import login_succeeded
from suivi.auth.deps import run_login
from suivi.auth.deps import too_many_attempts
from suivi.auth.models import ApiToken
from suivi.auth.models import User
from suivi.auth.service import issue_token
from suivi.auth.service import revoke_token
from suivi.db import session_scope
from suivi.db import utcnow
from suivi.deps import SessionDep
from suivi.deps import SettingsDep
from suivi.errors import Invalid
from suivi.errors import NotFound

# Plain routes: the login opens its own write session once the password is checked.
router = api_router("authentification", route_class=APIRoute)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime | None


class MeOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    partner_id: int | None
    contract_ids: list[int]
    scope_partner_ids: list[int]
    scope_quartier_ids: list[int]


class PersonalTokenOut(BaseModel):
    id: int
    name: str
    kind: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class PersonalTokenCreated(PersonalTokenOut):
    token: str


def _token_out(row: ApiToken) -> PersonalTokenOut:
    return PersonalTokenOut.model_validate(row, from_attributes=True)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    summary="Obtenir un jeton (OAuth2, mot de passe)",
    responses={
        400: {"model": ErrorOut, "description": "Identifiants refusés"},
        429: {"model": ErrorOut, "description": "Trop de tentatives (voir Retry-After)"},
    },
)
async def login_for_token(
    request: Request,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
):
    # Refused by the rate limits: answered on the event loop, no worker thread taken.
    wait = login_rate_limit(request, username)
    if wait:
        return _too_many_attempts(wait)
    return await run_login(_login_for_token, request, settings, username, password)


def refused_token_request(request: Request, seconds: int) -> JSONResponse:
    """The 429 of `POST /api/auth/token`, here and in `suivi.auth.login_gate` (which answers
    it before the form is read when the address has no attempt left)."""
    return _too_many_attempts(seconds)


def _too_many_attempts(seconds: int) -> JSONResponse:
    return JSONResponse(
        {"detail": too_many_attempts(seconds)},
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def _login_for_token(request: Request, settings, username: str, password: str):
    # No request session: the password is checked outside any write transaction.
    check = attempt_login(request, username, password)
    if check.retry_after:
        return _too_many_attempts(check.retry_after)
    if check.user is None:
        return JSONResponse({"detail": "Adresse ou mot de passe incorrect."}, status_code=400)
    expires_at = utcnow() + timedelta(hours=settings.web.api_token_hours)
    with session_scope(request.app.state.engine, write=True) as session:
        login_succeeded(session, check.user, client_address(request))
        _, clear = issue_token(session, check.user, kind="login", expires_at=expires_at)
    return TokenOut(access_token=clear, expires_at=expires_at)


@router.delete(
    "/auth/token", status_code=204, summary="Révoquer le jeton utilisé pour cette requête"
)
def logout_token(session: SessionDep, principal: CurrentPrincipal) -> Response:
    if principal.via != "token" or principal.credential_id is None:
        raise Invalid("Authorization", "Cette requête n'utilise pas de jeton à révoquer.")
    row = session.get(ApiToken, principal.credential_id)
    revoke_token(session, row, actor_id=principal.user_id)
    return Response(status_code=204)


@router.get("/auth/me", summary="L'utilisateur connecté")
def me(principal: CurrentPrincipal) -> MeOut:
    # The principal's own fields (email, name, role, partner), its sets as sorted lists.
    return from_row(
        MeOut,
        principal,
        id=principal.user_id,
        contract_ids=list(principal.contract_ids),
        scope_partner_ids=sorted(principal.scope_partner_ids),
        scope_quartier_ids=sorted(principal.scope_quartier_ids),
    )


@router.get("/tokens", summary="Mes jetons personnels")
def list_tokens(session: SessionDep, principal: CurrentPrincipal) -> list[PersonalTokenOut]:
    rows = session.execute(
        select(ApiToken)
        .where(ApiToken.user_id == principal.user_id, ApiToken.kind == "personal")
        .order_by(ApiToken.id)
    ).scalars()
    return [_token_out(row) for row in rows]


class TokenCreateIn(StrictModel):
    name: Text(120, 1)
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None


@router.post(
    "/tokens", status_code=201, summary="Créer un jeton personnel (affiché une seule fois)"
)
def create_token(
    session: SessionDep, principal: CurrentPrincipal, body: TokenCreateIn
) -> PersonalTokenCreated:
    user = session.get(User, principal.user_id)
    expires_at = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    row, clear = issue_token(session, user, kind="personal", name=body.name, expires_at=expires_at)
    return PersonalTokenCreated(**_token_out(row).model_dump(), token=clear)


@router.delete("/tokens/{token_id}", status_code=204, summary="Révoquer un jeton personnel")
def delete_token(
    session: SessionDep,
    principal: CurrentPrincipal,
    token_id: PathId,
) -> Response:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != principal.user_id or row.kind != "personal":
        raise NotFound("Jeton introuvable.")
    if row.revoked_at is None:
        revoke_token(session, row, actor_id=principal.user_id)
    return Response(status_code=204)
