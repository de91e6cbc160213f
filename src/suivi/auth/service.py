"""Accounts, login, web sessions and bearer tokens (the logic behind `suivi.auth.deps`).

Secrets (session ids, bearer tokens) are random, opaque, shown once and stored only as their
SHA-256: a leaked database does not give working credentials. Services never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel import Session

from suivi.audit.service import record, snapshot
from suivi.auth.models import ROLES, ApiToken, AuthSession, User, UserContract, UserScope
from suivi.auth.passwords import dummy_verify, hash_password, verify_password
from suivi.db import utcnow

# Lockout: after this many failed logins in a row, the account is refused for a while, even
# with the right password (slows down guessing without locking anyone out for good).
MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15
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


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active, unlocked user with this email and password, or None.

    The same Argon2 work is done whether the account exists or not (`dummy_verify`), so the
    answer takes the same time for an unknown email. Failures are counted on the account and
    lock it for LOCKOUT_MINUTES after MAX_FAILED_LOGINS; a success resets the count.

    The counters are written in `session`: the caller must let the transaction commit even
    when the login fails (return an error response, do not raise an exception).
    """
    user = session.execute(
        select(User).where(User.email == normalize_email(email or ""))
    ).scalar_one_or_none()
    if user is None:
        dummy_verify(password or "")
        return None
    try:
        valid = verify_password(password or "", user.password_hash)
    except Exception:  # noqa: BLE001 - an unreadable hash is a refused login, not a 500
        valid = False
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not user.is_active:
        return None
    if not valid:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + timedelta(minutes=LOCKOUT_MINUTES)
            user.failed_logins = 0
        session.add(user)
        session.flush()
        return None
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None
        session.add(user)
        session.flush()
    return user


# --------------------------------------------------------------------------------------------
# Web sessions


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
    row = AuthSession(
        token_hash=hash_secret(cookie_value),
        user_id=user.id,
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=absolute_hours),
        user_agent=(user_agent or "")[:300],
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="login",
        entity="auth_session",
        entity_id=row.id,
        actor_id=user.id,
        after={"user_id": user.id, "kind": "web"},
    )
    return cookie_value, csrf_token


def find_web_session(
    session: Session, cookie_value: str | None, *, idle_minutes: int, absolute_hours: int
) -> AuthSession | None:
    """The live session for this cookie (not revoked, not idle too long, not too old)."""
    if not cookie_value:
        return None
    row = session.execute(
        select(AuthSession).where(AuthSession.token_hash == hash_secret(cookie_value))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.expires_at <= now or row.created_at + timedelta(hours=absolute_hours) <= now:
        return None
    if row.last_seen_at + timedelta(minutes=idle_minutes) <= now:
        return None
    return row


def revoke_web_session(session: Session, cookie_value: str | None) -> bool:
    """Log out: the session stops working at once. Audited. False if there was none."""
    if not cookie_value:
        return False
    row = session.execute(
        select(AuthSession).where(AuthSession.token_hash == hash_secret(cookie_value))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    record(
        session,
        action="logout",
        entity="auth_session",
        entity_id=row.id,
        actor_id=row.user_id,
    )
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
    row = ApiToken(
        token_hash=hash_secret(clear),
        user_id=user.id,
        kind=kind,
        name=name,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="create" if kind == "personal" else "login",
        entity="api_token",
        entity_id=row.id,
        actor_id=user.id,
        after=snapshot(row, exclude=("token_hash",)),
    )
    return row, clear


def find_token(session: Session, clear: str | None) -> ApiToken | None:
    """The live token (not revoked, not expired) for this bearer value."""
    if not clear:
        return None
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_secret(clear))
    ).scalar_one_or_none()
    if row is None or not is_live(row.revoked_at, row.expires_at):
        return None
    return row


def is_live(revoked_at: datetime | None, expires_at: datetime | None) -> bool:
    """A token is live when not revoked and not expired."""
    return revoked_at is None and (expires_at is None or expires_at > utcnow())


def revoke_token(session: Session, row: ApiToken, *, actor_id: int | None) -> None:
    before = snapshot(row, exclude=("token_hash",))
    row.revoked_at = utcnow()
    session.add(row)
    session.flush()
    record(
        session,
        action="revoke",
        entity="api_token",
        entity_id=row.id,
        actor_id=actor_id,
        before=before,
        after=snapshot(row, exclude=("token_hash",)),
    )


def touch(
    session: Session, model, row_id: int, column: str, last: datetime | None, *, separate: bool
) -> None:
    """Record that a session/token was used, at most once per TOUCH_EVERY.

    `separate`: in its own short transaction (read-only requests, which must not write in
    their own session); otherwise in `session` (a writing request already holds the lock).
    """
    from suivi.db import session_scope

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
    scope_partner_ids: list[int] = (),
    scope_quartier_ids: list[int] = (),
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
    record(
        session,
        action="create",
        entity="user",
        entity_id=user.id,
        after=after,
        actor_id=actor_id,
        actor_label=actor_label,
        contract_id=contract_ids[0] if contract_ids else None,
    )
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


def count_users(session: Session) -> int:
    return session.execute(select(func.count()).select_from(User)).scalar_one()
