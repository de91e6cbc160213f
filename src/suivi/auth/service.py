"""Accounts, login, web sessions and bearer tokens (the logic behind `suivi.auth.deps`).

Secrets (session ids, bearer tokens) are random, opaque, shown once and stored only as their
SHA-256: a leaked database does not give working credentials. Services never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from suivi.audit.service import Actor
from suivi.audit.service import Change
from suivi.audit.service import record_change
from suivi.audit.service import record_many
from suivi.audit.service import snapshot
from suivi.auth.models import ApiToken
from suivi.auth.models import AuthSession
from suivi.auth.models import LoginFailure
from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.models import UserScope
from suivi.auth.passwords import dummy_verify
from suivi.auth.passwords import hash_password
from suivi.auth.passwords import verify_password
from suivi.codes import ROLES
from suivi.config import LoginSettings
from suivi.db import session_scope
from suivi.db import utcnow

# Sessions and tokens are "touched" (last_seen_at / last_used_at) at most this often.
TOUCH_EVERY = timedelta(minutes=1)
DEFAULT_SESSION_HOURS = 12


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_secret(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def normalize_email(email: str) -> str:
    return email.strip().lower()


# --------------------------------------------------------------------------------------------
# Login


@dataclass(frozen=True, slots=True)
class LoginCheck:
    """What `check_login` concluded: the user (right password, active account), or None;
    `retry_after` > 0 when the attempt was refused unchecked (backoff), in seconds."""

    user: User | None
    retry_after: int = 0


def backoff_seconds(failures: int, settings: LoginSettings) -> int:
    """How long an address waits after `failures` failures in a row for one email."""
    beyond = failures - settings.backoff_after_failures
    if beyond < 0:
        return 0
    return min(2 ** min(beyond, 30), settings.backoff_max_seconds)


def check_login(
    engine: Engine, email: str, password: str, address: str, settings: LoginSettings
) -> LoginCheck:
    """Check a login attempt from `address`, in its own short transactions.

    The password is verified (Argon2, ~0.2 s) outside any transaction: the user is read in a
    read-only one, and a failure is then counted in a short write transaction. On SQLite a
    login flood therefore never holds the write lock while hashing.

    The same Argon2 work is done whether the account exists or not (`dummy_verify`), and a
    failure writes the same rows, so the answer takes the same time for an unknown email.
    After `backoff_after_failures` failures in a row for this email from this address, the
    address waits (`backoff_seconds`); other addresses are not affected. On success the
    caller opens its write transaction and calls `login_succeeded` there.
    """
    if "\x00" in (email or "") or "\x00" in (password or ""):
        # PostgreSQL refuses NUL in text: no query, the same refusal after the same work.
        dummy_verify("x")
        return LoginCheck(None)
    email = normalize_email(email or "")[:254]
    address = (address or "unknown")[:64]
    with session_scope(engine) as session:
        user = session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        failure = session.execute(
            select(LoginFailure.failures, LoginFailure.last_failed_at).where(
                LoginFailure.email == email, LoginFailure.address == address
            )
        ).first()
    if failure is not None:
        wait_until = failure.last_failed_at + timedelta(
            seconds=backoff_seconds(failure.failures, settings)
        )
        wait = (wait_until - utcnow()).total_seconds()
        if wait > 0:
            return LoginCheck(None, retry_after=math.ceil(wait))
    if user is None:
        dummy_verify(password or "")
        valid = False
    else:
        try:
            valid = verify_password(password or "", user.password_hash)
        except Exception:  # noqa: BLE001 - an unreadable hash is a refused login, not a 500
            valid = False
    if valid:
        # A disabled account is refused, but the right password is no guess: not counted.
        return LoginCheck(user if user.is_active else None)
    with session_scope(engine, write=True) as session:
        _count_failure(session, email, address, user.id if user is not None else None)
    return LoginCheck(None)


def _count_failure(session: Session, email: str, address: str, user_id: int | None) -> None:
    """One more failure for (email, address) and for the account, incremented in SQL: with
    parallel failures (PostgreSQL), a read-modify-write in Python would lose some."""
    now = utcnow()
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = LoginFailure.__table__
    session.execute(
        dialect_insert(table)
        .values(email=email, address=address, failures=1, last_failed_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.email, table.c.address],
            set_={"failures": table.c.failures + 1, "last_failed_at": now},
        )
    )
    if user_id is not None:
        session.execute(
            update(User).where(User.id == user_id).values(failed_logins=User.failed_logins + 1)
        )


def login_succeeded(session: Session, user: User, address: str) -> None:
    """A successful login from `address` clears that address's failures and the count."""
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.email == user.email, LoginFailure.address == (address or "unknown")[:64]
        )
    )
    if user.failed_logins:
        session.execute(update(User).where(User.id == user.id).values(failed_logins=0))


def unlock(session: Session, user: User) -> int:
    """Clear every waiting address of this account (admin action); returns how many."""
    removed = session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
    user.failed_logins = 0
    session.add(user)
    return removed.rowcount or 0


# --------------------------------------------------------------------------------------------
# Web sessions


_Credential = TypeVar("_Credential", AuthSession, ApiToken)
# An audit snapshot of a token leaves its hash out.
_TOKEN_EXCLUDE = ("token_hash",)


def _store_hashed(
    session: Session, model: type[_Credential], secret: str, user: User, **columns: Any
) -> _Credential:
    """A new session or token of `user`, stored with its secret's hash only (flushed: it has
    its id)."""
    row = model(token_hash=hash_secret(secret), user_id=user.id, **columns)
    session.add(row)
    session.flush()
    return row


def _by_secret(
    session: Session, model: type[_Credential], secret: str | None
) -> _Credential | None:
    """The session or token stored for this secret (by its hash), if any."""
    if not secret:
        return None
    statement = select(model).where(model.token_hash == hash_secret(secret))
    return session.execute(statement).scalar_one_or_none()


def create_web_session(
    session: Session,
    user: User,
    user_agent: str = "",
    *,
    absolute_hours: int = DEFAULT_SESSION_HOURS,
) -> tuple[str, str]:
    """Open a server-side session; returns (cookie value, CSRF token). Audited as a login."""
    cookie_value = new_secret()
    csrf_token = new_secret()
    now = utcnow()
    row = _store_hashed(
        session,
        AuthSession,
        cookie_value,
        user,
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=absolute_hours),
        user_agent=(user_agent or "")[:300],
    )
    after = {"user_id": user.id, "kind": "web"}
    record_change(session, "login", "auth_session", row, after=after, actor_id=user.id)
    return cookie_value, csrf_token


def _unrevoked_session(session: Session, cookie_value: str | None) -> AuthSession | None:
    """The session of this cookie, unless there is none or it was revoked."""
    row = _by_secret(session, AuthSession, cookie_value)
    if row is None or row.revoked_at is not None:
        return None
    return row


def find_web_session(
    session: Session, cookie_value: str | None, *, idle_minutes: int, absolute_hours: int
) -> AuthSession | None:
    """The live session for this cookie (not revoked, not idle too long, not too old)."""
    row = _unrevoked_session(session, cookie_value)
    if row is None:
        return None
    now = utcnow()
    if row.expires_at <= now or row.created_at + timedelta(hours=absolute_hours) <= now:
        return None
    if row.last_seen_at + timedelta(minutes=idle_minutes) <= now:
        return None
    return row


def revoke_web_session(session: Session, cookie_value: str | None) -> bool:
    """Log out: the session stops working at once. Audited. False if there was none."""
    row = _unrevoked_session(session, cookie_value)
    if row is None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    record_many(session, [Change("logout", "auth_session", row.id)], actor_id=row.user_id)
    return True


# --------------------------------------------------------------------------------------------
# Bearer tokens


def issue_token(
    session: Session,
    user: User,
    *,
    kind: str,
    name: str = "",
    expires_at: datetime | None,
) -> tuple[ApiToken, str]:
    """Create a bearer token; returns (row, clear token). The clear token is shown once."""
    clear = new_secret()
    row = _store_hashed(session, ApiToken, clear, user, kind=kind, name=name, expires_at=expires_at)
    action = "create" if kind == "personal" else "login"
    after = snapshot(row, exclude=_TOKEN_EXCLUDE)
    record_change(session, action, "api_token", row, after=after, actor_id=user.id)
    return row, clear


def find_token(session: Session, clear: str | None) -> ApiToken | None:
    """The live token (not revoked, not expired) for this bearer value."""
    row = _by_secret(session, ApiToken, clear)
    if row is None or not is_live(row.revoked_at, row.expires_at):
        return None
    return row


def is_live(revoked_at: datetime | None, expires_at: datetime | None) -> bool:
    """A token is live when not revoked and not expired."""
    return revoked_at is None and (expires_at is None or expires_at > utcnow())


def revoke_token(session: Session, row: ApiToken, *, actor_id: int | None) -> None:
    before = snapshot(row, exclude=_TOKEN_EXCLUDE)
    row.revoked_at = utcnow()
    session.add(row)
    session.flush()
    after = snapshot(row, exclude=_TOKEN_EXCLUDE)
    record_change(session, "revoke", "api_token", row, before, after, actor_id=actor_id)


def touch(
    session: Session, model, row_id: int, column: str, last: datetime | None, *, separate: bool
) -> None:
    """Record that a session/token was used, at most once per TOUCH_EVERY.

    `separate`: in its own short transaction (read-only requests, which must not write in
    their own session); otherwise in `session` (a writing request already holds the lock).
    """
    now = utcnow()
    if last is not None and now - last < TOUCH_EVERY:
        return
    statement = update(model).where(model.id == row_id).values({column: now})
    if not separate:
        session.execute(statement)
        return
    with session_scope(session.get_bind(), write=True) as write_session:
        write_session.execute(statement)


# --------------------------------------------------------------------------------------------
# Accounts (CLI and admin API)


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    full_name: str = "",
    partner_id: int | None = None,
    contract_ids: list[int],
    scope_partner_ids: Sequence[int] = (),
    scope_quartier_ids: Sequence[int] = (),
    actor_id: int | None = None,
    actor_label: str = "",
) -> User:
    if role not in ROLES:
        raise ValueError(f"rôle inconnu : {role}")
    user = User(
        email=normalize_email(email),
        full_name=full_name,
        password_hash=hash_password(password),
        role=role,
        partner_id=partner_id,
    )
    session.add(user)
    session.flush()
    for contract_id in contract_ids:
        session.add(UserContract(user_id=user.id, contract_id=contract_id))
    for partner in scope_partner_ids:
        session.add(UserScope(user_id=user.id, partner_id=partner))
    for quartier in scope_quartier_ids:
        session.add(UserScope(user_id=user.id, quartier_id=quartier))
    session.flush()
    after = snapshot(user)
    after["contract_ids"] = list(contract_ids)
    after["scope_partner_ids"] = list(scope_partner_ids)
    after["scope_quartier_ids"] = list(scope_quartier_ids)
    first_contract = contract_ids[0] if contract_ids else None
    who = Actor(actor_id=actor_id, actor_label=actor_label, contract_id=first_contract)
    record_change(session, "create", "user", user, after=after, **who)
    return user


def revoke_all_credentials(session: Session, user_id: int) -> None:
    """Disabling an account or changing its password ends its sessions and tokens."""
    now = utcnow()
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def leaves_no_admin(session: Session, user: User) -> bool:
    """Would disabling or demoting `user` leave one of its contracts (or the instance) with
    no active admin? Locks the active admins' rows on PostgreSQL, so that two admins
    disabling each other at the same time cannot both succeed."""
    if user.role != "admin" or not user.is_active:
        return False
    admins = set(
        session.execute(
            select(User.id)
            .where(User.role == "admin", User.is_active.is_(True), User.id != user.id)
            .with_for_update()
        ).scalars()
    )
    contracts = session.execute(
        select(UserContract.contract_id).where(UserContract.user_id == user.id)
    ).scalars()
    for contract_id in contracts:
        others = session.execute(
            select(UserContract.user_id).where(
                UserContract.contract_id == contract_id, UserContract.user_id.in_(admins)
            )
        ).first()
        if others is None:
            return True
    return not admins


LAST_ADMIN_MESSAGE = (
    "Impossible : c'est le dernier administrateur actif de son contrat. Nommez d'abord un "
    "autre administrateur."
)


def count_users(session: Session) -> int:
    return session.execute(select(func.count()).select_from(User)).scalar_one()
