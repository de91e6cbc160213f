"""At-most-once-per-key delivery: one `EmailDelivery` row per deduplication key, claimed
(committed as ``sending``) before the message leaves, marked ``sent``/``pending``/``failed``
after.

Why this shape: a crash between the claim and the mark leaves the row ``sending``; the next
run (started after the claim) takes it again and resends it with the same Message-ID. So a
crash duplicates at most the one message that was in flight, and nothing is lost. A row
claimed by a run that is still going (claimed after the current run started) is left alone.

Transient failures (refused connection, timeout, 4xx) are retried a few times with backoff
inside the run, then left ``pending`` with `next_attempt_at` for a later run; after
`[smtp] max_attempts` attempts the message is given up (``failed``). A 5xx answer marks it
``failed`` at once with the server's answer (shown to admins).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from suivi.config import Settings
from suivi.db import is_sqlite, session_scope, utcnow
from suivi.notifications.email import (
    OutgoingEmail,
    PermanentEmailError,
    TransientEmailError,
    Transport,
    build_message,
    message_id_for,
    transport_for,
)
from suivi.notifications.models import EmailDelivery

log = logging.getLogger(__name__)

# Tries within one run for a transient failure, and the pauses between them (seconds).
IN_RUN_BACKOFF = (1.0, 3.0)
# Pause before a later run tries a pending message again: doubles with each attempt.
NEXT_RUN_BACKOFF = timedelta(minutes=1)
NEXT_RUN_BACKOFF_MAX = timedelta(hours=1)

OUTCOMES = ("sent", "pending", "failed", "skipped")


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # "sent", "pending" (transient failure), "failed", "skipped" (nothing to do)
    message_id: str
    error: str = ""


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
        claimable = or_(
            EmailDelivery.status == "pending",
            # In flight when an earlier run died: resend it (same Message-ID).
            (EmailDelivery.status == "sending") & (EmailDelivery.claimed_at < run_started_at),
        )
        if respect_backoff:
            claimable = claimable & or_(
                EmailDelivery.next_attempt_at.is_(None), EmailDelivery.next_attempt_at <= now
            )
        claimed = session.execute(
            update(EmailDelivery)
            .where(EmailDelivery.dedup_key == outgoing.dedup_key, claimable)
            .values(
                status="sending",
                claimed_at=now,
                attempts=EmailDelivery.attempts + 1,
                # The content is rendered again at each attempt: keep what was really sent.
                recipient=outgoing.recipient,
                subject=outgoing.subject[:300],
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
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
    backoff: tuple[float, ...] = IN_RUN_BACKOFF,
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
    error: TransientEmailError | None = None
    for pause in (*backoff, None):
        try:
            transport.send(message, outgoing.recipient)
        except PermanentEmailError as exc:
            log.warning("email %s refused: %s", outgoing.dedup_key, exc)
            _mark(engine, row.id, status="failed", last_error=str(exc)[:2000])
            return DeliveryOutcome("failed", row.message_id, str(exc))
        except TransientEmailError as exc:
            error = exc
            if pause is None:
                break
            log.info("email %s: %s; retrying in %.1fs", outgoing.dedup_key, exc, pause)
            sleep(pause)
        else:
            _mark(engine, row.id, status="sent", sent_at=now(), last_error="")
            return DeliveryOutcome("sent", row.message_id)

    assert error is not None
    if row.attempts >= settings.smtp.max_attempts:
        reason = f"abandonné après {row.attempts} tentatives : {error}"
        log.warning("email %s given up: %s", outgoing.dedup_key, error)
        _mark(engine, row.id, status="failed", last_error=reason[:2000])
        return DeliveryOutcome("failed", row.message_id, reason)
    delay = min(NEXT_RUN_BACKOFF * 2 ** (row.attempts - 1), NEXT_RUN_BACKOFF_MAX)
    log.warning("email %s left pending: %s", outgoing.dedup_key, error)
    _mark(
        engine,
        row.id,
        status="pending",
        last_error=str(error)[:2000],
        next_attempt_at=now() + delay,
    )
    return DeliveryOutcome("pending", row.message_id, str(error))


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
