"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from suivi.annual.models import AnnualReport
from suivi.annual.models import AnnualReportOpinion
from suivi.annual.models import CommitmentComment
from suivi.annual.models import ConseilCitoyen
from suivi.annual.models import ConseilCitoyenContact
from suivi.annual.models import ConseilCitoyenMember
from suivi.annual.models import ConseilCitoyenQuartier
from suivi.audit.models import AuditEvent
from suivi.auth.models import ApiToken
from suivi.auth.models import AuthSession
from suivi.auth.models import LoginFailure
from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.models import UserScope
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.finance.models import FundingAlert
from suivi.finance.models import FundingLine
from suivi.finance.models import FundingPayment
from suivi.governance.models import AgendaItem
from suivi.governance.models import Decision
from suivi.governance.models import DecisionAlert
from suivi.governance.models import DecisionLink
from suivi.governance.models import DecisionUpdate
from suivi.governance.models import MeetingParticipant
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from suivi.modelbase import metadata
from suivi.monitoring.models import Alert
from suivi.monitoring.models import IndicatorChange
from suivi.monitoring.models import IndicatorCheck
from suivi.monitoring.models import JobRun
from suivi.monitoring.models import SchedulerLock
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
