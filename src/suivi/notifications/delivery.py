"""At-most-once-per-key delivery: one `EmailDelivery` row per deduplication key, claimed
(committed as ``sending``) before the message leaves, marked ``sent``/``pending``/``failed``
after.

Why this shape: a crash between the claim and the mark leaves the row ``sending``; the next
run (started after the claim) takes it again and resends it with the same Message-ID. So a
crash duplicates at most the one message that was in flight, and nothing is lost. A row
claimed by a run that is still going (claimed after the current run started) is left alone.

Transient failures (refused connection, timeout, 4xx) are retried a few times with backoff
inside the run, then left ``pending`` with `next_attempt_at` and the MIME message itself
(`content`); the hourly `retry_emails` job (`retry_pending`) sends stored messages again,
claiming them the same way, so each key still goes out once. After `[smtp] max_attempts`
attempts the message is given up (``failed``). A 5xx answer marks it ``failed`` at once
with the server's answer (shown to admins).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from sqlalchemy import Engine
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from suivi.config import Settings
from suivi.db import is_sqlite
from suivi.db import session_scope
from suivi.db import utcnow
from suivi.jobs import JobResult
from suivi.notifications.email import OutgoingEmail
from suivi.notifications.email import PermanentEmailError
from suivi.notifications.email import TransientEmailError
from suivi.notifications.email import Transport
from suivi.notifications.email import build_message
from suivi.notifications.email import message_id_for
from suivi.notifications.email import transport_for
from suivi.notifications.models import EmailDelivery

log = logging.getLogger(__name__)

# Tries within one run for a transient failure, and the pauses between them (seconds).
IN_RUN_BACKOFF = (1.0, 3.0)
# Pause before a later run tries a pending message again: doubles with each attempt.
NEXT_RUN_BACKOFF = timedelta(minutes=1)
NEXT_RUN_BACKOFF_MAX = timedelta(hours=1)
# A message claimed longer ago than this is no longer in flight (one message takes at most a
# few SMTP timeouts): `retry_pending` may take it again. Jobs run side by side, so the
# retry job cannot rely on "claimed before my run started" alone.
IN_FLIGHT_MAX = timedelta(minutes=15)

OUTCOMES = ("sent", "pending", "failed", "skipped")


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # "sent", "pending" (transient failure), "failed", "skipped" (nothing to do)
    message_id: str
    error: str = ""


def _claimable(*, run_started_at: datetime, now: datetime, respect_backoff: bool):
    """Rows a run may claim: pending ones (once their pause is over, if respected), and ones
    left ``sending`` by a run that died (claimed before this run started)."""
    claimable = or_(
        EmailDelivery.status == "pending",
        (EmailDelivery.status == "sending") & (EmailDelivery.claimed_at < run_started_at),
    )
    if respect_backoff:
        claimable = claimable & or_(
            EmailDelivery.next_attempt_at.is_(None), EmailDelivery.next_attempt_at <= now
        )
    return claimable


def _take(session, where, *, now: datetime, **values) -> bool:
    """Claim one row (``sending``, one more attempt) if `where` still holds: the one
    conditional UPDATE that makes each key go out once, whoever claims it."""
    return (
        session.execute(
            update(EmailDelivery)
            .where(where)
            .values(status="sending", claimed_at=now, attempts=EmailDelivery.attempts + 1, **values)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def _insert_ignore(engine: Engine):
    dialect = sqlite if is_sqlite(engine) else postgresql
    return dialect.insert(EmailDelivery)


def _claim(
    engine: Engine,
    settings: Settings,
    outgoing: OutgoingEmail,
    *,
    run_started_at: datetime,
    now: datetime,
    respect_backoff: bool,
) -> EmailDelivery | None:
    """Record the message (if new) and claim it, in one committed transaction.
    Returns the claimed row, or None when there is nothing to send."""
    with session_scope(engine, write=True) as session:
        session.execute(
            _insert_ignore(engine)
            .values(
                dedup_key=outgoing.dedup_key,
                kind=outgoing.kind,
                period=outgoing.period,
                recipient=outgoing.recipient,
                user_id=outgoing.user_id,
                contact_id=outgoing.contact_id,
                subject=outgoing.subject[:300],
                message_id=message_id_for(outgoing.dedup_key, settings),
                status="pending",
                attempts=0,
                last_error="",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedup_key"])
        )
        claimable = _claimable(
            run_started_at=run_started_at, now=now, respect_backoff=respect_backoff
        )
        claimed = _take(
            session,
            (EmailDelivery.dedup_key == outgoing.dedup_key) & claimable,
            now=now,
            # The content is rendered again at each attempt: keep what was really sent.
            recipient=outgoing.recipient,
            subject=outgoing.subject[:300],
        )
        if not claimed:
            return None
        return session.execute(
            select(EmailDelivery).where(EmailDelivery.dedup_key == outgoing.dedup_key)
        ).scalar_one()


def _mark(engine: Engine, delivery_id: int, **values) -> None:
    with session_scope(engine, write=True) as session:
        session.execute(
            update(EmailDelivery)
            .where(EmailDelivery.id == delivery_id, EmailDelivery.status == "sending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def deliver(
    engine: Engine,
    settings: Settings,
    outgoing: OutgoingEmail,
    *,
    run_started_at: datetime,
    transport: Transport | None = None,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    backoff: tuple[float, ...] | None = None,
    respect_backoff: bool = True,
) -> DeliveryOutcome:
    """Send `outgoing` unless its key was already sent, failed, or is in flight elsewhere.

    `run_started_at` is when the calling job run started: rows claimed before it belong to a
    dead run and are taken again. `respect_backoff=False` (a manual run) ignores the pause
    before retrying a pending message.
    """
    transport = transport or transport_for(settings)
    row = _claim(
        engine,
        settings,
        outgoing,
        run_started_at=run_started_at,
        now=now(),
        respect_backoff=respect_backoff,
    )
    if row is None:
        return DeliveryOutcome("skipped", message_id_for(outgoing.dedup_key, settings))

    message = build_message(settings, outgoing, message_id=row.message_id, now=now())
    return _send_claimed(
        engine, settings, row, message, transport=transport, now=now, sleep=sleep, backoff=backoff
    )


def _send_claimed(
    engine: Engine,
    settings: Settings,
    row: EmailDelivery,
    message: EmailMessage,
    *,
    transport: Transport,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    backoff: tuple[float, ...] | None,
) -> DeliveryOutcome:
    """Send a claimed row's message (a few tries with `backoff`) and mark the outcome. A
    message left pending keeps its content for `retry_pending`; a sent or given-up one
    drops it."""
    error: TransientEmailError | None = None
    for pause in (*(IN_RUN_BACKOFF if backoff is None else backoff), None):
        try:
            transport.send(message, row.recipient)
        except PermanentEmailError as exc:
            log.warning("email %s refused: %s", row.dedup_key, exc)
            _mark(engine, row.id, status="failed", last_error=str(exc)[:2000], content=None)
            return DeliveryOutcome("failed", row.message_id, str(exc))
        except TransientEmailError as exc:
            error = exc
            if pause is None:
                break
            log.info("email %s: %s; retrying in %.1fs", row.dedup_key, exc, pause)
            sleep(pause)
        else:
            _mark(engine, row.id, status="sent", sent_at=now(), last_error="", content=None)
            return DeliveryOutcome("sent", row.message_id)

    assert error is not None
    if row.attempts >= settings.smtp.max_attempts:
        reason = f"abandonné après {row.attempts} tentatives : {error}"
        log.warning("email %s given up: %s", row.dedup_key, error)
        _mark(engine, row.id, status="failed", last_error=reason[:2000], content=None)
        return DeliveryOutcome("failed", row.message_id, reason)
    delay = min(NEXT_RUN_BACKOFF * 2 ** (row.attempts - 1), NEXT_RUN_BACKOFF_MAX)
    log.warning("email %s left pending: %s", row.dedup_key, error)
    _mark(
        engine,
        row.id,
        status="pending",
        last_error=str(error)[:2000],
        next_attempt_at=now() + delay,
        content=message.as_bytes(),
    )
    return DeliveryOutcome("pending", row.message_id, str(error))


def retry_pending(
    engine: Engine,
    settings: Settings,
    *,
    run_started_at: datetime,
    respect_backoff: bool = True,
    transport: Transport | None = None,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    backoff: tuple[float, ...] | None = None,
) -> dict[str, int]:
    """Send again every pending message whose content is stored (the `retry_emails` job),
    oldest first; also one left ``sending`` by a run that died (`IN_FLIGHT_MAX` ago).
    Each is claimed first, like `deliver`, so a key claimed meanwhile by another run is
    skipped, and a second pass sends nothing. Returns the counts per outcome."""
    transport = transport or transport_for(settings)
    counts = dict.fromkeys(OUTCOMES, 0)
    started = now()
    stored = EmailDelivery.content.is_not(None) & _claimable(
        run_started_at=min(run_started_at, started - IN_FLIGHT_MAX),
        now=started,
        respect_backoff=respect_backoff,
    )
    with session_scope(engine) as session:
        due = session.execute(
            select(EmailDelivery.id).where(stored).order_by(EmailDelivery.id)
        ).scalars()
        due = list(due)
    for delivery_id in due:
        current = now()
        with session_scope(engine, write=True) as session:
            # Same condition again: another run may have claimed or sent it meanwhile.
            row = None
            if _take(session, (EmailDelivery.id == delivery_id) & stored, now=current):
                row = session.get(EmailDelivery, delivery_id)
        if row is None:
            counts["skipped"] += 1
            continue
        message = message_from_bytes(row.content, _class=EmailMessage, policy=SMTP_POLICY)
        message.replace_header("Date", format_datetime(current.astimezone(settings.tz)))
        outcome = _send_claimed(
            engine,
            settings,
            row,
            message,
            transport=transport,
            now=now,
            sleep=sleep,
            backoff=backoff,
        )
        counts[outcome.status] += 1
    return counts


def delivery_result(counts: dict[str, int]) -> JobResult:
    """A job's result from its delivery counts: a message left pending (for `retry_emails`)
    or refused makes the run partial; every message refused, a failed run."""
    problems = []
    if counts.get("pending"):
        problems.append(
            f"{counts['pending']} courriel(s) en attente d'un nouvel essai "
            "(serveur de messagerie injoignable ?)"
        )
    if counts.get("failed"):
        problems.append(f"{counts['failed']} courriel(s) refusé(s) ou abandonné(s)")
    return JobResult(
        counts=counts,
        done=counts.get("sent", 0) + counts.get("skipped", 0),
        unfinished=counts.get("pending", 0),
        failed=counts.get("failed", 0),
        problems=tuple(problems),
    )


def deliver_all(
    engine: Engine,
    settings: Settings,
    messages: list[OutgoingEmail],
    *,
    run_started_at: datetime,
    respect_backoff: bool = True,
    transport: Transport | None = None,
    **options,
) -> dict[str, int]:
    """Deliver a batch in order; returns the counts per outcome (for the job run log)."""
    transport = transport or transport_for(settings)
    counts = dict.fromkeys(OUTCOMES, 0)
    for outgoing in messages:
        outcome = deliver(
            engine,
            settings,
            outgoing,
            run_started_at=run_started_at,
            transport=transport,
            respect_backoff=respect_backoff,
            **options,
        )
        counts[outcome.status] += 1
    return counts
