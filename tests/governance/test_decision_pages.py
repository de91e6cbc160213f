"""The committee's pages: a project manager holds the meeting and records decisions with the
fast form; the committee reads every decision, a partner only those that concern it."""

from __future__ import annotations

from sqlalchemy import select

from suivi.app import create_app
from suivi.contract.models import Meeting
from suivi.governance.models import Decision
from tests.web.conftest import AS_OF, login


def _copil_2025(demo_db) -> int:
    with demo_db.session(write=False) as session:
        return session.execute(
            select(Meeting.id).where(Meeting.kind == "copil", Meeting.held_on == "2025-11-25")
        ).scalar_one()


def test_decision_entry_on_the_meeting_page(demo_db):
    app = create_app(demo_db.settings)
    chef = login(app, "chef_de_projet")
    meeting_id = _copil_2025(demo_db)
    url = f"/instances/{meeting_id}?as_of={AS_OF}"
    page = chef.get(url)
    assert page.status_code == 200 and "Déclarer l'instance tenue" in page.text
    assert 'id="saisie"' not in page.text  # no entry before the meeting is held

    refused = chef.post(
        f"/instances/{meeting_id}/decisions?as_of={AS_OF}", {"text": "x"}, htmx=False
    )
    assert refused.status_code == 409 and "pas encore tenu" in refused.text

    assert chef.post(f"/instances/{meeting_id}/tenue?as_of={AS_OF}", htmx=False).status_code == 303
    bad = chef.post(
        f"/instances/{meeting_id}/decisions?as_of={AS_OF}",
        {"text": "Relancer l'action", "due_on": "2025-01-01"},
        htmx=False,
    )
    assert bad.status_code == 422 and "ne peut pas précéder la réunion" in bad.text
    assert "Relancer l&#39;action" in bad.text  # what was typed stays in the form
    saved = chef.post(
        f"/instances/{meeting_id}/decisions?as_of={AS_OF}",
        {"text": "Relancer l'action", "due_on": "2026-03-31", "kind": "action"},
        htmx=False,
    )
    assert saved.status_code == 303
    listing = chef.get(f"/decisions?as_of={AS_OF}&retard=1")
    assert "Relancer l&#39;action" in listing.text and "En retard depuis le" in listing.text

    committee = login(app, "copil")
    assert "Relancer l&#39;action" in committee.get(f"/decisions?as_of={AS_OF}").text
    assert "Nouvelle décision" not in committee.get(url).text
    forbidden = committee.post(
        f"/instances/{meeting_id}/decisions?as_of={AS_OF}", {"text": "y"}, htmx=False
    )
    assert forbidden.status_code == 403
    partner = login(app, "partenaire")
    assert "Relancer l&#39;action" not in partner.get(f"/decisions?as_of={AS_OF}").text
    with demo_db.session(write=False) as session:
        decision_id = session.execute(select(Decision.id)).scalar_one()
    assert partner.get(f"/decisions/{decision_id}?as_of={AS_OF}").status_code == 404
    detail = chef.get(f"/decisions/{decision_id}?as_of={AS_OF}")
    assert detail.status_code == 200 and "Ajouter au suivi" in detail.text
    followed = chef.post(
        f"/decisions/{decision_id}/suivi?as_of={AS_OF}",
        {"status": "realisee", "comment": "Fait en février."},
        htmx=False,
    )
    assert followed.status_code == 303
    after = chef.get(f"/decisions/{decision_id}?as_of={AS_OF}").text
    assert "Ouverte → Réalisée" in after and "Fait en février." in after
