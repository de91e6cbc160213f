"""Fetch a row of a contract's reference data (partner, priority, meeting…) and check that
the principal may read it or change it: one place for the API and the pages (issue 16).

Everyone in the contract reads the reference data; only the contract's admins change it
(`suivi.scoping.can_write_reference`). What lies outside the user's contracts answers 404
(`NotFound`), never a hint that it exists; what they may read but not change answers 403
(`Forbidden`). Partners as a partner account sees them: `suivi.notifications.contacts`.
"""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session

from suivi import scoping
from suivi.auth.principal import Principal
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.service import locked
from suivi.errors import Forbidden
from suivi.errors import NotFound

NOT_ADMIN = "Seul un administrateur du contrat peut modifier le référentiel."

# The reference rows that belong to one contract (a `contract_id` column).
Row = TypeVar("Row", Partner, Priority, Meeting)


def require_admin(principal: Principal, contract_id: int | None, what: str) -> None:
    """404 (« <what> introuvable. ») outside the user's contracts, 403 for a role that may
    not change the reference data."""
    if not scoping.in_contracts(principal, contract_id):
        raise NotFound(f"{what} introuvable.")
    if not scoping.can_write_reference(principal, contract_id):
        raise Forbidden(NOT_ADMIN)


def get_readable(
    session: Session, principal: Principal, model: type[Row], row_id: int, what: str
) -> Row:
    """The row if it is in one of the user's contracts."""
    row = session.get(model, row_id)
    if row is None or not scoping.in_contracts(principal, row.contract_id):
        raise NotFound(f"{what} introuvable.")
    return row


def get_administered(
    session: Session, principal: Principal, model: type[Row], row_id: int, what: str
) -> Row:
    """The row, locked for the transaction, if the principal administers its contract:
    404 / 403 as `require_admin`."""
    row = locked(session, model, row_id)
    require_admin(principal, None if row is None else row.contract_id, what)
    return row
