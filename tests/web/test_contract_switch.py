"""Users of several contracts: the header's selector stores the choice in a cookie, the pages
follow it; a contract the user does not belong to is refused, and a forged cookie ignored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.web.common import CONTRACT_COOKIE
from tests.support.contracts import add_contract
from tests.support.web_clients import AS_OF

DEMO_NAME = "Engagements Quartiers 2030"


def _contract(session, code: str, name: str) -> int:
    return add_contract(session, code, name, territory="Communauté urbaine d'ailleurs").id


@pytest.fixture
def contracts(web) -> dict[str, int]:
    """A second contract the admin belongs to, and a third one they do not."""
    with web.db.session() as session:
        admin_id = session.scalar(select(User.id).where(User.role == "admin"))
        second = _contract(session, "SECOND", "Contrat des Hauts-de-Colline")
        third = _contract(session, "TROISIEME", "Contrat interdit")
        session.add(UserContract(user_id=admin_id, contract_id=second))
    return {"second": second, "third": third}


def test_selector_switches_the_contract_shown(web, contracts):
    client = web["admin"]
    page = client.get(f"/contrat?as_of={AS_OF}").text
    assert DEMO_NAME in page.split("<main", 1)[1]
    assert 'action="/contrat/choisir"' in page
    assert '<label for="contrat-choisi">Contrat</label>' in page
    assert f'<option value="{contracts["second"]}">Contrat des Hauts-de-Colline</option>' in page
    assert "Contrat interdit" not in page

    response = client.post("/contrat/choisir", {"contrat": contracts["second"], "as_of": AS_OF})
    assert response.status_code == 303
    assert response.headers["location"] == f"/contrat?contrat_choisi=1&as_of={AS_OF}"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{CONTRACT_COOKIE}={contracts['second']};")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie

    switched = client.get(response.headers["location"]).text
    main = switched.split("<main", 1)[1]
    assert "<h1>Contrat des Hauts-de-Colline</h1>" in main
    assert "Contrat affiché : Contrat des Hauts-de-Colline." in main
    assert DEMO_NAME not in main
    # Objects of the first contract are out of this contract's pages.
    assert client.get(f"/engagements/{web.ids['in_commitment']}").status_code == 404
    assert (
        client.get(f"/import?as_of={AS_OF}").text.count(f"contract_id={contracts['second']}") == 2
    )

    back = client.post("/contrat/choisir", {"contrat": "1"})
    assert back.status_code == 303
    assert DEMO_NAME in client.get(f"/contrat?as_of={AS_OF}").text.split("<main", 1)[1]


def test_a_contract_of_someone_else_is_refused_and_a_forged_cookie_ignored(web, contracts):
    client = web["admin"]
    refused = client.post("/contrat/choisir", {"contrat": contracts["third"]})
    assert refused.status_code == 404
    assert "set-cookie" not in refused.headers
    assert client.post("/contrat/choisir", {"contrat": "abc"}).status_code == 404
    assert (
        client.post("/contrat/choisir", {"contrat": contracts["second"]}, csrf=False).status_code
        == 403
    )

    client.client.cookies.set(CONTRACT_COOKIE, str(contracts["third"]))
    page = client.get(f"/contrat?as_of={AS_OF}").text.split("<main", 1)[1]
    assert "Contrat interdit" not in page
    assert DEMO_NAME in page


def test_users_of_one_contract_have_no_selector(web, contracts):
    client = web["chef_de_projet"]
    page = client.get(f"/contrat?as_of={AS_OF}").text
    assert 'action="/contrat/choisir"' not in page
    # The cookie of a contract they do not belong to changes nothing.
    client.client.cookies.set(CONTRACT_COOKIE, str(contracts["second"]))
    assert DEMO_NAME in client.get(f"/contrat?as_of={AS_OF}").text.split("<main", 1)[1]
    assert client.post("/contrat/choisir", {"contrat": contracts["second"]}).status_code == 404
