"""Figures the committee can rely on (issue #18), through the API: submit → return → correct →
validate, who may validate, evaluation only from validated figures, and the data cut-off."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import select

from suivi import clock
from suivi.audit.models import AuditEvent
from tests.support.review import audit_rows
from tests.support.review import autumn_copil
from tests.support.review import france_travail_indicators
from tests.support.review import measurement
from tests.support.review import unreadable_by_partner


@pytest.fixture(autouse=True)
def _demo_day():
    # The demo's day: entries are never dated after the real today.
    with clock.frozen_at(datetime(2026, 11, 15, 10, tzinfo=UTC)):
        yield


def _evaluation(api, indicator_id):
    response = api.get("copil", f"/api/indicators/{indicator_id}/evaluation?as_of=2026-11-15")
    assert response.status_code == 200, response.text
    return response.json()


def _enter(api, role, indicator_id, day, value):
    response = api.post(
        role,
        f"/api/indicators/{indicator_id}/measurements",
        json={"measured_on": day, "value": value},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_submit_return_correct_validate(api):
    indicator_id = france_travail_indicators(api.db)[0]
    before = _evaluation(api, indicator_id)
    entered = _enter(api, "admin", indicator_id, "2026-11-05", 987654)
    assert entered["status"] == "submitted"
    assert entered["validated_by_id"] is None and entered["return_reason"] == ""
    # Submitted: it does not count.
    assert _evaluation(api, indicator_id) == before
    pending = api.get("partenaire", "/api/measurements?status=submitted&size=100").json()
    assert entered["id"] in {item["id"] for item in pending["items"]}

    no_reason = api.post("partenaire", f"/api/measurements/{entered['id']}/return", json={})
    assert no_reason.status_code == 422
    returned = api.post(
        "partenaire",
        f"/api/measurements/{entered['id']}/return",
        json={"reason": "Périmètre à vérifier"},
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    assert returned.json()["return_reason"] == "Périmètre à vérifier"
    assert _evaluation(api, indicator_id) == before
    # A returned figure waits for its author: it cannot be validated as it is.
    again = api.post("partenaire", f"/api/measurements/{entered['id']}/validate")
    assert again.status_code == 409

    corrected = api.post(
        "admin",
        f"/api/indicators/{indicator_id}/measurements/{entered['id']}/correction",
        json={"value": 987655, "reason": "périmètre QPV seul"},
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["status"] == "submitted"
    assert _evaluation(api, indicator_id) == before

    validated = api.post("partenaire", f"/api/measurements/{corrected.json()['id']}/validate")
    assert validated.status_code == 200, validated.text
    body = validated.json()
    assert body["status"] == "validated"
    assert body["validated_by_id"] == api.user_ids["partenaire"]
    assert body["validated_at"] is not None
    after = _evaluation(api, indicator_id)
    assert after != before
    # Its latest value now (cumulative or not, the actual moves by the figure).
    assert after["measured_on"] == "2026-11-05"
    assert after["actual"] >= 987655
    assert api.post("partenaire", f"/api/measurements/{body['id']}/validate").status_code == 409
    with api.db.session(write=False) as session:
        changes = session.execute(
            select(AuditEvent.after).where(
                AuditEvent.entity == "measurement",
                AuditEvent.entity_id.in_([str(entered["id"]), str(body["id"])]),
                AuditEvent.action == "update",
            )
        ).scalars()
        statuses = {change.get("status") for change in changes}
    assert {"returned", "validated"} <= statuses


def test_who_may_validate(api):
    indicator_id = france_travail_indicators(api.db)[1]
    own = _enter(api, "partenaire", indicator_id, "2026-11-05", 12)
    refused = api.post("partenaire", f"/api/measurements/{own['id']}/validate")
    assert refused.status_code == 403
    assert "propre saisie" in refused.json()["detail"]
    # The committee never validates; a project manager does not validate France Travail.
    assert api.post("copil", f"/api/measurements/{own['id']}/validate").status_code == 403
    chef = api.post("chef_de_projet", f"/api/measurements/{own['id']}/validate")
    assert chef.status_code == 403
    assert "France Travail" in chef.json()["detail"]
    assert measurement(api.db, own["id"]).status == "submitted"
    # Outside what the validator may read: it does not exist for them.
    other = unreadable_by_partner(api.db)
    figure = _enter(api, "admin", other, "2026-11-05", 3)
    assert api.post("partenaire", f"/api/measurements/{figure['id']}/validate").status_code == 404
    assert (
        api.post(
            "partenaire", f"/api/measurements/{figure['id']}/return", json={"reason": "non"}
        ).status_code
        == 404
    )
    # The list is scoped: the validator sees France Travail's pending figures only.
    listed = api.get("partenaire", "/api/measurements?status=submitted&size=100").json()
    ids = {item["id"] for item in listed["items"]}
    assert own["id"] not in ids and figure["id"] not in ids
    assert listed["total"] >= 3  # the demo's pending figures
    assert api.get("copil", "/api/measurements?status=submitted").json()["total"] == 0
    returned = api.get("partenaire", "/api/measurements?status=returned").json()
    assert returned["total"] == 2
    assert all(item["return_reason"] for item in returned["items"])


def test_lock_freezes_figures_dated_up_to_the_cutoff(api):
    first, second = france_travail_indicators(api.db)[2:4]
    meeting = autumn_copil(api.db)
    assert meeting.data_cutoff.isoformat() == "2026-10-31" and not meeting.locked
    early = _enter(api, "admin", first, "2026-10-15", 40)
    lock, unlock = f"/api/meetings/{meeting.id}/lock", f"/api/meetings/{meeting.id}/unlock"
    cutoff = {"data_cutoff": "2026-10-31"}
    assert api.post("chef_de_projet", lock, json=cutoff).status_code == 403
    locked = api.post("admin", lock, json=cutoff)
    assert locked.status_code == 200, locked.text
    assert locked.json()["locked"] is True

    def refused(response):
        assert response.status_code == 409, response.text
        detail = response.json()["detail"]
        assert "Comité de pilotage 2026" in detail and "31 octobre 2026" in detail
        return detail

    refused(
        api.post(
            "admin",
            f"/api/indicators/{second}/measurements",
            json={"measured_on": "2026-10-31", "value": 1},
        )
    )
    refused(
        api.post(
            "admin",
            f"/api/indicators/{first}/measurements/{early['id']}/correction",
            json={"value": 41, "reason": "erreur"},
        )
    )
    refused(api.post("partenaire", f"/api/measurements/{early['id']}/validate"))
    refused(api.post("partenaire", f"/api/measurements/{early['id']}/return", json={"reason": "x"}))
    # After the cut-off, figures go on.
    assert _enter(api, "admin", second, "2026-11-01", 2)["status"] == "submitted"
    assert api.post("admin", unlock, json={}).status_code == 422
    assert api.post("chef_de_projet", unlock, json={"reason": "x"}).status_code == 403
    reopened = api.post("admin", unlock, json={"reason": "Chiffres CAF tardifs"})
    assert reopened.status_code == 200 and reopened.json()["locked"] is False
    audit = [row.after for row in audit_rows(api.db, "meeting", meeting.id)]
    assert any(a.get("unlock_reason") == "Chiffres CAF tardifs" for a in audit)
    assert any(a.get("locked") is True for a in audit)
    assert api.post("partenaire", f"/api/measurements/{early['id']}/validate").status_code == 200


def test_without_required_validation_a_figure_counts_at_once(demo_db):
    from fastapi.testclient import TestClient

    from suivi.app import create_app
    from tests.support.api_clients import ROLES
    from tests.support.api_clients import login

    settings = demo_db.settings.model_copy(deep=True)
    settings.validation.required = False
    client = TestClient(create_app(settings))
    headers = {"Authorization": f"Bearer {login(client, ROLES['partenaire'])}"}
    indicator_id = france_travail_indicators(demo_db)[0]
    before = client.get(
        f"/api/indicators/{indicator_id}/evaluation?as_of=2026-11-15", headers=headers
    ).json()
    entered = client.post(
        f"/api/indicators/{indicator_id}/measurements",
        json={"measured_on": "2026-11-05", "value": 4321},
        headers=headers,
    ).json()
    assert entered["status"] == "validated"
    assert entered["validated_by_id"] == entered["author_id"]
    after = client.get(
        f"/api/indicators/{indicator_id}/evaluation?as_of=2026-11-15", headers=headers
    ).json()
    assert after["measured_on"] == "2026-11-05" and after != before


def test_admin_names_the_validators_of_a_partner(api):
    partner = api.get("partenaire", "/api/auth/me").json()
    france_travail = partner["partner_id"]
    chef_id = api.user_ids["chef_de_projet"]
    chef_before = api.get("admin", f"/api/users/{chef_id}").json()
    assert chef_before["validate_partner_ids"] == []
    patched = api.client.patch(
        f"/api/users/{chef_id}",
        json={"validate_partner_ids": [france_travail]},
        headers=api.headers("admin"),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["validate_partner_ids"] == [france_travail]
    # A validator row is not a scope: the project manager's scope is unchanged.
    assert patched.json()["scope_quartier_ids"] == chef_before["scope_quartier_ids"]
    assert patched.json()["scope_partner_ids"] == chef_before["scope_partner_ids"]
    figure = _enter(api, "admin", france_travail_indicators(api.db)[0], "2026-11-05", 8)
    validated = api.post("chef_de_projet", f"/api/measurements/{figure['id']}/validate")
    assert validated.status_code == 200, validated.text
    # Patching the partner account keeps it a validator; the committee cannot become one.
    partner_id = api.user_ids["partenaire"]
    renamed = api.client.patch(
        f"/api/users/{partner_id}", json={"full_name": "Paul P."}, headers=api.headers("admin")
    )
    assert renamed.json()["validate_partner_ids"] == [france_travail]
    refused = api.client.patch(
        f"/api/users/{api.user_ids['copil']}",
        json={"validate_partner_ids": [france_travail]},
        headers=api.headers("admin"),
    )
    assert refused.status_code == 422


def test_project_manager_validates_the_call_and_communes_figures(api):
    from tests.support.review import local_indicator_of

    indicator_id = local_indicator_of(api.db)
    figure = _enter(api, "admin", indicator_id, "2026-11-05", 6)
    # Not France Travail's: its validator may not; the quartier's project manager may.
    assert api.post("partenaire", f"/api/measurements/{figure['id']}/validate").status_code in (
        403,
        404,
    )
    validated = api.post("chef_de_projet", f"/api/measurements/{figure['id']}/validate")
    assert validated.status_code == 200, validated.text
    assert validated.json()["validated_by_id"] == api.user_ids["chef_de_projet"]
