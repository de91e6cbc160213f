"""« Financements » pages: the money of a partner and of a quartier (planned, voted, paid,
justified; a bar chart; overdue financial reports), a financial line with its vote and
payment forms, and a new line from the commitment page. Thin: every rule is in
`suivi.finance.rules` (through `suivi.finance.service`), every sum in
`suivi.finance.rollups`, who sees what in `suivi.scoping`."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from typing import Any

from fastapi import APIRouter
from fastapi import Form
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from pydantic import Field as PydanticField
from sqlalchemy import select

from suivi import scoping
from suivi.charts import bar_chart
from suivi.commitments.models import Commitment
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.errors import ApiError
from suivi.finance import service
from suivi.finance.models import FundingLine
from suivi.finance.rollups import CPO_TARGET
from suivi.finance.rollups import FundingRollup
from suivi.finance.rollups import funding_rollup
from suivi.web.common import Page
from suivi.web.common import PageDep
from suivi.web.common import PageError
from suivi.web.common import PageId
from suivi.web.common import Posted
from suivi.web.common import PostedForm
from suivi.web.common import contract_quartier
from suivi.web.common import not_found
from suivi.web.common import parse_french_date

router = APIRouter(include_in_schema=False)
MEASURE_LABELS = {
    "planned": "Prévu",
    "voted": "Voté",
    "paid": "Versé",
    "justified": "Justifié",
}
# A typed field of the forms: the longest text they take (a justification, a reason).
Text = Annotated[str, PydanticField(max_length=2100)]


def _year(page: Page) -> int | None:
    raw = page.request.query_params.get("annee") or ""
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else None


def money_chart(rollup: FundingRollup, title: str):
    items = [(label, float(getattr(rollup.total, key))) for key, label in MEASURE_LABELS.items()]
    return bar_chart(items, title=title, as_percent=False)


def _names(page: Page, model, ids) -> dict:
    ids = [i for i in ids if i is not None]
    if model is Priority:
        label = (Priority.code + " " + Priority.title).label("name")
    else:
        label = model.name
    return dict(page.session.execute(select(model.id, label).where(model.id.in_(ids or [0]))).all())


def _money_page(page: Page, *, title: str, subject: str, back: tuple[str, str], **filters):
    year = _year(page)
    rollup = funding_rollup(
        page.session,
        page.principal,
        contract_id=page.contract.id,
        as_of=page.as_of,
        year=year,
        **filters,
    )
    rows = page.session.execute(
        select(FundingLine)
        .where(FundingLine.id.in_(list(rollup.paid_by_line) or [0]))
        .order_by(FundingLine.year, FundingLine.commitment_id, FundingLine.id)
    ).scalars()
    lines = [(line, rollup.paid_by_line[line.id]) for line in rows]
    commitments = {
        c.id: c
        for c in page.session.execute(
            select(Commitment).where(
                Commitment.id.in_(
                    {line.commitment_id for line, _ in lines}
                    | {o.commitment_id for o in rollup.overdue}
                    or {0}
                )
            )
        ).scalars()
    }
    years = range(page.contract.term_start.year, page.contract.term_end.year + 1)
    return page.render(
        "financements.html",
        title=title,
        subject=subject,
        back=back,
        year=year,
        years=years,
        rollup=rollup,
        lines=lines,
        commitments=commitments,
        partners=_names(page, Partner, rollup.by_partner),
        priorities=_names(page, Priority, rollup.by_priority),
        quartiers=_names(page, Quartier, rollup.by_quartier),
        measures=MEASURE_LABELS,
        cpo_target=CPO_TARGET,
        chart=money_chart(rollup, f"{title} : prévu, voté, versé et justifié"),
    )


@router.get("/partenaires/{partner_id}/financements")
def partner_money_page(page: PageDep, partner_id: PageId) -> Response:
    partner = page.session.get(Partner, partner_id)
    if partner is None or not scoping.can_read_partner(page.principal, partner):
        raise not_found("Partenaire")
    return _money_page(
        page,
        title=f"Financements — {partner.name}",
        subject="partner",
        back=(f"/partenaires/{partner.id}", partner.name),
        partner_id=partner.id,
    )


@router.get("/quartiers/{code}/financements")
def quartier_money_page(page: PageDep, code: str) -> Response:
    quartier = contract_quartier(page, code)
    return _money_page(
        page,
        title=f"Financements — {quartier.name}",
        subject="quartier",
        back=(f"/quartiers/{quartier.code}", quartier.name),
        quartier_id=quartier.id,
    )


# -- one line: vote, payments, justification ------------------------------------------------


def _readable(page: Page, model: type[Any], row_id: int, may_read, what: str) -> Any:
    """The `model` row of the page's contract with this id that the user may read
    (`may_read(session, principal, row)`), else the 404 page about `what`."""
    row = page.session.get(model, row_id)
    if (
        row is None
        or row.contract_id != page.contract.id
        or not may_read(page.session, page.principal, row)
    ):
        raise not_found(what)
    return row


def _readable_line(page: Page, line_id: int) -> FundingLine:
    return _readable(
        page, FundingLine, line_id, scoping.can_read_funding_line, "Ligne de financement"
    )


def _line_page(page: Page, line: FundingLine, *, errors=None, values=None, status_code=200):
    session = page.session
    payments = service.payments_of(session, line.id)
    return page.render(
        "funding_line.html",
        status_code=status_code,
        line=line,
        commitment=session.get(Commitment, line.commitment_id),
        partner=session.get(Partner, line.partner_id),
        payments=payments,
        paid=sum((p.amount for p in payments), 0),
        can_write=scoping.can_write_funding_line(session, page.principal, line),
        errors=errors or {},
        values=values or {},
        saved=page.request.query_params.get("enregistre") == "1",
    )


@router.get("/financements/lignes/{line_id}")
def line_page(page: PageDep, line_id: PageId) -> Response:
    return _line_page(page, _readable_line(page, line_id))


def _optional_date(raw: str, field: str, errors: dict) -> date | None:
    if not raw.strip():
        return None
    try:
        return parse_french_date(raw)
    except ValueError as exc:
        errors[field] = str(exc)
        return None


def _optional_amount(raw: str) -> str | None:
    return raw.strip() or None


def _write(
    page: Page, line: FundingLine, form: PostedForm, errors: dict, save, **arguments: Any
) -> Response:
    """Call `save(session, line, **arguments)` (a service function, audited as the user) unless
    the input already has `errors`; on those, or on a refused rule, show the line page again
    (422) with the French messages next to their fields and nothing written, else go back to
    the line."""
    if not errors:
        try:
            save(page.session, line, actor_id=page.principal.user_id, **arguments)
        except ApiError as exc:
            page.session.rollback()
            line = page.session.get(FundingLine, line.id)
            errors = {exc.field or "form": exc.detail}
    if errors:
        return _line_page(page, line, errors=errors, values=form.values(), status_code=422)
    return RedirectResponse(
        page.url(f"/financements/lignes/{line.id}", enregistre=1), status_code=303
    )


def _posted_line(page: Page, line_id: int, csrf_token: str | None) -> FundingLine:
    """The line a form posts to, once the form's CSRF token is checked and the user may
    change the line (else the 403 page)."""
    page.check_csrf(csrf_token)
    line = _readable_line(page, line_id)
    if not scoping.can_write_funding_line(page.session, page.principal, line):
        raise PageError(403, "Cette ligne de financement est hors de votre périmètre.")
    return line


class VoteForm(PostedForm):
    """The vote and justification of a line, as typed."""

    amount_voted: Text = ""
    voted_on: Text = ""
    vote_reference: Text = ""
    overrun_reason: Text = ""
    amount_justified: Text = ""
    justified_on: Text = ""


@router.post("/financements/lignes/{line_id}")
def update_line_form(
    page: PageDep,
    line_id: PageId,
    version: Annotated[int, Form(ge=1)],
    form: Posted[VoteForm],
) -> Response:
    line = _posted_line(page, line_id, form.csrf_token)
    errors: dict[str, str] = {}
    fields = {
        **form.values(),
        "amount_voted": _optional_amount(form.amount_voted),
        "voted_on": _optional_date(form.voted_on, "voted_on", errors),
        "amount_justified": _optional_amount(form.amount_justified),
        "justified_on": _optional_date(form.justified_on, "justified_on", errors),
    }
    return _write(page, line, form, errors, service.update_line, version=version, fields=fields)


class PaymentForm(PostedForm):
    """A payment of a line, as typed."""

    paid_on: Text = ""
    amount: Text = ""
    reference: Text = ""


@router.post("/financements/lignes/{line_id}/versements")
def add_payment_form(page: PageDep, line_id: PageId, form: Posted[PaymentForm]) -> Response:
    line = _posted_line(page, line_id, form.csrf_token)
    errors: dict[str, str] = {}
    day = _optional_date(form.paid_on, "paid_on", errors)
    if day is None and "paid_on" not in errors:
        errors["paid_on"] = "Indiquez la date du versement."
    if not form.amount.strip():
        errors["amount"] = "Indiquez le montant du versement."
    return _write(
        page,
        line,
        form,
        errors,
        service.add_payment,
        paid_on=day,
        amount=form.amount,
        reference=form.reference,
    )


# -- a new line (from the commitment page) ---------------------------------------------------


def _new_line_page(page: Page, commitment: Commitment, *, errors=None, values=None, status=200):
    partner_ids = service.commitment_partner_ids(page.session, commitment)
    if page.principal.role == "partenaire":
        partner_ids &= {page.principal.partner_id}
    partners = page.session.execute(
        select(Partner).where(Partner.id.in_(partner_ids or {0})).order_by(Partner.name)
    ).scalars()
    return page.render(
        "funding_line_new.html",
        status_code=status,
        commitment=commitment,
        partners=list(partners),
        years=range(page.contract.term_start.year, page.contract.term_end.year + 1),
        errors=errors or {},
        values=values or {},
    )


def _commitment_for_new_line(page: Page, commitment_id: int) -> Commitment:
    commitment = _readable(
        page, Commitment, commitment_id, scoping.can_read_commitment, "Engagement"
    )
    if page.principal.role == "copil":
        raise PageError(403, "Votre rôle permet de consulter les financements, pas d'en saisir.")
    return commitment


@router.get("/engagements/{commitment_id}/financements/nouveau")
def new_line_page(page: PageDep, commitment_id: PageId) -> Response:
    return _new_line_page(page, _commitment_for_new_line(page, commitment_id))


class NewLineForm(PostedForm):
    """A new line of a commitment, as typed."""

    partner_id: Annotated[int, PydanticField(ge=1, le=2**31 - 1)]
    year: Annotated[int, PydanticField(ge=2000, le=2100)]
    amount_requested: Text = ""
    beneficiary_name: Text = ""
    beneficiary_siret: Text = ""
    beneficiary_rna: Text = ""
    dauphin_number: Text = ""


@router.post("/engagements/{commitment_id}/financements/nouveau")
def create_line_form(page: PageDep, commitment_id: PageId, form: Posted[NewLineForm]) -> Response:
    page.check_csrf(form.csrf_token)
    commitment = _commitment_for_new_line(page, commitment_id)
    values = form.values()
    if not scoping.can_create_funding_line(
        page.session, page.principal, commitment, form.partner_id
    ):
        raise PageError(403, "Vous ne pouvez pas saisir les financements de ce partenaire.")
    try:
        line = service.create_line(
            page.session,
            commitment,
            fields={**values, "amount_requested": form.amount_requested.strip() or "0"},
            actor_id=page.principal.user_id,
        )
    except ApiError as exc:
        page.session.rollback()
        commitment = page.session.get(Commitment, commitment_id)
        return _new_line_page(
            page, commitment, errors={exc.field or "form": exc.detail}, values=values, status=422
        )
    return RedirectResponse(
        page.url(f"/financements/lignes/{line.id}", enregistre=1), status_code=303
    )
