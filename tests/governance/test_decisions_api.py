"""The committee cycle through the API: a meeting is held, decisions are recorded and
followed up, their effects reach commitments and targets, all audited; bad input is refused
in French."""

from __future__ import annotations

from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.commitments.models import Commitment
from suivi.contract.models import Meeting
from suivi.contract.models import PartnerContact
from suivi.governance import service
from suivi.governance.models import Decision
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from tests.support.databases import DEMO_AS_OF

AS_OF = {"as_of": DEMO_AS_OF.isoformat()}


def _new_meeting(api, held_on="2026-06-02") -> int:
    """A fresh meeting (`prevue`): the demo's past ones are held and have decisions."""
    created = api.post(
        "admin", "/api/meetings", json={"kind": "copil", "held_on": held_on, "title": "COPIL test"}
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _held(api, meeting_id: int) -> None:
    response = api.post("chef_de_projet", f"/api/meetings/{meeting_id}/held", params=AS_OF)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "tenue"


def _decide(api, meeting_id: int, role="chef_de_projet", **body):
    body = {"text": "Relancer le chantier d'insertion", **body}
    return api.post(role, f"/api/meetings/{meeting_id}/decisions", json=body, params=AS_OF)


def test_a_decision_needs_a_held_meeting_and_a_due_date_after_it(api):
    meeting_id = _new_meeting(api)
    early = _decide(api, meeting_id)
    assert early.status_code == 409
    assert "pas encore tenu" in early.json()["detail"]

    future = _new_meeting(api, "2027-03-01")
    refused = api.post("chef_de_projet", f"/api/meetings/{future}/held", params=AS_OF)
    assert refused.status_code == 422 and "pas encore eu lieu" in refused.json()["detail"]

    _held(api, meeting_id)
    before = _decide(api, meeting_id, due_on="2026-05-01")
    assert before.status_code == 422 and before.json()["field"] == "due_on"
    assert "ne peut pas précéder la réunion" in before.json()["detail"]
    blank = _decide(api, meeting_id, text="   ")
    assert blank.status_code == 422 and blank.json()["field"] == "text"
    foreign = _decide(api, meeting_id, commitment_ids=[999_999])
    assert foreign.status_code == 422 and foreign.json()["field"] == "commitment_ids"
    assert _decide(api, meeting_id, role="copil").status_code == 403
    assert _decide(api, meeting_id, role="partenaire").status_code == 403

    with api.db.session(write=False) as session:
        assert (
            session.execute(select(Decision).where(Decision.meeting_id == meeting_id)).first()
            is None
        )


def test_decisions_are_numbered_filtered_followed_up_and_audited(api):
    meeting_id = _new_meeting(api)
    _held(api, meeting_id)
    partner_id = api.ids["in"]["partner_id"]
    other_partner = api.ids["out"]["partner_id"]
    with api.db.session(write=False) as session:
        contact_id = (
            session.execute(
                select(PartnerContact.id).where(PartnerContact.partner_id == partner_id)
            )
            .scalars()
            .first()
        )
    late = _decide(
        api,
        meeting_id,
        owner_partner_id=partner_id,
        owner_contact_id=contact_id,
        due_on="2026-09-30",
        commitment_ids=[api.ids["in"]["commitment_id"]],
    )
    assert late.status_code == 201, late.text
    on_time = _decide(
        api,
        meeting_id,
        text="Présenter le bilan",
        owner_partner_id=other_partner,
        due_on="2026-12-31",
    )
    assert [late.json()["number"], on_time.json()["number"]] == [1, 2]
    assert late.json()["overdue"] is True and on_time.json()["overdue"] is False

    mine = {**AS_OF, "meeting_id": meeting_id}
    listed = api.get("copil", "/api/decisions", params={**mine, "overdue": "true"}).json()
    assert [d["id"] for d in listed["items"]] == [late.json()["id"]]
    by_owner = api.get(
        "copil", "/api/decisions", params={**mine, "owner_partner_id": other_partner}
    ).json()
    assert [d["number"] for d in by_owner["items"]] == [2]

    # The partner sees the decision it owns (and follows it up), not the other one.
    seen = api.get("partenaire", "/api/decisions", params=mine).json()
    assert [d["number"] for d in seen["items"]] == [1]
    assert api.get("partenaire", f"/api/decisions/{on_time.json()['id']}").status_code == 404
    followed = api.post(
        "partenaire",
        f"/api/decisions/{late.json()['id']}/updates",
        json={"status": "en_cours", "comment": "Chantier relancé en janvier."},
        params=AS_OF,
    )
    assert followed.status_code == 201, followed.text
    assert followed.json()["status"] == "en_cours"
    step = followed.json()["history"][-1]
    assert (step["old_status"], step["new_status"], step["on"]) == (
        "ouverte",
        "en_cours",
        DEMO_AS_OF.isoformat(),
    )
    assert (
        api.post(
            "copil", f"/api/decisions/{late.json()['id']}/updates", json={"comment": "x"}
        ).status_code
        == 403
    )
    empty = api.post("chef_de_projet", f"/api/decisions/{late.json()['id']}/updates", json={})
    assert empty.status_code == 422 and empty.json()["field"] == "comment"
    done = api.client.patch(
        f"/api/decisions/{late.json()['id']}",
        json={"status": "realisee"},
        headers=api.headers("chef_de_projet"),
        params=AS_OF,
    )
    assert done.json()["status"] == "realisee" and done.json()["overdue"] is False

    with api.db.session(write=False) as session:
        events = (
            session.execute(
                select(AuditEvent.action).where(
                    AuditEvent.entity == "decision",
                    AuditEvent.entity_id == str(late.json()["id"]),
                )
            )
            .scalars()
            .all()
        )
        assert events.count("create") == 1 and events.count("update") >= 3


def test_after_the_releve_the_text_is_amended_with_a_trace(api):
    meeting_id = _new_meeting(api)
    _held(api, meeting_id)
    decision = _decide(api, meeting_id).json()
    with api.db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        service.mark_releve_sent(session, None, meeting)
    url = f"/api/decisions/{decision['id']}"
    edit = api.client.patch(
        url, json={"text": "Autre chose"}, headers=api.headers("chef_de_projet")
    )
    assert edit.status_code == 409 and "relevé de décisions est diffusé" in edit.json()["detail"]
    unmotivated = api.post("chef_de_projet", f"{url}/updates", json={"text": "Autre chose"})
    assert unmotivated.status_code == 422 and unmotivated.json()["field"] == "comment"
    amended = api.post(
        "chef_de_projet",
        f"{url}/updates",
        json={
            "text": "Relancer le chantier d'insertion à Liévin",
            "comment": "Précision du comité",
        },
    )
    assert amended.status_code == 201
    assert amended.json()["text"].endswith("à Liévin")
    assert amended.json()["history"][-1]["old_text"] == decision["text"]
    late = _decide(api, meeting_id, text="Une de plus")
    assert late.status_code == 409 and "déjà diffusé" in late.json()["detail"]


def test_a_target_revision_carries_out_a_revision_decision(api):
    ids = api.ids["in"]
    url = f"/api/indicators/{ids['indicator_id']}/targets/{ids['target_id']}"
    bare = api.client.put(
        url,
        json={"value": 7, "reason": "avenant", "kind": "avenant"},
        headers=api.headers("chef_de_projet"),
    )
    assert bare.status_code == 422 and bare.json()["field"] == "decision_id"
    assert "décision de comité" in bare.json()["detail"]
    review = api.client.put(
        url,
        json={"value": 7, "reason": "revue", "kind": "revue_mi_parcours"},
        headers=api.headers("chef_de_projet"),
    )
    assert review.status_code == 422 and review.json()["field"] == "decision_id"
    typo = api.client.put(
        url,
        json={"value": 8, "reason": "erreur de saisie", "kind": "correction"},
        headers=api.headers("chef_de_projet"),
    )
    assert typo.status_code == 200 and typo.json()["decision_id"] is None

    meeting_id = _new_meeting(api)
    _held(api, meeting_id)
    action = _decide(api, meeting_id).json()
    wrong = api.client.put(
        url,
        json={"value": 7, "reason": "avenant", "kind": "avenant", "decision_id": action["id"]},
        headers=api.headers("chef_de_projet"),
    )
    assert wrong.status_code == 422 and "n'est pas une révision de cible" in wrong.json()["detail"]

    revision_decision = _decide(
        api,
        meeting_id,
        text="Réviser la cible de l'indicateur à la baisse",
        kind="revision_cible",
        avenant_reference="Avenant n° 1",
    ).json()
    applied = api.post(
        "chef_de_projet",
        f"/api/decisions/{revision_decision['id']}/target-revisions",
        json={"target_id": ids["target_id"], "value": 7},
        params=AS_OF,
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["decision"]["indicator_ids"] == [ids["indicator_id"]]
    assert "révisée" in applied.json()["decision"]["history"][-1]["comment"]
    history = api.get("copil", f"{url}/revisions").json()
    assert history[-1]["decision_id"] == revision_decision["id"]
    assert history[-1]["avenant_reference"] == "Avenant n° 1"
    assert history[-1]["new_value"] == 7.0
    with api.db.session(write=False) as session:
        assert session.get(Target, ids["target_id"]).value == 7.0
        revision = session.get(TargetRevision, applied.json()["target_revision_id"])
        assert revision.kind == "avenant" and revision.decision_id == revision_decision["id"]


def test_abandon_and_reprogramming_go_through_the_commitments_service(api):
    meeting_id = _new_meeting(api)
    _held(api, meeting_id)
    commitment_id = api.ids["in"]["commitment_id"]
    abandon = _decide(
        api, meeting_id, text="Abandonner l'action", kind="abandon", commitment_ids=[commitment_id]
    ).json()
    nothing = _decide(api, meeting_id, kind="reprogrammation").json()
    unlinked = api.post(
        "chef_de_projet",
        f"/api/decisions/{nothing['id']}/commitments",
        json={"end_date": "2028-12-31"},
    )
    assert unlinked.status_code == 422 and unlinked.json()["field"] == "commitment_ids"
    not_effect = _decide(api, meeting_id).json()
    assert (
        api.post(
            "chef_de_projet", f"/api/decisions/{not_effect['id']}/commitments", json={}
        ).status_code
        == 422
    )

    applied = api.post(
        "chef_de_projet", f"/api/decisions/{abandon['id']}/commitments", json={}, params=AS_OF
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["commitment_ids"] == [commitment_id]
    assert "abandonné" in applied.json()["decision"]["history"][-1]["comment"]

    reprogram = _decide(
        api, meeting_id, kind="reprogrammation", commitment_ids=[commitment_id]
    ).json()
    moved = api.post(
        "chef_de_projet",
        f"/api/decisions/{reprogram['id']}/commitments",
        json={"end_date": "2029-12-31"},
        params=AS_OF,
    )
    assert moved.status_code == 200, moved.text
    with api.db.session(write=False) as session:
        commitment = session.get(Commitment, commitment_id)
        assert commitment.status == "abandonne"
        assert commitment.end_date.isoformat() == "2029-12-31"
        labels = (
            session.execute(
                select(AuditEvent.actor_label).where(
                    AuditEvent.entity == "commitment", AuditEvent.entity_id == str(commitment_id)
                )
            )
            .scalars()
            .all()
        )
        assert sum("décision n\u00a0" in label for label in labels) == 2
