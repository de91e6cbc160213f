"""Accounts, scopes, web sessions and API tokens. Secrets are stored only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import Index
from sqlalchemy import UniqueConstraint
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.codes import ROLES
from suivi.codes import TOKEN_KINDS
from suivi.modelbase import created_at_field
from suivi.modelbase import enum_check
from suivi.modelbase import timestamp_field


class User(SQLModel, table=True):
    __table_args__ = (
        enum_check("role", ROLES),
        # A partner account is tied to exactly one partner.
        CheckConstraint(
            "(role = 'partenaire' AND partner_id IS NOT NULL) OR role <> 'partenaire'",
            name="partner_role_has_partner",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    full_name: str = Field(default="", max_length=160)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20)
    partner_id: int | None = Field(default=None, foreign_key="partner.id", index=True)
    is_active: bool = True
    # Failed logins since the last success, from any address (incremented in SQL, so that
    # parallel failures are all counted). Information for admins: the backoff is per
    # (email, address), in `LoginFailure`.
    failed_logins: int = 0
    # No longer set (accounts are not locked as a whole since migration 0004); kept because
    # dropping a column of `user` rebuilds the table on SQLite.
    locked_until: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class UserContract(SQLModel, table=True):
    """The contracts a user works on (a user may belong to several)."""

    __tablename__ = "user_contract"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    contract_id: int = Field(foreign_key="contract.id", primary_key=True, index=True)


class UserScope(SQLModel, table=True):
    """A project manager's scope: partners and/or quartiers. No row = the whole contract."""

    __tablename__ = "user_scope"
    __table_args__ = (
        CheckConstraint("(partner_id IS NULL) <> (quartier_id IS NULL)", name="exactly_one_target"),
        CheckConstraint("NOT can_validate OR partner_id IS NOT NULL", name="validator_of_partner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    partner_id: int | None = Field(default=None, foreign_key="partner.id")
    quartier_id: int | None = Field(default=None, foreign_key="quartier.id")
    # Validates the figures this partner owns (migration 0008; `suivi.indicators.review`).
    can_validate: bool = False


class AuthSession(SQLModel, table=True):
    """A server-side web session; the cookie holds an opaque id whose hash is stored here."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()
    expires_at: datetime = created_at_field()
    revoked_at: datetime | None = timestamp_field()
    user_agent: str = Field(default="", max_length=300)


class ApiToken(SQLModel, table=True):
    """Bearer tokens: `login` ones from the OAuth2 password flow, `personal` ones for
    integrations. Opaque, stored hashed, with an expiry, revocable."""

    __tablename__ = "api_token"
    __table_args__ = (enum_check("kind", TOKEN_KINDS), Index("ix_api_token_user", "user_id"))

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    kind: str = Field(max_length=10)
    name: str = Field(default="", max_length=120)
    created_at: datetime = created_at_field()
    expires_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()


class LoginFailure(SQLModel, table=True):
    """Failed logins in a row for one email from one source address: after
    `[login] backoff_after_failures` of them, that address waits 2^k seconds (capped) before
    its next try for that email. Keyed by the email typed, not the account, so that an
    unknown email behaves like a known one. Deleted by a successful login from that address
    or `suivi users unlock`."""

    __tablename__ = "login_failure"
    __table_args__ = (UniqueConstraint("email", "address", name="uq_login_failure_email_address"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    address: str = Field(max_length=64)
    failures: int = 0
    last_failed_at: datetime = created_at_field()
