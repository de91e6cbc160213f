"""Fetch an indicator and check that the principal may read it, change it or log a
measurement on it: one place for every route, page, job and CLI (issue 16).

Built on `suivi.scoping`'s conditions. What the principal may not read answers 404
(`NotFound`), never a hint that it exists; what they may read but not change answers 403
(`Forbidden`), with the reason in French.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from suivi import scoping
from suivi.auth.principal import Principal
from suivi.commitments.models import Commitment
from suivi.contract.models import Contract
from suivi.errors import Forbidden
from suivi.errors import NotFound
from suivi.indicators.models import Indicator

NOT_FOUND = "Indicateur introuvable."
NOT_WRITABLE = "Cet indicateur est hors de votre périmètre de modification."
NOT_MEASURABLE = "Vous ne pouvez pas saisir de mesure pour cet indicateur."


def get_readable(
    session: Session, principal: Principal, indicator_id: int, *, contract_id: int | None = None
) -> Indicator:
    """The indicator, if the principal may read it (and, given `contract_id`, it belongs to
    that contract: a page shows one contract); else 404."""
    indicator = session.get(Indicator, indicator_id)
    if (
        indicator is None
        or (contract_id is not None and indicator.contract_id != contract_id)
        or not scoping.in_contracts(principal, indicator.contract_id)
        or not scoping.can_read_indicator(session, principal, indicator)
    ):
        raise NotFound(NOT_FOUND)
    return indicator


def get_writable(session: Session, principal: Principal, indicator_id: int) -> Indicator:
    """The indicator, if the principal may change its sheet and targets: 404 if they may
    not even read it (a write does not reveal existence), 403 if only read."""
    indicator = get_readable(session, principal, indicator_id)
    if not scoping.can_write_indicator(session, principal, indicator):
        raise Forbidden(NOT_WRITABLE)
    return indicator


def get_measurable(
    session: Session, principal: Principal, indicator_id: int, *, contract_id: int | None = None
) -> Indicator:
    """The indicator, if the principal may log or correct its measurements: 404 / 403."""
    indicator = get_readable(session, principal, indicator_id, contract_id=contract_id)
    if not scoping.can_log_measurement(session, principal, indicator):
        raise Forbidden(NOT_MEASURABLE)
    return indicator


# An alias, so that it is never correlated with the `Indicator` of the scoping subqueries;
# built once (building an alias per request costs more than the query).
_MEASURED = aliased(Indicator, name="measured_indicator")


class MeasuredIndicator(NamedTuple):
    """The columns of an indicator that logging a measurement needs."""

    id: int
    baseline_date: date


class ContractTerm(NamedTuple):
    """The columns of its contract that logging a measurement needs."""

    id: int
    term_start: date
    term_end: date


@lru_cache(maxsize=256)
def _measurable_query(principal: Principal) -> Select:
    """The query of `get_measurable_with_contract`, built once per principal: building it
    and its SQL cache key costs more than running it. The principal is loaded afresh on
    every request and is the whole key, so a changed role or scope gets a new query."""
    indicator = _MEASURED
    allowed = (
        select(Commitment.id)
        .where(
            Commitment.id == indicator.commitment_id,
            scoping.measurement_commitment_condition(principal),
        )
        .exists()
    )
    # Only the columns the service needs, not two ORM entities (28 columns to load).
    return (
        select(
            indicator.id,
            indicator.baseline_date,
            Contract.id,
            Contract.term_start,
            Contract.term_end,
            allowed,
        )
        .join(Contract, Contract.id == indicator.contract_id)
        .where(indicator.id == bindparam("indicator_id"))
    )


def get_measurable_with_contract(
    session: Session, principal: Principal, indicator_id: int
) -> tuple[MeasuredIndicator, ContractTerm]:
    """`get_measurable` and its contract in one query (logging a measurement is the hot
    path): 404 if unknown or in another contract, 403 if out of the measurement scope.
    Plain columns, run on the session's connection: no ORM object is needed (no autoflush
    either, and none is due: nothing is written before this check)."""
    found = (
        session.connection()
        .execute(_measurable_query(principal), {"indicator_id": indicator_id})
        .first()
    )
    if found is None or not scoping.in_contracts(principal, found[2]):
        raise NotFound(NOT_FOUND)
    if not found[5]:
        get_readable(session, principal, indicator_id)  # 404 if not even readable
        raise Forbidden(NOT_MEASURABLE)
    return MeasuredIndicator(found[0], found[1]), ContractTerm(found[2], found[3], found[4])
