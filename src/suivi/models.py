"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from suivi.annual.models import (
    AnnualReport,
    AnnualReportOpinion,
    CommitmentComment,
    ConseilCitoyen,
    ConseilCitoyenContact,
    ConseilCitoyenMember,
    ConseilCitoyenQuartier,
)
from suivi.audit.models import AuditEvent
from suivi.auth.models import (
    ApiToken,
    AuthSession,
    LoginFailure,
    User,
    UserContract,
    UserScope,
)
from suivi.commitments.models import (
    Commitment,
    CommitmentAmount,
    CommitmentPartner,
    CommitmentQuartier,
)
from suivi.contract.models import (
    Commune,
    Contract,
    ContractQuartier,
    Meeting,
    Partner,
    PartnerContact,
    Priority,
    Quartier,
    QuartierCommune,
)
from suivi.finance.models import FundingAlert, FundingLine, FundingPayment
from suivi.governance.models import (
    AgendaItem,
    Decision,
    DecisionAlert,
    DecisionLink,
    DecisionUpdate,
    MeetingParticipant,
)
from suivi.indicators.models import Indicator, Measurement, Target, TargetRevision
from suivi.modelbase import metadata
from suivi.monitoring.models import (
    Alert,
    IndicatorChange,
    IndicatorCheck,
    JobRun,
    SchedulerLock,
)
from suivi.notifications.models import EmailDelivery
from suivi.reports.models import ReportFile

__all__ = [
    "AgendaItem",
    "Decision",
    "DecisionAlert",
    "DecisionLink",
    "DecisionUpdate",
    "MeetingParticipant",
    "AnnualReport",
    "AnnualReportOpinion",
    "CommitmentComment",
    "ConseilCitoyen",
    "ConseilCitoyenContact",
    "ConseilCitoyenMember",
    "ConseilCitoyenQuartier",
    "Alert",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "Commitment",
    "CommitmentAmount",
    "CommitmentPartner",
    "CommitmentQuartier",
    "Commune",
    "Contract",
    "ContractQuartier",
    "EmailDelivery",
    "FundingAlert",
    "FundingLine",
    "FundingPayment",
    "Indicator",
    "IndicatorChange",
    "IndicatorCheck",
    "JobRun",
    "LoginFailure",
    "Measurement",
    "Meeting",
    "Partner",
    "PartnerContact",
    "Priority",
    "Quartier",
    "QuartierCommune",
    "ReportFile",
    "SchedulerLock",
    "Target",
    "TargetRevision",
    "User",
    "UserContract",
    "UserScope",
    "metadata",
]
