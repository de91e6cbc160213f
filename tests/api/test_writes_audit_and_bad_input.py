"""Every write leaves an audit row in its transaction; bad input gets a clear 4xx in the
one error format and writes nothing; measurements are corrected, never deleted; target
revisions keep their history; stale versions and duplicate codes are conflicts."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.indicators.models import Measurement
from suivi.indicators.models import TargetRevision

MODELS = (AuditEvent, Measurement, TargetRevision)


def _counts(api):
    from suivi.commitments.models import Commitment
    from suivi.indicators.models import Indicator
    from suivi.indicators.models import Target

    with api.db.session(write=False) as session:
        return {
            m.__name__: session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (AuditEvent, Measurement, TargetRevision, Commitment, Indicator, Target)
        }


def _audit_since(api, last_id):
    with api.db.session(write=False) as session:
        return list(
            session.execute(
                select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
            ).scalars()
        )


def _last_audit_id(api):
    with api.db.session(write=False) as session:
        return session.execute(select(func.max(AuditEvent.id))).scalar() or 0


def _commitment_body(code="NEW-1", **extra):
    return {
        "code": code,
        "title": "Nouvel engagement",
        "lead_partner_id": 1,
        "priority_id": 2,
        "start_date": "2025-01-01",
        "end_date": "2026-12-31",
        "funding_type": "droit_commun",
        "partners": [{"partner_id": 2, "share": "0.25"}],
        "amounts": [{"year": 2025, "amount": "1000.00"}],
        **extra,
    }


def test_every_write_is_audited_with_actor_before_and_after(api):
    ids = api.ids["in"]
    admin_id = api.user_ids["admin"]
    writes = [
        ("post", "/api/commitments", _commitment_body(), "commitment", "create"),
        ("post", "/api/tokens", {"name": "x"}, "api_token", "create"),
        (
            "post",
            f"/api/indicators/{ids['indicator_id']}/measurements",
            {"measured_on": "2026-10-31", "value": 3},
            "measurement",
            "create",
        ),
        (
            "put",
            f"/api/indicators/{ids['indicator_id']}/targets/{ids['target_id']}",
            {"value": 1234.5, "kind": "autre", "reason": "ajustement 2027"},
            "target",
            "update",
        ),
        (
            "post",
            "/api/users",
            {"email": "new@example.org", "password": "12345678", "role": "copil"},
            "user",
            "create",
        ),
    ]
    for method, url, body, entity, action in writes:
        before = _last_audit_id(api)
        response = api.client.request(method, url, json=body, headers=api.headers("admin"))
        assert response.status_code in (200, 201), response.text
        events = _audit_since(api, before)
        assert [(e.entity, e.action) for e in events] == [(entity, action)], url
        assert events[0].actor_id == admin_id
        assert events[0].after is not None
        assert "password_hash" not in (events[0].after or {})
        assert "token_hash" not in (events[0].after or {})

    # Updates carry before and after.
    commitment = api.get("admin", f"/api/commitments/{ids['commitment_id']}").json()
    before = _last_audit_id(api)
    response = api.client.patch(
        f"/api/commitments/{ids['commitment_id']}",
        json={"version": commitment["version"], "status": "en_cours"},
        headers=api.headers("admin"),
    )
    assert response.status_code == 200
    (event,) = _audit_since(api, before)
    assert event.action == "update" and event.entity_id == str(ids["commitment_id"])
    assert event.before["version"] == commitment["version"]
    assert event.after["version"] == commitment["version"] + 1

    # The audit trail is readable by admins, with filters.
    listed = api.get("admin", "/api/audit", params={"entity": "commitment", "action": "update"})
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert listed.json()["items"][0]["entity_id"] == str(ids["commitment_id"])


def test_correction_supersedes_and_keeps_the_old_measurement(api):
    ids = api.ids["in"]
    url = f"/api/indicators/{ids['indicator_id']}/measurements"
    created = api.post("partenaire", url, json={"measured_on": "2026-10-31", "value": 10}).json()
    before = _last_audit_id(api)
    corrected = api.post(
        "partenaire",
        f"{url}/{created['id']}/correction",
        json={"value": 11, "reason": "chiffre provisoire remplacé"},
    )
    assert corrected.status_code == 201
    assert [(e.entity, e.action) for e in _audit_since(api, before)] == [
        ("measurement", "update"),
        ("measurement", "create"),
    ]
    history = api.get("partenaire", url, params={"include_superseded": True, "size": 200}).json()
    old = next(m for m in history["items"] if m["id"] == created["id"])
    assert old["superseded_by_id"] == corrected.json()["id"]
    assert old["correction_reason"] == "chiffre provisoire remplacé"
    current = api.get("partenaire", url, params={"size": 200}).json()["items"]
    assert created["id"] not in [m["id"] for m in current]
    # Correcting the superseded one again is a conflict; no DELETE route exists.
    again = api.post(
        "partenaire", f"{url}/{created['id']}/correction", json={"value": 12, "reason": "x"}
    )
    assert again.status_code == 409
    assert api.client.delete(
        f"{url}/{created['id']}", headers=api.headers("admin")
    ).status_code in (
        404,
        405,
    )


def test_target_revision_needs_a_reason_and_keeps_history(api):
    ids = api.ids["in"]
    url = f"/api/indicators/{ids['indicator_id']}/targets/{ids['target_id']}"
    no_reason = api.client.put(url, json={"value": 5}, headers=api.headers("chef_de_projet"))
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    first = api.client.put(
        url,
        json={"value": 5, "reason": "erreur de saisie", "kind": "correction"},
        headers=api.headers("chef_de_projet"),
    )
    second = api.client.put(
        url,
        json={"value": 6, "reason": "erreur", "kind": "correction"},
        headers=api.headers("chef_de_projet"),
    )
    assert first.status_code == second.status_code == 200
    history = api.get("copil", f"{url}/revisions").json()
    assert [(r["old_value"], r["new_value"]) for r in history][-2:] == [
        (first.json()["old_value"], 5.0),
        (5.0, 6.0),
    ]


def test_conflicts_duplicate_code_and_stale_version(api):
    assert api.post("admin", "/api/commitments", json=_commitment_body("DUP")).status_code == 201
    duplicate = api.post("admin", "/api/commitments", json=_commitment_body("DUP"))
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "code"
    ids = api.ids["in"]
    version = api.get("admin", f"/api/commitments/{ids['commitment_id']}").json()["version"]
    url = f"/api/commitments/{ids['commitment_id']}"
    ok = api.client.patch(
        url, json={"version": version, "title": "A"}, headers=api.headers("admin")
    )
    stale = api.client.patch(
        url, json={"version": version, "title": "B"}, headers=api.headers("admin")
    )
    assert ok.status_code == 200 and stale.status_code == 409
    assert "version" in stale.json()["detail"]


def test_bad_input_is_a_clear_4xx_and_writes_nothing(api):
    ids = api.ids["in"]
    indicator_url = f"/api/indicators/{ids['indicator_id']}/measurements"
    long_text = "x" * 301
    cases = [
        ("post", indicator_url, {"measured_on": "2031-01-01", "value": 1}, 422, "measured_on"),
        ("post", indicator_url, {"measured_on": "2020-01-01", "value": 1}, 422, "measured_on"),
        ("post", indicator_url, {"measured_on": "2026-10-31", "value": "NaN"}, 422, "value"),
        ("post", indicator_url, '{"measured_on": "2026-10-31", "value": 1e309}', 422, "value"),
        ("post", indicator_url, '{"measured_on": "2026-10-31", "value": Infinity}', 422, None),
        ("post", indicator_url, {"measured_on": "pas une date", "value": 1}, 422, "measured_on"),
        ("post", indicator_url, {"measured_on": "2026-10-31", "value": "abc"}, 422, "value"),
        ("post", indicator_url, {"measured_on": "2026-10-31"}, 422, "value"),
        ("post", "/api/commitments", _commitment_body(title=long_text), 422, "title"),
        (
            "post",
            "/api/commitments",
            _commitment_body(lead_partner_id=999999),
            422,
            "lead_partner_id",
        ),
        ("post", "/api/commitments", _commitment_body(end_date="2035-01-01"), 422, "end_date"),
        ("post", "/api/commitments", _commitment_body(code="A\x00B"), 422, "code"),
        ("post", "/api/commitments", _commitment_body(unknown=1), 422, "unknown"),
        ("post", "/api/commitments", _commitment_body(quartier_ids=[2**40]), 422, "quartier_ids.0"),
        (
            "post",
            "/api/indicators",
            {
                "commitment_id": ids["commitment_id"],
                "code": "BAD-T",
                "name": "n",
                "unit": "u",
                "direction": "increase",
                "baseline_value": 10,
                "baseline_date": "2025-12-31",
                "targets": [{"target_date": "2025-06-30", "value": 20}],
            },
            422,
            "targets",
        ),
        (
            "post",
            "/api/indicators/999999/measurements",
            {"measured_on": "2026-10-31", "value": 1},
            404,
            None,
        ),
        ("get", "/api/indicators/abc", None, 422, "indicator_id"),
        (
            "get",
            f"/api/indicators/{ids['indicator_id']}/evaluation?as_of=2026-13-01",
            None,
            422,
            "as_of",
        ),
        ("get", "/api/commitments?sort=nope", None, 422, "sort"),
        ("get", "/api/commitments?size=100000", None, 422, "size"),
    ]
    before = _counts(api)
    for method, url, body, status, field in cases:
        if isinstance(body, str):  # raw JSON that Python's encoder would refuse to write
            headers = {**api.headers("admin"), "Content-Type": "application/json"}
            response = api.client.request(method, url, content=body, headers=headers)
        else:
            response = api.client.request(method, url, json=body, headers=api.headers("admin"))
        assert response.status_code == status, (url, body, response.text)
        payload = response.json()
        assert isinstance(payload["detail"], str) and payload["detail"]
        if field is not None:
            assert payload["field"] == field, (url, payload)
    assert _counts(api) == before


def test_evaluation_and_rollups(api):
    ids = api.ids["in"]
    response = api.get(
        "copil", f"/api/indicators/{ids['indicator_id']}/evaluation", params={"as_of": "2026-11-15"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == "2026-11-15" and body["performance"]
    everything = api.get("copil", "/api/rollups", params={"as_of": "2026-11-15"}).json()
    mine = api.get("partenaire", "/api/rollups", params={"as_of": "2026-11-15"}).json()
    # A partner's roll-ups only cover its own commitments.
    assert 0 < mine["contract"]["count"] < everything["contract"]["count"]
    assert set(mine["by_partner"]) <= set(everything["by_partner"])


def test_list_filters_and_pagination(api):
    page = api.get("copil", "/api/commitments", params={"size": 7, "page": 2, "sort": "-code"})
    body = page.json()
    assert body["page"] == 2 and body["size"] == 7 and len(body["items"]) == 7
    codes = [item["code"] for item in body["items"]]
    assert codes == sorted(codes, reverse=True)
    late = api.get("copil", "/api/commitments", params={"freshness": "overdue", "size": 200})
    assert late.json()["total"] > 0 and all(item["late"] for item in late.json()["items"])
    partner_id = api.ids["in"]["partner_id"]
    theirs = api.get("copil", "/api/commitments", params={"partner_id": partner_id, "size": 200})
    mine = api.get("partenaire", "/api/commitments", params={"size": 200})
    assert theirs.json()["total"] == mine.json()["total"]
