"""« À valider »: the figures the user may validate, with validate / return actions (htmx,
CSRF), and their own figures returned for correction. The rules: `suivi.indicators.review`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import select

from suivi.auth.models import User
from suivi.errors import ApiError
from suivi.indicators import review
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.web.common import CsrfField
from suivi.web.common import Page
from suivi.web.common import PageDep
from suivi.web.common import PageError
from suivi.web.common import PageId
from suivi.web.common import Posted
from suivi.web.common import PostedForm
from suivi.web.common import is_htmx
from suivi.web.common import not_found

router = APIRouter(include_in_schema=False)
LIMIT = 200


def _rows(page: Page, query) -> list[tuple[Measurement, Indicator, str]]:
    """(figure, indicator, author's name) of this contract, oldest entry first."""
    query = (
        query.add_columns(Indicator, User.full_name)
        .outerjoin(User, User.id == Measurement.author_id)
        .where(Indicator.contract_id == page.contract.id)
        .order_by(Measurement.entered_at, Measurement.id)
        .limit(LIMIT)
    )
    return [tuple(row) for row in page.session.execute(query)]


@router.get("/a-valider")
def review_page(page: PageDep) -> Response:
    pending = _rows(page, review.to_validate(page.principal))
    returned = _rows(
        page,
        select(Measurement)
        .join(Indicator, Indicator.id == Measurement.indicator_id)
        .where(
            Measurement.author_id == page.principal.user_id,
            Measurement.superseded_by_id.is_(None),
            Measurement.status == review.RETURNED,
        ),
    )
    return page.render("review.html", pending=pending, returned=returned)


def _act(page: Page, measurement_id: int, csrf_token: str | None, action) -> Response:
    """Check the form, find the figure of this contract, run `action` on it; answer with its
    refreshed row (htmx) or back to the list."""
    page.check_csrf(csrf_token)
    session = page.session
    measurement = session.get(Measurement, measurement_id)
    indicator = session.get(Indicator, measurement.indicator_id) if measurement else None
    if indicator is None or indicator.contract_id != page.contract.id:
        raise not_found("Mesure")
    error = ""
    try:
        action(measurement)
    except ApiError as exc:
        session.rollback()
        if exc.status_code == 404:
            raise not_found("Mesure") from None
        if not is_htmx(page.request):
            raise PageError(exc.status_code, exc.detail) from None
        error = exc.detail
        session.refresh(measurement)
    if not is_htmx(page.request):
        return RedirectResponse(page.url("/a-valider"), status_code=303)
    author = session.get(User, measurement.author_id) if measurement.author_id else None
    return page.render(
        "_review_row.html",
        status_code=422 if error else 200,
        m=measurement,
        ind=indicator,
        author=author.full_name if author else "",
        error=error,
        done=not error,
    )


@router.post("/a-valider/{measurement_id}/valider")
def validate(page: PageDep, measurement_id: PageId, csrf_token: CsrfField = None) -> Response:
    return _act(
        page,
        measurement_id,
        csrf_token,
        lambda m: review.validate_measurement(page.session, page.principal, m),
    )


class ReturnForm(PostedForm):
    """Why a figure goes back to its author, as typed."""

    reason: Annotated[str, Field(max_length=600)] = ""


@router.post("/a-valider/{measurement_id}/renvoyer")
def return_figure(page: PageDep, measurement_id: PageId, form: Posted[ReturnForm]) -> Response:
    return _act(
        page,
        measurement_id,
        form.csrf_token,
        lambda m: review.return_measurement(page.session, page.principal, m, reason=form.reason),
    )
