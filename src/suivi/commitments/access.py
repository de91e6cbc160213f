"""Fetch a commitment and check that the principal may read or change it: one place for
every route, page, job and CLI (issue 16), built on `suivi.scoping`'s conditions.

What the principal may not read answers 404 (`NotFound`), never a hint that it exists.
"""

from __future__ import annotations

from sqlmodel import Session

from suivi import scoping
from suivi.auth.principal import Principal
from suivi.commitments.models import Commitment
from suivi.errors import Forbidden
from suivi.errors import NotFound

NOT_FOUND = "Engagement introuvable."
NOT_WRITABLE = "Cet engagement est hors de votre périmètre de modification."


def get_readable(
    session: Session, principal: Principal, commitment_id: int, *, contract_id: int | None = None
) -> Commitment:
    """The commitment, if the principal may read it (and, given `contract_id`, it belongs
    to that contract: a page shows one contract); else 404."""
    commitment = session.get(Commitment, commitment_id)
    if (
        commitment is None
        or (contract_id is not None and commitment.contract_id != contract_id)
        or not scoping.can_read_commitment(session, principal, commitment)
    ):
        raise NotFound(NOT_FOUND)
    return commitment


def get_writable(session: Session, principal: Principal, commitment_id: int) -> Commitment:
    """The commitment, if the principal may change it: 404 if unknown or outside their
    contracts, 403 if in one of their contracts but out of their write scope."""
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or not scoping.in_contracts(principal, commitment.contract_id):
        raise NotFound(NOT_FOUND)
    if not scoping.can_write_commitment(session, principal, commitment):
        raise Forbidden(NOT_WRITABLE)
    return commitment
