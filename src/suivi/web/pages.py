"""Reading pages: contract overview, priorities, quartiers, partners, commitments, alerts.

Every query of scoped data goes through `suivi.scoping`; what a user may not read is a 404.
Roll-ups are computed over the indicators the user may read (a partner's overview shows its
own commitments only), with `suivi.indicators.evaluation` and so `suivi.progress`.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from suivi import scoping
from suivi.audit.models import AuditEvent
from suivi.auth.models import User
from suivi.charts import MapArea
from suivi.charts import bar_chart
from suivi.charts import qpv_map
from suivi.charts import status_bar
from suivi.codes import ALERT_KINDS
from suivi.codes import LIFECYCLE_STATUSES
from suivi.codes import PARTNER_KINDS
from suivi.commitments import access as commitment_access
from suivi.commitments.funding import partner_shares
from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Commune
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.contract.models import contract_quartier_ids
from suivi.finance.service import visible_lines
from suivi.indicators.evaluation import IndicatorVerdict
from suivi.indicators.evaluation import contract_rollups
from suivi.indicators.evaluation import evaluate_summaries
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from suivi.labels import FRESHNESS_LABELS
from suivi.labels import PERFORMANCE_LABELS
from suivi.monitoring.models import Alert
from suivi.progress import commitment_health
from suivi.web.cards import build_cards
from suivi.web.common import Page
from suivi.web.common import PageDep
from suivi.web.common import PageId
from suivi.web.common import contract_quartier
from suivi.web.common import not_found
from suivi.web.common import page_errors

router = APIRouter(include_in_schema=False)


# -- shared reads ----------------------------------------------------------------------------


def scoped_evaluated(page: Page, *, include_inactive: bool = False) -> dict[int, IndicatorVerdict]:
    """The contract's indicators the user may read, evaluated at `as_of` (from SQL
    summaries: these pages need verdicts and roll-ups, not the measurements)."""
    ids = None
    if page.principal.role not in scoping.READ_ALL_ROLES:
        ids = list(
            page.session.execute(
                scoping.visible_indicators(page.principal).where(
                    Indicator.contract_id == page.contract.id
                )
            ).scalars()
        )
    return evaluate_summaries(
        page.session,
        contract_id=page.contract.id,
        as_of=page.as_of,
        indicator_ids=ids,
        include_inactive=include_inactive,
    )


def _visible_commitments_query(page: Page):
    return select(Commitment).where(
        Commitment.contract_id == page.contract.id, scoping.commitment_condition(page.principal)
    )


def _touches_quartier(quartier_id: int):
    """The commitments that concern a quartier: linked to it, or measured there by one of
    their indicators."""
    return or_(
        Commitment.id.in_(
            select(CommitmentQuartier.commitment_id).where(
                CommitmentQuartier.quartier_id == quartier_id
            )
        ),
        Commitment.id.in_(
            select(Indicator.commitment_id).where(Indicator.quartier_id == quartier_id)
        ),
    )


def _health(evaluated: dict[int, IndicatorVerdict]) -> dict[int, object]:
    per_commitment = defaultdict(list)
    for item in evaluated.values():
        if item.evaluation is not None:
            per_commitment[item.commitment_id].append(item.evaluation)
    return {cid: commitment_health(evs) for cid, evs in per_commitment.items()}


def _names(session, model, ids, attribute="name") -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    column = getattr(model, attribute)
    return dict(session.execute(select(model.id, column).where(model.id.in_(ids))).all())


def _contract_quartiers(page: Page) -> list[Quartier]:
    return list(
        page.session.execute(
            select(Quartier)
            .where(Quartier.id.in_(contract_quartier_ids(page.contract.id)))
            .order_by(Quartier.name)
        ).scalars()
    )


def _map(quartiers: list[Quartier], highlight=(), title="Carte des quartiers prioritaires", **kw):
    areas = [MapArea(code=q.code, name=q.name, geometry=q.contour) for q in quartiers]
    return qpv_map(areas, highlight=highlight, title=title, **kw)


def _priority_index(page: Page) -> tuple[dict[int, Priority], dict[int | None, list[Priority]]]:
    priorities = list(
        page.session.execute(
            select(Priority)
            .where(Priority.contract_id == page.contract.id)
            .order_by(Priority.position, Priority.code)
        ).scalars()
    )
    children: dict[int | None, list[Priority]] = defaultdict(list)
    for priority in priorities:
        children[priority.parent_id].append(priority)
    return {p.id: p for p in priorities}, children


def _commitment_rows(page: Page, commitments: list[Commitment], evaluated=None) -> list[dict]:
    """Display rows for a list of commitments: lead partner, priority, health."""
    if evaluated is None:
        ids = list(
            page.session.execute(
                select(Indicator.id).where(
                    Indicator.commitment_id.in_([c.id for c in commitments] or [0])
                )
            ).scalars()
        )
        evaluated = evaluate_summaries(
            page.session,
            contract_id=page.contract.id,
            as_of=page.as_of,
            indicator_ids=ids,
            include_inactive=True,
        )
    health = _health(evaluated)
    partners = _names(page.session, Partner, [c.lead_partner_id for c in commitments])
    priorities = _names(page.session, Priority, [c.priority_id for c in commitments], "code")
    return [
        {
            "c": c,
            "lead": partners.get(c.lead_partner_id, ""),
            "priority": priorities.get(c.priority_id, ""),
            # Suspended and abandoned commitments are out of every roll-up: no health badge.
            "health": None if c.status in INACTIVE_STATUSES else health.get(c.id),
        }
        for c in commitments
    ]


def _status_bars(rollup) -> dict:
    return {
        "performance": status_bar(
            rollup.by_performance, labels=PERFORMANCE_LABELS, title="Indicateurs par performance"
        ),
        "freshness": status_bar(
            rollup.by_freshness, labels=FRESHNESS_LABELS, title="Indicateurs par fraîcheur"
        ),
    }


def _open_alerts_query(page: Page):
    return (
        select(Alert, Indicator, Commitment)
        .join(Indicator, Indicator.id == Alert.indicator_id)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(
            Alert.contract_id == page.contract.id,
            Alert.resolved_on.is_(None),
            Alert.indicator_id.in_(scoping.visible_indicators(page.principal)),
        )
        .order_by(Alert.opened_on.desc(), Alert.id)
    )


# -- contract overview -----------------------------------------------------------------------


@router.get("/contrat")
def contract_page(page: PageDep) -> Response:
    session = page.session
    evaluated = scoped_evaluated(page)
    rollups = contract_rollups(
        session, contract_id=page.contract.id, as_of=page.as_of, evaluated=evaluated
    )
    by_id, children = _priority_index(page)
    orientations = [
        {
            "p": p,
            "r": rollups.by_priority.get(p.id),
            "children": [
                {"p": child, "r": rollups.by_priority.get(child.id)} for child in children[p.id]
            ],
        }
        for p in children[None]
    ]
    quartiers = _contract_quartiers(page)
    quartier_rows = [{"q": q, "r": rollups.by_quartier.get(q.id)} for q in quartiers]
    alert_query = _open_alerts_query(page)
    alert_count = session.execute(
        select(func.count()).select_from(alert_query.subquery())
    ).scalar_one()
    alerts = session.execute(alert_query.limit(5)).all()
    meeting = (
        session.execute(
            select(Meeting)
            .where(Meeting.contract_id == page.contract.id, Meeting.held_on >= page.as_of)
            .order_by(Meeting.held_on)
        )
        .scalars()
        .first()
    )
    progress_chart = bar_chart(
        [
            (f"{o['p'].code} {o['p'].title}", o["r"].mean_progress if o["r"] else None)
            for o in orientations
        ],
        title="Avancement moyen par orientation",
    )
    return page.render(
        "contract.html",
        rollup=rollups.contract,
        bars=_status_bars(rollups.contract),
        orientations=orientations,
        quartier_rows=quartier_rows,
        alerts=alerts,
        alert_count=alert_count,
        meeting=meeting,
        progress_chart=progress_chart,
        map=_map(quartiers, title="Les quartiers prioritaires du contrat"),
    )


# -- priorities ------------------------------------------------------------------------------


@router.get("/orientations/{priority_id}")
def priority_page(page: PageDep, priority_id: PageId) -> Response:
    by_id, children = _priority_index(page)
    priority = by_id.get(priority_id)
    if priority is None:
        raise not_found("Orientation")
    ids = [priority.id, *(c.id for c in children[priority.id])]
    evaluated = scoped_evaluated(page)
    rollups = contract_rollups(
        page.session, contract_id=page.contract.id, as_of=page.as_of, evaluated=evaluated
    )
    commitments = list(
        page.session.execute(
            _visible_commitments_query(page)
            .where(Commitment.priority_id.in_(ids))
            .order_by(Commitment.code)
        ).scalars()
    )
    rollup = rollups.by_priority.get(priority.id)
    return page.render(
        "priority.html",
        priority=priority,
        parent=by_id.get(priority.parent_id),
        children=[{"p": c, "r": rollups.by_priority.get(c.id)} for c in children[priority.id]],
        rollup=rollup,
        bars=_status_bars(rollup) if rollup else None,
        rows=_commitment_rows(page, commitments),
    )


# -- quartiers -------------------------------------------------------------------------------


@router.get("/quartiers")
def quartiers_page(page: PageDep) -> Response:
    quartiers = _contract_quartiers(page)
    rollups = contract_rollups(
        page.session,
        contract_id=page.contract.id,
        as_of=page.as_of,
        evaluated=scoped_evaluated(page),
    )
    query = (page.request.query_params.get("q") or "").strip()[:100]
    rows = [{"q": q, "r": rollups.by_quartier.get(q.id)} for q in quartiers]
    if query:
        rows = [r for r in rows if query.casefold() in f"{r['q'].code} {r['q'].name}".casefold()]
    return page.render(
        "quartiers.html",
        rows=rows,
        query=query,
        map=_map(quartiers, title="Les quartiers prioritaires du contrat"),
    )


@router.get("/quartiers/{code}")
def quartier_page(page: PageDep, code: str) -> Response:
    session = page.session
    quartier = contract_quartier(page, code)
    communes = list(
        session.execute(
            select(Commune)
            .join(QuartierCommune, QuartierCommune.commune_id == Commune.id)
            .where(QuartierCommune.quartier_id == quartier.id)
            .order_by(Commune.name)
        ).scalars()
    )
    commitments = list(
        session.execute(
            _visible_commitments_query(page)
            .where(_touches_quartier(quartier.id))
            .order_by(Commitment.code)
        ).scalars()
    )
    evaluated = scoped_evaluated(page)
    rollups = contract_rollups(
        session, contract_id=page.contract.id, as_of=page.as_of, evaluated=evaluated
    )
    rows = _commitment_rows(page, commitments)
    by_id, _ = _priority_index(page)
    # Residents as a whole: everything that touches the quartier, grouped by orientation.
    themes: dict[int, dict] = {}
    for row in rows:
        priority = by_id.get(row["c"].priority_id)
        top = by_id.get(priority.parent_id) if priority and priority.parent_id else priority
        key = top.id if top else 0
        themes.setdefault(key, {"p": top, "rows": []})["rows"].append(row)
    partner_ids = {c.lead_partner_id for c in commitments} | set(
        session.execute(
            select(CommitmentPartner.partner_id).where(
                CommitmentPartner.commitment_id.in_([c.id for c in commitments] or [0])
            )
        ).scalars()
    )
    partners = list(
        session.execute(
            select(Partner)
            .where(Partner.id.in_(partner_ids or {0}), scoping.partner_condition(page.principal))
            .order_by(Partner.name)
        ).scalars()
    )
    rollup = rollups.by_quartier.get(quartier.id)
    return page.render(
        "quartier.html",
        quartier=quartier,
        communes=communes,
        themes=sorted(
            themes.values(), key=lambda t: (t["p"].position, t["p"].code) if t["p"] else (0, "")
        ),
        commitment_count=len(commitments),
        partners=partners,
        rollup=rollup,
        bars=_status_bars(rollup) if rollup else None,
        contour=_map(
            [quartier],
            highlight=[quartier.code],
            title=f"Contour du quartier {quartier.name} ({quartier.code})",
            height=220,
            label_highlighted=False,
        ),
        map=_map(
            _contract_quartiers(page),
            highlight=[quartier.code],
            title=f"Situation du quartier {quartier.name} ({quartier.code})",
        ),
    )


# -- partners --------------------------------------------------------------------------------


@router.get("/partenaires")
def partners_page(page: PageDep) -> Response:
    query_text = (page.request.query_params.get("q") or "").strip()[:100]
    kind = page.request.query_params.get("type") or ""
    query = (
        select(Partner)
        .where(scoping.partner_condition(page.principal))
        .where(Partner.contract_id == page.contract.id)
    )
    if query_text:
        query = query.where(Partner.name.ilike(f"%{query_text}%"))
    if kind in PARTNER_KINDS:
        query = query.where(Partner.kind == kind)
    partners = list(page.session.execute(query.order_by(Partner.name)).scalars())
    rollups = contract_rollups(
        page.session,
        contract_id=page.contract.id,
        as_of=page.as_of,
        evaluated=scoped_evaluated(page),
    )
    return page.render(
        "partners.html",
        rows=[{"p": p, "r": rollups.by_partner.get(p.id)} for p in partners],
        query=query_text,
        kind=kind,
        kinds=PARTNER_KINDS,
    )


def partner_amounts(session, partner_id: int, commitments: list[Commitment]) -> dict:
    """The partner's part of each commitment's amounts (`partner_shares`: co-funded money is
    counted once), and totals by funding type."""
    ids = [c.id for c in commitments]
    co_partners: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for commitment_id, pid, share in session.execute(
        select(
            CommitmentPartner.commitment_id, CommitmentPartner.partner_id, CommitmentPartner.share
        ).where(CommitmentPartner.commitment_id.in_(ids or [0]))
    ):
        co_partners[commitment_id].append((pid, share))
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for commitment_id, amount in session.execute(
        select(CommitmentAmount.commitment_id, CommitmentAmount.amount).where(
            CommitmentAmount.commitment_id.in_(ids or [0])
        )
    ):
        totals[commitment_id] += Decimal(amount)
    per_commitment: dict[int, Decimal] = {}
    by_funding: dict[str, Decimal] = defaultdict(Decimal)
    for c in commitments:
        share = partner_shares(c.lead_partner_id, co_partners[c.id]).get(partner_id, Decimal(0))
        part = totals[c.id] * share
        per_commitment[c.id] = part
        by_funding[c.funding_type] += part
    return {
        "per_commitment": per_commitment,
        "by_funding": dict(by_funding),
        "total": sum(by_funding.values(), Decimal(0)),
    }


@router.get("/partenaires/{partner_id}")
def partner_page(page: PageDep, partner_id: PageId) -> Response:
    session = page.session
    partner = session.get(Partner, partner_id)
    if partner is None or not scoping.can_read_partner(page.principal, partner):
        raise not_found("Partenaire")
    involved = or_(
        Commitment.lead_partner_id == partner.id,
        Commitment.id.in_(
            select(CommitmentPartner.commitment_id).where(
                CommitmentPartner.partner_id == partner.id
            )
        ),
    )
    commitments = list(
        session.execute(
            _visible_commitments_query(page).where(involved).order_by(Commitment.code)
        ).scalars()
    )
    amounts = partner_amounts(session, partner.id, commitments)
    rollups = contract_rollups(
        session,
        contract_id=page.contract.id,
        as_of=page.as_of,
        evaluated=scoped_evaluated(page),
    )
    rollup = rollups.by_partner.get(partner.id)
    commune = session.get(Commune, partner.commune_id) if partner.commune_id else None
    return page.render(
        "partner.html",
        partner=partner,
        commune=commune,
        rows=_commitment_rows(page, commitments),
        amounts=amounts,
        rollup=rollup,
        bars=_status_bars(rollup) if rollup else None,
    )


# -- commitments -----------------------------------------------------------------------------


@router.get("/engagements")
def commitments_page(page: PageDep) -> Response:
    params = page.request.query_params
    query_text = (params.get("q") or "").strip()[:100]
    status = params.get("statut") or ""
    quartier_code = params.get("quartier") or ""
    priority_raw = params.get("orientation") or ""
    query = _visible_commitments_query(page)
    if query_text:
        like = f"%{query_text}%"
        query = query.where(or_(Commitment.title.ilike(like), Commitment.code.ilike(like)))
    if status in LIFECYCLE_STATUSES:
        query = query.where(Commitment.status == status)
    by_id, children = _priority_index(page)
    if priority_raw.isdigit() and int(priority_raw) in by_id:
        pid = int(priority_raw)
        query = query.where(Commitment.priority_id.in_([pid, *(c.id for c in children[pid])]))
    quartiers = _contract_quartiers(page)
    chosen = next((q for q in quartiers if q.code == quartier_code), None)
    if chosen is not None:
        query = query.where(_touches_quartier(chosen.id))
    pagination, rows = page.paginate(query.order_by(Commitment.code, Commitment.id))
    commitments = list(rows.scalars())
    return page.render(
        "commitments.html",
        rows=_commitment_rows(page, commitments),
        pagination=pagination,
        query=query_text,
        status=status,
        quartier_code=quartier_code,
        priority_id=priority_raw,
        quartiers=quartiers,
        orientations=children[None],
        children=children,
        statuses=LIFECYCLE_STATUSES,
    )


@router.get("/engagements/{commitment_id}")
def commitment_page(page: PageDep, commitment_id: PageId) -> Response:
    session = page.session
    with page_errors():
        commitment = commitment_access.get_readable(
            session, page.principal, commitment_id, contract_id=page.contract.id
        )
    lead = session.get(Partner, commitment.lead_partner_id)
    co_partners = session.execute(
        select(Partner, CommitmentPartner.share)
        .join(CommitmentPartner, CommitmentPartner.partner_id == Partner.id)
        .where(CommitmentPartner.commitment_id == commitment.id)
        .order_by(Partner.name)
    ).all()
    lead_share = max(Decimal(0), Decimal(1) - sum((Decimal(s) for _, s in co_partners), Decimal(0)))
    priority = session.get(Priority, commitment.priority_id)
    parent = session.get(Priority, priority.parent_id) if priority and priority.parent_id else None
    quartiers = list(
        session.execute(
            select(Quartier)
            .join(CommitmentQuartier, CommitmentQuartier.quartier_id == Quartier.id)
            .where(CommitmentQuartier.commitment_id == commitment.id)
            .order_by(Quartier.name)
        ).scalars()
    )
    amounts = list(
        session.execute(
            select(CommitmentAmount)
            .where(CommitmentAmount.commitment_id == commitment.id)
            .order_by(CommitmentAmount.year)
        ).scalars()
    )
    indicator_ids = list(
        session.execute(
            select(Indicator.id)
            .where(Indicator.commitment_id == commitment.id)
            .order_by(Indicator.code)
        ).scalars()
    )
    cards = sorted(
        build_cards(
            session,
            page.principal,
            page.contract.id,
            page.as_of,
            indicator_ids,
            include_inactive=True,
        ),
        key=lambda c: c.indicator.code,
    )
    targets = defaultdict(list)
    target_rows = (
        session.execute(
            select(Target)
            .where(Target.indicator_id.in_(indicator_ids or [0]))
            .order_by(Target.target_date)
        )
        .scalars()
        .all()
    )
    for target in target_rows:
        targets[target.indicator_id].append(target)
    revisions = defaultdict(list)
    for revision in session.execute(
        select(TargetRevision)
        .where(TargetRevision.target_id.in_([t.id for t in target_rows] or [0]))
        .order_by(TargetRevision.revised_at)
    ).scalars():
        revisions[revision.target_id].append(revision)
    measurements = defaultdict(list)
    measurement_rows = (
        session.execute(
            select(Measurement)
            .where(Measurement.indicator_id.in_(indicator_ids or [0]))
            .order_by(Measurement.measured_on.desc(), Measurement.id.desc())
        )
        .scalars()
        .all()
    )
    for measurement in measurement_rows:
        measurements[measurement.indicator_id].append(measurement)
    history = _history(page, commitment, indicator_ids, target_rows, measurement_rows)
    health = commitment_health(c.ev for c in cards if c.ev is not None)
    return page.render(
        "commitment.html",
        commitment=commitment,
        lead=lead,
        lead_share=lead_share,
        co_partners=co_partners,
        priority=priority,
        parent=parent,
        quartiers=quartiers,
        amounts=amounts,
        amount_total=sum((Decimal(a.amount) for a in amounts), Decimal(0)),
        cards=cards,
        targets=targets,
        revisions=revisions,
        measurements=measurements,
        history=history,
        health=health,
        authors=_names(session, User, {m.author_id for m in measurement_rows}, "full_name"),
        funding_lines=visible_lines(
            session, page.principal, contract_id=page.contract.id, commitment_id=commitment.id
        ),
        partner_names={p.id: p.name for p in [lead, *(p for p, _ in co_partners)]},
    )


HISTORY_LIMIT = 60
ENTITY_LABELS = {
    "commitment": "Engagement",
    "indicator": "Indicateur",
    "target": "Cible",
    "measurement": "Mesure",
}
ACTION_LABELS = {
    "create": "création",
    "update": "modification",
    "delete": "suppression",
    "import": "import",
}


def _history(page: Page, commitment, indicator_ids, targets, measurements) -> list[dict]:
    """The audit trail of the commitment and of everything under it, most recent first."""
    keys = [
        ("commitment", [str(commitment.id)]),
        ("indicator", [str(i) for i in indicator_ids]),
        ("target", [str(t.id) for t in targets]),
        ("measurement", [str(m.id) for m in measurements]),
    ]
    condition = or_(
        *(
            (AuditEvent.entity == entity) & AuditEvent.entity_id.in_(ids)
            for entity, ids in keys
            if ids
        )
    )
    events = (
        page.session.execute(
            select(AuditEvent)
            .where(condition)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(HISTORY_LIMIT)
        )
        .scalars()
        .all()
    )
    actors = _names(page.session, User, {e.actor_id for e in events}, "full_name")
    rows = []
    for event in events:
        after = event.after or {}
        before = event.before or {}
        detail = ""
        if event.entity == "measurement" and event.action == "create":
            detail = f"valeur {after.get('value')} au {after.get('measured_on')}"
        elif event.entity == "measurement" and after.get("correction_reason"):
            detail = f"corrigée : {after.get('correction_reason')}"
        elif (
            event.entity == "commitment"
            and before.get("status") != after.get("status")
            and (before)
        ):
            detail = f"statut {before.get('status')} → {after.get('status')}"
        elif event.entity == "target" and isinstance(after.get("revision"), dict):
            revision = after["revision"]
            detail = (
                f"cible {revision.get('old_value')} → {revision.get('new_value')} "
                f"({revision.get('reason')})"
            )
        rows.append(
            {
                "at": event.at,
                "actor": actors.get(event.actor_id) or event.actor_label or "—",
                "what": f"{ENTITY_LABELS.get(event.entity, event.entity)} : "
                f"{ACTION_LABELS.get(event.action, event.action)}",
                "detail": detail,
            }
        )
    return rows


# -- alerts ----------------------------------------------------------------------------------


@router.get("/alertes")
def alerts_page(page: PageDep) -> Response:
    params = page.request.query_params
    kind = params.get("type") or ""
    query_text = (params.get("q") or "").strip()[:100]
    query = _open_alerts_query(page)
    if kind in ALERT_KINDS:
        query = query.where(Alert.kind == kind)
    if query_text:
        like = f"%{query_text}%"
        query = query.where(
            or_(
                Indicator.name.ilike(like),
                Indicator.code.ilike(like),
                Commitment.title.ilike(like),
                Commitment.code.ilike(like),
            )
        )
    pagination, result = page.paginate(query)
    rows = result.all()
    return page.render(
        "alerts.html",
        rows=rows,
        pagination=pagination,
        kind=kind,
        kinds=ALERT_KINDS,
        query=query_text,
    )
