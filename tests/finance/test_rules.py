"""The rules of a financial line: SIRET key, RNA form, amounts to the cent, and the order
asked → voted → paid → justified, refused with French messages naming the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from suivi.errors import Invalid
from suivi.finance.rules import LineFacts
from suivi.finance.rules import check_line
from suivi.finance.rules import clean_amount
from suivi.finance.rules import clean_rna
from suivi.finance.rules import clean_siret
from suivi.finance.rules import justification_due

VOTED = dict(year=2026, amount_voted=Decimal("10000"), voted_on=date(2026, 4, 10))


def _refused(facts: LineFacts) -> Invalid:
    with pytest.raises(Invalid) as caught:
        check_line(facts)
    return caught.value


def test_siret_with_a_right_luhn_key_is_kept_without_spaces():
    assert clean_siret("732 829 320 00074") == "73282932000074"
    assert clean_siret("") == ""


@pytest.mark.parametrize("siret", ["73282932000075", "7328293200007", "7328293200007A"])
def test_bad_siret_is_refused(siret):
    with pytest.raises(Invalid) as caught:
        clean_siret(siret)
    assert caught.value.field == "beneficiary_siret"
    assert "SIRET" in caught.value.detail


def test_la_poste_siret_follows_its_own_key():
    assert clean_siret("35600000000048") == "35600000000048"  # the head office: Luhn
    assert clean_siret("35600000012346") == "35600000012346"  # an office: digits sum to 5k


def test_rna_is_w_and_nine_digits():
    assert clean_rna("w623001234") == "W623001234"
    for bad in ("623001234", "W62300123", "W62300123X"):
        with pytest.raises(Invalid, match="W suivi de 9 chiffres"):
            clean_rna(bad)


def test_amounts_are_to_the_cent_and_never_negative():
    assert clean_amount("1 234,50", "x") == Decimal("1234.50")
    for bad, message in (("-1", "négatif"), ("1.234", "deux décimales"), ("abc", "nombre")):
        with pytest.raises(Invalid, match=message):
            clean_amount(bad, "x")


def test_paid_above_voted_needs_a_reason():
    payments = [(date(2026, 5, 1), Decimal("6000")), (date(2026, 9, 1), Decimal("4000.01"))]
    error = _refused(LineFacts(**VOTED, payments=payments))
    assert error.field == "overrun_reason"
    assert "dépasse le montant voté" in error.detail
    check_line(LineFacts(**VOTED, payments=payments, overrun_reason="Avenant du 2 sept."))


def test_justified_cannot_exceed_paid():
    payments = [(date(2026, 5, 1), Decimal("6000"))]
    error = _refused(
        LineFacts(
            **VOTED,
            payments=payments,
            amount_justified=Decimal("6000.01"),
            justified_on=date(2027, 3, 1),
        )  # fmt: skip
    )
    assert error.field == "amount_justified"


def test_a_payment_cannot_precede_the_vote():
    error = _refused(LineFacts(**VOTED, payments=[(date(2026, 4, 9), Decimal("1"))]))
    assert error.field == "paid_on"
    assert "précède le vote" in error.detail
    error = _refused(LineFacts(year=2026, payments=[(date(2026, 4, 9), Decimal("1"))]))
    assert error.field == "payments"


def test_cpo_years_must_cover_the_budget_year():
    assert _refused(LineFacts(year=2026, cpo=True)).field == "cpo_first_year"
    error = _refused(LineFacts(year=2028, cpo=True, cpo_first_year=2025, cpo_last_year=2027))
    assert "hors des années de la CPO" in error.detail
    check_line(LineFacts(year=2026, cpo=True, cpo_first_year=2025, cpo_last_year=2027))


def test_report_is_due_six_months_after_the_budget_year():
    assert justification_due(2025) == date(2026, 6, 30)
