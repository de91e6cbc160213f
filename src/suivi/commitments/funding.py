"""Who pays what: the one rule that splits a commitment's money between its partners."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal


def partner_shares(
    lead_partner_id: int, co_partner_shares: Iterable[tuple[int, Decimal]]
) -> dict[int, Decimal]:
    """Each partner's share of a commitment's amounts: every co-partner its own share, the
    lead partner what remains (never below zero) — so co-funded money is counted once."""
    shares = {partner_id: Decimal(share) for partner_id, share in co_partner_shares}
    shares.pop(lead_partner_id, None)
    shares[lead_partner_id] = max(Decimal(0), Decimal(1) - sum(shares.values(), Decimal(0)))
    return shares
