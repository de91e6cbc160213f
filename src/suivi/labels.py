"""Every French label shown to users, in one place.

Codes (``on_track``, ``overdue``...) stay in English in the code and the database; pages, PDF
reports and e-mails translate them through these tables so that wording and colours stay
consistent everywhere. Data only: no imports from the rest of the application.
"""

from __future__ import annotations

# Indicator performance (see suivi.progress.PERFORMANCES).
PERFORMANCE_LABELS = {
    "achieved": "Atteint",
    "on_track": "Dans la trajectoire",
    "at_risk": "À surveiller",
    "off_track": "Hors trajectoire",
    "too_early": "Trop tôt pour juger",
    "no_data": "Aucune donnée",
    "no_target": "Sans cible",
}

# Indicator freshness (see suivi.progress.FRESHNESSES).
FRESHNESS_LABELS = {
    "up_to_date": "À jour",
    "due_soon": "À mettre à jour bientôt",
    "overdue": "En retard",
}

# Forecast at the final target date (see suivi.progress.FORECAST_STATUSES). The year is the
# usual horizon of the contrats de ville; use forecast_label() to show the real final year.
DEFAULT_FINAL_YEAR = 2030
_FORECAST_TEMPLATES = {
    "will_meet": "Cible {year} en vue",
    "will_miss": "Cible {year} menacée",
}
FORECAST_LABELS = {
    code: template.format(year=DEFAULT_FINAL_YEAR) for code, template in _FORECAST_TEMPLATES.items()
}

DIRECTION_LABELS = {
    "increase": "Hausse",
    "decrease": "Baisse",
    "maintain": "Maintien",
}

FREQUENCY_LABELS = {
    "monthly": "Mensuelle",
    "quarterly": "Trimestrielle",
    "semiannual": "Semestrielle",
    "annual": "Annuelle",
}

# Commitment life cycle.
LIFECYCLE_LABELS = {
    "prevu": "Prévu",
    "en_cours": "En cours",
    "realise": "Réalisé",
    "suspendu": "Suspendu",
    "abandonne": "Abandonné",
}

FUNDING_TYPE_LABELS = {
    "droit_commun": "Droit commun",
    "credits_specifiques": "Crédits spécifiques (programme 147)",
    "investissement": "Investissement",
    "tfpb": "Abattement TFPB",
    "europe": "Fonds européens",
    "autre": "Autre",
}

PARTNER_KIND_LABELS = {
    "etat": "État",
    "region": "Région",
    "departement": "Département",
    "commune": "Commune",
    "epci": "Intercommunalité",
    "operateur": "Opérateur",
    "bailleur": "Bailleur social",
}

ALERT_KIND_LABELS = {
    "overdue": "Mise à jour en retard",
    "off_track": "Hors trajectoire",
    "at_risk": "À surveiller",
    "forecast_miss": "Cible finale menacée",
}

ROLE_LABELS = {
    "admin": "Administrateur",
    "chef_de_projet": "Chef·fe de projet",
    "partenaire": "Partenaire",
    "copil": "Comité de pilotage (lecture)",
    "conseil_citoyen": "Conseil citoyen",
}

MEETING_KIND_LABELS = {
    "copil": "Comité de pilotage",
    "cotech": "Comité technique",
}

# Colour tone of each status code (used as a CSS class suffix, in PDFs and e-mails).
REPORT_KIND_LABELS = {
    "copil": "Rapport au comité de pilotage",
    "quartier": "Rapport par quartier",
    "partner": "Rapport par partenaire",
    "annual": "Rapport annuel",
    "mi_parcours": "Revue à mi-parcours (cibles initiales et révisées)",
}

JOB_OUTCOME_LABELS = {
    "running": "En cours",
    "success": "Réussie",
    "partial": "Partielle",
    "failed": "En échec",
}

DELIVERY_STATUS_LABELS = {
    "pending": "En attente d'un nouvel essai",
    "sending": "En cours d'envoi",
    "sent": "Envoyé",
    "failed": "Échec définitif",
}

DELIVERY_KIND_LABELS = {
    "partner_summary": "Point aux partenaires",
    "reminder": "Rappel des mises à jour",
    "escalation": "Signalement des retards",
    "annual_consultation": "Consultation sur le rapport annuel",
    "conseil_summary": "Point mensuel aux conseils citoyens",
}

ANNUAL_REPORT_STATE_LABELS = {
    "brouillon": "Brouillon",
    "en_consultation": "En consultation",
    "avis_recus": "Avis reçus",
    "approuve": "Approuvé",
    "publie": "Publié",
}

VERDICT_LABELS = {
    "favorable": "Favorable",
    "reserve": "Réservé",
    "defavorable": "Défavorable",
}


CONTACT_FREQUENCY_LABELS = {
    "weekly": "Chaque semaine",
    "monthly": "Chaque mois",
    "none": "Aucun envoi",
}

# Status codes are unique across performance, freshness, forecast and alert kinds.
STATUS_TONE = {
    # performance
    "off_track": "danger",
    "at_risk": "warning",
    "on_track": "success",
    "achieved": "success",
    "too_early": "info",
    "no_data": "neutral",
    "no_target": "neutral",
    # freshness
    "overdue": "danger",
    "due_soon": "warning",
    "up_to_date": "success",
    # forecast
    "will_miss": "danger",
    "will_meet": "success",
    # alert kinds not already listed above
    "forecast_miss": "danger",
}

# Tones from most to least urgent; sort with TONE_SEVERITY[tone] (higher = more urgent).
TONES = ("danger", "warning", "info", "neutral", "success")
TONE_SEVERITY = {tone: len(TONES) - rank for rank, tone in enumerate(TONES)}

# Label tables by kind, for label(kind, code).
LABELS = {
    "performance": PERFORMANCE_LABELS,
    "freshness": FRESHNESS_LABELS,
    "forecast": FORECAST_LABELS,
    "direction": DIRECTION_LABELS,
    "frequency": FREQUENCY_LABELS,
    "lifecycle": LIFECYCLE_LABELS,
    "funding_type": FUNDING_TYPE_LABELS,
    "partner_kind": PARTNER_KIND_LABELS,
    "alert_kind": ALERT_KIND_LABELS,
    "role": ROLE_LABELS,
    "meeting_kind": MEETING_KIND_LABELS,
    "report_kind": REPORT_KIND_LABELS,
    "job_outcome": JOB_OUTCOME_LABELS,
    "delivery_status": DELIVERY_STATUS_LABELS,
    "delivery_kind": DELIVERY_KIND_LABELS,
    "contact_frequency": CONTACT_FREQUENCY_LABELS,
    "annual_report_state": ANNUAL_REPORT_STATE_LABELS,
    "verdict": VERDICT_LABELS,
}


def label(kind: str, code: str | None) -> str:
    """French label of ``code`` in the table ``kind`` (a key of ``LABELS``).

    An unknown code is returned unchanged (visible rather than blank on a page); an unknown
    kind is a programming error and raises ``KeyError``. ``None`` gives an empty string.
    """
    if code is None:
        return ""
    return LABELS[kind].get(code, code)


def forecast_label(status: str, final_year: int | None = None) -> str:
    """Forecast label naming the year of the final target, e.g. « Cible 2032 menacée »."""
    year = DEFAULT_FINAL_YEAR if final_year is None else final_year
    return _FORECAST_TEMPLATES[status].format(year=year)


def tone(code: str | None) -> str:
    """Colour tone of a status code; "neutral" for None or an unknown code."""
    if code is None:
        return "neutral"
    return STATUS_TONE.get(code, "neutral")


# Indicator reference sheet (fiche indicateur), see suivi.indicators.models.
AGGREGATION_LABELS = {
    "sum": "Somme des quartiers",
    "weighted_mean": "Moyenne pondérée des quartiers",
    "none": "Aucune (ne s'agrège pas entre quartiers)",
}
COMPARABILITY_LABELS = {
    "comparable": "Comparable d'une période à l'autre",
    "statistique_non_comparable": "Statistique non comparable d'une année sur l'autre",
}
BREAKDOWN_LABELS = {
    "none": "Aucune",
    "sex": "Par sexe",
    "age_band": "Par tranche d'âge",
    "sex_age_band": "Par sexe et tranche d'âge",
}
LABELS.update(
    aggregation=AGGREGATION_LABELS,
    comparability=COMPARABILITY_LABELS,
    breakdown=BREAKDOWN_LABELS,
)
