"""Accounts managed by an administrator (the API) or the command line: who may be seen,
the rules of roles and scopes, and the audited changes. One place for both ways in
(issue 16: the rules were written twice, in `api/users.py` and `auth/cli.py`).

Services take a `Principal` for who is asking (None: the command line, `actor_label`
says so), never commit, and write an audit row for every change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy import delete
from sqlalchemy import select
from sqlmodel import Session

from suivi.audit.service import Actor
from suivi.audit.service import record_change
from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.models import UserScope
from suivi.auth.passwords import hash_password
from suivi.auth.principal import Principal
from suivi.auth.service import LAST_ADMIN_MESSAGE
from suivi.auth.service import create_user
from suivi.auth.service import leaves_no_admin
from suivi.auth.service import normalize_email
from suivi.auth.service import revoke_all_credentials
from suivi.auth.service import unlock
from suivi.codes import ROLES
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Partner
from suivi.errors import Conflict
from suivi.errors import Invalid
from suivi.errors import NotFound

# The fields an account shows (the API's `UserOut`) and the audit rows record.
ACCOUNT_FIELDS = (
    "id",
    "email",
    "full_name",
    "role",
    "partner_id",
    "is_active",
    "created_at",
    "contract_ids",
    "scope_partner_ids",
    "scope_quartier_ids",
    "validate_partner_ids",
)
# Who may be named validator of a partner's figures (issue 18): never the committee.
VALIDATOR_ROLES = ("partenaire", "chef_de_projet")


def account_view(session: Session, user: User) -> dict[str, Any]:
    """The account as shown: its columns, contracts and scope (ids sorted)."""
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
        if validator:  # a flag on a partner, not scope (`load_principal` ignores it)
            validated.append(p)
        else:
            (partners if p is not None else quartiers).append(p if p is not None else q)
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "partner_id": user.partner_id,
        "is_active": user.is_active,
        "created_at": user.created_at,
        "contract_ids": contracts,
        "scope_partner_ids": sorted(partners),
        "scope_quartier_ids": sorted(quartiers),
        "validate_partner_ids": sorted(validated),
    }


def _audited(view: dict[str, Any]) -> dict[str, Any]:
    """The view as the audit row stores it (timestamps as the API writes them)."""
    created = view["created_at"]
    return {**view, "created_at": created.isoformat().replace("+00:00", "Z")}


def visible_accounts(
    principal: Principal, *, role: str | None = None, active: bool | None = None
) -> Select:
    """`select(User)`: the accounts of the administrator's contracts."""
    query = select(User).where(
        User.id.in_(
            select(UserContract.user_id).where(UserContract.contract_id.in_(principal.contract_ids))
        )
    )
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.is_active == active)
    return query


def get_visible(session: Session, principal: Principal, user_id: int) -> User:
    """An account of one of the administrator's contracts, or their own; else 404."""
    user = session.get(User, user_id)
    shares = session.execute(
        select(UserContract.contract_id).where(
            UserContract.user_id == user_id, UserContract.contract_id.in_(principal.contract_ids)
        )
    ).first()
    if user is None or (shares is None and user.id != principal.user_id):
        raise NotFound("Compte introuvable.")
    return user


def check_role_and_scope(
    session: Session,
    contract_ids: list[int],
    *,
    role: str,
    partner_id: int | None,
    scope_partner_ids: list[int] | None,
    scope_quartier_ids: list[int] | None,
) -> None:
    """The rules of an account, whoever creates or changes it: a known role; a partner
    account is attached to a partner; only a project manager has a scope; every partner
    and QPV cited belongs to `contract_ids`, once."""
    if role not in ROLES:
        raise Invalid("role", f"Rôle inconnu : {role} (possibles : {', '.join(ROLES)}).")
    if role == "partenaire" and partner_id is None:
        raise Invalid("partner_id", "Un compte partenaire doit être rattaché à un partenaire.")
    if partner_id is not None:
        found = session.execute(
            select(Partner.id).where(
                Partner.id == partner_id, Partner.contract_id.in_(contract_ids)
            )
        ).first()
        if found is None:
            raise Invalid("partner_id", "Partenaire inconnu.")
    for field, id_column, contract_column, ids in (
        ("scope_partner_ids", Partner.id, Partner.contract_id, scope_partner_ids or []),
        # A QPV is listed by its contracts (it may be shared).
        (
            "scope_quartier_ids",
            ContractQuartier.quartier_id,
            ContractQuartier.contract_id,
            scope_quartier_ids or [],
        ),
    ):
        if ids and (
            len(set(ids)) != len(ids)
            or set(
                session.execute(
                    select(id_column).where(id_column.in_(ids), contract_column.in_(contract_ids))
                ).scalars()
            )
            != set(ids)
        ):
            raise Invalid(field, "Identifiant inconnu ou cité deux fois.")
    if (scope_partner_ids or scope_quartier_ids) and role != "chef_de_projet":
        raise Invalid("role", "Seul un chef de projet a un périmètre.")


def create_account(
    session: Session,
    actor: Principal | None,
    *,
    email: str,
    password: str,
    role: str,
    full_name: str = "",
    partner_id: int | None = None,
    contract_id: int,
    scope_partner_ids: list[int] = (),
    scope_quartier_ids: list[int] = (),
    actor_label: str = "",
) -> User:
    """A new account of `contract_id` (audited). `actor`: the administrator (their
    contracts bound what may be cited), or None for the command line."""
    email = normalize_email(email)
    if session.execute(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict("Un compte existe déjà avec cette adresse.", "email")
    check_role_and_scope(
        session,
        list(actor.contract_ids) if actor is not None else [contract_id],
        role=role,
        partner_id=partner_id,
        scope_partner_ids=list(scope_partner_ids),
        scope_quartier_ids=list(scope_quartier_ids),
    )
    return create_user(
        session,
        email=email,
        password=password,
        role=role,
        full_name=full_name,
        partner_id=partner_id,
        contract_ids=[contract_id],
        scope_partner_ids=list(scope_partner_ids),
        scope_quartier_ids=list(scope_quartier_ids),
        actor_id=actor.user_id if actor is not None else None,
        actor_label=actor_label,
    )


def _replace_scope(session: Session, user: User, role: str, changes: dict) -> None:
    """Only the lists sent change: sending the partners keeps the quartiers, and the other
    way round. A role other than project manager has no scope at all, except a conseil
    citoyen, whose quartiers come from its conseil (`suivi.annual`) and stay. The validator
    flags are kept unless `validate_partner_ids` is sent."""
    _replace_validators(session, user, role, changes)
    scope_rows = (UserScope.user_id == user.id) & UserScope.can_validate.is_(False)
    if role == "conseil_citoyen":
        return
    if role != "chef_de_projet":
        session.execute(delete(UserScope).where(scope_rows))
        return
    for key, column in (
        ("scope_partner_ids", UserScope.partner_id),
        ("scope_quartier_ids", UserScope.quartier_id),
    ):
        if key not in changes:
            continue
        session.execute(delete(UserScope).where(scope_rows, column.is_not(None)))
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


def update_account(
    session: Session, admin: Principal, user: User, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply the fields sent (`changes`: only those) to the account, audited; returns its
    view. Disabling it or changing its password ends its sessions and tokens; the last
    active administrator can be neither disabled nor demoted."""
    for key in ("role", "is_active"):
        if key in changes and changes[key] is None:
            raise Invalid(key, "Ce champ ne peut pas être vide.")
    role = changes.get("role", user.role)
    partner_id = changes.get("partner_id", user.partner_id)
    if role != "partenaire" and "partner_id" not in changes:
        partner_id = None
    before = _audited(account_view(session, user))
    check_role_and_scope(
        session,
        list(admin.contract_ids),
        role=role,
        partner_id=partner_id,
        scope_partner_ids=changes.get("scope_partner_ids"),
        scope_quartier_ids=changes.get("scope_quartier_ids"),
    )
    if changes.get("validate_partner_ids"):
        if role not in VALIDATOR_ROLES:
            raise Invalid(
                "validate_partner_ids",
                "Seuls un compte partenaire ou un chef de projet valident des mesures.",
            )
        check_role_and_scope(
            session,
            list(admin.contract_ids),
            role="chef_de_projet",
            partner_id=None,
            scope_partner_ids=changes["validate_partner_ids"],
            scope_quartier_ids=[],
        )
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
    after = account_view(session, user)
    audited = {**_audited(after), "password_changed": bool(changes.get("password"))}
    _audit_update(session, admin, user, before, audited)
    return after


def unlock_account(session: Session, admin: Principal, user: User) -> int:
    """Lift the login waits of the account (audited); returns how many were lifted."""
    cleared = unlock(session, user)
    _audit_update(session, admin, user, None, {"unlocked_addresses": cleared})
    return cleared


def _audit_update(
    session: Session, admin: Principal, user: User, before: dict | None, after: dict
) -> None:
    """The audit row of an administrator's change to an account."""
    who = Actor(actor_id=admin.user_id, contract_id=admin.default_contract_id)
    record_change(session, "update", "user", user, before, after, **who)
