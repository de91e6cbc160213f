"""The request's unit of work commits only a success: a page or API call that writes and then
answers 4xx (a refused form re-rendered, a JSON error) leaves nothing written; 2xx and
redirects are saved before the client sees them (issue 16, « commit only on success »)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi import Form
from fastapi import Response
from fastapi.responses import HTMLResponse
from fastapi.responses import JSONResponse
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy import select

from suivi.app import create_app
from suivi.audit.models import AuditEvent
from suivi.audit.service import record
from suivi.auth.deps import CurrentPrincipal
from suivi.deps import SessionDep
from suivi.deps import UnitOfWorkRoute
from suivi.errors import Invalid


def _count(db, label: str) -> int:
    with db.session(write=False) as session:
        return session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.actor_label == label)
        ).scalar_one()


@pytest.fixture
def client(empty_db):
    app = create_app(empty_db.settings)

    def write(session, label: str) -> None:
        record(session, action="create", entity="probe", entity_id=1, actor_label=label)

    @app.post("/essai/formulaire")
    def form_page(session: SessionDep, label: str = Form(), valid: bool = Form()):
        """A form handler that writes, then finds the input invalid and re-renders (422)."""
        write(session, label)
        if not valid:
            return HTMLResponse("<p>Valeur invalide.</p>", status_code=422)
        return RedirectResponse("/essai", status_code=303)

    @app.post("/essai/api/{label}")
    def api_call(session: SessionDep, label: str, status: int):
        write(session, label)
        if status >= 400:
            return JSONResponse({"detail": "Refusé."}, status_code=status)
        return {"ok": True}

    @app.post("/essai/leve/{label}")
    def raising(session: SessionDep, label: str):
        write(session, label)
        raise Invalid("label", "Libellé refusé.")

    # The API's routers commit a success in the endpoint's own thread: same rule.
    committing = APIRouter(route_class=UnitOfWorkRoute)

    @committing.post("/essai/api-routeur/{label}")
    def api_router_call(session: SessionDep, label: str, status: int):
        write(session, label)
        return Response(status_code=status)

    app.include_router(committing)
    return TestClient(app)


def test_a_form_that_wrote_then_failed_validation_leaves_nothing_written(client, empty_db):
    refused = client.post("/essai/formulaire", data={"label": "refused-form", "valid": "false"})
    assert refused.status_code == 422
    assert _count(empty_db, "refused-form") == 0

    saved = client.post(
        "/essai/formulaire",
        data={"label": "saved-form", "valid": "true"},
        follow_redirects=False,
    )
    assert saved.status_code == 303  # a redirect after a successful form is a success
    assert _count(empty_db, "saved-form") == 1


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 500])
def test_an_api_error_response_leaves_nothing_written(client, empty_db, status):
    response = client.post(f"/essai/api/refused-{status}", params={"status": status})
    assert response.status_code == status
    assert _count(empty_db, f"refused-{status}") == 0


@pytest.mark.parametrize("status", [200, 201, 204])
def test_a_success_is_saved_before_the_client_sees_it(client, empty_db, status):
    response = client.post(f"/essai/api/saved-{status}", params={"status": status})
    assert response.status_code == 200  # the route's own status; it only picks the branch
    assert _count(empty_db, f"saved-{status}") == 1


def test_a_raised_domain_error_leaves_nothing_written(client, empty_db):
    response = client.post("/essai/leve/raised")
    assert response.status_code == 422
    assert response.json()["detail"] == "Libellé refusé."
    assert _count(empty_db, "raised") == 0


@pytest.mark.parametrize("status", [201, 204, 303, 403, 409, 422])
def test_a_router_committing_in_the_endpoint_saves_only_a_success(client, empty_db, status):
    label = f"router-{status}"
    response = client.post(
        f"/essai/api-routeur/{label}", params={"status": status}, follow_redirects=False
    )
    assert response.status_code == status
    assert _count(empty_db, label) == (1 if status < 400 else 0)


def test_authentication_leaves_the_write_transaction_to_the_route(demo_db):
    """The token (or session) lookup of a writing request reads apart: the request's
    session, whose first query takes SQLite's write lock, is still unused in the route."""
    client = TestClient(create_app(demo_db.settings))
    app = client.app
    router = APIRouter(route_class=UnitOfWorkRoute)

    @router.post("/essai/etat")
    def state(session: SessionDep, principal: CurrentPrincipal):
        return {"in_transaction": session.in_transaction(), "user_id": principal.user_id}

    app.include_router(router)
    answer = client.post(
        "/api/auth/token", data={"username": "chef@example.org", "password": "demo"}
    )
    token = answer.json()["access_token"]
    for _ in range(2):  # the second one is within a minute: no « last used » stamp to write
        response = client.post("/essai/etat", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert response.json()["in_transaction"] is False
        assert response.json()["user_id"] is not None
