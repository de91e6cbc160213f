"""Another contract beside the demo's, for the tests of what one contract may not see of
another."""

from __future__ import annotations

from datetime import date

from suivi.contract.models import Contract


def add_contract(
    session,
    code: str = "AUTRE",
    name: str = "Autre contrat",
    *,
    territory: str = "Ailleurs",
    signed_on: date = date(2024, 6, 1),
    term_start: date = date(2024, 1, 1),
) -> Contract:
    """A contract running to the end of 2030, flushed (its id is set)."""
    contract = Contract(
        code=code,
        name=name,
        territory=territory,
        signed_on=signed_on,
        term_start=term_start,
        term_end=date(2030, 12, 31),
    )
    session.add(contract)
    session.flush()
    return contract
