"""Every code stored in the database, in one place: the closed lists that the tables'
CHECK constraints enforce and that the API accepts.

Each list is a `StrEnum` (stored as its value) with the tuple of its values in order; the
French words for them live in `suivi.labels`. The progress engine's own codes (performance,
freshness, forecast, direction, frequency) stay in `suivi.progress`, which imports nothing."""

from __future__ import annotations

from enum import StrEnum

# --- The contract: partners, domains, meetings, contacts (suivi.contract)


class PartnerKind(StrEnum):
    """What kind of body a partner is. Stored as its value."""

    ETAT = "etat"
    REGION = "region"
    DEPARTEMENT = "departement"
    COMMUNE = "commune"
    EPCI = "epci"
    OPERATEUR = "operateur"
    BAILLEUR = "bailleur"


PARTNER_KINDS = tuple(PartnerKind)  # the stored codes, in order


class Domain(StrEnum):
    """A priority's domain (pilier). Stored as its value."""

    COHESION_SOCIALE = "cohesion_sociale"
    CADRE_DE_VIE = "cadre_de_vie"
    EMPLOI = "emploi"
    PARTICIPATION = "participation"
    TRANSVERSAL = "transversal"


DOMAINS = tuple(Domain)  # the stored codes, in order


class CrossCuttingTag(StrEnum):
    """A cross-cutting theme of a priority. Stored as its value."""

    TRANSITION_ECOLOGIQUE = "transition_ecologique"
    PARTICIPATION = "participation"
    JEUNESSE = "jeunesse"
    EGALITE_FEMMES_HOMMES = "egalite_femmes_hommes"
    LUTTE_DISCRIMINATIONS = "lutte_discriminations"


CROSS_CUTTING_TAGS = tuple(CrossCuttingTag)  # the stored codes, in order


class MeetingKind(StrEnum):
    """A steering meeting. Stored as its value."""

    COPIL = "copil"
    COTECH = "cotech"
    REVUE_MI_PARCOURS = "revue_mi_parcours"


MEETING_KINDS = tuple(MeetingKind)  # the stored codes, in order


class MeetingStatus(StrEnum):
    """prevue → tenue (decisions may be recorded) → releve_diffuse (the relevé was sent)."""

    PREVUE = "prevue"
    TENUE = "tenue"
    RELEVE_DIFFUSE = "releve_diffuse"


MEETING_STATUSES = tuple(MeetingStatus)  # the stored codes, in order


class ContactFrequency(StrEnum):
    """How often a partner contact gets a summary. Stored as its value."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    NONE = "none"


CONTACT_FREQUENCIES = tuple(ContactFrequency)  # the stored codes, in order

# --- Accounts and tokens (suivi.auth)


class Role(StrEnum):
    """A user's role. Stored as its value."""

    ADMIN = "admin"
    CHEF_DE_PROJET = "chef_de_projet"
    PARTENAIRE = "partenaire"
    COPIL = "copil"
    CONSEIL_CITOYEN = "conseil_citoyen"


ROLES = tuple(Role)  # the stored codes, in order


class TokenKind(StrEnum):
    """How an API token was issued. Stored as its value."""

    LOGIN = "login"
    PERSONAL = "personal"


TOKEN_KINDS = tuple(TokenKind)  # the stored codes, in order

# --- Commitments (suivi.commitments)


class LifecycleStatus(StrEnum):
    """A commitment's status. Stored as its value."""

    PREVU = "prevu"
    EN_COURS = "en_cours"
    REALISE = "realise"
    SUSPENDU = "suspendu"
    ABANDONNE = "abandonne"


LIFECYCLE_STATUSES = tuple(LifecycleStatus)  # the stored codes, in order


class FundingType(StrEnum):
    """A commitment's funding type. Stored as its value."""

    DROIT_COMMUN = "droit_commun"
    CREDITS_SPECIFIQUES = "credits_specifiques"
    INVESTISSEMENT = "investissement"
    TFPB = "tfpb"
    EUROPE = "europe"
    AUTRE = "autre"


FUNDING_TYPES = tuple(FundingType)  # the stored codes, in order

# --- Indicators, targets and measurements (suivi.indicators)


class TargetRevisionKind(StrEnum):
    """Why a target's value changed. Stored as its value."""

    AVENANT = "avenant"
    REVUE_MI_PARCOURS = "revue_mi_parcours"
    CORRECTION = "correction"
    AUTRE = "autre"


TARGET_REVISION_KINDS = tuple(TargetRevisionKind)  # the stored codes, in order


# The indicator reference sheet (fiche indicateur): closed lists.
# How values combine across quartiers: QPV rates never sum (a weighted mean, or nothing).
class Aggregation(StrEnum):
    """How values combine across quartiers. Stored as its value."""

    SUM = "sum"
    WEIGHTED_MEAN = "weighted_mean"
    NONE = "none"


AGGREGATIONS = tuple(Aggregation)  # the stored codes, in order


# Whether successive values may be compared (INSEE warns against it below commune level):
# a non-comparable statistic gets no forecast.
class Comparability(StrEnum):
    """Whether successive values may be compared. Stored as its value."""

    COMPARABLE = "comparable"
    STATISTIQUE_NON_COMPARABLE = "statistique_non_comparable"


COMPARABILITIES = tuple(Comparability)  # the stored codes, in order


class Breakdown(StrEnum):
    """How values are broken down. Stored as its value."""

    NONE = "none"
    SEX = "sex"
    AGE_BAND = "age_band"
    SEX_AGE_BAND = "sex_age_band"


BREAKDOWNS = tuple(Breakdown)  # the stored codes, in order


class MeasurementStatus(StrEnum):
    """A figure's review (migration 0008): entered → submitted; a validator of its owning
    partner validates it or returns it with a reason. Only validated figures count
    (`evaluation.counted`). Stored as its value."""

    SUBMITTED = "submitted"
    VALIDATED = "validated"
    RETURNED = "returned"


MEASUREMENT_STATUSES = tuple(MeasurementStatus)  # the stored codes, in order

# --- Alerts and job runs (suivi.monitoring)


class AlertKind(StrEnum):
    """What an alert is about. Stored as its value."""

    OVERDUE = "overdue"
    OFF_TRACK = "off_track"
    AT_RISK = "at_risk"
    FORECAST_MISS = "forecast_miss"


ALERT_KINDS = tuple(AlertKind)  # the stored codes, in order


# See `suivi.jobs.JobResult.outcome` for when a run is a success, partial or failed.
class JobOutcome(StrEnum):
    """How a job's run ended. Stored as its value."""

    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"


JOB_OUTCOMES = tuple(JobOutcome)  # the stored codes, in order

# --- Emails (suivi.notifications)


class DeliveryStatus(StrEnum):
    """Where an e-mail is in the outbox. Stored as its value."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


DELIVERY_STATUSES = tuple(DeliveryStatus)  # the stored codes, in order


class DeliveryKind(StrEnum):
    """What an e-mail is. Stored as its value."""

    PARTNER_SUMMARY = "partner_summary"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    RELEVE = "releve"  # relevé de décisions (suivi.governance)
    ANNUAL_CONSULTATION = "annual_consultation"  # annual report consultation (suivi.annual)
    CONSEIL_SUMMARY = "conseil_summary"  # conseils citoyens' summary (suivi.annual)


DELIVERY_KINDS = tuple(DeliveryKind)  # the stored codes, in order

# --- Archived reports (suivi.reports)


class ReportKind(StrEnum):
    """What a report covers. Stored as its value."""

    COPIL = "copil"
    QUARTIER = "quartier"
    PARTNER = "partner"
    ANNUAL = "annual"
    MI_PARCOURS = "mi_parcours"  # the mid-term review (suivi.reports.midterm)


REPORT_KINDS = tuple(ReportKind)  # the stored codes, in order

# --- The audit trail (suivi.audit)


class AuditAction(StrEnum):
    """What an audit event records. Stored as its value."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LOGIN = "login"
    LOGOUT = "logout"
    REVOKE = "revoke"
    IMPORT = "import"


AUDIT_ACTIONS = tuple(AuditAction)  # the stored codes, in order

# --- The committee's decisions (suivi.governance)


class DecisionKind(StrEnum):
    """What a committee decision does. Stored as its value."""

    ACTION = "action"
    REVISION_CIBLE = "revision_cible"
    REPROGRAMMATION = "reprogrammation"
    ABANDON = "abandon"
    INFORMATION = "information"


DECISION_KINDS = tuple(DecisionKind)  # the stored codes, in order


class DecisionStatus(StrEnum):
    """Where a decision's follow-up stands. Stored as its value."""

    OUVERTE = "ouverte"
    EN_COURS = "en_cours"
    REALISEE = "realisee"
    ABANDONNEE = "abandonnee"


DECISION_STATUSES = tuple(DecisionStatus)  # the stored codes, in order


class AgendaSource(StrEnum):
    """Where an agenda item comes from: the report's alerts or typed freely."""

    RAPPORT = "rapport"
    LIBRE = "libre"


AGENDA_SOURCES = tuple(AgendaSource)  # the stored codes, in order


class LinkKind(StrEnum):
    """What a decision links to. Stored as its value."""

    COMMITMENT = "commitment"
    INDICATOR = "indicator"
    QUARTIER = "quartier"


LINK_KINDS = tuple(LinkKind)  # the stored codes, in order


class DecisionAlertKind(StrEnum):
    """An alert opened by the daily check of decisions. Stored as its value."""

    DECISION_OVERDUE = "decision_overdue"


DECISION_ALERT_KINDS = tuple(DecisionAlertKind)  # the stored codes, in order

# --- Money (suivi.finance)


class FundingAlertKind(StrEnum):
    """An alert opened by the daily check of financial lines. Stored as its value."""

    JUSTIFICATION_EN_RETARD = "justification_en_retard"


FUNDING_ALERT_KINDS = tuple(FundingAlertKind)  # the stored codes, in order

# --- The annual report and its consultation (suivi.annual)


class AnnualReportState(StrEnum):
    """brouillon → en_consultation → avis_recus → approuve → publie. Stored as its value."""

    BROUILLON = "brouillon"
    EN_CONSULTATION = "en_consultation"
    AVIS_RECUS = "avis_recus"
    APPROUVE = "approuve"
    PUBLIE = "publie"


ANNUAL_REPORT_STATES = tuple(AnnualReportState)  # the stored codes, in order


class BodyKind(StrEnum):
    """A body consulted on the annual report. Stored as its value."""

    CONSEIL_MUNICIPAL = "conseil_municipal"
    CONSEIL_CITOYEN = "conseil_citoyen"


BODY_KINDS = tuple(BodyKind)  # the stored codes, in order


class Verdict(StrEnum):
    """A consulted body's opinion on the annual report. Stored as its value."""

    FAVORABLE = "favorable"
    RESERVE = "reserve"
    DEFAVORABLE = "defavorable"


VERDICTS = tuple(Verdict)  # the stored codes, in order


class CommentStatus(StrEnum):
    """Where a conseil citoyen's comment stands in moderation. Stored as its value."""

    EN_ATTENTE = "en_attente"
    PUBLIE = "publie"
    REJETE = "rejete"


COMMENT_STATUSES = tuple(CommentStatus)  # the stored codes, in order
