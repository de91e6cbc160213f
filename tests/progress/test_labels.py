"""Every status code has a French label and a colour tone."""

from __future__ import annotations

import pytest

from suivi import labels
from suivi.progress import DIRECTIONS
from suivi.progress import FORECAST_STATUSES
from suivi.progress import FREQUENCIES
from suivi.progress import FRESHNESSES
from suivi.progress import PERFORMANCES

STATUS_TABLES = [
    (PERFORMANCES, labels.PERFORMANCE_LABELS),
    (FRESHNESSES, labels.FRESHNESS_LABELS),
    (FORECAST_STATUSES, labels.FORECAST_LABELS),
    (DIRECTIONS, labels.DIRECTION_LABELS),
    (FREQUENCIES, labels.FREQUENCY_LABELS),
]


@pytest.mark.parametrize(("codes", "table"), STATUS_TABLES)
def test_every_engine_code_has_a_french_label(codes, table):
    assert set(table) == set(codes)
    for code in codes:
        assert isinstance(table[code], str)
        assert table[code].strip()


@pytest.mark.parametrize("code", [*PERFORMANCES, *FRESHNESSES, *FORECAST_STATUSES])
def test_every_status_has_a_tone(code):
    assert labels.STATUS_TONE[code] in labels.TONES
    assert labels.tone(code) == labels.STATUS_TONE[code]


def test_every_alert_kind_has_a_tone():
    for code in labels.ALERT_KIND_LABELS:
        assert labels.STATUS_TONE[code] in labels.TONES


@pytest.mark.parametrize(
    ("table", "code", "text"),
    [
        (labels.PERFORMANCE_LABELS, "on_track", "Dans la trajectoire"),
        (labels.PERFORMANCE_LABELS, "at_risk", "À surveiller"),
        (labels.PERFORMANCE_LABELS, "off_track", "Hors trajectoire"),
        (labels.PERFORMANCE_LABELS, "achieved", "Atteint"),
        (labels.PERFORMANCE_LABELS, "too_early", "Trop tôt pour juger"),
        (labels.PERFORMANCE_LABELS, "no_data", "Aucune donnée"),
        (labels.PERFORMANCE_LABELS, "no_target", "Sans cible"),
        (labels.FRESHNESS_LABELS, "overdue", "En retard"),
        (labels.FRESHNESS_LABELS, "due_soon", "À mettre à jour bientôt"),
        (labels.FRESHNESS_LABELS, "up_to_date", "À jour"),
        (labels.FORECAST_LABELS, "will_meet", "Cible 2030 en vue"),
        (labels.FORECAST_LABELS, "will_miss", "Cible 2030 menacée"),
        (labels.LIFECYCLE_LABELS, "abandonne", "Abandonné"),
        (labels.FUNDING_TYPE_LABELS, "credits_specifiques", "Crédits spécifiques (programme 147)"),
        (labels.FUNDING_TYPE_LABELS, "tfpb", "Abattement TFPB"),
        (labels.PARTNER_KIND_LABELS, "etat", "État"),
        (labels.PARTNER_KIND_LABELS, "bailleur", "Bailleur social"),
        (labels.ALERT_KIND_LABELS, "forecast_miss", "Cible finale menacée"),
        (labels.ROLE_LABELS, "chef_de_projet", "Chef·fe de projet"),
        (labels.ROLE_LABELS, "copil", "Comité de pilotage (lecture)"),
        (labels.MEETING_KIND_LABELS, "cotech", "Comité technique"),
    ],
)
def test_exact_wording(table, code, text):
    assert table[code] == text


def test_other_tables_are_complete():
    assert set(labels.LIFECYCLE_LABELS) == {"prevu", "en_cours", "realise", "suspendu", "abandonne"}
    assert set(labels.FUNDING_TYPE_LABELS) == {
        "droit_commun",
        "credits_specifiques",
        "investissement",
        "tfpb",
        "europe",
        "autre",
    }
    assert set(labels.PARTNER_KIND_LABELS) == {
        "etat",
        "region",
        "departement",
        "commune",
        "epci",
        "operateur",
        "bailleur",
    }
    assert set(labels.ALERT_KIND_LABELS) == {"overdue", "off_track", "at_risk", "forecast_miss"}
    assert set(labels.ROLE_LABELS) == {
        "admin",
        "chef_de_projet",
        "partenaire",
        "copil",
        "conseil_citoyen",
    }
    assert set(labels.MEETING_KIND_LABELS) == {"copil", "cotech"}
    for table in labels.LABELS.values():
        assert all(isinstance(text, str) and text.strip() for text in table.values())


def test_forecast_label_uses_the_final_year():
    assert labels.forecast_label("will_meet", 2032) == "Cible 2032 en vue"
    assert labels.forecast_label("will_miss", 2028) == "Cible 2028 menacée"
    assert labels.forecast_label("will_miss") == labels.FORECAST_LABELS["will_miss"]


def test_label_helper():
    assert labels.label("performance", "off_track") == "Hors trajectoire"
    assert labels.label("partner_kind", "epci") == "Intercommunalité"
    assert labels.label("performance", "unknown_code") == "unknown_code"
    assert labels.label("freshness", None) == ""
    with pytest.raises(KeyError):
        labels.label("no_such_kind", "x")


def test_tone_helper_and_severity():
    assert labels.tone(None) == "neutral"
    assert labels.tone("something_else") == "neutral"
    severity = labels.TONE_SEVERITY
    assert severity["danger"] > severity["warning"] > severity["info"] > severity["success"]
    # Worse performances never get a calmer tone than better ones.
    order = ["off_track", "at_risk", "on_track", "achieved"]
    tones = [severity[labels.STATUS_TONE[code]] for code in order]
    assert tones == sorted(tones, reverse=True)
