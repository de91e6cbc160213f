"""The committee's pages: the meetings (« Instances »), a meeting with its agenda and the
fast decision entry form, the « Décisions » list with filters, and a decision's detail with
its follow-up history. Thin: parse the form, call `suivi.governance.service`, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Form
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import func
from sqlalchemy import select

from suivi import scoping
from suivi.codes import DECISION_KINDS
from suivi.codes import DECISION_STATUSES
from suivi.commitments.models import Commitment
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.errors import ApiError
from suivi.errors import Invalid
from suivi.governance import releve
from suivi.governance import service
from suivi.governance.models import Decision
from suivi.indicators import review
from suivi.reports.models import ReportFile
from suivi.web.common import CSRF_FORM_FIELD
from suivi.web.common import MAX_TEXT
from suivi.web.common import CsrfField
from suivi.web.common import Page
from suivi.web.common import PageDep
from suivi.web.common import PageError
from suivi.web.common import PageId
from suivi.web.common import Posted
from suivi.web.common import PostedForm
from suivi.web.common import not_found
from suivi.web.common import parse_french_date

router = APIRouter(include_in_schema=False)


def _labels() -> dict:
    return {
        "DECISION_KIND_LABELS": service.DECISION_KIND_LABELS,
        "DECISION_STATUS_LABELS": service.DECISION_STATUS_LABELS,
        "MEETING_STATUS_LABELS": service.MEETING_STATUS_LABELS,
        "MEETING_KIND_LABELS": service.MEETING_KIND_LABELS,
        "meeting_label": service.meeting_label,
    }


def _meeting(page: Page, meeting_id: int) -> Meeting:
    meeting = page.session.get(Meeting, meeting_id)
    if meeting is None or meeting.contract_id != page.contract.id:
        raise not_found("Instance")
    return meeting


def _posted_meeting(page: Page, meeting_id: int, csrf_token: str | None) -> Meeting:
    """The meeting a form is posted about, once the form's CSRF token is checked."""
    page.check_csrf(csrf_token)
    return _meeting(page, meeting_id)


def _partners(page: Page) -> dict[int, Partner]:
    rows = page.session.execute(
        select(Partner).where(Partner.contract_id == page.contract.id).order_by(Partner.name)
    ).scalars()
    return {p.id: p for p in rows}


def _decision_rows(page: Page, decisions: list[Decision]) -> list[dict]:
    partners = _partners(page)
    meetings = {
        m.id: m
        for m in page.session.execute(
            select(Meeting).where(Meeting.id.in_({d.meeting_id for d in decisions}))
        ).scalars()
    }
    links = service.links_of(page.session, [d.id for d in decisions])
    codes = dict(
        page.session.execute(
            select(Commitment.id, Commitment.code).where(
                Commitment.id.in_({i for v in links.values() for i in v["commitment"]})
            )
        ).all()
    )
    return [
        {
            "d": d,
            "meeting": meetings[d.meeting_id],
            "owner": partners.get(d.owner_partner_id),
            "overdue": service.is_overdue(d, page.as_of),
            "commitments": [codes[i] for i in links[d.id]["commitment"] if i in codes],
        }
        for d in decisions
    ]


# -- meetings ------------------------------------------------------------------------------------


@router.get("/instances")
def meetings_page(page: PageDep) -> Response:
    counts = dict(
        page.session.execute(
            select(Decision.meeting_id, func.count())
            .where(Decision.contract_id == page.contract.id)
            .group_by(Decision.meeting_id)
        ).all()
    )
    meetings = page.session.execute(
        select(Meeting).where(Meeting.contract_id == page.contract.id).order_by(Meeting.held_on)
    ).scalars()
    return page.render("meetings.html", meetings=list(meetings), counts=counts, **_labels())


def _render_meeting(page: Page, meeting: Meeting, status_code=200, errors=None, values=None):
    decisions = list(
        page.session.execute(
            service.decisions_query(
                page.principal,
                page.contract.id,
                service.DecisionFilter(meeting_id=meeting.id),
                page.as_of,
            )
            .order_by(None)
            .order_by(Decision.number)
        ).scalars()
    )
    partners = _partners(page)
    contacts = page.session.execute(
        select(PartnerContact)
        .where(PartnerContact.partner_id.in_(partners))
        .order_by(PartnerContact.name)
    ).scalars()
    return page.render(
        "meeting.html",
        status_code=status_code,
        meeting=meeting,
        agenda=service.agenda(page.session, meeting),
        participants=service.participants(page.session, meeting),
        rows=_decision_rows(page, decisions),
        partners=list(partners.values()),
        contacts=list(contacts),
        kinds=DECISION_KINDS,
        can_manage=scoping.can_manage_decisions(page.principal, meeting.contract_id),
        # The rule `review.lock_meeting` / `unlock_meeting` apply (`_check_admin`): it only
        # decides whether the forms show; the POST routes leave the refusal to the service.
        can_lock=scoping.can_write_reference(page.principal, meeting.contract_id),
        errors=errors or {},
        values=values or {},
        saved=page.request.query_params.get("enregistre"),
        data_notice=DATA_NOTICES.get(page.request.query_params.get("donnees", "")),
        releve_id=page.request.query_params.get("releve"),
        releve_files=page.session.execute(
            select(ReportFile)
            .where(ReportFile.meeting_id == meeting.id, ReportFile.kind == "releve")
            .order_by(ReportFile.generated_at.desc())
        )
        .scalars()
        .all(),
        **_labels(),
    )


@router.get("/instances/{meeting_id}")
def meeting_page(page: PageDep, meeting_id: PageId) -> Response:
    return _render_meeting(page, _meeting(page, meeting_id))


def _back(page: Page, meeting: Meeting, **params) -> RedirectResponse:
    # No #fragment: a document with a target element skips `autofocus` (HTML spec), and the
    # focused text field is what lets the next decision be typed at once.
    return RedirectResponse(page.url(f"/instances/{meeting.id}", **params), status_code=303)


def _run(page: Page, meeting: Meeting, action, values=None, **confirmation) -> Response:
    """Run a service call; on a refusal, show the meeting page with the French message (next
    to the field it is about when that field is among the posted `values`)."""
    try:
        action()
    except ApiError as exc:
        page.session.rollback()
        field = exc.field if values and exc.field in values else "form"
        return _render_meeting(
            page, meeting, status_code=exc.status_code, errors={field: exc.detail}, values=values
        )
    return _back(page, meeting, **confirmation)


@router.post("/instances/{meeting_id}/tenue")
def hold_meeting(page: PageDep, meeting_id: PageId, csrf_token: CsrfField = None) -> Response:
    meeting = _posted_meeting(page, meeting_id, csrf_token)
    return _run(
        page,
        meeting,
        lambda: service.hold_meeting(page.session, page.principal, meeting, as_of=page.as_of),
    )


@router.post("/instances/{meeting_id}/ordre-du-jour")
def add_agenda_item(
    page: PageDep,
    meeting_id: PageId,
    title: Annotated[str, Form(max_length=400)] = "",
    from_report: Annotated[str, Form(max_length=5)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    meeting = _posted_meeting(page, meeting_id, csrf_token)
    if from_report:
        return _run(
            page,
            meeting,
            lambda: service.agenda_from_report(
                page.session, page.principal, meeting, tz=page.settings.tz
            ),
        )
    return _run(
        page,
        meeting,
        lambda: service.add_agenda_item(page.session, page.principal, meeting, title=title),
    )


@router.post("/instances/{meeting_id}/participants")
async def set_participants(page: PageDep, meeting_id: PageId) -> Response:
    form = await page.request.form()
    meeting = _posted_meeting(page, meeting_id, form.get(CSRF_FORM_FIELD))
    ids = [int(v) for v in form.getlist("partner_id") if str(v).isdigit()]
    return _run(
        page,
        meeting,
        lambda: service.set_participants(page.session, page.principal, meeting, ids[:500]),
    )


def _commitment_ids(page: Page, raw: str) -> list[int]:
    codes = [c.strip() for c in raw.replace(";", ",").split(",") if c.strip()]
    if not codes:
        return []
    found = dict(
        page.session.execute(
            select(Commitment.code, Commitment.id).where(
                Commitment.contract_id == page.contract.id, Commitment.code.in_(codes)
            )
        ).all()
    )
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise Invalid("commitments", f"Engagement inconnu : {', '.join(unknown[:5])}.")
    return [found[c] for c in codes]


class DecisionForm(PostedForm):
    """A new decision of a meeting, as typed."""

    text: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    kind: Annotated[str, Field(max_length=20)] = "action"
    owner_partner_id: Annotated[str, Field(max_length=12)] = ""
    owner_contact_id: Annotated[str, Field(max_length=12)] = ""
    due_on: Annotated[str, Field(max_length=20)] = ""
    commitments: Annotated[str, Field(max_length=2_000)] = ""


@router.post("/instances/{meeting_id}/decisions")
def create_decision(page: PageDep, meeting_id: PageId, form: Posted[DecisionForm]) -> Response:
    meeting = _posted_meeting(page, meeting_id, form.csrf_token)
    values = form.values()
    errors: dict[str, str] = {}
    status_code = 422
    fields: dict = {"text": form.text, "kind": form.kind}
    for owner in ("owner_partner_id", "owner_contact_id"):
        fields[owner] = int(values[owner]) if values[owner].isdigit() else None
    if form.due_on.strip():
        try:
            fields["due_on"] = parse_french_date(form.due_on)  # typed: never the missing case
        except ValueError as exc:
            errors["due_on"] = str(exc)
    try:
        links = {"commitment": _commitment_ids(page, form.commitments)}
        if not errors:
            service.create_decision(
                page.session, page.principal, meeting, fields=fields, links=links
            )
    except ApiError as exc:
        page.session.rollback()
        errors[exc.field if exc.field in values else "form"] = exc.detail
        status_code = exc.status_code
    if errors:
        return _render_meeting(page, meeting, status_code=status_code, errors=errors, values=values)
    return _back(page, meeting, enregistre=1)


@router.post("/instances/{meeting_id}/releve")
def issue_releve(page: PageDep, meeting_id: PageId, csrf_token: CsrfField = None) -> Response:
    """Issue the relevé (PDF archived, e-mailed to the contacts concerned), then come back."""
    meeting = _posted_meeting(page, meeting_id, csrf_token)
    if not scoping.can_manage_decisions(page.principal, meeting.contract_id):
        raise PageError(403, "Seuls le chef de projet et l'administrateur diffusent le relevé.")
    page.session.commit()  # rendering takes seconds: hold no transaction meanwhile
    try:
        issued = releve.issue_releve(
            page.request.app.state.engine,
            page.settings,
            meeting.id,
            as_of=page.as_of,
            principal=page.principal,
        )
    except ApiError as exc:
        return _render_meeting(
            page, meeting, status_code=exc.status_code, errors={"form": exc.detail}
        )
    return RedirectResponse(
        page.url(f"/instances/{meeting.id}", releve=issued.generated.file.id), status_code=303
    )


# -- data cut-off -------------------------------------------------------------------------------

# The confirmation shown once the meeting page is back (`?donnees=`).
DATA_NOTICES = {
    "arretees": "Données arrêtées et verrouillées.",
    "rouvertes": "Données rouvertes : les mesures redeviennent modifiables.",
}


class LockForm(PostedForm):
    """The cut-off date typed to lock a meeting's data (AAAA-MM-JJ or JJ/MM/AAAA)."""

    data_cutoff: Annotated[str, Field(max_length=20)] = ""


class UnlockForm(PostedForm):
    """Why the data of a locked meeting are reopened."""

    reason: Annotated[str, Field(max_length=review.MAX_RETURN_REASON)] = ""


@router.post("/instances/{meeting_id}/arret-des-donnees")
def lock_meeting_data(page: PageDep, meeting_id: PageId, form: Posted[LockForm]) -> Response:
    meeting = _posted_meeting(page, meeting_id, form.csrf_token)
    try:
        cutoff = parse_french_date(form.data_cutoff, "Indiquez la date d'arrêt des données.")
    except ValueError as exc:
        return _render_meeting(
            page, meeting, status_code=422, errors={"data_cutoff": str(exc)}, values=form.values()
        )
    return _run(
        page,
        meeting,
        lambda: review.lock_meeting(page.session, page.principal, meeting, data_cutoff=cutoff),
        form.values(),
        donnees="arretees",
    )


@router.post("/instances/{meeting_id}/reouverture")
def unlock_meeting_data(page: PageDep, meeting_id: PageId, form: Posted[UnlockForm]) -> Response:
    meeting = _posted_meeting(page, meeting_id, form.csrf_token)
    return _run(
        page,
        meeting,
        lambda: review.unlock_meeting(page.session, page.principal, meeting, reason=form.reason),
        form.values(),
        donnees="rouvertes",
    )


# -- decisions -----------------------------------------------------------------------------------


@router.get("/decisions")
def decisions_page(page: PageDep) -> Response:
    params = page.request.query_params
    status = params.get("statut") or ""
    owner = params.get("pilote") or ""
    overdue = params.get("retard") == "1"
    filters = service.DecisionFilter(
        status=status if status in DECISION_STATUSES else None,
        owner_partner_id=int(owner) if owner.isdigit() else None,
        overdue=overdue,
    )
    query = service.decisions_query(page.principal, page.contract.id, filters, page.as_of)
    pagination, rows = page.paginate(query)
    decisions = list(rows.scalars())
    return page.render(
        "decisions.html",
        rows=_decision_rows(page, decisions),
        pagination=pagination,
        partners=list(_partners(page).values()),
        statuses=DECISION_STATUSES,
        status=status,
        owner=owner,
        overdue=overdue,
        **_labels(),
    )


def _decision(page: Page, decision_id: int) -> Decision:
    try:
        decision = service.readable_decision(page.session, page.principal, decision_id)
    except ApiError:
        raise not_found("Décision") from None
    if decision.contract_id != page.contract.id:
        raise not_found("Décision")
    return decision


def _render_decision(page: Page, decision: Decision, status_code=200, errors=None):
    row = _decision_rows(page, [decision])[0]
    contact = (
        page.session.get(PartnerContact, decision.owner_contact_id)
        if decision.owner_contact_id
        else None
    )
    revisions = service.revisions_of(page.session, decision)
    return page.render(
        "decision.html",
        status_code=status_code,
        row=row,
        contact=contact,
        history=service.history(page.session, decision),
        revisions=revisions,
        statuses=DECISION_STATUSES,
        can_follow=scoping.can_follow_up_decision(page.principal, decision),
        errors=errors or {},
        **_labels(),
    )


@router.get("/decisions/{decision_id}")
def decision_page(page: PageDep, decision_id: PageId) -> Response:
    return _render_decision(page, _decision(page, decision_id))


@router.post("/decisions/{decision_id}/suivi")
def follow_up(
    page: PageDep,
    decision_id: PageId,
    comment: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    status: Annotated[str, Form(max_length=12)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    page.check_csrf(csrf_token)
    decision = _decision(page, decision_id)
    try:
        service.add_update(
            page.session,
            page.principal,
            decision,
            comment=comment,
            status=status or None,
            as_of=page.as_of,
        )
    except ApiError as exc:
        page.session.rollback()
        if exc.status_code == 403:
            raise PageError(403, exc.detail) from None
        return _render_decision(page, decision, 422, {exc.field or "form": exc.detail})
    return RedirectResponse(page.url(f"/decisions/{decision.id}"), status_code=303)
