"""The mid-term review report (`suivi report mi-parcours`): for every indicator, the original
contract target next to the revised one in force, with the decision (number, meeting date)
and avenant that changed it; then the revisions summed up per partner (the commitment's
lead partner) and per priority: indicators revised, raised, lowered.

It goes through the report pipeline like the other kinds (`generate_report`: render with
`suivi.reports.render`, archive with its hash); its attached CSV lists one indicator per
line with both targets, instead of the progress figures.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from suivi.commitments.models import Commitment
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.formatting import format_date
from suivi.governance.service import TargetLine
from suivi.governance.service import revision_steps
from suivi.governance.service import target_line
from suivi.indicators.models import Indicator
from suivi.indicators.models import Target
from suivi.io.safe_text import csv_text
from suivi.records import view_of
from suivi.reports.context import ContractInfo
from suivi.reports.context import ReportError
from suivi.reports.models import MIDTERM_KIND
from suivi.reports.render import CsvAttachment
from suivi.reports.render import csv_name

CSV_COLUMNS = (
    "indicateur",
    "nom",
    "engagement",
    "priorite",
    "pilote",
    "unite",
    "date_cible",
    "cible_initiale",
    "cible_revisee",
    "revisee",
    "sens_revision",
    "decision",
    "avenant",
)


@dataclass(frozen=True)
class MidtermRow:
    """One indicator: its final target (or the target revised, when another was)."""

    code: str
    name: str
    unit: str
    commitment_code: str
    priority: str  # « P1 — Emploi »
    partner: str  # the commitment's lead partner
    target_date: date | None
    original: float | None
    revised: float | None
    decision_label: str  # « décision n° 5 du comité de pilotage du 25 novembre 2025 »
    avenant: str

    @property
    def is_revised(self) -> bool:
        return self.original is not None and self.revised != self.original

    @property
    def change(self) -> str:
        """``hausse``, ``baisse`` or ``""`` (not revised)."""
        if not self.is_revised:
            return ""
        return "hausse" if self.revised > self.original else "baisse"


@dataclass
class RevisionTally:
    label: str
    indicators: int = 0
    revised: int = 0
    raised: int = 0
    lowered: int = 0

    def add(self, row: MidtermRow) -> None:
        self.indicators += 1
        self.revised += row.is_revised
        self.raised += row.change == "hausse"
        self.lowered += row.change == "baisse"


@dataclass
class MidtermContext:
    """What the report shows; shaped like a ReportContext where the pipeline reads one."""

    contract: ContractInfo
    as_of: date
    rows: list[MidtermRow]
    by_partner: list[RevisionTally]
    by_priority: list[RevisionTally]
    total: RevisionTally
    kind: str = MIDTERM_KIND
    scope: str = ""
    scope_label: str = ""
    title: str = "Revue à mi-parcours : cibles initiales et cibles révisées"
    subject: str = ""
    avenants: list[str] = field(default_factory=list)

    @property
    def revised_rows(self) -> list[MidtermRow]:
        return [row for row in self.rows if row.is_revised]


def _shown_line(lines: list[TargetLine]) -> TargetLine | None:
    """The target the report compares: the final one, unless only an earlier one was revised."""
    if not lines:
        return None
    final = lines[-1]
    if final.revised:
        return final
    return next((line for line in reversed(lines) if line.revised), final)


def _row(indicator: Indicator, commitment: Commitment, lines, priority, partner) -> MidtermRow:
    line = _shown_line(lines)
    last = line.steps[-1] if line and line.steps else None
    return view_of(
        MidtermRow,
        indicator,
        commitment_code=commitment.code,
        priority=priority,
        partner=partner,
        target_date=line.target_date if line else None,
        original=line.original if line else None,
        revised=line.current if line else None,
        decision_label=last.decision_label if last else "",
        avenant=last.avenant if last else "",
    )


def build_midterm_context(session: Session, *, contract_id: int, as_of: date) -> MidtermContext:
    """Every indicator of the contract with its original and revised target, and the tallies."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise ReportError("Contrat introuvable.")
    partners = dict(
        session.execute(
            select(Partner.id, Partner.name).where(Partner.contract_id == contract_id)
        ).all()
    )
    priorities = {
        p.id: f"{p.code} — {p.title}"
        for p in session.execute(
            select(Priority).where(Priority.contract_id == contract_id)
        ).scalars()
    }
    pairs = session.execute(
        select(Indicator, Commitment)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(Commitment.contract_id == contract_id)
        .order_by(Commitment.code, Indicator.code)
    ).all()
    # Every target and revision of the contract in two queries, not two per indicator.
    steps = revision_steps(session, contract_id=contract_id)
    lines: dict[int, list[TargetLine]] = {}
    for target in session.execute(
        select(Target)
        .join(Indicator, Indicator.id == Target.indicator_id)
        .where(Indicator.contract_id == contract_id)
        .order_by(Target.indicator_id, Target.target_date)
    ).scalars():
        lines.setdefault(target.indicator_id, []).append(
            target_line(target, steps.get(target.id, []))
        )
    rows = [
        _row(
            indicator,
            commitment,
            lines.get(indicator.id, []),
            priorities.get(commitment.priority_id, ""),
            partners.get(commitment.lead_partner_id, ""),
        )
        for indicator, commitment in pairs
    ]
    by_partner: dict[str, RevisionTally] = {}
    by_priority: dict[str, RevisionTally] = {}
    total = RevisionTally("Ensemble du contrat")
    for row in rows:
        by_partner.setdefault(row.partner, RevisionTally(row.partner)).add(row)
        by_priority.setdefault(row.priority, RevisionTally(row.priority)).add(row)
        total.add(row)
    avenants = sorted({row.avenant for row in rows if row.is_revised and row.avenant})
    return MidtermContext(
        contract=ContractInfo.of(contract),
        as_of=as_of,
        rows=rows,
        by_partner=sorted(by_partner.values(), key=lambda t: t.label),
        by_priority=sorted(by_priority.values(), key=lambda t: t.label),
        total=total,
        scope_label=contract.territory,
        subject=f"Revue à mi-parcours du {contract.name} au {format_date(as_of)}",
        avenants=avenants,
    )


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def midterm_csv(context: MidtermContext) -> CsvAttachment:
    """One indicator per line, both targets (UTF-8 with BOM, comma, CRLF; texts neutralised
    against formula injection), like the other reports' figures."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in context.rows:
        writer.writerow(
            [
                csv_text(row.code),
                csv_text(row.name),
                csv_text(row.commitment_code),
                csv_text(row.priority),
                csv_text(row.partner),
                csv_text(row.unit),
                row.target_date.isoformat() if row.target_date else "",
                _number(row.original),
                _number(row.revised),
                "oui" if row.is_revised else "non",
                row.change,
                csv_text(row.decision_label),
                csv_text(row.avenant),
            ]
        )
    return CsvAttachment(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"),
        csv_name(context),
        "Cibles initiales et révisées : un indicateur par ligne (CSV UTF-8)",
    )


__all__ = ["MidtermContext", "MidtermRow", "build_midterm_context", "midterm_csv"]
