"""`POST /contrat/choisir`: the header's contract selector, for users of several contracts.

The choice lives in a cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS); `get_page`
honours it only while the contract is one of the user's, so a forged or stale cookie
falls back to the default contract and never opens another one.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi import Request
from fastapi.responses import RedirectResponse
from fastapi.responses import Response
from pydantic import Field

from suivi.web.common import CONTRACT_COOKIE
from suivi.web.common import PageError
from suivi.web.common import Posted
from suivi.web.common import PostedForm
from suivi.web.common import UserDep
from suivi.web.common import check_csrf

router = APIRouter(include_in_schema=False)

# A year: the choice is a preference, not a credential.
COOKIE_MAX_AGE = 365 * 24 * 3600


class ContractChoiceForm(PostedForm):
    """The header's selector: the contract chosen, and the page's as_of to keep."""

    contrat: Annotated[str, Field(max_length=20)] = ""
    as_of: Annotated[str, Field(max_length=20)] = ""


@router.post("/contrat/choisir")
def choose_contract(
    request: Request, principal: UserDep, form: Posted[ContractChoiceForm]
) -> Response:
    check_csrf(request, form.csrf_token)
    if not form.contrat.isdigit() or int(form.contrat) not in principal.contract_ids:
        raise PageError(404, "Contrat introuvable (ou hors de votre périmètre).")
    query = {"contrat_choisi": "1"}
    with contextlib.suppress(ValueError):  # a bad as_of is dropped, not an error
        query["as_of"] = date.fromisoformat(form.as_of).isoformat() if form.as_of else ""
    # The overview of the chosen contract: the page the user was on may not exist there.
    response = RedirectResponse(
        "/contrat?" + urlencode({k: v for k, v in query.items() if v}), status_code=303
    )
    response.set_cookie(
        CONTRACT_COOKIE,
        str(int(form.contrat)),
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.web.secure_cookies,
        path="/",
    )
    return response
