"""« Financements » pages: the money of a partner and of a quartier (planned, voted, paid,
justified; a bar chart; overdue financial reports), a financial line with its vote and
payment forms, and a new line from the commitment page. Thin: every rule is in
`suivi.finance.rules` (through `suivi.finance.service`), every sum in
`suivi.finance.rollups`, who sees what in `suivi.scoping`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from suivi import scoping
from suivi.charts import bar_chart
from suivi.commitments.models import Commitment
from suivi.contract.models import Partner, Priority, Quartier, contract_quartier_ids
from suivi.errors import ApiError
from suivi.finance import service
from suivi.finance.models import FundingLine
from suivi.finance.rollups import CPO_TARGET, FundingRollup, funding_rollup
from suivi.web.common import (
    CSRF_FORM_FIELD,
    Page,
    PageDep,
    PageError,
    PageId,
    check_csrf,
    not_found,
    parse_french_date,
)

router = APIRouter(include_in_schema=False)
MEASURE_LABELS = {
    "planned": "Prévu",
    "voted": "Voté",
    "paid": "Versé",
    "justified": "Justifié",
}
Field = Annotated[str, Form(max_length=2100)]


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
    quartier = page.session.execute(
        select(Quartier).where(
            Quartier.code == code, Quartier.id.in_(contract_quartier_ids(page.contract.id))
        )
    ).scalar_one_or_none()
    if quartier is None:
        raise not_found("Quartier")
    return _money_page(
        page,
        title=f"Financements — {quartier.name}",
        subject="quartier",
        back=(f"/quartiers/{quartier.code}", quartier.name),
        quartier_id=quartier.id,
    )


# -- one line: vote, payments, justification ------------------------------------------------


def _readable_line(page: Page, line_id: int) -> FundingLine:
    line = page.session.get(FundingLine, line_id)
    if (
        line is None
        or line.contract_id != page.contract.id
        or not scoping.can_read_funding_line(page.session, page.principal, line)
    ):
        raise not_found("Ligne de financement")
    return line


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


def _write(page: Page, line: FundingLine, action, form: dict) -> Response:
    """Run `action` (a service call); on a refused rule, show the form again with the French
    message next to its field and nothing written."""
    try:
        action()
    except ApiError as exc:
        page.session.rollback()
        line = page.session.get(FundingLine, line.id)
        return _line_page(
            page, line, errors={exc.field or "form": exc.detail}, values=form, status_code=422
        )
    return RedirectResponse(
        page.url(f"/financements/lignes/{line.id}", enregistre=1), status_code=303
    )


def _writable_line(page: Page, line_id: int) -> FundingLine:
    line = _readable_line(page, line_id)
    if not scoping.can_write_funding_line(page.session, page.principal, line):
        raise PageError(403, "Cette ligne de financement est hors de votre périmètre.")
    return line


@router.post("/financements/lignes/{line_id}")
def update_line_form(
    page: PageDep,
    request: Request,
    line_id: PageId,
    version: Annotated[int, Form(ge=1)],
    amount_voted: Field = "",
    voted_on: Field = "",
    vote_reference: Field = "",
    overrun_reason: Field = "",
    amount_justified: Field = "",
    justified_on: Field = "",
    csrf_token: Annotated[str | None, Form(alias=CSRF_FORM_FIELD)] = None,
) -> Response:
    check_csrf(request, csrf_token)
    line = _writable_line(page, line_id)
    form = {
        "amount_voted": amount_voted,
        "voted_on": voted_on,
        "vote_reference": vote_reference,
        "overrun_reason": overrun_reason,
        "amount_justified": amount_justified,
        "justified_on": justified_on,
    }
    errors: dict[str, str] = {}
    fields = {
        "amount_voted": _optional_amount(amount_voted),
        "voted_on": _optional_date(voted_on, "voted_on", errors),
        "vote_reference": vote_reference,
        "overrun_reason": overrun_reason,
        "amount_justified": _optional_amount(amount_justified),
        "justified_on": _optional_date(justified_on, "justified_on", errors),
    }
    if errors:
        return _line_page(page, line, errors=errors, values=form, status_code=422)
    return _write(
        page,
        line,
        lambda: service.update_line(
            page.session, line, version=version, fields=fields, actor_id=page.principal.user_id
        ),
        form,
    )


@router.post("/financements/lignes/{line_id}/versements")
def add_payment_form(
    page: PageDep,
    request: Request,
    line_id: PageId,
    paid_on: Field = "",
    amount: Field = "",
    reference: Field = "",
    csrf_token: Annotated[str | None, Form(alias=CSRF_FORM_FIELD)] = None,
) -> Response:
    check_csrf(request, csrf_token)
    line = _writable_line(page, line_id)
    form = {"paid_on": paid_on, "amount": amount, "reference": reference}
    errors: dict[str, str] = {}
    day = _optional_date(paid_on, "paid_on", errors)
    if day is None and "paid_on" not in errors:
        errors["paid_on"] = "Indiquez la date du versement."
    if not amount.strip():
        errors["amount"] = "Indiquez le montant du versement."
    if errors:
        return _line_page(page, line, errors=errors, values=form, status_code=422)
    return _write(
        page,
        line,
        lambda: service.add_payment(
            page.session,
            line,
            paid_on=day,
            amount=amount,
            reference=reference,
            actor_id=page.principal.user_id,
        ),
        form,
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
    commitment = page.session.get(Commitment, commitment_id)
    if (
        commitment is None
        or commitment.contract_id != page.contract.id
        or not scoping.can_read_commitment(page.session, page.principal, commitment)
    ):
        raise not_found("Engagement")
    if page.principal.role == "copil":
        raise PageError(403, "Votre rôle permet de consulter les financements, pas d'en saisir.")
    return commitment


@router.get("/engagements/{commitment_id}/financements/nouveau")
def new_line_page(page: PageDep, commitment_id: PageId) -> Response:
    return _new_line_page(page, _commitment_for_new_line(page, commitment_id))


@router.post("/engagements/{commitment_id}/financements/nouveau")
def create_line_form(
    page: PageDep,
    request: Request,
    commitment_id: PageId,
    partner_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    year: Annotated[int, Form(ge=2000, le=2100)],
    amount_requested: Field = "",
    beneficiary_name: Field = "",
    beneficiary_siret: Field = "",
    beneficiary_rna: Field = "",
    dauphin_number: Field = "",
    csrf_token: Annotated[str | None, Form(alias=CSRF_FORM_FIELD)] = None,
) -> Response:
    check_csrf(request, csrf_token)
    commitment = _commitment_for_new_line(page, commitment_id)
    form = {
        "partner_id": partner_id,
        "year": year,
        "amount_requested": amount_requested,
        "beneficiary_name": beneficiary_name,
        "beneficiary_siret": beneficiary_siret,
        "beneficiary_rna": beneficiary_rna,
        "dauphin_number": dauphin_number,
    }
    if not scoping.can_create_funding_line(page.session, page.principal, commitment, partner_id):
        raise PageError(403, "Vous ne pouvez pas saisir les financements de ce partenaire.")
    try:
        line = service.create_line(
            page.session,
            commitment,
            fields={**form, "amount_requested": amount_requested.strip() or "0"},
            actor_id=page.principal.user_id,
        )
    except ApiError as exc:
        page.session.rollback()
        commitment = page.session.get(Commitment, commitment_id)
        return _new_line_page(
            page, commitment, errors={exc.field or "form": exc.detail}, values=form, status=422
        )
    return RedirectResponse(
        page.url(f"/financements/lignes/{line.id}", enregistre=1), status_code=303
    )
