"""Report contexts: everything a PDF report shows, built from the database at a date.

Pure in the sense that matters: given the same rows and the same ``as_of``, it returns the
same data (no clock, no randomness, stable ordering), and every status comes from
``suivi.progress`` through ``suivi.indicators.evaluation``. Templates only lay it out.

Kinds: ``copil`` (whole contract), ``quartier`` (scope = QPV code), ``partner`` (scope =
partner id), ``annual`` (whole contract, the year of ``as_of``).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from sqlmodel import Session

from suivi import charts
from suivi.annual.models import AnnualReport
from suivi.annual.service import opinions_of
from suivi.codes import REPORT_KINDS
from suivi.commitments.funding import partner_shares
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.contract.models import contract_quartier_ids
from suivi.finance.report import MoneySection
from suivi.finance.report import money_section
from suivi.formatting import format_date
from suivi.governance.models import OPEN_DECISION_STATUSES
from suivi.governance.models import Decision as GovernanceDecision
from suivi.governance.service import FollowUp
from suivi.governance.service import decision_reference
from suivi.governance.service import previous_meeting_follow_up
from suivi.indicators import review
from suivi.indicators.evaluation import EvaluatedIndicator
from suivi.indicators.evaluation import commitment_links
from suivi.indicators.evaluation import evaluate_indicators
from suivi.indicators.models import Indicator
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from suivi.indicators.sheet import SheetSection
from suivi.indicators.sheet import aggregate
from suivi.indicators.sheet import data_owners
from suivi.indicators.sheet import sheet_sections
from suivi.io.safe_text import csv_text
from suivi.labels import FRESHNESS_LABELS
from suivi.labels import PERFORMANCE_LABELS
from suivi.labels import TONE_SEVERITY
from suivi.labels import forecast_label
from suivi.labels import tone
from suivi.monitoring.models import Alert
from suivi.progress import FRESHNESSES
from suivi.progress import HEALTH_ORDER
from suivi.progress import PERFORMANCES
from suivi.progress import Evaluation
from suivi.progress import Health
from suivi.progress import Rollup
from suivi.progress import commitment_health
from suivi.progress import rollup
from suivi.records import view_of
from suivi.reports.models import ReportFile

__all__ = [
    "CSV_COLUMNS",
    "ReportContext",
    "ReportError",
    "build_report_context",
    "figures_csv",
]

# Indicators overdue for longer than this are put before the committee as a decision.
ESCALATE_AFTER_DAYS = 30
# How many items each kind of decision shows at most (the rest is in the tables).
DECISION_LIMITS = {"off_track": 4, "overdue": 3, "not_started": 3}
# Funding types shown in their own column; the others are added up as "autres".
MAIN_FUNDING_TYPES = ("droit_commun", "credits_specifiques")

CSV_COLUMNS = (
    "indicateur",
    "nom",
    "engagement",
    "quartier",
    "unite",
    "sens",
    "cumulatif",
    "valeur_initiale",
    "date_initiale",
    "cible_finale",
    "date_cible_finale",
    "valeur_actuelle",
    "date_mesure",
    "valeur_attendue",
    "progression",
    "performance",
    "performance_libelle",
    "fraicheur",
    "fraicheur_libelle",
    "prevision_echeance",
    "prevision_statut",
    "prochaine_echeance",
    "en_retard_depuis",
)

# Numbers (dot decimals, maybe negative): written as they are, never quoted as text.
NUMBER_CSV_COLUMNS = frozenset(
    {
        "valeur_initiale",
        "cible_finale",
        "valeur_actuelle",
        "valeur_attendue",
        "progression",
        "prevision_echeance",
    }
)


class ReportError(ValueError):
    """A report that cannot be built (unknown quartier or partner...); French message."""


# -- data shown by the templates -------------------------------------------------------------


@dataclass
class ContractInfo:
    id: int
    code: str
    name: str
    territory: str
    signed_on: date
    term_start: date
    term_end: date
    midterm_review_on: date | None
    is_demo: bool

    @classmethod
    def of(cls, contract: Contract) -> ContractInfo:
        return view_of(cls, contract)


@dataclass
class IndicatorRow:
    id: int
    code: str
    name: str
    unit: str
    quartier: str | None
    commitment_code: str
    direction: str
    cumulative: bool
    baseline_value: float
    baseline_date: date
    targets: tuple[tuple[date, float], ...]
    evaluation: Evaluation | None
    # Dates of the counted measurements (baseline..as_of).
    measurement_dates: tuple[date, ...]
    chart: Markup | None = None

    @property
    def final_target(self) -> tuple[date, float] | None:
        return self.targets[-1] if self.targets else None

    @property
    def performance(self) -> str:
        return self.evaluation.performance if self.evaluation else "no_target"

    @property
    def freshness(self) -> str | None:
        return self.evaluation.freshness if self.evaluation else None


@dataclass
class IndicatorSheet:
    """One reference sheet of the annex, shared by the report's indicators that have the
    same name, unit and sheet; `aggregate` says how their quartier values combine."""

    name: str
    unit: str
    codes: list[str]
    sections: list[SheetSection]
    aggregate: str


@dataclass
class CommitmentBlock:
    id: int
    code: str
    title: str
    description: str
    status: str
    funding_type: str
    start_date: date
    end_date: date
    lead: str
    lead_id: int
    co_partners: list[tuple[str, Decimal]]  # (name, share)
    priority_code: str
    priority_title: str
    orientation_id: int
    quartiers: list[str]
    amounts: dict[int, Decimal]
    health: Health
    indicators: list[IndicatorRow] = field(default_factory=list)

    @property
    def total_amount(self) -> Decimal:
        return sum(self.amounts.values(), Decimal(0))

    @property
    def worst_tone(self) -> str:
        return tone(self.health.performance)


@dataclass
class Decision:
    kind: str  # "off_track", "overdue", "not_started"
    title: str
    detail: str
    reference: str


@dataclass
class StatusChange:
    indicator_code: str
    indicator_name: str
    commitment_code: str
    before: str
    after: str

    @property
    def worsened(self) -> bool:
        return _severity(self.after) > _severity(self.before)


@dataclass
class RevisionRow:
    indicator_code: str
    target_date: date
    old_value: float
    new_value: float
    kind: str
    reason: str
    revised_on: date
    # The committee decision and avenant the revision carries out (suivi.governance).
    decision: str = ""
    avenant: str = ""


@dataclass
class AlertRow:
    kind: str
    indicator_code: str
    indicator_name: str
    commitment_code: str
    partner: str
    opened_on: date | None


@dataclass
class Changes:
    since: date | None
    since_label: str
    status_changes: list[StatusChange]
    improved: int
    worsened: int
    new_alerts: list[AlertRow]
    revisions: list[RevisionRow]


@dataclass
class PriorityRow:
    id: int
    code: str
    title: str
    description: str
    depth: int
    rollup: Rollup
    bar: Markup | None = None


@dataclass
class MatrixCell:
    count: int
    mean_progress: float | None
    off_track: int
    at_risk: int

    @property
    def tone(self) -> str:
        if not self.count:
            return "empty"
        if self.off_track * 4 > self.count:
            return "danger"
        if self.off_track or self.at_risk:
            return "warning"
        return "success"


@dataclass
class Matrix:
    columns: list[tuple[str, str]]  # (code, title) of the orientations
    rows: list[tuple[str, str, list[MatrixCell]]]  # (code, name, cells)


@dataclass
class FundingLine:
    label: str
    by_type: dict[str, Decimal]

    @property
    def main(self) -> dict[str, Decimal]:
        return {code: self.by_type.get(code, Decimal(0)) for code in MAIN_FUNDING_TYPES}

    @property
    def others(self) -> Decimal:
        return sum((v for k, v in self.by_type.items() if k not in MAIN_FUNDING_TYPES), Decimal(0))

    @property
    def total(self) -> Decimal:
        return sum(self.by_type.values(), Decimal(0))


@dataclass
class PartnerCommitment:
    code: str
    title: str
    role: str  # "porteur" or "co-financeur"
    share: Decimal
    funding_type: str
    amount_share: Decimal
    health: Health


@dataclass
class PartnerBlock:
    id: int
    name: str
    kind: str
    is_signatory: bool
    funding: FundingLine
    commitments: list[PartnerCommitment]
    rollup: Rollup | None


@dataclass
class QuartierEvolution:
    code: str
    name: str
    before: Rollup
    now: Rollup


@dataclass
class AnnualInfo:
    year: int
    previous_as_of: date
    orientations: list[PriorityRow]
    evolution: list[QuartierEvolution]
    actions: list[tuple[CommitmentBlock, int]]  # commitment and measurements of the year
    funding_year: list[FundingLine]
    funding_year_total: FundingLine
    will_miss: list[IndicatorRow]
    next_meetings: list[tuple[date, str]]
    # Décret n° 2015-1118: actions by the EPCI and by each commune, the DSU communes, the
    # prospects, the consultation (opinions annexed) and the approval.
    trajectories: dict[str, list[IndicatorRow]] = field(default_factory=dict)
    actions_by_actor: list[tuple[str, list[tuple[CommitmentBlock, int]]]] = field(
        default_factory=list
    )
    dsu: list[DsuCommune] = field(default_factory=list)
    planned: list[CommitmentBlock] = field(default_factory=list)
    open_decisions: list[str] = field(default_factory=list)
    procedure: AnnualProcedure | None = None


@dataclass
class DsuCommune:
    name: str
    quartiers: list[str]
    commitments: int
    amount: Decimal


@dataclass
class OpinionRow:
    body_name: str
    verdict: str
    text: str
    given_on: date | None
    deemed: bool
    attachment_name: str
    attachment_sha256: str


@dataclass
class AnnualProcedure:
    status: str
    consultation_opened_on: date | None
    deadline: date | None
    deliberation_on: date | None
    deliberation_ref: str
    observations_response: str
    opinions: list[OpinionRow]


@dataclass
class CutoffInfo:
    """A committee's data cut-off, as its report states it (issue #18)."""

    meeting_title: str
    held_on: date
    data_cutoff: date
    locked: bool
    # Current figures dated on or before the cut-off and not validated: they do not count.
    unvalidated: int
    reopenings: list[tuple[date, str]]  # (day, reason) of each reopening by an admin


@dataclass
class ReportContext:
    kind: str
    scope: str
    scope_label: str
    as_of: date
    title: str
    subject: str
    contract: ContractInfo
    summary: Rollup
    commitment_count: int
    inactive_count: int
    health_counts: dict[str, int]
    late_commitments: int
    decisions: list[Decision]
    changes: Changes | None
    alerts: list[AlertRow]
    alerts_computed: bool
    priorities: list[PriorityRow]
    matrix: Matrix | None
    funding_total: FundingLine
    partners: list[PartnerBlock]
    commitments: list[CommitmentBlock]
    quartiers: list[tuple[str, str]]  # (code, name) named in the report
    map_svg: Markup | None
    performance_bar: Markup
    freshness_bar: Markup
    annual: AnnualInfo | None
    figures: list[dict[str, str]]
    orientations: dict[int, tuple[str, str]]  # id -> (code, title)
    # Annex « Fiches indicateurs »: one sheet per kind of indicator in the report.
    sheets: list[IndicatorSheet] = field(default_factory=list)
    # Voted, paid and justified money of the year (`suivi.finance.report`).
    money: MoneySection | None = None
    # COPIL report: « Suivi des décisions du comité du … » (suivi.governance), first section.
    decision_follow_up: FollowUp | None = None
    # The meeting's data cut-off (a COPIL report prepared for a meeting that fixed one).
    cutoff: CutoffInfo | None = None

    @property
    def indicators(self) -> list[IndicatorRow]:
        return [row for block in self.commitments for row in block.indicators]

    def commitments_by_orientation(self) -> list[tuple[str, str, list[CommitmentBlock]]]:
        groups: dict[int, list[CommitmentBlock]] = defaultdict(list)
        for block in self.commitments:
            groups[block.orientation_id].append(block)
        return [
            (*self.orientations[oid], groups[oid]) for oid in self.orientations if groups.get(oid)
        ]


# -- helpers ----------------------------------------------------------------------------------


def _severity(performance: str | None) -> int:
    """Higher is worse: off_track first, as in HEALTH_ORDER."""
    if performance is None or performance not in HEALTH_ORDER:
        return 0
    return len(HEALTH_ORDER) - HEALTH_ORDER.index(performance)


def _day_start_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _fmt_float(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _fmt_date(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def figure_row(row: IndicatorRow) -> dict[str, str]:
    """One CSV line: machine formats (ISO dates, dot decimals, exact floats, status codes)."""
    ev = row.evaluation
    final = row.final_target
    return {
        "indicateur": row.code,
        "nom": row.name,
        "engagement": row.commitment_code,
        "quartier": row.quartier or "",
        "unite": row.unit,
        "sens": row.direction,
        "cumulatif": "oui" if row.cumulative else "non",
        "valeur_initiale": _fmt_float(row.baseline_value),
        "date_initiale": _fmt_date(row.baseline_date),
        "cible_finale": _fmt_float(final[1] if final else None),
        "date_cible_finale": _fmt_date(final[0] if final else None),
        "valeur_actuelle": _fmt_float(ev.actual if ev else None),
        "date_mesure": _fmt_date(ev.measured_on if ev else None),
        "valeur_attendue": _fmt_float(ev.expected if ev else None),
        "progression": _fmt_float(ev.progress if ev else None),
        "performance": ev.performance if ev else "",
        "performance_libelle": PERFORMANCE_LABELS.get(ev.performance, "") if ev else "",
        "fraicheur": ev.freshness if ev else "",
        "fraicheur_libelle": FRESHNESS_LABELS.get(ev.freshness, "") if ev else "",
        "prevision_echeance": _fmt_float(ev.forecast if ev else None),
        "prevision_statut": (ev.forecast_status or "") if ev else "",
        "prochaine_echeance": _fmt_date(ev.next_due if ev else None),
        "en_retard_depuis": _fmt_date(ev.overdue_since if ev else None),
    }


def figures_csv(rows: Iterable[dict[str, str]]) -> bytes:
    """The report's figures as CSV (UTF-8 with BOM for spreadsheets, comma, CRLF)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                name: value if name in NUMBER_CSV_COLUMNS else csv_text(value)
                for name, value in row.items()
            }
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _computed_alert_kinds(ev: Evaluation) -> list[str]:
    """The alerts the checks would open for this evaluation (used when none were stored)."""
    kinds = []
    if ev.freshness == "overdue":
        kinds.append("overdue")
    if ev.performance in ("off_track", "at_risk"):
        kinds.append(ev.performance)
    if ev.forecast_status == "will_miss":
        kinds.append("forecast_miss")
    return kinds


def _rollup_of(rows: Iterable[IndicatorRow]) -> Rollup:
    return rollup(r.evaluation for r in rows if r.evaluation is not None)


# -- the builder ------------------------------------------------------------------------------


@dataclass
class _Data:
    """Rows of the contract loaded once, in a fixed number of queries."""

    contract: Contract
    priorities: dict[int, Priority]
    partners: dict[int, Partner]
    quartiers: dict[int, Quartier]
    commitments: dict[int, Commitment]
    co_partners: dict[int, list[tuple[int, Decimal]]]
    commitment_quartiers: dict[int, list[int]]
    amounts: dict[int, dict[int, Decimal]]
    # The quartiers the contract flags as in it (the others are listed but not in it).
    in_contract_quartiers: set[int]


def _load(session: Session, contract_id: int) -> _Data:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise ReportError(f"Contrat introuvable (identifiant {contract_id}).")
    priorities = {
        p.id: p
        for p in session.execute(select(Priority).where(Priority.contract_id == contract_id))
        .scalars()
        .all()
    }
    partners = {
        p.id: p
        for p in session.execute(select(Partner).where(Partner.contract_id == contract_id))
        .scalars()
        .all()
    }
    quartiers = {
        q.id: q
        for q in session.execute(
            select(Quartier).where(Quartier.id.in_(contract_quartier_ids(contract_id)))
        )
        .scalars()
        .all()
    }
    commitments = {
        c.id: c
        for c in session.execute(
            select(Commitment)
            .where(Commitment.contract_id == contract_id)
            .order_by(Commitment.code)
        )
        .scalars()
        .all()
    }
    co_partners = {
        cid: [(pid, Decimal(share)) for pid, share in shares]
        for cid, shares in commitment_links(
            session, contract_id, CommitmentPartner.partner_id, CommitmentPartner.share
        ).items()
    }
    commitment_quartiers = commitment_links(session, contract_id, CommitmentQuartier.quartier_id)
    amounts: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for cid, year, amount in session.execute(
        select(CommitmentAmount.commitment_id, CommitmentAmount.year, CommitmentAmount.amount)
        .join(Commitment, Commitment.id == CommitmentAmount.commitment_id)
        .where(Commitment.contract_id == contract_id)
    ):
        amounts[cid][year] = Decimal(amount)
    return _Data(
        contract, priorities, partners, quartiers, commitments, co_partners,
        commitment_quartiers, amounts,
        set(session.scalars(contract_quartier_ids(contract_id, in_contract=True))),
    )  # fmt: skip


def _orientation_of(data: _Data, priority_id: int) -> int:
    priority = data.priorities[priority_id]
    return priority.parent_id if priority.parent_id is not None else priority.id


def _shares(data: _Data, commitment_id: int) -> dict[int, Decimal]:
    commitment = data.commitments[commitment_id]
    return partner_shares(commitment.lead_partner_id, data.co_partners.get(commitment_id, ()))


def _indicator_quartiers(data: _Data, item: EvaluatedIndicator) -> list[int]:
    """Same membership rule as contract_rollups: own quartier, else the commitment's."""
    if item.quartier_id:
        return [item.quartier_id]
    return list(data.commitment_quartiers.get(item.commitment_id, ()))


def build_report_context(
    session: Session,
    *,
    contract_id: int,
    kind: str,
    scope: str = "",
    as_of: date,
    tz: ZoneInfo | None = None,
    charts_enabled: bool = True,
    meeting_id: int | None = None,
) -> ReportContext:
    """Everything one report shows. Raises ReportError for an unknown kind or scope.

    A COPIL report for a meeting whose data are locked is as of the cut-off, whatever
    `as_of`: only validated figures dated on or before it count, and none of them can
    change while locked, so regenerating it gives the same bytes."""
    if kind not in REPORT_KINDS:
        raise ReportError(f"Type de rapport inconnu : {kind!r}.")
    tz = tz or ZoneInfo("Europe/Paris")
    cutoff = _cutoff(session, contract_id, meeting_id, tz) if kind == "copil" else None
    if cutoff is not None and cutoff.locked:
        as_of = cutoff.data_cutoff
    data = _load(session, contract_id)
    contract = data.contract
    evaluated = evaluate_indicators(session, contract_id=contract_id, as_of=as_of)
    items = [e for e in evaluated.values() if e.active]

    # -- scope -------------------------------------------------------------------------------
    scope = scope or ""
    in_scope_commitments: set[int]
    quartier_scope: Quartier | None = None
    partner_scope: Partner | None = None
    if kind == "quartier":
        quartier_scope = next((q for q in data.quartiers.values() if q.code == scope), None)
        if quartier_scope is None:
            raise ReportError(f"Quartier inconnu dans ce contrat : {scope!r}.")
        items = [e for e in items if quartier_scope.id in _indicator_quartiers(data, e)]
        in_scope_commitments = {e.commitment_id for e in items} | {
            cid
            for cid, qids in data.commitment_quartiers.items()
            if quartier_scope.id in qids and data.commitments[cid].status not in INACTIVE_STATUSES
        }
        scope_label = f"{quartier_scope.name} ({quartier_scope.code})"
    elif kind == "partner":
        try:
            partner_scope = data.partners[int(scope)]
        except (ValueError, KeyError):
            raise ReportError(f"Partenaire inconnu dans ce contrat : {scope!r}.") from None
        in_scope_commitments = {
            cid
            for cid, c in data.commitments.items()
            if c.status not in INACTIVE_STATUSES and partner_scope.id in _shares(data, cid)
        }
        items = [e for e in items if e.commitment_id in in_scope_commitments]
        scope_label = partner_scope.name
    else:
        scope = ""
        in_scope_commitments = {
            cid for cid, c in data.commitments.items() if c.status not in INACTIVE_STATUSES
        }
        scope_label = contract.territory

    inactive_count = sum(
        1
        for cid, c in data.commitments.items()
        if c.status in INACTIVE_STATUSES
        and (
            kind in ("copil", "annual")
            or (partner_scope is not None and partner_scope.id in _shares(data, cid))
            or (quartier_scope is not None and quartier_scope.id in data.commitment_quartiers[cid])
        )
    )

    # -- indicators and commitments -----------------------------------------------------------
    quartier_name = {q.id: q.name for q in data.quartiers.values()}
    rows_by_commitment: dict[int, list[IndicatorRow]] = defaultdict(list)
    for item in sorted(items, key=lambda e: e.code):
        ev = item.evaluation
        row = IndicatorRow(
            id=item.id,
            code=item.code,
            name=item.name,
            unit=item.unit,
            quartier=quartier_name.get(item.quartier_id) if item.quartier_id else None,
            commitment_code=data.commitments[item.commitment_id].code,
            direction=item.spec.direction,
            cumulative=item.spec.cumulative,
            baseline_value=item.spec.baseline_value,
            baseline_date=item.spec.baseline_date,
            targets=item.spec.targets,
            evaluation=ev,
            measurement_dates=tuple(
                d for d, _ in item.measurements if item.spec.baseline_date <= d <= as_of
            ),
        )
        if charts_enabled and kind != "annual":
            row.chart = charts.trajectory_chart(
                baseline=(item.spec.baseline_date, item.spec.baseline_value),
                targets=item.spec.targets,
                actual=charts.actual_series(item.spec, item.measurements, as_of),
                as_of=as_of,
                forecast=ev.forecast if ev else None,
                title=f"Trajectoire — {item.code} {item.name}",
                unit=item.unit,
                status=ev.performance if ev else None,
                width=320,
                height=150,
            )
        rows_by_commitment[item.commitment_id].append(row)

    blocks: list[CommitmentBlock] = []
    for cid in sorted(in_scope_commitments, key=lambda c: data.commitments[c].code):
        c = data.commitments[cid]
        rows = rows_by_commitment.get(cid, [])
        priority = data.priorities[c.priority_id]
        blocks.append(
            view_of(
                CommitmentBlock,
                c,
                lead=data.partners[c.lead_partner_id].name,
                lead_id=c.lead_partner_id,
                co_partners=[
                    (data.partners[pid].name, share) for pid, share in data.co_partners.get(cid, ())
                ],
                priority_code=priority.code,
                priority_title=priority.title,
                orientation_id=_orientation_of(data, c.priority_id),
                quartiers=[quartier_name[q] for q in data.commitment_quartiers.get(cid, ())],
                amounts=dict(sorted(data.amounts.get(cid, {}).items())),
                health=commitment_health(r.evaluation for r in rows if r.evaluation),
                indicators=rows,
            )
        )
    all_rows = [row for block in blocks for row in block.indicators]
    summary = _rollup_of(all_rows)
    health_counts = {code: 0 for code in HEALTH_ORDER}
    for block in blocks:
        if block.health.performance:
            health_counts[block.health.performance] += 1

    # -- priorities ---------------------------------------------------------------------------
    orientations = {
        p.id: (p.code, p.title)
        for p in sorted(data.priorities.values(), key=lambda p: (p.position, p.code))
        if p.parent_id is None
    }
    priority_rows = _priority_rows(data, blocks)

    # -- quartiers named, map, matrix ---------------------------------------------------------
    contract_quartiers = sorted(
        (q for q in data.quartiers.values() if q.id in data.in_contract_quartiers),
        key=lambda q: q.code,
    )
    if quartier_scope is not None:
        named = [(quartier_scope.code, quartier_scope.name)]
        map_svg = charts.qpv_map(
            [charts.MapArea(q.code, q.name, q.contour) for q in contract_quartiers],
            highlight=[quartier_scope.code],
            title=f"Situation du quartier {quartier_scope.name} dans le contrat",
        )
    else:
        named = [(q.code, q.name) for q in contract_quartiers]
        map_svg = (
            charts.qpv_map(
                [charts.MapArea(q.code, q.name, q.contour) for q in contract_quartiers],
                title="Les quartiers prioritaires du contrat",
                label_highlighted=False,
            )
            if kind in ("copil", "annual")
            else None
        )
    matrix = _matrix(data, items, orientations, contract_quartiers) if kind == "copil" else None

    # -- money --------------------------------------------------------------------------------
    partner_blocks = _partner_blocks(data, blocks, partner_scope)
    funding_total = FundingLine("Total (cofinancements comptés une fois)", defaultdict(Decimal))
    for block in blocks:
        funding_total.by_type[block.funding_type] += block.total_amount
    funding_total.by_type = dict(funding_total.by_type)

    # -- alerts, changes, decisions -----------------------------------------------------------
    scoped_ids = {row.id for row in all_rows}
    alerts, alerts_computed = _alerts(session, data, evaluated, scoped_ids, as_of)
    changes = None
    if kind in ("copil", "quartier", "partner"):
        changes = _changes(session, data, evaluated, scoped_ids, as_of, tz, kind, scope)
    decisions = _decisions(blocks, as_of, data)

    annual = None
    if kind == "annual":
        annual = _annual(session, data, blocks, priority_rows, contract_quartiers, as_of)

    title, subject = _titles(kind, contract, scope_label, as_of)
    return ReportContext(
        kind=kind,
        scope=scope,
        scope_label=scope_label,
        as_of=as_of,
        title=title,
        subject=subject,
        contract=ContractInfo.of(contract),
        summary=summary,
        commitment_count=len(blocks),
        inactive_count=inactive_count,
        health_counts=health_counts,
        late_commitments=sum(1 for b in blocks if b.health.late),
        decisions=decisions,
        changes=changes,
        alerts=alerts,
        alerts_computed=alerts_computed,
        priorities=priority_rows,
        matrix=matrix,
        funding_total=funding_total,
        partners=partner_blocks,
        commitments=blocks,
        quartiers=named,
        map_svg=map_svg,
        performance_bar=charts.status_bar(
            summary.by_performance,
            labels={code: PERFORMANCE_LABELS[code] for code in PERFORMANCES},
            title="Répartition des indicateurs par performance",
        ),
        freshness_bar=charts.status_bar(
            summary.by_freshness,
            labels={code: FRESHNESS_LABELS[code] for code in FRESHNESSES},
            title="Répartition des indicateurs par fraîcheur des données",
        ),
        annual=annual,
        figures=[figure_row(row) for row in all_rows],
        orientations=orientations,
        sheets=_indicator_sheets(session, all_rows),
        money=money_section(session, contract_id=contract.id, kind=kind, scope=scope, as_of=as_of),
        decision_follow_up=previous_meeting_follow_up(session, contract_id, as_of)
        if kind == "copil"
        else None,
        cutoff=cutoff,
    )


def _cutoff(session: Session, contract_id: int, meeting_id: int | None, tz) -> CutoffInfo | None:
    meeting = session.get(Meeting, meeting_id) if meeting_id is not None else None
    if meeting is None or meeting.contract_id != contract_id or meeting.data_cutoff is None:
        return None
    return CutoffInfo(
        meeting_title=meeting.title,
        held_on=meeting.held_on,
        data_cutoff=meeting.data_cutoff,
        locked=meeting.locked,
        unvalidated=review.unvalidated_count(session, contract_id, meeting.data_cutoff),
        reopenings=[
            (at.astimezone(tz).date(), reason)
            for at, reason in review.reopenings(session, meeting.id)
        ],
    )


def _indicator_sheets(session: Session, rows: list[IndicatorRow]) -> list[IndicatorSheet]:
    """The annex's sheets: the report's indicators grouped by identical sheet, each with
    the roll-up of its quartier values by its aggregation rule (a rate is never summed)."""
    from suivi.formatting import format_number

    indicators = {
        i.id: i
        for i in session.scalars(select(Indicator).where(Indicator.id.in_([r.id for r in rows])))
    }
    owners = data_owners(session, (i.data_owner_contact_id for i in indicators.values()))
    groups: dict[tuple, tuple[Indicator, list[IndicatorRow]]] = {}
    for row in sorted(rows, key=lambda r: (r.name, r.code)):
        indicator = indicators[row.id]
        sections = sheet_sections(indicator, owners)
        key = (row.name, row.unit, tuple((s.title, s.rows) for s in sections))
        groups.setdefault(key, (indicator, []))[1].append(row)
    sheets = []
    for (name, unit, sections), (indicator, members) in groups.items():
        # The quartier roll-up: indicators of one quartier with a value.
        values = [
            r.evaluation.actual
            for r in members
            if r.quartier and r.evaluation and r.evaluation.actual is not None
        ]
        total = aggregate(indicator.aggregation, values)
        if indicator.aggregation == "sum" and total is not None:
            text = (
                f"Somme des {len(values)} valeurs propres à un quartier : "
                f"{format_number(total)} {unit}".rstrip()
            )
        elif indicator.aggregation == "weighted_mean":
            text = (
                "Moyenne pondérée des quartiers"
                f"{', par ' + indicator.aggregation_weight if indicator.aggregation_weight else ''}"
                " : sans pondérations chiffrées, aucune valeur d'ensemble n'est calculée "
                "(un taux ne s'additionne pas)."
            )
        elif indicator.aggregation == "none":
            text = "Ne s'agrège pas entre quartiers."
        else:
            text = "Aucune valeur propre à un quartier."
        sheets.append(
            IndicatorSheet(
                name=name,
                unit=unit,
                codes=[m.code for m in members],
                sections=[SheetSection(title, rows) for title, rows in sections],
                aggregate=text,
            )
        )
    return sheets


def _titles(kind: str, contract: Contract, scope_label: str, as_of: date) -> tuple[str, str]:

    when = format_date(as_of)
    if kind == "copil":
        return (
            "Rapport d'avancement pour le comité de pilotage",
            f"Avancement des engagements du {contract.name} au {when}",
        )
    if kind == "quartier":
        return (
            f"Rapport d'avancement — quartier {scope_label}",
            f"Engagements du contrat de ville pour le quartier {scope_label} au {when}",
        )
    if kind == "partner":
        return (
            f"Rapport d'avancement — {scope_label}",
            f"Engagements de {scope_label} dans le contrat de ville au {when}",
        )
    return (
        f"Rapport annuel politique de la ville {as_of.year}",
        f"Rapport annuel {as_of.year} du {contract.name}",
    )


def _priority_rows(data: _Data, blocks: list[CommitmentBlock]) -> list[PriorityRow]:
    by_priority: dict[int, list[IndicatorRow]] = defaultdict(list)
    for block in blocks:
        commitment = data.commitments[block.id]
        by_priority[commitment.priority_id].extend(block.indicators)
        parent = data.priorities[commitment.priority_id].parent_id
        if parent is not None:
            by_priority[parent].extend(block.indicators)
    ordered = sorted(data.priorities.values(), key=lambda p: (p.position, p.code))
    result = []
    for top in (p for p in ordered if p.parent_id is None):
        result.append(_priority_row(top, 0, by_priority))
        for child in (p for p in ordered if p.parent_id == top.id):
            result.append(_priority_row(child, 1, by_priority))
    return result


def _priority_row(priority: Priority, depth: int, by_priority) -> PriorityRow:
    roll = _rollup_of(by_priority.get(priority.id, ()))
    return view_of(
        PriorityRow,
        priority,
        depth=depth,
        rollup=roll,
        bar=charts.status_bar(
            roll.by_performance,
            labels={code: PERFORMANCE_LABELS[code] for code in PERFORMANCES},
            title=f"Performance des indicateurs — {priority.code}",
            width=150,
            height=10,
        ),
    )


def _matrix(data, items, orientations, quartiers) -> Matrix:
    cells: dict[tuple[int, int], list[Evaluation]] = defaultdict(list)
    for item in items:
        if item.evaluation is None:
            continue
        oid = _orientation_of(data, data.commitments[item.commitment_id].priority_id)
        for qid in _indicator_quartiers(data, item):
            cells[(qid, oid)].append(item.evaluation)
    rows = []
    for q in quartiers:
        row = []
        for oid in orientations:
            evs = cells.get((q.id, oid), [])
            roll = rollup(evs)
            row.append(
                MatrixCell(
                    count=roll.count,
                    mean_progress=roll.mean_progress,
                    off_track=roll.by_performance.get("off_track", 0),
                    at_risk=roll.by_performance.get("at_risk", 0),
                )
            )
        rows.append((q.code, q.name, row))
    return Matrix(columns=list(orientations.values()), rows=rows)


def _partner_blocks(data, blocks, partner_scope) -> list[PartnerBlock]:
    per_partner: dict[int, list[PartnerCommitment]] = defaultdict(list)
    per_partner_rows: dict[int, list[IndicatorRow]] = defaultdict(list)
    for block in blocks:
        for pid, share in _shares(data, block.id).items():
            per_partner[pid].append(
                PartnerCommitment(
                    code=block.code,
                    title=block.title,
                    role="porteur" if pid == block.lead_id else "co-financeur",
                    share=share,
                    funding_type=block.funding_type,
                    amount_share=(block.total_amount * share).quantize(Decimal("1")),
                    health=block.health,
                )
            )
            per_partner_rows[pid].extend(block.indicators)
    result = []
    for pid in sorted(per_partner, key=lambda p: data.partners[p].name):
        if partner_scope is not None and pid != partner_scope.id:
            continue
        partner = data.partners[pid]
        by_type: dict[str, Decimal] = defaultdict(Decimal)
        for item in per_partner[pid]:
            by_type[item.funding_type] += item.amount_share
        result.append(
            PartnerBlock(
                id=pid,
                name=partner.name,
                kind=partner.kind,
                is_signatory=partner.is_signatory,
                funding=FundingLine(partner.name, dict(by_type)),
                commitments=per_partner[pid],
                rollup=_rollup_of(per_partner_rows[pid]),
            )
        )
    return result


def _alerts(session, data, evaluated, scoped_ids, as_of) -> tuple[list[AlertRow], bool]:
    """Open alerts at `as_of` from the alert table; computed from the evaluations when the
    checks never ran for this contract (so the report is never silently empty)."""
    stored = session.execute(
        select(Alert.kind, Alert.indicator_id, Alert.opened_on, Alert.resolved_on).where(
            Alert.contract_id == data.contract.id, Alert.opened_on <= as_of
        )
    ).all()
    rows = []
    if stored:
        for kind, indicator_id, opened_on, resolved_on in stored:
            if indicator_id not in scoped_ids or (resolved_on and resolved_on <= as_of):
                continue
            rows.append(_alert_row(data, evaluated[indicator_id], kind, opened_on))
        computed = False
    else:
        for indicator_id in scoped_ids:
            item = evaluated[indicator_id]
            if item.evaluation is None:  # inconsistent or invalid data: nothing to compute
                continue
            for kind in _computed_alert_kinds(item.evaluation):
                opened = item.evaluation.overdue_since if kind == "overdue" else None
                rows.append(_alert_row(data, item, kind, opened))
        computed = True
    rows.sort(key=lambda a: (-TONE_SEVERITY[tone(a.kind)], a.kind, a.indicator_code))
    return rows, computed


def _alert_row(data, item: EvaluatedIndicator, kind: str, opened_on) -> AlertRow:
    commitment = data.commitments[item.commitment_id]
    return AlertRow(
        kind=kind,
        indicator_code=item.code,
        indicator_name=item.name,
        commitment_code=commitment.code,
        partner=data.partners[commitment.lead_partner_id].name,
        opened_on=opened_on,
    )


def previous_copil_as_of(
    session: Session, contract_id: int, as_of: date
) -> tuple[date, str] | None:
    """The date of the previous COPIL report (archived), else of the previous COPIL meeting."""
    archived = session.execute(
        select(ReportFile.as_of)
        .where(
            ReportFile.contract_id == contract_id,
            ReportFile.kind == "copil",
            ReportFile.as_of < as_of,
        )
        .order_by(ReportFile.as_of.desc())
        .limit(1)
    ).scalar_one_or_none()
    if archived is not None:
        return archived, "le précédent rapport au comité de pilotage"
    meeting = session.execute(
        select(Meeting.held_on)
        .where(Meeting.contract_id == contract_id, Meeting.kind == "copil", Meeting.held_on < as_of)
        .order_by(Meeting.held_on.desc())
        .limit(1)
    ).scalar_one_or_none()
    if meeting is not None:
        return meeting, "le précédent comité de pilotage"
    return None


def _changes(session, data, evaluated, scoped_ids, as_of, tz, kind, scope) -> Changes:
    previous = previous_copil_as_of(session, data.contract.id, as_of)
    if previous is None:
        return Changes(None, "", [], 0, 0, [], [])
    since, since_label = previous
    before = evaluate_indicators(
        session, contract_id=data.contract.id, as_of=since, indicator_ids=sorted(scoped_ids)
    )
    changes = []
    for indicator_id in sorted(scoped_ids, key=lambda i: evaluated[i].code):
        now = evaluated[indicator_id]
        then = before.get(indicator_id)
        if now.evaluation is None or then is None or then.evaluation is None:
            continue
        if now.evaluation.performance != then.evaluation.performance:
            changes.append(
                StatusChange(
                    indicator_code=now.code,
                    indicator_name=now.name,
                    commitment_code=data.commitments[now.commitment_id].code,
                    before=then.evaluation.performance,
                    after=now.evaluation.performance,
                )
            )
    changes.sort(key=lambda c: (not c.worsened, -_severity(c.after), c.indicator_code))
    new_alerts = []
    stored = session.execute(
        select(Alert.kind, Alert.indicator_id, Alert.opened_on).where(
            Alert.contract_id == data.contract.id,
            Alert.opened_on > since,
            Alert.opened_on <= as_of,
        )
    ).all()
    for alert_kind, indicator_id, opened_on in stored:
        if indicator_id in scoped_ids:
            new_alerts.append(_alert_row(data, evaluated[indicator_id], alert_kind, opened_on))
    new_alerts.sort(key=lambda a: (a.opened_on, a.indicator_code))
    revisions = [
        RevisionRow(
            indicator_code=code,
            target_date=target_date,
            old_value=old,
            new_value=new,
            kind=rkind,
            reason=reason,
            revised_on=revised_at.astimezone(tz).date(),
            decision=decision_reference(decision, meeting) if decision else "",
            avenant=avenant,
        )
        for (
            code,
            target_date,
            old,
            new,
            rkind,
            reason,
            revised_at,
            indicator_id,
            avenant,
            decision,
            meeting,
        ) in session.execute(
            select(
                Indicator.code,
                Target.target_date,
                TargetRevision.old_value,
                TargetRevision.new_value,
                TargetRevision.kind,
                TargetRevision.reason,
                TargetRevision.revised_at,
                Indicator.id,
                TargetRevision.avenant_reference,
                GovernanceDecision,
                Meeting,
            )
            .join(Target, Target.id == TargetRevision.target_id)
            .join(Indicator, Indicator.id == Target.indicator_id)
            .outerjoin(GovernanceDecision, GovernanceDecision.id == TargetRevision.decision_id)
            .outerjoin(Meeting, Meeting.id == GovernanceDecision.meeting_id)
            .where(
                Indicator.contract_id == data.contract.id,
                TargetRevision.revised_at >= _day_start_utc(since + timedelta(days=1), tz),
                TargetRevision.revised_at < _day_start_utc(as_of + timedelta(days=1), tz),
            )
            .order_by(TargetRevision.revised_at, TargetRevision.id)
        )
        if indicator_id in scoped_ids
    ]
    return Changes(
        since=since,
        since_label=since_label,
        status_changes=changes,
        improved=sum(1 for c in changes if _severity(c.after) < _severity(c.before)),
        worsened=sum(1 for c in changes if c.worsened),
        new_alerts=new_alerts,
        revisions=revisions,
    )


def _decisions(blocks: list[CommitmentBlock], as_of: date, data: _Data) -> list[Decision]:
    """The few things the committee should decide on, most serious first."""
    decisions: list[Decision] = []
    # 1. Off track and the trend says the final target will be missed: re-plan or revise.
    drifting = []
    for block in blocks:
        misses = [
            r
            for r in block.indicators
            if r.evaluation
            and r.evaluation.performance == "off_track"
            and r.evaluation.forecast_status == "will_miss"
        ]
        if misses:
            worst = min(misses, key=lambda r: r.evaluation.progress or 0.0)
            drifting.append((worst.evaluation.progress or 0.0, block, misses))
    drifting.sort(key=lambda item: (item[0], item[1].code))
    for _, block, misses in drifting[: DECISION_LIMITS["off_track"]]:
        year = misses[0].final_target[0].year if misses[0].final_target else None
        decisions.append(
            Decision(
                kind="off_track",
                title=f"{block.code} — {block.title}",
                detail=(
                    f"{_count(len(misses), 'indicateur')} hors trajectoire, "
                    f"{forecast_label('will_miss', year).lower()} : "
                    "renforcer le plan d'action ou réviser la cible (avenant)."
                ),
                reference=block.code,
            )
        )
    # 2. Long-overdue updates, grouped by lead partner: ask the partner.
    late: dict[str, list[str]] = defaultdict(list)
    for block in blocks:
        for r in block.indicators:
            ev = r.evaluation
            if ev and ev.overdue_since and (as_of - ev.overdue_since).days > ESCALATE_AFTER_DAYS:
                late[block.lead].append(r.code)
    ranked = sorted(late.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for partner, codes in ranked[: DECISION_LIMITS["overdue"]]:
        decisions.append(
            Decision(
                kind="overdue",
                title=partner,
                detail=(
                    f"{_count(len(codes), 'indicateur')} sans mise à jour depuis plus de "
                    f"{ESCALATE_AFTER_DAYS} jours après l'échéance : relancer le partenaire."
                ),
                reference=", ".join(codes[:4]) + (" …" if len(codes) > 4 else ""),
            )
        )
    # 3. Planned commitments that should have started: confirm or reschedule.
    not_started = [b for b in blocks if b.status == "prevu" and b.start_date <= as_of]
    for block in not_started[: DECISION_LIMITS["not_started"]]:
        decisions.append(
            Decision(
                kind="not_started",
                title=f"{block.code} — {block.title}",
                detail=(
                    "Engagement encore « prévu » alors que son démarrage était fixé au "
                    f"{_fr(block.start_date)} : confirmer le lancement ou le reprogrammer."
                ),
                reference=block.code,
            )
        )
    return decisions


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("s" if number > 1 else "")


def _fr(day: date) -> str:

    return format_date(day)


def _annual(session, data, blocks, priority_rows, quartiers, as_of) -> AnnualInfo:
    year = as_of.year
    previous_as_of = date(year - 1, 12, 31)
    before = evaluate_indicators(session, contract_id=data.contract.id, as_of=previous_as_of)
    now_by_q: dict[int, list[Evaluation]] = defaultdict(list)
    before_by_q: dict[int, list[Evaluation]] = defaultdict(list)
    for block in blocks:
        for row in block.indicators:
            qids = (
                [q.id for q in quartiers if q.name == row.quartier]
                if row.quartier
                else data.commitment_quartiers.get(block.id, [])
            )
            then = before.get(row.id)
            for qid in qids:
                if row.evaluation:
                    now_by_q[qid].append(row.evaluation)
                if then and then.evaluation:
                    before_by_q[qid].append(then.evaluation)
    evolution = [
        QuartierEvolution(q.code, q.name, rollup(before_by_q[q.id]), rollup(now_by_q[q.id]))
        for q in quartiers
    ]
    actions = []
    for block in blocks:
        if block.start_date.year <= year <= block.end_date.year:
            count = sum(
                1 for row in block.indicators for day in row.measurement_dates if day.year == year
            )
            actions.append((block, count))
    funding_by_partner: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    total: dict[str, Decimal] = defaultdict(Decimal)
    for block in blocks:
        amount = block.amounts.get(year, Decimal(0))
        if not amount:
            continue
        total[block.funding_type] += amount
        for pid, share in _shares(data, block.id).items():
            funding_by_partner[pid][block.funding_type] += (amount * share).quantize(Decimal("1"))
    funding_year = [
        FundingLine(data.partners[pid].name, dict(by_type))
        for pid, by_type in sorted(
            funding_by_partner.items(), key=lambda kv: data.partners[kv[0]].name
        )
    ]
    will_miss = [
        row
        for block in blocks
        for row in block.indicators
        if row.evaluation and row.evaluation.forecast_status == "will_miss"
    ]
    meetings = session.execute(
        select(Meeting.held_on, Meeting.title)
        .where(Meeting.contract_id == data.contract.id, Meeting.held_on > as_of)
        .order_by(Meeting.held_on)
        .limit(4)
    ).all()
    trajectories: dict[str, list[IndicatorRow]] = defaultdict(list)
    names = {q.name: q.code for q in quartiers}
    for block in blocks:
        for row in block.indicators:
            if row.quartier in names:
                trajectories[names[row.quartier]].append(row)
    return AnnualInfo(
        year=year,
        previous_as_of=previous_as_of,
        orientations=[p for p in priority_rows if p.depth == 0],
        evolution=evolution,
        actions=actions,
        funding_year=funding_year,
        funding_year_total=FundingLine(f"Total {year}", dict(total)),
        will_miss=will_miss,
        next_meetings=[(d, t) for d, t in meetings],
        trajectories=dict(trajectories),
        actions_by_actor=_actions_by_actor(data, actions),
        dsu=_dsu_communes(session, data, blocks, quartiers, year),
        planned=[b for b in blocks if b.status == "prevu"],
        open_decisions=_open_decisions(session, data.contract.id, as_of),
        procedure=_procedure(session, data.contract.id, year),
    )


def year_amount(block: CommitmentBlock, year: int) -> Decimal:
    """The money of a commitment for the year: its planned amount (`CommitmentAmount`); the
    voted, paid and justified amounts are the report's money section (`suivi.finance`)."""
    return block.amounts.get(year, Decimal(0))


def _open_decisions(session: Session, contract_id: int, as_of: date) -> list[str]:
    """The steering bodies' decisions still open (ouverte, en cours) on `as_of`, one line
    each, the overdue and the soonest due first (`suivi.governance`)."""
    rows = session.execute(
        select(GovernanceDecision, Meeting)
        .join(Meeting, Meeting.id == GovernanceDecision.meeting_id)
        .where(
            GovernanceDecision.contract_id == contract_id,
            GovernanceDecision.status.in_(OPEN_DECISION_STATUSES),
            Meeting.held_on <= as_of,
        )
        .order_by(
            GovernanceDecision.due_on.is_(None),
            GovernanceDecision.due_on,
            Meeting.held_on,
            GovernanceDecision.number,
        )
    ).all()
    lines = []
    for decision, meeting in rows:
        due = f" (échéance : {format_date(decision.due_on)})" if decision.due_on else ""
        reference = decision_reference(decision, meeting)
        lines.append(f"{reference[0].upper()}{reference[1:]} : {decision.text}{due}")
    return lines


def _actions_by_actor(data: _Data, actions) -> list[tuple[str, list]]:
    """The EPCI's actions first, then each commune's, then the other partners'."""
    groups: dict[tuple[int, str], list] = defaultdict(list)
    for block, count in actions:
        partner = data.partners[block.lead_id]
        if partner.kind == "epci":
            key = (0, f"L'EPCI — {partner.name}")
        elif partner.kind == "commune":
            key = (1, partner.name)
        else:
            key = (2, "Les autres partenaires (État, collectivités, opérateurs, bailleurs)")
        groups[key].append((block, count))
    return [(label, rows) for (_, label), rows in sorted(groups.items())]


def _dsu_communes(session, data: _Data, blocks, quartiers, year: int) -> list[DsuCommune]:
    quartier_ids = [q.id for q in quartiers]
    rows = session.execute(
        select(Commune, QuartierCommune.quartier_id)
        .join(QuartierCommune, QuartierCommune.commune_id == Commune.id)
        .where(Commune.receives_dsu.is_(True), QuartierCommune.quartier_id.in_(quartier_ids))
        .order_by(Commune.name)
    ).all()
    names = {q.id: q.name for q in quartiers}
    by_commune: dict[int, tuple[Commune, list[int]]] = {}
    for commune, quartier_id in rows:
        by_commune.setdefault(commune.id, (commune, []))[1].append(quartier_id)
    result = []
    for commune, qids in by_commune.values():
        touching = [b for b in blocks if set(data.commitment_quartiers.get(b.id, [])) & set(qids)]
        result.append(
            DsuCommune(
                name=commune.name,
                quartiers=sorted(names[q] for q in qids),
                commitments=len(touching),
                amount=sum((year_amount(b, year) for b in touching), Decimal(0)),
            )
        )
    return result


def _procedure(session: Session, contract_id: int, year: int) -> AnnualProcedure | None:
    """The consultation and approval of this year's report, if one is under way."""
    report = session.execute(
        select(AnnualReport).where(
            AnnualReport.contract_id == contract_id, AnnualReport.year == year
        )
    ).scalar_one_or_none()
    if report is None or report.status == "brouillon":
        return None
    return view_of(
        AnnualProcedure,
        report,
        opinions=[
            OpinionRow(
                o.body_name,
                o.verdict or "",
                o.text,
                o.given_on,
                o.deemed,
                o.attachment_name,
                o.attachment_sha256,
            )
            for o in opinions_of(session, report.id)
        ],
    )
