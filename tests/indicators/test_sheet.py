"""The reference sheet's aggregation rule across quartiers (pure) and its French sections."""

from __future__ import annotations

from datetime import date

import pytest

from suivi.indicators.sheet import aggregate
from suivi.indicators.sheet import sheet_sections
from tests.support.indicators import new_indicator


def test_counts_sum_rates_average_by_their_weight_and_none_gives_nothing():
    assert aggregate("sum", [12.0, 30.0, 8.0]) == 50.0
    # Two quartiers: 10 % of 1 000 people and 30 % of 3 000 → 25 %, not 40 % nor 20 %.
    assert aggregate("weighted_mean", [10.0, 30.0], [1000.0, 3000.0]) == pytest.approx(25.0)
    assert aggregate("weighted_mean", [10.0, 30.0]) is None  # no weights: no value
    assert aggregate("weighted_mean", [10.0, 30.0], [1000.0, None]) is None
    assert aggregate("weighted_mean", [10.0], [0.0]) is None
    assert aggregate("none", [10.0, 30.0]) is None
    assert aggregate("sum", []) is None
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate("mean", [1.0])


def test_sections_in_french_with_defaults_shown_as_a_dash():
    indicator = new_indicator(
        contract_id=1,
        commitment_id=1,
        code="X",
        name="Taux",
        unit="%",
        baseline_date=date(2025, 1, 1),
        is_rate=True,
        denominator="habitants",
        margin=0.5,
        forecast=False,
        comparability="statistique_non_comparable",
    )
    rows = {name: text for s in sheet_sections(indicator, {}) for name, text in s.rows}
    assert rows["Définition"] == "—" and rows["Dénominateur"] == "habitants"
    assert rows["Marge"] == "± 0,5 %"
    assert rows["Comparabilité"].endswith("pas de projection à l'échéance")
    assert rows["Règle d'agrégation"] == "Aucune (ne s'agrège pas entre quartiers)"
    assert rows["Responsable de la donnée"] == "—"
