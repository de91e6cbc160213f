"""Accounts API (admins): list, create, read, update (role, scope, active, password)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlmodel import Session

from suivi.api.common import (
    Id,
    Page,
    PageQuery,
    PathId,
    SizeQuery,
    StrictModel,
    Text,
    paginate,
    sort_clause,
)
from suivi.api.errors import ERROR_RESPONSES
from suivi.audit.service import record
from suivi.auth.deps import require_role
from suivi.auth.models import ROLES, User, UserContract, UserScope
from suivi.auth.passwords import hash_password
from suivi.auth.principal import Principal
from suivi.auth.service import (
    LAST_ADMIN_MESSAGE,
    create_user,
    leaves_no_admin,
    normalize_email,
    revoke_all_credentials,
    unlock,
)
from suivi.contract.models import ContractQuartier, Partner
from suivi.deps import SessionDep
from suivi.errors import Conflict, Invalid, NotFound

router = APIRouter(prefix="/api", tags=["comptes"], responses=ERROR_RESPONSES)
Admin = Annotated[Principal, Depends(require_role("admin"))]
Role = Literal[ROLES]  # type: ignore[valid-type]
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


VALIDATOR_ROLES = ("partenaire", "chef_de_projet")


def _user_out(session: Session, user: User) -> UserOut:
    contracts = sorted(
        session.execute(
            select(UserContract.contract_id).where(UserContract.user_id == user.id)
        ).scalars()
    )
    partners, quartiers, validated = [], [], []
    for p, q, validator in session.execute(
        select(UserScope.partner_id, UserScope.quartier_id, UserScope.can_validate).where(
            UserScope.user_id == user.id
        )
    ):
        if validator:
            validated.append(p)
        else:
            (partners if p is not None else quartiers).append(p if p is not None else q)
    return UserOut(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        partner_id=user.partner_id,
        is_active=user.is_active,
        created_at=user.created_at,
        contract_ids=contracts,
        scope_partner_ids=sorted(partners),
        scope_quartier_ids=sorted(quartiers),
        validate_partner_ids=sorted(validated),
    )


def _visible_user(session: Session, admin: Principal, user_id: int) -> User:
    user = session.get(User, user_id)
    shares = session.execute(
        select(UserContract.contract_id).where(
            UserContract.user_id == user_id, UserContract.contract_id.in_(admin.contract_ids)
        )
    ).first()
    if user is None or (shares is None and user.id != admin.user_id):
        raise NotFound("Compte introuvable.")
    return user


def _check_refs(session, admin, role, partner_id, scope_partners, scope_quartiers) -> None:
    contracts = list(admin.contract_ids)
    if role == "partenaire" and partner_id is None:
        raise Invalid("partner_id", "Un compte partenaire doit être rattaché à un partenaire.")
    if partner_id is not None:
        found = session.execute(
            select(Partner.id).where(Partner.id == partner_id, Partner.contract_id.in_(contracts))
        ).first()
        if found is None:
            raise Invalid("partner_id", "Partenaire inconnu.")
    for field, id_column, contract_column, ids in (
        ("scope_partner_ids", Partner.id, Partner.contract_id, scope_partners or []),
        # A QPV is listed by its contracts (it may be shared).
        (
            "scope_quartier_ids",
            ContractQuartier.quartier_id,
            ContractQuartier.contract_id,
            scope_quartiers or [],
        ),
    ):
        if ids and (
            len(set(ids)) != len(ids)
            or set(
                session.execute(
                    select(id_column).where(id_column.in_(ids), contract_column.in_(contracts))
                ).scalars()
            )
            != set(ids)
        ):
            raise Invalid(field, "Identifiant inconnu ou cité deux fois.")
    if (scope_partners or scope_quartiers) and role != "chef_de_projet":
        raise Invalid("role", "Seul un chef de projet a un périmètre.")


@router.get("/users", response_model=Page[UserOut], summary="Comptes (administrateurs)")
def list_users(
    session: SessionDep,
    admin: Admin,
    role: Annotated[Role | None, Query()] = None,
    active: bool | None = None,
    sort: Annotated[str | None, Query(max_length=40, pattern=r"^-?[a-z_]+$")] = None,
    page: PageQuery = 1,
    size: SizeQuery = 50,
):
    query = select(User).where(
        User.id.in_(
            select(UserContract.user_id).where(UserContract.contract_id.in_(admin.contract_ids))
        )
    )
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.is_active == active)
    columns = {"id": User.id, "email": User.email, "role": User.role}
    rows, total = paginate(
        session, query.order_by(*sort_clause(sort, columns, "email")), page, size
    )
    return Page(items=[_user_out(session, u) for u in rows], total=total, page=page, size=size)


@router.get("/users/{user_id}", response_model=UserOut, summary="Un compte")
def get_user(session: SessionDep, admin: Admin, user_id: PathId):
    return _user_out(session, _visible_user(session, admin, user_id))


@router.post("/users", response_model=UserOut, status_code=201, summary="Créer un compte")
def add_user(session: SessionDep, admin: Admin, body: UserIn):
    email = normalize_email(body.email)
    if session.execute(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict("Un compte existe déjà avec cette adresse.", "email")
    _check_refs(
        session, admin, body.role, body.partner_id, body.scope_partner_ids, body.scope_quartier_ids
    )
    user = create_user(
        session,
        email=email,
        password=body.password,
        role=body.role,
        full_name=body.full_name,
        partner_id=body.partner_id,
        contract_ids=[admin.default_contract_id],
        scope_partner_ids=body.scope_partner_ids,
        scope_quartier_ids=body.scope_quartier_ids,
        actor_id=admin.user_id,
    )
    return _user_out(session, user)


def _replace_scope(session: Session, user: User, role: str, changes: dict) -> None:
    """Only the lists sent change: sending the partners keeps the quartiers, and the other
    way round. A role other than project manager has no scope at all."""
    _replace_validators(session, user, role, changes)
    if role != "chef_de_projet":
        session.execute(
            delete(UserScope).where(UserScope.user_id == user.id, UserScope.can_validate.is_(False))
        )
        return
    for key, column in (
        ("scope_partner_ids", UserScope.partner_id),
        ("scope_quartier_ids", UserScope.quartier_id),
    ):
        if key not in changes:
            continue
        session.execute(
            delete(UserScope).where(
                UserScope.user_id == user.id,
                column.is_not(None),
                UserScope.can_validate.is_(False),
            )
        )
        for target_id in changes[key] or []:
            session.add(UserScope(user_id=user.id, **{column.key: target_id}))


def _replace_validators(session: Session, user: User, role: str, changes: dict) -> None:
    """The partners whose figures the user validates: a partner account or a project
    manager only (the committee never validates)."""
    if role not in VALIDATOR_ROLES or "validate_partner_ids" in changes:
        session.execute(
            delete(UserScope).where(UserScope.user_id == user.id, UserScope.can_validate)
        )
    if role in VALIDATOR_ROLES:
        for partner_id in changes.get("validate_partner_ids") or []:
            session.add(UserScope(user_id=user.id, partner_id=partner_id, can_validate=True))


@router.patch("/users/{user_id}", response_model=UserOut, summary="Modifier un compte")
def update_user(session: SessionDep, admin: Admin, user_id: PathId, body: UserPatch):
    user = _visible_user(session, admin, user_id)
    changes = body.model_dump(exclude_unset=True)
    for key in ("role", "is_active"):
        if key in changes and changes[key] is None:
            raise Invalid(key, "Ce champ ne peut pas être vide.")
    role = changes.get("role", user.role)
    partner_id = changes.get("partner_id", user.partner_id)
    if role != "partenaire" and "partner_id" not in changes:
        partner_id = None
    before = _user_out(session, user).model_dump(mode="json")
    _check_refs(
        session,
        admin,
        role,
        partner_id,
        changes.get("scope_partner_ids"),
        changes.get("scope_quartier_ids"),
    )
    if changes.get("validate_partner_ids"):
        if role not in VALIDATOR_ROLES:
            raise Invalid(
                "validate_partner_ids",
                "Seuls un compte partenaire ou un chef de projet valident des mesures.",
            )
        _check_refs(session, admin, "chef_de_projet", None, changes["validate_partner_ids"], [])
    disabling = changes.get("is_active") is False
    if (disabling or role != "admin") and leaves_no_admin(session, user):
        raise Conflict(LAST_ADMIN_MESSAGE, "is_active" if disabling else "role")
    user.role = role
    user.partner_id = partner_id
    if changes.get("full_name") is not None:
        user.full_name = changes["full_name"]
    if changes.get("is_active") is not None:
        user.is_active = changes["is_active"]
        if not user.is_active:
            revoke_all_credentials(session, user.id)
    if changes.get("password"):
        user.password_hash = hash_password(changes["password"])
        revoke_all_credentials(session, user.id)
    _replace_scope(session, user, role, changes)
    session.add(user)
    session.flush()
    after = _user_out(session, user)
    record(
        session,
        action="update",
        entity="user",
        entity_id=user.id,
        before=before,
        after={**after.model_dump(mode="json"), "password_changed": bool(changes.get("password"))},
        actor_id=admin.user_id,
        contract_id=admin.default_contract_id,
    )
    return after


@router.post(
    "/users/{user_id}/unlock",
    response_model=UserOut,
    summary="Lever les délais de connexion d'un compte (après des échecs répétés)",
)
def unlock_user(session: SessionDep, admin: Admin, user_id: PathId):
    user = _visible_user(session, admin, user_id)
    cleared = unlock(session, user)
    record(
        session,
        action="update",
        entity="user",
        entity_id=user.id,
        after={"unlocked_addresses": cleared},
        actor_id=admin.user_id,
        contract_id=admin.default_contract_id,
    )
    return _user_out(session, user)
