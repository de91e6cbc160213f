"""Accounts API (admins): list, create, read, update (role, scope, active, password)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel
from pydantic import Field
from sqlmodel import Session

from suivi.api.common import Admin
from suivi.api.common import Id
from suivi.api.common import Page
from suivi.api.common import PagingDep
from suivi.api.common import PathId
from suivi.api.common import SortQuery
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import api_router
from suivi.api.common import sort_clause
from suivi.auth import accounts
from suivi.auth.models import User
from suivi.codes import Role
from suivi.deps import SessionDep

router = api_router("comptes")
Email = Annotated[Text(254, 3), Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Password = Text(200, 8)


class UserOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    partner_id: int | None
    is_active: bool
    created_at: datetime
    contract_ids: list[int]
    scope_partner_ids: list[int]
    scope_quartier_ids: list[int]
    # Partners whose figures this user validates (issue #18).
    validate_partner_ids: list[int] = []


class UserIn(StrictModel):
    email: Email
    full_name: Text(160) = ""
    password: Password
    role: Role
    partner_id: Id | None = None
    scope_partner_ids: Annotated[list[Id], Field(max_length=200)] = []
    scope_quartier_ids: Annotated[list[Id], Field(max_length=200)] = []


class UserPatch(StrictModel):
    full_name: Text(160) | None = None
    role: Role | None = None
    partner_id: Id | None = None
    is_active: bool | None = None
    password: Password | None = None
    scope_partner_ids: Annotated[list[Id], Field(max_length=200)] | None = None
    scope_quartier_ids: Annotated[list[Id], Field(max_length=200)] | None = None
    validate_partner_ids: Annotated[list[Id], Field(max_length=200)] | None = None


def _user_out(session: Session, user: User) -> UserOut:
    return UserOut(**accounts.account_view(session, user))


@router.get("/users", summary="Comptes (administrateurs)")
def list_users(
    session: SessionDep,
    admin: Admin,
    paging: PagingDep,
    role: Annotated[Role | None, Query()] = None,
    active: bool | None = None,
    sort: SortQuery = None,
) -> Page[UserOut]:
    query = accounts.visible_accounts(admin, role=role, active=active)
    columns = {"id": User.id, "email": User.email, "role": User.role}
    query = query.order_by(*sort_clause(sort, columns, "email"))
    return paging.of(session, query, lambda rows: [_user_out(session, u) for u in rows])


@router.get("/users/{user_id}", summary="Un compte")
def get_user(session: SessionDep, admin: Admin, user_id: PathId) -> UserOut:
    return _user_out(session, accounts.get_visible(session, admin, user_id))


@router.post("/users", status_code=201, summary="Créer un compte")
def add_user(session: SessionDep, admin: Admin, body: UserIn) -> UserOut:
    user = accounts.create_account(
        session, admin, **body.model_dump(), contract_id=admin.default_contract_id
    )
    return _user_out(session, user)


@router.patch("/users/{user_id}", summary="Modifier un compte")
def update_user(session: SessionDep, admin: Admin, user_id: PathId, body: UserPatch) -> UserOut:
    user = accounts.get_visible(session, admin, user_id)
    return UserOut(
        **accounts.update_account(session, admin, user, body.model_dump(exclude_unset=True))
    )


@router.post(
    "/users/{user_id}/unlock",
    summary="Lever les délais de connexion d'un compte (après des échecs répétés)",
)
def unlock_user(session: SessionDep, admin: Admin, user_id: PathId) -> UserOut:
    user = accounts.get_visible(session, admin, user_id)
    accounts.unlock_account(session, admin, user)
    return _user_out(session, user)
