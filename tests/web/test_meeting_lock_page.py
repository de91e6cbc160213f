"""Figures the committee can rely on (issue #18), from the meeting page: an admin locks the
data at a cut-off date (French date accepted) and reopens them with a reason; the others see
no form and are refused; a refusal changes nothing."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from suivi import clock
from tests.support.api_clients import ROLES
from tests.support.api_clients import login as api_login
from tests.support.review import audit_rows
from tests.support.review import autumn_copil
from tests.support.review import france_travail_indicators
from tests.support.web_clients import AS_OF

LOCK_FORM = "Arrêter les données"
UNLOCK_FORM = "Rouvrir les données"


@pytest.fixture(autouse=True)
def _demo_day():
    # The demo's day: entries are never dated after the real today.
    with clock.frozen_at(datetime(2026, 11, 15, 10, tzinfo=UTC)):
        yield


def _state(db, meeting_id: int) -> tuple[date | None, bool, int]:
    """The meeting's cut-off, whether it is locked, and how many audit rows it has."""
    meeting = autumn_copil(db)
    assert meeting.id == meeting_id
    return meeting.data_cutoff, meeting.locked, len(audit_rows(db, "meeting", meeting_id))


def _admin_api(web) -> tuple[TestClient, dict[str, str]]:
    """An API client of the same app, and the admin's bearer header."""
    client = TestClient(web.app)
    return client, {"Authorization": f"Bearer {api_login(client, ROLES['admin'])}"}


def test_an_admin_locks_then_reopens_the_data_from_the_meeting_page(web):
    meeting = autumn_copil(web.db)
    page_url = f"/instances/{meeting.id}?as_of={AS_OF}"
    lock_url = f"/instances/{meeting.id}/arret-des-donnees?as_of={AS_OF}"
    unlock_url = f"/instances/{meeting.id}/reouverture?as_of={AS_OF}"
    admin = web["admin"]
    client, admin_api = _admin_api(web)
    admin_id = client.get("/api/auth/me", headers=admin_api).json()["id"]
    before = _state(web.db, meeting.id)
    assert before[1] is False

    page = admin.get(page_url)
    assert page.status_code == 200 and LOCK_FORM in page.text and UNLOCK_FORM not in page.text

    # Refusals write nothing: no CSRF token, a date that is no date, a cut-off after the meeting.
    no_csrf = admin.post(lock_url, {"data_cutoff": "31/10/2026"}, csrf=False, htmx=False)
    assert no_csrf.status_code == 403
    bad = admin.post(lock_url, {"data_cutoff": "31/13/2026"}, htmx=False)
    assert bad.status_code == 422 and "Date invalide : format attendu JJ/MM/AAAA." in bad.text
    empty = admin.post(lock_url, {"data_cutoff": ""}, htmx=False)
    assert empty.status_code == 422 and "Indiquez la date d&#39;arrêt des données." in empty.text
    late = admin.post(lock_url, {"data_cutoff": "31/12/2027"}, htmx=False)
    assert late.status_code == 422 and "doit précéder l&#39;instance" in late.text
    assert _state(web.db, meeting.id) == before

    locked = admin.post(lock_url, {"data_cutoff": "31/10/2026"}, htmx=False)
    assert locked.status_code == 303, locked.text
    assert "donnees=arretees" in locked.headers["location"]
    shown = admin.get(locked.headers["location"]).text
    assert "Données arrêtées et verrouillées." in shown
    assert UNLOCK_FORM in shown and 'id="arret"' not in shown
    cutoff, is_locked, audited = _state(web.db, meeting.id)
    assert (cutoff, is_locked, audited) == (date(2026, 10, 31), True, before[2] + 1)
    last = audit_rows(web.db, "meeting", meeting.id)[-1]
    assert last.after["locked"] is True and last.actor_id == admin_id
    assert client.get(f"/api/meetings/{meeting.id}", headers=admin_api).json()["locked"] is True

    # A figure dated up to the cut-off is now refused.
    indicator_id = france_travail_indicators(web.db)[2]
    frozen = client.post(
        f"/api/indicators/{indicator_id}/measurements",
        json={"measured_on": "2026-10-31", "value": 1},
        headers=admin_api,
    )
    assert frozen.status_code == 409 and "31 octobre 2026" in frozen.json()["detail"]

    # Reopening needs a reason; without one nothing changes.
    unmotivated = admin.post(unlock_url, {"reason": "  "}, htmx=False)
    assert unmotivated.status_code == 422
    assert "La réouverture des données doit être motivée." in unmotivated.text
    assert _state(web.db, meeting.id) == (cutoff, True, audited)

    reopened = admin.post(unlock_url, {"reason": "Chiffres CAF tardifs"}, htmx=False)
    assert reopened.status_code == 303, reopened.text
    assert "Données rouvertes" in admin.get(reopened.headers["location"]).text
    assert _state(web.db, meeting.id) == (cutoff, False, audited + 1)
    last = audit_rows(web.db, "meeting", meeting.id)[-1]
    assert last.after["unlock_reason"] == "Chiffres CAF tardifs"
    assert last.actor_id == admin_id


@pytest.mark.parametrize("role", ["chef_de_projet", "copil", "partenaire"])
def test_the_others_see_no_form_and_are_refused(web, role):
    meeting = autumn_copil(web.db)
    base = f"/instances/{meeting.id}"
    before = _state(web.db, meeting.id)
    user = web[role]
    page = user.get(f"{base}?as_of={AS_OF}")
    assert page.status_code == 200
    assert LOCK_FORM not in page.text and UNLOCK_FORM not in page.text
    locked = user.post(f"{base}/arret-des-donnees", {"data_cutoff": "31/10/2026"}, htmx=False)
    assert locked.status_code in (403, 404)
    assert "Seul un administrateur verrouille ou rouvre" in locked.text
    assert _state(web.db, meeting.id) == before

    # Once an admin has locked it, reopening is refused to them all the same.
    admin = web["admin"]
    admin.post(f"{base}/arret-des-donnees", {"data_cutoff": "2026-10-31"}, htmx=False)
    locked_state = _state(web.db, meeting.id)
    assert locked_state[1] is True
    assert UNLOCK_FORM not in user.get(f"{base}?as_of={AS_OF}").text
    reopened = user.post(f"{base}/reouverture", {"reason": "Je veux corriger"}, htmx=False)
    assert reopened.status_code in (403, 404)
    assert _state(web.db, meeting.id) == locked_state
