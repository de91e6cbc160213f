"""« Mes mises à jour » (home), the indicator page, and the update form (htmx)."""

from __future__ import annotations

from typing import Annotated
from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import select

from suivi import clock
from suivi.contract.models import Contract
from suivi.errors import ApiError
from suivi.errors import Invalid
from suivi.formatting import format_date
from suivi.governance.service import target_history
from suivi.indicators import access
from suivi.indicators import review
from suivi.indicators import service
from suivi.indicators.evaluation import evaluate_summaries
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.sheet import sheet_of
from suivi.labels import FRESHNESS_LABELS
from suivi.validation import InputError
from suivi.validation import clean_number
from suivi.validation import clean_text
from suivi.validation import clean_url
from suivi.web.cards import build_cards
from suivi.web.cards import due_order
from suivi.web.cards import loggable_indicator_ids
from suivi.web.cards import search_texts
from suivi.web.common import MAX_TEXT
from suivi.web.common import PAGE_SIZE
from suivi.web.common import Page
from suivi.web.common import PageDep
from suivi.web.common import PageId
from suivi.web.common import Pagination
from suivi.web.common import Posted
from suivi.web.common import PostedForm
from suivi.web.common import is_htmx
from suivi.web.common import not_found
from suivi.web.common import page_errors
from suivi.web.common import page_number
from suivi.web.common import parse_french_date
from suivi.web.common import parse_french_number

router = APIRouter(include_in_schema=False)
MAX_REASON = 500

# French query values of the home page's filter → freshness code and its label.
FRESHNESS_FILTERS = {
    slug: (code, FRESHNESS_LABELS[code])
    for slug, code in (("retard", "overdue"), ("bientot", "due_soon"), ("ajour", "up_to_date"))
}


@router.get("/")
def home(page: PageDep) -> Response:
    if not page.can_edit:
        # The committee reads; its home is the contract overview.
        return RedirectResponse(page.url("/contrat"), status_code=303)
    request = page.request
    query = (request.query_params.get("q") or "").strip()[:100]
    state = request.query_params.get("etat") or ""
    ids = loggable_indicator_ids(page.session, page.principal, page.contract.id)
    # Sort and filter every indicator from SQL summaries (cheap), then build the full cards
    # (measurements, charts, forms) for the displayed page only.
    verdicts = list(
        evaluate_summaries(
            page.session, as_of=page.as_of, contract_id=page.contract.id, indicator_ids=ids
        ).values()
    )
    counts = {
        key: sum(1 for v in verdicts if v.evaluation and v.evaluation.freshness == code)
        for key, (code, _) in FRESHNESS_FILTERS.items()
    }
    if query:
        needle = query.casefold()
        texts = search_texts(page.session, [v.id for v in verdicts])
        verdicts = [v for v in verdicts if needle in texts.get(v.id, "")]
    if state in FRESHNESS_FILTERS:
        wanted = FRESHNESS_FILTERS[state][0]
        verdicts = [v for v in verdicts if v.evaluation and v.evaluation.freshness == wanted]
    verdicts.sort(key=lambda v: due_order(v.evaluation, v.code))
    pagination = Pagination(page_number(request), PAGE_SIZE, len(verdicts))
    shown = [v.id for v in pagination.slice(verdicts)]
    built = {
        card.indicator.id: card
        for card in build_cards(
            page.session, page.principal, page.contract.id, page.as_of, shown, loggable=ids
        )
    }
    cards = [built[indicator_id] for indicator_id in shown if indicator_id in built]
    return page.render(
        "home.html",
        cards=cards,
        pagination=pagination,
        counts=counts,
        query=query,
        state=state,
        filters=FRESHNESS_FILTERS,
        review=review.review_counts(page.session, page.principal, page.contract.id),
    )


def _readable_indicator(page: Page, indicator_id: int) -> Indicator:
    """An indicator of the page's contract the user may read (else the 404 page)."""
    return _page_access(access.get_readable, page, indicator_id)


def _measurable_indicator(page: Page, indicator_id: int) -> Indicator:
    """... on which they may also log measurements (else the 403 page)."""
    return _page_access(access.get_measurable, page, indicator_id)


def _page_access(get, page: Page, indicator_id: int) -> Indicator:
    with page_errors():
        return get(page.session, page.principal, indicator_id, contract_id=page.contract.id)


def _card(page: Page, indicator: Indicator):
    cards = build_cards(
        page.session,
        page.principal,
        page.contract.id,
        page.as_of,
        [indicator.id],
        include_inactive=True,
    )
    if not cards:
        raise not_found("Indicateur")
    return cards[0]


@router.get("/indicateurs/{indicator_id}")
def indicator_page(page: PageDep, indicator_id: PageId) -> Response:
    indicator = _readable_indicator(page, indicator_id)
    card = _card(page, indicator)
    history = (
        page.session.execute(
            select(Measurement)
            .where(Measurement.indicator_id == indicator.id)
            .order_by(Measurement.measured_on.desc(), Measurement.id.desc())
        )
        .scalars()
        .all()
    )
    return page.render(
        "indicator.html",
        card=card,
        history=history,
        sheet=sheet_of(page.session, indicator),
        targets=target_history(page.session, indicator.id),
    )


def _validate(page: Page, indicator: Indicator, form: dict[str, str]) -> tuple[dict, dict]:
    """Parse the form; returns (clean values, French errors per field). The same domain as
    the API and the import (`suivi.validation`); the date is checked against the real today,
    never against the page's `as_of`."""
    errors: dict[str, str] = {}
    clean: dict = {}
    try:
        clean["value"] = clean_number(parse_french_number(form["value"]))
    except ValueError as exc:
        errors["value"] = str(exc)
    try:
        day = parse_french_date(form["measured_on"])
        clean["measured_on"] = day
        # The service's own rules and words (as for the API and the import).
        contract = page.session.get(Contract, indicator.contract_id)
        service.check_measured_on(
            contract, indicator.baseline_date, day, clock.today(page.settings.tz)
        )
    except ValueError as exc:
        errors["measured_on"] = str(exc)
    except Invalid as exc:
        errors["measured_on"] = exc.detail
    for key, check in (
        ("evidence_url", clean_url),
        ("comment", lambda text: clean_text(text, MAX_TEXT, "Le commentaire").strip()),
        ("reason", lambda text: clean_text(text, MAX_REASON, "Le motif").strip()),
    ):
        try:
            clean[key] = check(form[key])
        except InputError as exc:
            errors[key] = str(exc)
    return clean, errors


class MeasurementForm(PostedForm):
    """A figure of an indicator (or its correction), as typed."""

    value: Annotated[str, Field(max_length=100)] = ""
    measured_on: Annotated[str, Field(max_length=20)] = ""
    comment: Annotated[str, Field(max_length=MAX_TEXT + 100)] = ""
    evidence_url: Annotated[str, Field(max_length=600)] = ""
    reason: Annotated[str, Field(max_length=600)] = ""


@router.post("/indicateurs/{indicator_id}/mesures")
def log_measurement(page: PageDep, indicator_id: PageId, form: Posted[MeasurementForm]) -> Response:
    page.check_csrf(form.csrf_token)
    indicator = _measurable_indicator(page, indicator_id)
    values = form.values()
    clean, errors = _validate(page, indicator, values)
    if not errors:
        errors = _save(page, indicator, clean)
    card = _card(page, indicator)
    card.errors = errors
    card.values = values if errors else {}
    card.saved = not errors
    status_code = 422 if errors else 200
    if is_htmx(page.request):
        return page.render("_card.html", status_code=status_code, card=card, standalone=False)
    if not errors:
        return RedirectResponse(
            page.url(f"/indicateurs/{indicator.id}", enregistre=1), status_code=303
        )
    return page.render(
        "indicator.html",
        status_code=status_code,
        card=card,
        history=[],
        sheet=sheet_of(page.session, indicator),
    )


def _save(page: Page, indicator: Indicator, clean: dict) -> dict[str, str]:
    """Create the measurement, or correct the one already recorded at that date (a reason is
    then required). Returns French errors per field (empty on success)."""
    session = page.session
    contract = session.get(Contract, indicator.contract_id)
    existing = (
        session.execute(
            select(Measurement)
            .where(
                Measurement.indicator_id == indicator.id,
                Measurement.measured_on == clean["measured_on"],
                Measurement.superseded_by_id.is_(None),
            )
            .order_by(Measurement.id.desc())
        )
        .scalars()
        .first()
    )
    if existing is not None and not clean["reason"]:
        return {
            "reason": "Une valeur est déjà enregistrée au "
            f"{format_date(existing.measured_on)} : indiquez le motif de la correction."
        }
    common: dict[str, Any] = {
        "measured_on": clean["measured_on"],
        "value": clean["value"],
        "actor_id": page.principal.user_id,
        "today": clock.today(page.settings.tz),
        "validation_required": page.settings.validation.required,
    }
    try:
        if existing is None:
            service.create_measurement(
                session,
                contract,
                indicator,
                comment=clean["comment"],
                evidence_url=clean["evidence_url"],
                **common,
            )
        else:
            service.correct_measurement(
                session,
                contract,
                indicator,
                existing,
                reason=clean["reason"],
                comment=clean["comment"] or None,
                evidence_url=clean["evidence_url"] or None,
                **common,
            )
    except ApiError as exc:
        # Nothing is saved (a 422 is rolled back at the boundary), but a refused insert can
        # leave the transaction unusable (PostgreSQL after a unique violation): start afresh
        # so that the card can be read back.
        session.rollback()
        known = ("measured_on", "value", "reason", "comment", "evidence_url")
        field = exc.field if exc.field in known else "value"
        return {field: exc.detail}
    return {}
