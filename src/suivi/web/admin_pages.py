"""« Administration » (admins only): the scheduler's jobs and run log, email deliveries that
failed or wait for a retry, partner contacts (list, add, edit, unsubscribe, resubscribe),
a preview of a contact's summary that sends nothing, and what the annual report consults:
the communes (DSU flag, conseil municipal's address) and the conseils citoyens.

Reads reuse `suivi.scheduler` (schedules, next runs, latest runs); contact changes go through
`suivi.notifications.contacts` (audited); the preview is the function behind
`suivi summaries preview`; communes and conseils citoyens go through `suivi.annual.service`
(audited, with its permission rule). Everything is limited to the contract shown in the header.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from datetime import UTC
from datetime import datetime
from typing import Annotated
from typing import Any

from fastapi import APIRouter
from fastapi import Depends
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from suivi import clock
from suivi import scoping
from suivi.annual import service as annual_service
from suivi.annual.models import ConseilCitoyen
from suivi.api.common import Id
from suivi.auth.models import UserContract
from suivi.codes import CONTACT_FREQUENCIES
from suivi.codes import DELIVERY_STATUSES
from suivi.contract.models import Commune
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.contract.models import Quartier
from suivi.contract.models import contract_quartier_ids
from suivi.errors import ApiError
from suivi.errors import Invalid
from suivi.formatting import format_date
from suivi.monitoring.models import JobRun
from suivi.notifications import contacts as contact_service
from suivi.notifications.models import EmailDelivery
from suivi.notifications.summaries import summary_email
from suivi.notifications.summaries import summary_for_contact
from suivi.scheduler import ScheduledJob
from suivi.scheduler import last_runs
from suivi.scheduler import next_run
from suivi.scheduler import scheduled_jobs
from suivi.validation import InputError
from suivi.validation import clean_text
from suivi.web.common import Page
from suivi.web.common import PageDep
from suivi.web.common import PageError
from suivi.web.common import PageId
from suivi.web.common import Posted
from suivi.web.common import PostedForm
from suivi.web.common import page_errors

router = APIRouter(include_in_schema=False)

OUTCOME_TONES = {"running": "info", "success": "success", "partial": "warning", "failed": "danger"}
DELIVERY_STATUS_TONES = {
    "pending": "warning",
    "sending": "info",
    "sent": "success",
    "failed": "danger",
}
# The deliveries that need an admin's eye, shown when no status is chosen.
PROBLEM_STATUSES = ("failed", "pending")
CONTACT_LIMITS = {"name": 160, "email": 254, "role": 160}


def require_admin(page: PageDep) -> Page:
    if page.principal.role != "admin" or not scoping.can_write_reference(
        page.principal, page.contract.id
    ):
        raise PageError(403, "Cette page est réservée aux administrateurs.")
    return page


AdminPage = Annotated[Page, Depends(require_admin)]


def local_time(page: Page, moment: datetime | None) -> str:
    """« 15 novembre 2026 à 06:00 » in the configured time zone."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(page.settings.tz)
    return f"{format_date(moment)} à {moment:%H:%M}"


def _render(page: Page, template: str, status_code: int = 200, **context: Any) -> Response:
    return page.render(
        template,
        status_code=status_code,
        when=lambda moment: local_time(page, moment),
        **context,
    )


def _chosen(page: Page, param: str, choices: Collection[str]) -> str:
    """The `?param=` filter when it is one of `choices`, else "" (no filter)."""
    value = page.request.query_params.get(param) or ""
    return value if value in choices else ""


# -- jobs and their run log ------------------------------------------------------------------


def _upcoming(page: Page, item: ScheduledJob, now: datetime) -> str:
    """When the job runs next, or why it does not run."""
    if not item.implemented:
        return "Non disponible"
    if not item.enabled:
        return "Désactivée"
    return local_time(page, next_run(item, now))


@router.get("/administration")
def jobs_page(page: AdminPage) -> Response:
    settings = page.settings
    now = clock.now_in(settings.tz)
    latest = last_runs(page.request.app.state.engine)
    jobs = [
        {"item": item, "upcoming": _upcoming(page, item, now), "last": latest.get(item.name)}
        for item in scheduled_jobs(settings)
    ]
    names = sorted({j["item"].name for j in jobs} | set(latest))
    job_filter = _chosen(page, "tache", names)
    query = select(JobRun)
    if job_filter:
        query = query.where(JobRun.job_name == job_filter)
    pagination, rows = page.paginate(query.order_by(JobRun.id.desc()))
    return _render(
        page,
        "admin_jobs.html",
        jobs=jobs,
        runs=list(rows.scalars()),
        names=names,
        job_filter=job_filter,
        pagination=pagination,
        outcome_tones=OUTCOME_TONES,
    )


# -- email deliveries ------------------------------------------------------------------------


def _contract_deliveries(page: Page):
    """Messages of the page's contract: to its partners' contacts or its users (and the
    few without either, which belong to no contract)."""
    contract_id = page.contract.id
    return select(EmailDelivery).where(
        or_(
            EmailDelivery.contact_id.in_(
                select(PartnerContact.id)
                .join(Partner, Partner.id == PartnerContact.partner_id)
                .where(Partner.contract_id == contract_id)
            ),
            EmailDelivery.user_id.in_(
                select(UserContract.user_id).where(UserContract.contract_id == contract_id)
            ),
            EmailDelivery.contact_id.is_(None) & EmailDelivery.user_id.is_(None),
        )
    )


@router.get("/administration/envois")
def deliveries_page(page: AdminPage) -> Response:
    status = _chosen(page, "statut", DELIVERY_STATUSES)
    query = _contract_deliveries(page)
    if status:
        query = query.where(EmailDelivery.status == status)
    else:
        query = query.where(EmailDelivery.status.in_(PROBLEM_STATUSES))
    pagination, rows = page.paginate(
        query.order_by(EmailDelivery.created_at.desc(), EmailDelivery.id.desc())
    )
    return _render(
        page,
        "admin_deliveries.html",
        deliveries=list(rows.scalars()),
        status=status,
        pagination=pagination,
        status_tones=DELIVERY_STATUS_TONES,
    )


# -- partner contacts ------------------------------------------------------------------------


def _partner(page: Page, partner_id: int) -> Partner:
    with page_errors():
        return contact_service.get_managed_partner(
            page.session, page.principal, partner_id, contract_id=page.contract.id
        )


def _contact(page: Page, contact_id: int) -> tuple[PartnerContact, Partner]:
    with page_errors():
        return contact_service.get_managed_contact(
            page.session, page.principal, contact_id, contract_id=page.contract.id
        )


@router.get("/administration/contacts")
def partners_contacts_page(page: AdminPage) -> Response:
    subscribed = (PartnerContact.unsubscribed_at.is_(None)) & (PartnerContact.frequency != "none")
    rows = page.session.execute(
        select(
            Partner,
            func.count(PartnerContact.id),
            func.count(PartnerContact.id).filter(subscribed),
        )
        .outerjoin(PartnerContact, PartnerContact.partner_id == Partner.id)
        .where(Partner.contract_id == page.contract.id)
        .group_by(Partner.id)
        .order_by(Partner.name)
    ).all()
    return _render(page, "admin_partners.html", rows=rows)


def _contacts_page(
    page: Page,
    partner: Partner,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    contacts = contact_service.list_contacts(page.session, partner.id)
    notice = ""
    params = page.request.query_params
    for key, text in (
        ("ajoute", "Contact ajouté."),
        ("modifie", "Contact modifié."),
        ("desabonne", "Contact désabonné : il ne recevra plus de point."),
        ("reabonne", "Contact réabonné : il recevra de nouveau les points."),
    ):
        if params.get(key):
            notice = text
    return _render(
        page,
        "admin_contacts.html",
        status_code=status_code,
        partner=partner,
        contacts=contacts,
        notice=notice,
        errors=errors or {},
        values=values or {"frequency": "monthly"},
    )


@router.get("/administration/partenaires/{partner_id}/contacts")
def contacts_page(page: AdminPage, partner_id: PageId) -> Response:
    return _contacts_page(page, _partner(page, partner_id))


def _form_errors(values: dict[str, str]) -> dict[str, str]:
    """Checks the service leaves to the form (lengths, a known frequency)."""
    errors = {}
    for key, limit in CONTACT_LIMITS.items():
        if len(values.get(key, "")) > limit:
            errors[key] = f"Texte trop long ({limit} caractères au plus)."
    if values.get("frequency") not in CONTACT_FREQUENCIES:
        errors["frequency"] = "Choisissez la fréquence des envois."
    if any("\x00" in value for value in values.values()):
        errors["name"] = "Caractère interdit dans le texte."
    return errors


def _service_error(exc: ApiError) -> dict[str, str]:
    field = exc.field if exc.field in ("name", "email", "role", "frequency") else "email"
    return {field: exc.detail}


def _as_admin(page: Page) -> dict[str, Any]:
    """Who the audit names for a contact change made on these pages."""
    return {"actor_id": page.principal.user_id, "actor_label": page.principal.label}


def _save_contact(
    page: Page, values: dict[str, str], save: Callable[..., PartnerContact], *targets: Any
) -> tuple[PartnerContact | None, dict[str, str]]:
    """`save(session, *targets, fields=values)` (a create or an update of the contact service)
    once the form's own checks pass: the contact saved, or else the French errors per field."""
    errors = _form_errors(values)
    if errors:
        return None, errors
    try:
        return save(page.session, *targets, fields=values, **_as_admin(page)), {}
    except ApiError as exc:
        return None, _service_error(exc)


class ContactForm(PostedForm):
    """A contact's form (add and edit), as typed."""

    name: Annotated[str, Field(max_length=1000)] = ""
    email: Annotated[str, Field(max_length=1000)] = ""
    role: Annotated[str, Field(max_length=1000)] = ""
    frequency: Annotated[str, Field(max_length=20)] = ""

    def values(self) -> dict:
        return {**super().values(), "role": self.role.strip()}


def _to_contact(page: Page, partner: Partner, contact: PartnerContact, **done) -> Response:
    """Back to the partner's contacts, at this contact, saying what was `done` to it."""
    return RedirectResponse(
        page.url(f"/administration/partenaires/{partner.id}/contacts", **done)
        + f"#contact-{contact.id}",
        status_code=303,
    )


@router.post("/administration/partenaires/{partner_id}/contacts")
def add_contact(page: AdminPage, partner_id: PageId, form: Posted[ContactForm]) -> Response:
    page.check_csrf(form.csrf_token)
    partner = _partner(page, partner_id)
    values = form.values()
    contact, errors = _save_contact(page, values, contact_service.create_contact, partner)
    if contact is None:
        return _contacts_page(page, partner, status_code=422, errors=errors, values=values)
    return _to_contact(page, partner, contact, ajoute=contact.id)


def _edit_page(page: Page, contact, partner, *, status_code=200, errors=None, values=None):
    return _render(
        page,
        "admin_contact_edit.html",
        status_code=status_code,
        contact=contact,
        partner=partner,
        errors=errors or {},
        values=values
        or {
            "name": contact.name,
            "email": contact.email,
            "role": contact.role,
            "frequency": contact.frequency,
        },
    )


@router.get("/administration/contacts/{contact_id}/modifier")
def edit_contact_form(page: AdminPage, contact_id: PageId) -> Response:
    contact, partner = _contact(page, contact_id)
    return _edit_page(page, contact, partner)


@router.post("/administration/contacts/{contact_id}/modifier")
def edit_contact(page: AdminPage, contact_id: PageId, form: Posted[ContactForm]) -> Response:
    page.check_csrf(form.csrf_token)
    contact, partner = _contact(page, contact_id)
    values = form.values()
    saved, errors = _save_contact(page, values, contact_service.update_contact, partner, contact)
    if saved is None:
        return _edit_page(page, contact, partner, status_code=422, errors=errors, values=values)
    return _to_contact(page, partner, contact, modifie=contact.id)


@router.post("/administration/contacts/{contact_id}/desabonner")
def unsubscribe_contact(page: AdminPage, contact_id: PageId, form: Posted[PostedForm]) -> Response:
    page.check_csrf(form.csrf_token)
    contact, partner = _contact(page, contact_id)
    contact_service.unsubscribe_by_admin(page.session, page.principal, partner, contact)
    return _to_contact(page, partner, contact, desabonne=contact.id)


@router.post("/administration/contacts/{contact_id}/reabonner")
def resubscribe_contact(page: AdminPage, contact_id: PageId, form: Posted[PostedForm]) -> Response:
    page.check_csrf(form.csrf_token)
    contact, partner = _contact(page, contact_id)
    if contact.unsubscribed_at is not None:
        contact_service.update_contact(
            page.session,
            partner,
            contact,
            fields={},
            resubscribe=True,
            **_as_admin(page),
        )
    return _to_contact(page, partner, contact, reabonne=contact.id)


@router.get("/administration/contacts/{contact_id}/apercu")
def preview_contact_summary(page: AdminPage, contact_id: PageId) -> Response:
    """The summary this contact would receive at the page's date; nothing is sent."""
    contact, partner = _contact(page, contact_id)
    summary = summary_for_contact(page.session, page.settings, contact.id, as_of=page.as_of)
    message = summary_email(page.settings, summary)
    return _render(page, "admin_preview.html", contact=contact, partner=partner, message=message)


# -- communes: DSU flag and the conseil municipal's address ---------------------------------


def _contract_communes(page: Page) -> list[Commune]:
    """The communes holding a QPV of the contract: those whose conseil municipal the annual
    report consults (`consulted_bodies`), by name."""
    bodies = annual_service.consulted_bodies(page.session, page.contract.id)
    ids = [body.commune_id for body in bodies if body.commune_id is not None]
    query = select(Commune).where(Commune.id.in_(ids)).order_by(Commune.name)
    return list(page.session.execute(query).scalars())


def _communes_page(
    page: Page,
    *,
    status_code: int = 200,
    error: str = "",
    typed: dict[int, dict[str, Any]] | None = None,
) -> Response:
    """The communes, each with its form; `typed` keeps what was typed for the commune whose
    change was refused (with `error`)."""
    changed = page.request.query_params.get("modifie")
    return _render(
        page,
        "admin_communes.html",
        status_code=status_code,
        communes=_contract_communes(page),
        notice="Commune modifiée." if changed else "",
        error=error,
        typed=typed or {},
    )


@router.get("/administration/communes")
def communes_page(page: AdminPage) -> Response:
    return _communes_page(page)


class CommuneForm(PostedForm):
    """A commune's row: the DSU checkbox (absent when unchecked) and the council's address."""

    receives_dsu: bool = False
    council_email: Annotated[str, Field(max_length=1000)] = ""


@router.post("/administration/communes/{commune_id}")
def update_commune(page: AdminPage, commune_id: PageId, form: Posted[CommuneForm]) -> Response:
    page.check_csrf(form.csrf_token)
    # The page's contract only; who may change a commune is the service's rule.
    if commune_id not in {commune.id for commune in _contract_communes(page)}:
        raise PageError(404, "Commune introuvable (ou hors de votre périmètre).")
    try:
        with page_errors():
            annual_service.update_commune(
                page.session,
                page.principal,
                commune_id,
                receives_dsu=form.receives_dsu,
                council_email=form.council_email,
            )
    except Invalid as exc:
        page.session.rollback()  # the DSU flag may already be set: show the saved state
        typed = {commune_id: form.values()}
        return _communes_page(page, status_code=exc.status_code, error=exc.detail, typed=typed)
    return RedirectResponse(
        page.url("/administration/communes", modifie=commune_id) + f"#commune-{commune_id}",
        status_code=303,
    )


# -- conseils citoyens -----------------------------------------------------------------------

# Each text of the creation form: its length limit, how messages name it, whether required.
CONSEIL_FIELDS = {
    "code": (40, "Le code", True),
    "name": (200, "Le nom", True),
    "contact_name": (160, "Le nom du contact", False),
    "contact_email": (254, "L'adresse électronique", False),
    "contact_role": (160, "La fonction", False),
}
# The service's field names, as the form calls them.
CONSEIL_SERVICE_FIELDS = {"email": "contact_email"}


def _conseils_page(
    page: Page,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    query = select(Quartier).where(Quartier.id.in_(contract_quartier_ids(page.contract.id)))
    quartiers = list(page.session.execute(query.order_by(Quartier.code)).scalars())
    names = {quartier.id: quartier.name for quartier in quartiers}
    rows = [
        {
            "conseil": conseil,
            "quartiers": [
                names[i]
                for i in annual_service.conseil_quartier_ids(page.session, conseil.id)
                if i in names
            ],
            "contacts": annual_service.conseil_contacts(page.session, conseil.id),
        }
        for conseil in _contract_conseils(page)
    ]
    created = page.request.query_params.get("cree")
    return _render(
        page,
        "admin_conseils.html",
        status_code=status_code,
        rows=rows,
        quartiers=quartiers,
        notice="Conseil citoyen créé." if created else "",
        errors=errors or {},
        values=values or {"quartier_ids": []},
    )


def _contract_conseils(page: Page) -> list[ConseilCitoyen]:
    conseils = annual_service.list_conseils(page.session, page.principal)
    return [conseil for conseil in conseils if conseil.contract_id == page.contract.id]


@router.get("/administration/conseils-citoyens")
def conseils_page(page: AdminPage) -> Response:
    return _conseils_page(page)


class ConseilForm(PostedForm):
    """The creation form of a conseil citoyen, with its first contact (optional)."""

    code: Annotated[str, Field(max_length=1000)] = ""
    name: Annotated[str, Field(max_length=1000)] = ""
    quartier_ids: Annotated[list[Id], Field(max_length=500)] = []
    contact_name: Annotated[str, Field(max_length=1000)] = ""
    contact_email: Annotated[str, Field(max_length=1000)] = ""
    contact_role: Annotated[str, Field(max_length=1000)] = ""

    def values(self) -> dict:
        return {
            key: value.strip() if isinstance(value, str) else value
            for key, value in super().values().items()
        }


def _conseil_errors(values: dict[str, Any]) -> dict[str, str]:
    """Checks the service leaves to the form: required texts, lengths, control characters,
    and a contact given with both its name and its address."""
    errors = {}
    for key, (limit, what, required) in CONSEIL_FIELDS.items():
        try:
            clean_text(values[key], limit, what)
        except InputError as exc:
            errors[key] = str(exc)
        if required and not values[key]:
            errors[key] = f"{what} est obligatoire."
    if values["contact_name"] or values["contact_email"] or values["contact_role"]:
        for key in ("contact_name", "contact_email"):
            if not values[key]:
                errors[key] = "Indiquez le nom et l'adresse électronique du contact."
    return errors


@router.post("/administration/conseils-citoyens")
def create_conseil(page: AdminPage, form: Posted[ConseilForm]) -> Response:
    page.check_csrf(form.csrf_token)
    values = form.values()
    errors = _conseil_errors(values)
    if errors:
        return _conseils_page(page, status_code=422, errors=errors, values=values)
    contact = (values["contact_name"], values["contact_email"], values["contact_role"])
    try:
        with page_errors():
            conseil = annual_service.create_conseil(
                page.session,
                page.principal,
                contract_id=page.contract.id,
                code=values["code"],
                name=values["name"],
                quartier_ids=values["quartier_ids"],
                contacts=[contact] if values["contact_name"] else [],
            )
    except ApiError as exc:
        page.session.rollback()  # a contact refused after the conseil was flushed
        field = CONSEIL_SERVICE_FIELDS.get(exc.field or "", exc.field or "code")
        errors = {field: exc.detail}
        return _conseils_page(page, status_code=exc.status_code, errors=errors, values=values)
    return RedirectResponse(
        page.url("/administration/conseils-citoyens", cree=conseil.id) + f"#conseil-{conseil.id}",
        status_code=303,
    )
