"""Co-funded money is counted once: the shares of a commitment's partners add up to 1."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from suivi.commitments.funding import partner_shares


def test_lead_gets_what_the_co_partners_leave():
    shares = partner_shares(1, [(2, Decimal("0.25")), (3, Decimal("0.30"))])
    assert shares == {1: Decimal("0.45"), 2: Decimal("0.25"), 3: Decimal("0.30")}


def test_no_co_partner_means_the_lead_pays_everything():
    assert partner_shares(7, []) == {7: Decimal(1)}


def test_lead_listed_as_co_partner_is_not_counted_twice():
    assert partner_shares(1, [(1, Decimal("0.5")), (2, Decimal("0.2"))]) == {
        1: Decimal("0.8"),
        2: Decimal("0.2"),
    }


def test_over_committed_co_partners_leave_the_lead_nothing():
    assert partner_shares(1, [(2, Decimal("0.7")), (3, Decimal("0.6"))])[1] == Decimal(0)


@given(st.lists(st.decimals(min_value=0, max_value=Decimal("0.2"), places=4), max_size=5))
def test_shares_add_up_to_one_when_co_partners_leave_room(values):
    co = [(index + 2, value) for index, value in enumerate(values)]
    assert sum(partner_shares(1, co).values()) == Decimal(1)
