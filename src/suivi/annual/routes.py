"""HTTP adapters of the annual report procedure: the JSON API (/api/annual-reports,
/api/conseils-citoyens) and the opinion page (/rapport-annuel/{id}) where a consulted body's
account, or the project team, enters an opinion with its optional PDF.

Thin: parse → `suivi.annual.service` → shape. The consultation emails leave after the
response (a background task), once the opening is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated
from typing import Literal
from typing import TypeVar

from fastapi import APIRouter
from fastapi import BackgroundTasks
from fastapi import File
from fastapi import Form
from fastapi import Request
from fastapi import UploadFile
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from pydantic import Field

from suivi import clock
from suivi.annual import comments
from suivi.annual import service
from suivi.annual.consultation import send_consultation
from suivi.api.common import Caller
from suivi.api.common import CallerDep
from suivi.api.common import ContractQuery
from suivi.api.common import Day
from suivi.api.common import Id
from suivi.api.common import StrictModel
from suivi.api.common import Text
from suivi.api.common import api_router
from suivi.api.common import resolve_contract
from suivi.codes import Verdict
from suivi.commitments.models import Commitment
from suivi.config import Settings
from suivi.deps import SettingsDep
from suivi.errors import ApiError
from suivi.reports.archive import generate_report
from suivi.web.common import CsrfField
from suivi.web.common import PageDep
from suivi.web.common import PageError
from suivi.web.common import PageId
from suivi.web.common import not_found

api = api_router("rapport annuel")
pages = APIRouter(include_in_schema=False)
T = TypeVar("T")


def _report_json(session, report) -> dict:
    return {
        "id": report.id,
        "year": report.year,
        "status": report.status,
        "consultation_opened_on": report.consultation_opened_on,
        "deadline": report.deadline,
        "deliberation_on": report.deliberation_on,
        "deliberation_ref": report.deliberation_ref,
        "observations_response": report.observations_response,
        "report_file_id": report.report_file_id,
        "opinions": [
            {
                "id": o.id,
                "body_kind": o.body_kind,
                "body_name": o.body_name,
                "verdict": o.verdict,
                "text": o.text,
                "given_on": o.given_on,
                "deemed": o.deemed,
                "attachment_name": o.attachment_name,
                "attachment_sha256": o.attachment_sha256,
            }
            for o in service.opinions_of(session, report.id)
        ],
    }


class ReportIn(StrictModel):
    year: Annotated[int, Field(ge=2000, le=2100)]


class OpinionIn(StrictModel):
    verdict: Verdict
    text: Text(10_000) = ""
    given_on: Day


class ApprovalIn(StrictModel):
    deliberation_on: Day
    deliberation_ref: Text(120, 1)
    observations_response: Text(10_000) = ""


@api.get("/annual-reports", summary="Rapports annuels et leur procédure")
def list_annual_reports(call: CallerDep) -> list[dict]:
    return [
        _report_json(call.session, r) for r in service.list_reports(call.session, call.principal)
    ]


@api.post("/annual-reports", status_code=201, summary="Créer le rapport annuel d'une année")
def create_annual_report(
    call: CallerDep, body: ReportIn, contract_id: ContractQuery = None
) -> dict:
    contract = resolve_contract(call.session, call.principal, contract_id)
    report = service.create_report(
        call.session, call.principal, contract_id=contract.id, year=body.year
    )
    return _report_json(call.session, report)


@api.get("/annual-reports/{report_id}", summary="Un rapport annuel et ses avis")
def read_annual_report(call: CallerDep, report_id: PageId):
    return _report_json(call.session, service.get_report(call.session, call.principal, report_id))


def _send_draft(engine, settings: Settings, report_id: int, contract_id: int, as_of: date):
    draft = generate_report(engine, settings, kind="annual", as_of=as_of, contract_id=contract_id)
    send_consultation(engine, settings, report_id, draft.rendered.pdf)


@api.post("/annual-reports/{report_id}/consultation", summary="Ouvrir la consultation")
def open_consultation(
    call: CallerDep,
    report_id: PageId,
    request: Request,
    background: BackgroundTasks,
    settings: SettingsDep,
) -> dict:
    report = _open(request, background, call.session, call.principal, settings, report_id)
    return _report_json(call.session, report)


def _open(request, background, session, principal, settings: Settings, report_id: int):
    """Open the consultation (API and page alike); its emails leave after the response."""
    report = service.get_report(session, principal, report_id)
    as_of = clock.today(settings.tz)
    service.open_consultation(
        session,
        principal,
        report,
        as_of=as_of,
        deadline_days=settings.annual_report.deadline_days,
    )
    # After the response, hence after the commit: the draft and its emails.
    background.add_task(
        _send_draft, request.app.state.engine, settings, report.id, report.contract_id, as_of
    )
    return report


def _change_report(
    call: Caller, report_id: int, change: Callable[..., object], *args, **kwargs
) -> dict:
    """The report after `change(session, principal, report, *args, **kwargs)` (a function of
    `service`)."""
    report = service.get_report(call.session, call.principal, report_id)
    change(call.session, call.principal, report, *args, **kwargs)
    return _report_json(call.session, report)


@api.post("/annual-reports/{report_id}/opinions/{opinion_id}", summary="Enregistrer un avis")
def submit_opinion(
    call: CallerDep,
    report_id: PageId,
    opinion_id: PageId,
    body: OpinionIn,
    settings: SettingsDep,
) -> dict:
    return _change_report(
        call,
        report_id,
        service.submit_opinion,
        opinion_id,
        **body.model_dump(),
        attachments_dir=Path(settings.reports.dir),
        max_attachment_bytes=settings.annual_report.max_attachment_bytes,
    )


@api.post("/annual-reports/{report_id}/approval", summary="Approbation (conseil communautaire)")
def approve(call: CallerDep, report_id: PageId, body: ApprovalIn, settings: SettingsDep) -> dict:
    today = clock.today(settings.tz)
    return _change_report(call, report_id, service.approve, **body.model_dump(), as_of=today)


@api.post("/annual-reports/{report_id}/publication", summary="Publier (PDF final, avis annexés)")
def publish(call: CallerDep, report_id: PageId, request: Request, settings: SettingsDep) -> dict:
    report = _publish(request, call.session, call.principal, settings, report_id)
    return _report_json(call.session, report)


def _publish(request, session, principal, settings: Settings, report_id: int):
    """Lay out and archive the final PDF (opinions annexed), then publish (API and page)."""
    report = service.get_report(session, principal, report_id)
    service.check_can_publish(principal, report)
    # End the request's transaction now (nothing written yet): the final PDF is laid out
    # and archived in transactions of its own, holding no lock meanwhile (as /api/reports).
    session.commit()
    final = generate_report(
        request.app.state.engine,
        settings,
        kind="annual",
        as_of=min(date(report.year, 12, 31), clock.today(settings.tz)),
        contract_id=report.contract_id,
        generated_by_id=principal.user_id,
    )
    report = service.get_report(session, principal, report_id)
    service.publish(session, principal, report, report_file_id=final.file.id)
    cache = getattr(request.app.state, "public_cache", None)
    if cache is not None:  # the public pages list the published reports
        cache.clear()
    return report


class ContactIn(StrictModel):
    name: Text(160, 1)
    email: Text(254, 3)
    role: Text(160) = ""


class ConseilIn(StrictModel):
    code: Text(40, 1)
    name: Text(200, 1)
    quartier_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]
    contacts: Annotated[list[ContactIn], Field(max_length=50)] = []


class CommuneConsultationIn(StrictModel):
    receives_dsu: bool | None = None
    council_email: Text(254) | None = None


class CommentIn(StrictModel):
    text: Text(4000, 1)


class ModerationIn(StrictModel):
    decision: Literal["publie", "rejete"]


@api.get("/conseils-citoyens", summary="Conseils citoyens (quartiers, contacts)")
def list_conseils(call: CallerDep) -> list[dict]:
    manager = call.principal.role in service.MANAGER_ROLES
    return [
        {
            "id": c.id,
            "code": c.code,
            "name": c.name,
            "quartier_ids": service.conseil_quartier_ids(call.session, c.id),
            # Contacts are personal: for the project team only.
            "contacts": [
                {"name": x.name, "email": x.email, "role": x.role}
                for x in service.conseil_contacts(call.session, c.id)
            ]
            if manager
            else [],
        }
        for c in service.list_conseils(call.session, call.principal)
    ]


@api.post("/conseils-citoyens", status_code=201, summary="Créer un conseil citoyen")
def create_conseil(call: CallerDep, body: ConseilIn, contract_id: ContractQuery = None) -> dict:
    contract = resolve_contract(call.session, call.principal, contract_id)
    conseil = service.create_conseil(
        call.session,
        call.principal,
        contract_id=contract.id,
        code=body.code,
        name=body.name,
        quartier_ids=body.quartier_ids,
        contacts=[(c.name, c.email, c.role) for c in body.contacts],
    )
    return {"id": conseil.id, "code": conseil.code, "name": conseil.name}


@api.patch("/communes/{commune_id}/consultation", summary="DSU et adresse du conseil municipal")
def update_commune(call: CallerDep, commune_id: PageId, body: CommuneConsultationIn) -> dict:
    commune = service.update_commune(
        call.session,
        call.principal,
        commune_id,
        receives_dsu=body.receives_dsu,
        council_email=body.council_email,
    )
    return {
        "id": commune.id,
        "name": commune.name,
        "receives_dsu": commune.receives_dsu,
        "council_email": commune.council_email,
    }


def _comment_json(comment, conseil_name: str) -> dict:
    return {
        "id": comment.id,
        "commitment_id": comment.commitment_id,
        "conseil_citoyen": conseil_name,
        "text": comment.text,
        "status": comment.status,
        "created_at": comment.created_at,
    }


@api.get("/commitments/{commitment_id}/comments", summary="Commentaires des conseils citoyens")
def list_comments(call: CallerDep, commitment_id: PageId):
    return [
        _comment_json(c, n)
        for c, n in comments.comments_for(call.session, call.principal, commitment_id)
    ]


@api.post(
    "/commitments/{commitment_id}/comments",
    status_code=201,
    summary="Commenter un engagement (conseil citoyen ; modéré avant publication)",
)
def add_comment(call: CallerDep, commitment_id: PageId, body: CommentIn) -> dict:
    comment = comments.add_comment(call.session, call.principal, commitment_id, body.text)
    return _comment_json(comment, "")


@api.get("/comments/pending", summary="Commentaires à modérer")
def pending_comments(call: CallerDep) -> list[dict]:
    return [
        {**_comment_json(c, name), "commitment_code": code}
        for c, code, name in comments.pending(call.session, call.principal)
    ]


@api.post("/comments/{comment_id}/moderation", summary="Publier ou rejeter un commentaire")
def moderate_comment(call: CallerDep, comment_id: PageId, body: ModerationIn) -> dict:
    comment = comments.moderate(call.session, call.principal, comment_id, body.decision)
    return _comment_json(comment, "")


# -- the opinion page ---------------------------------------------------------------------


def _answerable(page, report) -> list:
    return [
        o
        for o in service.opinions_of(page.session, report.id)
        if service.is_manager(page.principal, report.contract_id)
        or service._speaks_for(page.session, page.principal, o)
    ]


def _readable(page, missing: str, read: Callable[..., T], *args) -> T:
    """`read(session, principal, *args)` for a page; any refusal: `missing` not found."""
    try:
        return read(page.session, page.principal, *args)
    except ApiError:
        raise not_found(missing) from None


@pages.get("/rapport-annuel/{report_id}")
def report_page(page: PageDep, report_id: PageId, error: str = "", saved: str = "") -> Response:
    report = _readable(page, "Rapport annuel", service.get_report, report_id)
    return page.render(
        "annual_report.html",
        report=report,
        opinions=service.opinions_of(page.session, report.id),
        answerable=_answerable(page, report),
        max_mb=page.settings.annual_report.max_attachment_bytes // (1024 * 1024),
        manager=service.is_manager(page.principal, report.contract_id),
        error=error,
        saved=saved,
    )


@pages.post("/rapport-annuel/{report_id}/avis/{opinion_id}")
async def report_opinion_form(
    page: PageDep,
    report_id: PageId,
    opinion_id: PageId,
    verdict: Annotated[str, Form()] = "",
    text: Annotated[str, Form(max_length=10_000)] = "",
    given_on: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
    piece: Annotated[UploadFile | None, File()] = None,
) -> Response:
    page.check_csrf(csrf_token)
    settings = page.settings
    limit = settings.annual_report.max_attachment_bytes
    attachment = None
    if piece is not None and piece.filename:
        data = await piece.read(limit + 1)
        attachment = service.UploadedPdf(piece.filename, data)
    try:
        report = service.get_report(page.session, page.principal, report_id)
        day = date.fromisoformat(given_on) if given_on else page.as_of
        service.submit_opinion(
            page.session,
            page.principal,
            report,
            opinion_id,
            verdict=verdict,
            text=text.strip(),
            given_on=day,
            attachment=attachment,
            attachments_dir=Path(settings.reports.dir),
            max_attachment_bytes=limit,
        )
    except ValueError:
        return _back(page, report_id, error="Date de l'avis invalide (format AAAA-MM-JJ).")
    except ApiError as exc:
        return _refused(page, report_id, exc, "Organe consulté")
    return _back(page, report_id, saved="1")


def _back(page, report_id: int, **params) -> Response:
    return RedirectResponse(page.url(f"/rapport-annuel/{report_id}", **params), status_code=303)


@pages.get("/rapport-annuel")
def reports_index(page: PageDep) -> Response:
    return page.render(
        "annual_reports.html",
        reports=service.list_reports(page.session, page.principal),
        manager=service.is_manager(page.principal, page.contract.id),
        next_year=page.as_of.year,
    )


@pages.get("/engagements/{commitment_id}/commentaires")
def comments_page(page: PageDep, commitment_id: PageId, error: str = "", saved: str = ""):
    found = _readable(page, "Engagement", comments.comments_for, commitment_id)
    return page.render(
        "commitment_comments.html",
        commitment=page.session.get(Commitment, commitment_id),
        comments=found,
        may_comment=service.member_conseil_id(page.session, page.principal) is not None,
        error=error,
        saved=saved,
    )


@pages.post("/engagements/{commitment_id}/commentaires")
def comment_form(
    page: PageDep,
    commitment_id: PageId,
    text: Annotated[str, Form(max_length=10_000)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    page.check_csrf(csrf_token)
    back = f"/engagements/{commitment_id}/commentaires"
    try:
        comments.add_comment(page.session, page.principal, commitment_id, text)
    except ApiError as exc:
        if exc.status_code == 404:
            raise not_found("Engagement") from None
        return RedirectResponse(page.url(back, error=exc.detail), status_code=303)
    return RedirectResponse(page.url(back, saved="1"), status_code=303)


@pages.get("/moderation")
def moderation_page(page: PageDep, saved: str = "") -> Response:
    queue = _readable(page, "Page", comments.pending)
    return page.render("moderation.html", queue=queue, saved=saved)


@pages.post("/moderation/{comment_id}")
def moderation_form(
    page: PageDep,
    comment_id: PageId,
    decision: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> Response:
    page.check_csrf(csrf_token)
    try:
        comments.moderate(page.session, page.principal, comment_id, decision)
    except ApiError as exc:
        if exc.status_code == 404:
            raise not_found("Commentaire") from None
        raise PageError(exc.status_code, exc.detail) from None
    return RedirectResponse(page.url("/moderation", saved="1"), status_code=303)


# -- the project team's steps on the pages ------------------------------------------------


def _step(page, report_id: int, work) -> Response:
    """Run one step of the procedure; a refusal comes back in French on the page."""
    try:
        work()
    except ApiError as exc:
        return _refused(page, report_id, exc, "Rapport annuel")
    return _back(page, report_id, saved="etape")


def _refused(page, report_id: int, exc: ApiError, missing: str) -> Response:
    """A refused step, back on the report page in French; a 404: `missing` is not found."""
    if exc.status_code == 404:
        raise not_found(missing) from None
    page.session.rollback()
    return _back(page, report_id, error=exc.detail)


@pages.post("/rapport-annuel")
def create_form(
    page: PageDep, year: Annotated[int, Form(ge=2000, le=2100)], csrf_token: CsrfField = None
) -> Response:
    page.check_csrf(csrf_token)
    try:
        report = service.create_report(
            page.session, page.principal, contract_id=page.contract.id, year=year
        )
    except ApiError as exc:
        raise PageError(exc.status_code, exc.detail) from None
    return RedirectResponse(page.url(f"/rapport-annuel/{report.id}"), status_code=303)


@pages.post("/rapport-annuel/{report_id}/consultation")
def open_form(
    page: PageDep, report_id: PageId, background: BackgroundTasks, csrf_token: CsrfField = None
) -> Response:
    page.check_csrf(csrf_token)
    return _step(
        page,
        report_id,
        lambda: _open(
            page.request, background, page.session, page.principal, page.settings, report_id
        ),
    )


@pages.post("/rapport-annuel/{report_id}/approbation")
def approve_form(
    page: PageDep,
    report_id: PageId,
    deliberation_on: Annotated[str, Form()] = "",
    deliberation_ref: Annotated[str, Form(max_length=120)] = "",
    observations_response: Annotated[str, Form(max_length=10_000)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    page.check_csrf(csrf_token)
    try:
        day = date.fromisoformat(deliberation_on)
    except ValueError:
        return _back(page, report_id, error="Date de la délibération invalide.")

    def work():
        report = service.get_report(page.session, page.principal, report_id)
        service.approve(
            page.session,
            page.principal,
            report,
            deliberation_on=day,
            deliberation_ref=deliberation_ref,
            observations_response=observations_response.strip(),
            as_of=clock.today(page.settings.tz),
        )

    return _step(page, report_id, work)


@pages.post("/rapport-annuel/{report_id}/publication")
def publish_form(page: PageDep, report_id: PageId, csrf_token: CsrfField = None) -> Response:
    page.check_csrf(csrf_token)
    return _step(
        page,
        report_id,
        lambda: _publish(page.request, page.session, page.principal, page.settings, report_id),
    )
