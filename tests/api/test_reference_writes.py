"""Reference data writes (contract, partners, quartiers, priorities, meetings): admins of the
contract only, validated with French messages, audited in the same transaction, optimistic
`If-Match` checks; and a project manager cannot move a commitment or an indicator out of
their own scope."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.auth.models import User
from suivi.auth.models import UserScope
from suivi.commitments.models import Commitment
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import contract_quartier_ids
from tests.support.contracts import add_contract
from tests.support.reports import archived_report

NOT_ADMINS = ("chef_de_projet", "partenaire", "copil")


def _audit(api, entity, entity_id):
    with api.db.session(write=False) as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
                .order_by(AuditEvent.id)
            ).scalars()
        )


def _count(api, model):
    with api.db.session(write=False) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _request(api, role, method, url, *, if_match=None, **kw):
    headers = api.headers(role) | ({"If-Match": if_match} if if_match else {})
    return api.client.request(method, url, headers=headers, **kw)


PARTNER = {"code": "bailleur-x", "name": "Bailleur X", "kind": "bailleur", "siren": "130005481"}


def test_admin_creates_and_updates_a_partner_audited(api):
    created = api.post("admin", "/api/partners", json=PARTNER)
    assert created.status_code == 201, created.text
    partner = created.json()
    assert (partner["kind"], partner["siren"], partner["contacts"]) == ("bailleur", "130005481", [])
    etag = created.headers["ETag"]
    changed = _request(
        api,
        "admin",
        "PATCH",
        f"/api/partners/{partner['id']}",
        json={"is_signatory": True, "siren": None},
        if_match=etag,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["is_signatory"] is True and changed.json()["siren"] is None
    events = _audit(api, "partner", partner["id"])
    assert [e.action for e in events] == ["create", "update"]
    assert events[0].actor_id == api.user_ids["admin"] and events[0].after["code"] == "bailleur-x"
    assert events[1].before["siren"] == "130005481" and events[1].after["siren"] is None
    # The etag read before the change is stale now.
    stale = _request(
        api,
        "admin",
        "PATCH",
        f"/api/partners/{partner['id']}",
        json={"name": "Autre"},
        if_match=etag,
    )
    assert stale.status_code == 409 and "version périmée" in stale.json()["detail"]
    assert api.get("admin", f"/api/partners/{partner['id']}").json()["name"] == "Bailleur X"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**PARTNER, "siren": "12345678"}, "siren", "9 chiffres"),
        ({**PARTNER, "siren": "13000548A"}, "siren", "9 chiffres"),
        ({**PARTNER, "siren": "130005482"}, "siren", "clé de contrôle"),
        ({**PARTNER, "kind": "association"}, "kind", "valeur non autorisée"),
        ({**PARTNER, "name": "  "}, "name", "vide"),
        ({**PARTNER, "name": "A\x0bB"}, "name", "caractère de contrôle"),
        ({**PARTNER, "commune_id": 999_999}, "commune_id", "Commune inconnue"),
    ],
)
def test_bad_partner_input_is_refused_in_french_and_writes_nothing(api, body, field, words):
    before = (_count(api, Partner), _count(api, AuditEvent))
    response = api.post("admin", "/api/partners", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field and words in response.json()["detail"]
    assert (_count(api, Partner), _count(api, AuditEvent)) == before


def test_duplicate_partner_code_is_a_conflict(api):
    existing = api.get("admin", "/api/partners", params={"size": 1}).json()["items"][0]
    response = api.post("admin", "/api/partners", json={**PARTNER, "code": existing["code"]})
    assert response.status_code == 409 and response.json()["field"] == "code"
    renamed = _request(
        api,
        "admin",
        "PATCH",
        f"/api/partners/{existing['id'] + 1}",
        json={"code": existing["code"]},
    )
    assert renamed.status_code == 409


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_other_roles_cannot_change_reference_data(api, role):
    before = (_count(api, Partner), _count(api, Meeting), _count(api, AuditEvent))
    attempts = [
        ("POST", "/api/partners", PARTNER),
        ("PATCH", f"/api/partners/{api.ids['in']['partner_id']}", {"name": "X"}),
        ("PATCH", "/api/quartiers/1", {"in_contract": False}),
        ("POST", "/api/priorities", {"code": "Z", "title": "Z", "domain": "emploi"}),
        ("PATCH", "/api/priorities/2", {"title": "Z"}),
        ("POST", "/api/meetings", {"kind": "copil", "held_on": "2026-12-01", "title": "C"}),
        ("PATCH", "/api/contracts/1", {"name": "Z"}),
    ]
    for method, url, body in attempts:
        response = _request(api, role, method, url, json=body)
        assert response.status_code == 403, (method, url, response.text)
        assert "administrateur" in response.json()["detail"]
    assert (_count(api, Partner), _count(api, Meeting), _count(api, AuditEvent)) == before


def test_another_contracts_reference_data_does_not_exist_for_the_admin(api):
    with api.db.session() as session:
        other = add_contract(session, signed_on=date(2024, 9, 1), term_start=date(2024, 9, 1))
        partner = Partner(contract_id=other.id, code="p", name="P", kind="etat")
        priority = Priority(contract_id=other.id, code="O1", title="O", domain="emploi")
        meeting = Meeting(contract_id=other.id, kind="copil", held_on=date(2026, 1, 5), title="C")
        quartier = Quartier(code="QN99999X", name="Q")
        session.add_all([partner, priority, meeting, quartier])
        session.flush()
        session.add(ContractQuartier(contract_id=other.id, quartier_id=quartier.id))
        ids = (other.id, partner.id, priority.id, meeting.id, quartier.id)
    other_id, partner_id, priority_id, meeting_id, quartier_id = ids
    for method, url in [
        ("PATCH", f"/api/contracts/{other_id}"),
        ("PATCH", f"/api/partners/{partner_id}"),
        ("PATCH", f"/api/priorities/{priority_id}"),
        ("GET", f"/api/priorities/{priority_id}"),
        ("PATCH", f"/api/meetings/{meeting_id}"),
        ("GET", f"/api/meetings/{meeting_id}"),
        ("DELETE", f"/api/meetings/{meeting_id}"),
        ("PATCH", f"/api/quartiers/{quartier_id}"),
    ]:
        response = _request(
            api, "admin", method, url, json={"title": "x"} if method != "DELETE" else None
        )
        assert response.status_code in (404, 422), (method, url, response.text)
        if method != "PATCH" or "title" in url:
            assert response.status_code == 404, (method, url, response.text)
    created = api.post(
        "admin",
        "/api/meetings",
        params={"contract_id": other_id},
        json={"kind": "copil", "held_on": "2026-12-01", "title": "C"},
    )
    assert created.status_code == 404
    assert _count(api, Meeting) >= 1 and not _audit(api, "meeting", meeting_id)


def test_quartier_in_contract_flag_stays_editable(api):
    current = api.get("admin", "/api/quartiers/1")
    flag = current.json()["in_contract"]
    response = _request(
        api,
        "admin",
        "PATCH",
        "/api/quartiers/1",
        json={"in_contract": not flag, "name": "Quartier renommé"},
        if_match=current.headers["ETag"],
    )
    assert response.status_code == 200, response.text
    assert response.json()["in_contract"] is (not flag)
    listed = api.get("copil", "/api/quartiers", params={"in_contract": not flag, "size": 200})
    assert 1 in [q["id"] for q in listed.json()["items"]]
    event = _audit(api, "quartier", 1)[-1]
    assert event.before["in_contract"] is flag and event.after["in_contract"] is (not flag)
    assert "contour" not in event.after  # bulky geometry kept out of the audit trail
    assert api.get("admin", "/api/quartiers/1/contour").status_code == 200
    # Code and contour are not editable through this route.
    refused = _request(api, "admin", "PATCH", "/api/quartiers/1", json={"code": "QN00000X"})
    assert refused.status_code == 422 and refused.json()["field"] == "code"


def test_priorities_tree_domain_and_tags(api):
    created = api.post(
        "admin",
        "/api/priorities",
        json={
            "code": "O9",
            "title": "Orientation neuf",
            "domain": "participation",
            "tags": ["participation", "jeunesse"],
        },
    )
    assert created.status_code == 201, created.text
    parent = created.json()
    child = api.post(
        "admin",
        "/api/priorities",
        json={"code": "O9.1", "title": "Objectif", "domain": "emploi", "parent_id": parent["id"]},
    ).json()
    assert child["parent_id"] == parent["id"]
    # A priority cannot go under itself nor under its own child.
    for parent_id in (parent["id"], child["id"]):
        loop = _request(
            api, "admin", "PATCH", f"/api/priorities/{parent['id']}", json={"parent_id": parent_id}
        )
        assert loop.status_code == 422 and loop.json()["field"] == "parent_id", loop.text
    for body, field in [
        ({"tags": ["jeunesse", "jeunesse"]}, "tags"),
        ({"tags": ["sport"]}, "tags.0"),
        ({"domain": "culture"}, "domain"),
        ({"parent_id": 999_999}, "parent_id"),
        ({"code": "O9.1"}, "code"),
    ]:
        response = _request(api, "admin", "PATCH", f"/api/priorities/{parent['id']}", json=body)
        assert response.status_code in (409, 422), response.text
        assert response.json()["field"] == field
    moved = _request(
        api,
        "admin",
        "PATCH",
        f"/api/priorities/{child['id']}",
        json={"parent_id": None, "tags": ["transition_ecologique"]},
    )
    assert moved.status_code == 200 and moved.json()["parent_id"] is None
    assert api.get("copil", f"/api/priorities/{child['id']}").json()["tags"] == [
        "transition_ecologique"
    ]
    assert [e.action for e in _audit(api, "priority", child["id"])] == ["create", "update"]


def test_meetings_create_update_delete_audited(api):
    created = api.post(
        "admin",
        "/api/meetings",
        json={"kind": "cotech", "held_on": "2027-03-04", "title": "COTECH de mars"},
    )
    assert created.status_code == 201, created.text
    meeting_id = created.json()["id"]
    moved = _request(
        api, "admin", "PATCH", f"/api/meetings/{meeting_id}", json={"held_on": "2027-03-11"}
    )
    assert moved.status_code == 200 and moved.json()["held_on"] == "2027-03-11"
    out_of_term = _request(
        api, "admin", "PATCH", f"/api/meetings/{meeting_id}", json={"held_on": "2031-01-15"}
    )
    assert out_of_term.status_code == 422 and "durée du contrat" in out_of_term.json()["detail"]
    stale = _request(
        api,
        "admin",
        "DELETE",
        f"/api/meetings/{meeting_id}",
        if_match=created.headers["ETag"],
    )
    assert stale.status_code == 409
    deleted = _request(api, "admin", "DELETE", f"/api/meetings/{meeting_id}")
    assert deleted.status_code == 204
    assert api.get("admin", f"/api/meetings/{meeting_id}").status_code == 404
    assert _request(api, "admin", "DELETE", f"/api/meetings/{meeting_id}").status_code == 404
    events = _audit(api, "meeting", meeting_id)
    assert [e.action for e in events] == ["create", "update", "delete"]
    assert events[-1].before["held_on"] == "2027-03-11" and events[-1].after is None


def test_a_meeting_with_archived_reports_cannot_be_deleted(api):
    meeting_id = api.post(
        "admin", "/api/meetings", json={"kind": "copil", "held_on": "2026-12-01", "title": "C"}
    ).json()["id"]
    with api.db.session() as session:
        session.add(
            archived_report(
                contract_id=1,
                kind="copil",
                as_of=date(2026, 11, 30),
                meeting_id=meeting_id,
                path="copil/test.pdf",
                pages=3,
                size_bytes=100,
            )
        )
    response = _request(api, "admin", "DELETE", f"/api/meetings/{meeting_id}")
    assert response.status_code == 409 and "archivé" in response.json()["detail"]
    assert api.get("admin", f"/api/meetings/{meeting_id}").status_code == 200


def test_contract_name_term_and_midterm_review(api):
    contract = api.get("admin", "/api/contracts/1").json()
    renamed = _request(
        api, "admin", "PATCH", "/api/contracts/1", json={"midterm_review_on": "2027-10-15"}
    )
    assert renamed.status_code == 200 and renamed.json()["midterm_review_on"] == "2027-10-15"
    for body, field in [
        ({"midterm_review_on": "2031-06-01"}, "midterm_review_on"),
        ({"term_end": "2024-01-01"}, "term_end"),
        ({"term_start": "2026-01-01"}, "term_start"),  # commitments start before it
        ({"name": None}, "name"),
    ]:
        response = _request(api, "admin", "PATCH", "/api/contracts/1", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field
    after = api.get("admin", "/api/contracts/1").json()
    assert (after["term_start"], after["term_end"]) == (
        contract["term_start"],
        contract["term_end"],
    )
    events = _audit(api, "contract", 1)
    assert len(events) == 1 and events[0].after["midterm_review_on"] == "2027-10-15"


# -- a project manager cannot move things out of their own scope -------------------------------


def _chef_scope(api) -> tuple[list[int], int, int]:
    """(the chef's quartiers, a quartier outside them, a partner outside any scope)."""
    with api.db.session(write=False) as session:
        chef = session.execute(select(User).where(User.role == "chef_de_projet")).scalar_one()
        scope = sorted(
            session.execute(
                select(UserScope.quartier_id).where(
                    UserScope.user_id == chef.id, UserScope.quartier_id.is_not(None)
                )
            ).scalars()
        )
        outside = (
            session.execute(
                select(Quartier.id)
                .where(Quartier.id.in_(contract_quartier_ids(1)), Quartier.id.not_in(scope))
                .order_by(Quartier.id)
            )
            .scalars()
            .first()
        )
    assert scope and outside
    return scope, outside, 1


def _new_commitment(api, quartier_ids):
    response = api.post(
        "admin",
        "/api/commitments",
        json={
            "code": f"SCOPE-{len(quartier_ids)}-{quartier_ids[:1]}",
            "title": "Engagement du périmètre",
            "lead_partner_id": 1,
            "priority_id": 2,
            "start_date": "2025-01-01",
            "end_date": "2026-12-31",
            "funding_type": "droit_commun",
            "quartier_ids": quartier_ids,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_project_manager_cannot_move_a_commitment_out_of_scope(api):
    scope, outside, _ = _chef_scope(api)
    commitment = _new_commitment(api, [scope[0]])
    url = f"/api/commitments/{commitment['id']}"
    escape = _request(
        api,
        "chef_de_projet",
        "PATCH",
        url,
        json={"version": commitment["version"], "quartier_ids": [outside]},
    )
    assert escape.status_code == 403, escape.text
    assert "périmètre" in escape.json()["detail"]
    after = api.get("admin", url).json()
    assert after["quartier_ids"] == [scope[0]] and after["version"] == commitment["version"]
    assert [e.action for e in _audit(api, "commitment", commitment["id"])] == ["create"]
    # Within the scope, or adding an outside quartier next to a scope one, is fine.
    kept = _request(
        api,
        "chef_de_projet",
        "PATCH",
        url,
        json={"version": commitment["version"], "quartier_ids": [scope[0], outside]},
    )
    assert kept.status_code == 200, kept.text
    # An admin may move it anywhere.
    moved = _request(
        api, "admin", "PATCH", url, json={"version": kept.json()["version"], "quartier_ids": []}
    )
    assert moved.status_code == 200
    assert (
        _request(
            api,
            "chef_de_projet",
            "PATCH",
            url,
            json={"version": moved.json()["version"], "title": "x"},
        ).status_code
        == 403
    )


def test_project_manager_cannot_move_an_indicator_out_of_scope(api):
    scope, outside, _ = _chef_scope(api)
    commitment = _new_commitment(api, [])  # in scope only through its indicator's quartier
    indicator = api.post(
        "admin",
        "/api/indicators",
        json={
            "commitment_id": commitment["id"],
            "quartier_id": scope[0],
            "code": "SCOPE-I",
            "name": "Indicateur",
            "unit": "personnes",
            "direction": "increase",
            "baseline_value": 10,
            "baseline_date": "2024-12-31",
            "targets": [{"target_date": "2030-12-31", "value": 20}],
        },
    ).json()
    url = f"/api/indicators/{indicator['id']}"
    for quartier_id in (outside, None):
        escape = _request(
            api,
            "chef_de_projet",
            "PATCH",
            url,
            json={"version": indicator["version"], "quartier_id": quartier_id},
        )
        assert escape.status_code == 403, escape.text
    assert api.get("admin", url).json()["quartier_id"] == scope[0]
    within = _request(
        api,
        "chef_de_projet",
        "PATCH",
        url,
        json={"version": indicator["version"], "quartier_id": scope[-1]},
    )
    assert within.status_code == 200 and within.json()["quartier_id"] == scope[-1]
    with api.db.session(write=False) as session:
        assert session.get(Commitment, commitment["id"]) is not None
