"""Who is asking, without any web framework: the `Principal` the scoping rules need, and how
it is loaded from the database (a user's contracts and scope rows).

`suivi.auth.deps` adapts this to FastAPI (bearer token, session cookie); jobs and services
call `load_principal` directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Integer
from sqlalchemy import bindparam
from sqlalchemy import cast
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import union_all
from sqlmodel import Session

from suivi.auth.models import ApiToken
from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.models import UserScope
from suivi.records import view_of


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user, as the scoping rules need it (no ORM object, no session)."""

    user_id: int
    email: str
    full_name: str
    role: str
    partner_id: int | None
    contract_ids: tuple[int, ...]
    scope_partner_ids: frozenset[int] = frozenset()
    scope_quartier_ids: frozenset[int] = frozenset()
    # How this request was authenticated: "token" (bearer) or "session" (cookie).
    via: str = "token"
    # The web session's CSRF token (pages put it in their forms); None for bearer tokens.
    csrf_token: str | None = None
    # Id of the ApiToken or AuthSession used.
    credential_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def default_contract_id(self) -> int | None:
        """The contract shown when none is chosen: the user's first (lowest id)."""
        return min(self.contract_ids) if self.contract_ids else None

    @property
    def label(self) -> str:
        return self.full_name or self.email


def _no_id():
    return cast(null(), Integer)


# Every user's contracts and scope rows, as (user_id, contract_id, partner_id, quartier_id)
# with None where a row has no such value. The queries below are built once (they run on
# every API request; a reused statement keeps its SQL cache key).
_MEMBERSHIPS = union_all(
    select(
        UserContract.user_id,
        UserContract.contract_id,
        _no_id().label("partner_id"),
        _no_id().label("quartier_id"),
    ),
    # A validator row (`can_validate`) says whose figures one validates, not one's scope.
    select(UserScope.user_id, _no_id(), UserScope.partner_id, UserScope.quartier_id).where(
        UserScope.can_validate.is_(False)
    ),
).subquery("membership")

_USER_MEMBERSHIPS = select(
    _MEMBERSHIPS.c.contract_id, _MEMBERSHIPS.c.partner_id, _MEMBERSHIPS.c.quartier_id
).where(_MEMBERSHIPS.c.user_id == bindparam("user_id"))

# A bearer token, its user and the user's memberships in ONE round trip: one row per
# membership (at least one: outer join), the token and user columns repeated on each.
# Columns, not ORM objects: building those would cost more than the query.
TOKEN_USER_AND_MEMBERSHIPS = (
    select(
        ApiToken.id.label("token_id"),
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.id,
        User.email,
        User.full_name,
        User.role,
        User.partner_id,
        User.is_active,
        _MEMBERSHIPS.c.contract_id,
        _MEMBERSHIPS.c.partner_id.label("scope_partner_id"),
        _MEMBERSHIPS.c.quartier_id.label("scope_quartier_id"),
    )
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(_MEMBERSHIPS, _MEMBERSHIPS.c.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def load_principal(
    session: Session,
    user: User,
    *,
    via: str = "token",
    csrf_token: str | None = None,
    credential_id: int | None = None,
) -> Principal:
    memberships = session.execute(_USER_MEMBERSHIPS, {"user_id": user.id})
    return principal_from_rows(
        user, memberships, via=via, csrf_token=csrf_token, credential_id=credential_id
    )


def principal_from_rows(user, memberships: Iterable[tuple], **credential) -> Principal:
    """`user`: a `User`, or a row with its columns; `memberships`: (contract_id, partner_id,
    quartier_id) rows, None where a row has no such value."""
    contracts: set[int] = set()
    partners: set[int] = set()
    quartiers: set[int] = set()
    for contract_id, partner_id, quartier_id in memberships:
        if contract_id is not None:
            contracts.add(contract_id)
        if partner_id is not None:
            partners.add(partner_id)
        if quartier_id is not None:
            quartiers.add(quartier_id)
    return view_of(
        Principal,
        user,
        user_id=user.id,
        contract_ids=tuple(sorted(contracts)),
        scope_partner_ids=frozenset(partners),
        scope_quartier_ids=frozenset(quartiers),
        **credential,
    )
