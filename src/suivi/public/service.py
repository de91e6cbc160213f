"""What anyone may read without logging in: the contract, its quartiers and partners, the
commitments touching a quartier (status and progress), the published annual reports.

Nothing personal ever leaves here: no person's name or email (contacts, users), no comment,
no audit, no measurement comment. Each function returns plain data (dicts, lists) that the
pages and the public JSON share, built from a read-only session.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.annual.service import published_reports
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.contract.models import contract_quartier_ids
from suivi.finance.scdl import subsidy_years
from suivi.indicators.evaluation import evaluate_summaries
from suivi.indicators.models import Indicator
from suivi.labels import LIFECYCLE_LABELS
from suivi.labels import PARTNER_KIND_LABELS
from suivi.labels import PERFORMANCE_LABELS
from suivi.progress import commitment_health


def public_contract(session: Session, contract_code: str) -> Contract | None:
    return session.execute(
        select(Contract).where(Contract.code == contract_code)
    ).scalar_one_or_none()


def _report_entries(session: Session, contract_id: int) -> list[dict]:
    return [
        {
            "year": report.year,
            "published_at": report.published_at.date().isoformat() if report.published_at else None,
            "deliberation_on": report.deliberation_on.isoformat()
            if report.deliberation_on
            else None,
            "deliberation_ref": report.deliberation_ref,
            "url": f"/public/rapports-annuels/{report.year}.pdf",
        }
        for report in published_reports(session, contract_id)
        if report.report_file_id is not None
    ]


def _open_data(session: Session, contract_id: int) -> dict:
    """The open-data files, at their public addresses (served without login by
    `suivi.public.routes`): commitments and indicators per quartier, and the SCDL subsidies of
    each year that has conventions to publish."""
    return {
        "csv": "/public/donnees-ouvertes.csv",
        "schema": "/public/donnees-ouvertes.schema.json",
        "subsidies": [
            {"year": year, "csv": f"/public/subventions/{year}.csv"}
            for year in subsidy_years(session, contract_id)
        ],
    }


def contract_overview(session: Session, contract: Contract) -> dict:
    quartiers = session.execute(
        select(Quartier)
        .where(Quartier.id.in_(contract_quartier_ids(contract.id, in_contract=True)))
        .order_by(Quartier.name)
    ).scalars()
    communes = defaultdict(list)
    for quartier_id, name in session.execute(
        select(QuartierCommune.quartier_id, Commune.name)
        .join(Commune, Commune.id == QuartierCommune.commune_id)
        .order_by(Commune.name)
    ):
        communes[quartier_id].append(name)
    partners = session.execute(
        select(Partner).where(Partner.contract_id == contract.id).order_by(Partner.name)
    ).scalars()
    return {
        "contract": {
            "code": contract.code,
            "name": contract.name,
            "territory": contract.territory,
            "signed_on": contract.signed_on.isoformat(),
            "term_start": contract.term_start.isoformat(),
            "term_end": contract.term_end.isoformat(),
            "is_demo": contract.is_demo,
        },
        "quartiers": [
            {"code": q.code, "name": q.name, "communes": communes.get(q.id, [])} for q in quartiers
        ],
        "partners": [
            {
                "name": p.name,
                "kind": p.kind,
                "kind_label": PARTNER_KIND_LABELS.get(p.kind, p.kind),
                "is_signatory": p.is_signatory,
            }
            for p in partners
        ],
        "annual_reports": _report_entries(session, contract.id),
        "open_data": _open_data(session, contract.id),
    }


def quartier_detail(session: Session, contract: Contract, code: str, as_of: date) -> dict | None:
    """The commitments touching one quartier of the contract, their status and progress;
    None for a code the contract does not list."""
    quartier = session.execute(
        select(Quartier).where(
            Quartier.code == code, Quartier.id.in_(contract_quartier_ids(contract.id))
        )
    ).scalar_one_or_none()
    if quartier is None:
        return None
    touches = scoping.touches_quartiers([quartier.id])
    commitments = list(
        session.execute(
            select(Commitment)
            .where(Commitment.contract_id == contract.id, touches)
            .order_by(Commitment.code)
        ).scalars()
    )
    indicator_ids = list(
        session.execute(
            select(Indicator.id).where(
                Indicator.commitment_id.in_([c.id for c in commitments] or [0])
            )
        ).scalars()
    )
    evaluated = evaluate_summaries(
        session,
        contract_id=contract.id,
        as_of=as_of,
        indicator_ids=indicator_ids,
        include_inactive=True,
    )
    evaluations = defaultdict(list)
    for item in evaluated.values():
        if item.evaluation is not None:
            evaluations[item.commitment_id].append(item.evaluation)
    leads: dict[int, str] = dict(
        session.execute(
            select(Partner.id, Partner.name).where(
                Partner.id.in_({c.lead_partner_id for c in commitments} or {0})
            )
        ).all()
    )
    communes = list(
        session.execute(
            select(Commune.name)
            .join(QuartierCommune, QuartierCommune.commune_id == Commune.id)
            .where(QuartierCommune.quartier_id == quartier.id)
            .order_by(Commune.name)
        ).scalars()
    )
    rows = []
    for c in commitments:
        evs = evaluations.get(c.id, [])
        progresses = [ev.progress for ev in evs if ev.progress is not None]
        inactive = c.status in INACTIVE_STATUSES
        health = None if inactive or not evs else commitment_health(evs)
        rows.append(
            {
                "code": c.code,
                "title": c.title,
                "lead_partner": leads.get(c.lead_partner_id, ""),
                "status": c.status,
                "status_label": LIFECYCLE_LABELS.get(c.status, c.status),
                "start_date": c.start_date.isoformat(),
                "end_date": c.end_date.isoformat(),
                "indicators": len(evs),
                "mean_progress": None
                if inactive or not progresses
                else round(sum(progresses) / len(progresses), 4),
                "performance": health.performance if health else None,
                "performance_label": PERFORMANCE_LABELS.get(health.performance, "")
                if health and health.performance
                else "",
            }
        )
    return {
        "as_of": as_of.isoformat(),
        "quartier": {"code": quartier.code, "name": quartier.name, "communes": communes},
        "commitments": rows,
        "annual_reports": _report_entries(session, contract.id),
        "open_data": _open_data(session, contract.id),
        "is_demo": contract.is_demo,
    }


def published_report_file_id(session: Session, contract: Contract, year: int) -> int | None:
    for report in published_reports(session, contract.id):
        if report.year == year:
            return report.report_file_id
    return None
