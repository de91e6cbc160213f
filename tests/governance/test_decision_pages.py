"""The committee's pages: a project manager holds the meeting and records decisions with the
fast form; the committee reads every decision, a partner only those that concern it."""

from __future__ import annotations

import html
import re
from datetime import date

from sqlalchemy import func
from sqlalchemy import select

from suivi.app import create_app
from suivi.contract.models import Meeting
from suivi.contract.models import PartnerContact
from suivi.formatting import format_date
from suivi.formatting import format_number
from suivi.governance.models import Decision
from suivi.indicators.models import Target
from suivi.indicators.models import TargetRevision
from suivi.indicators.review import lock_meeting
from tests.support.governance import new_meeting
from tests.support.review import autumn_copil
from tests.support.web_clients import AS_OF
from tests.support.web_clients import login


def test_decision_entry_on_the_meeting_page(demo_db):
    app = create_app(demo_db.settings)
    chef = login(app, "chef_de_projet")
    meeting_id = new_meeting(demo_db)
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
        {"text": "Relancer l'action", "due_on": "2026-09-30", "kind": "action"},
        htmx=False,
    )
    assert saved.status_code == 303
    listing = chef.get(f"/decisions?as_of={AS_OF}&retard=1&page=1")
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
        decision_id = session.execute(
            select(Decision.id).where(Decision.meeting_id == meeting_id)
        ).scalar_one()
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


def test_the_releve_is_issued_from_the_meeting_page_into_the_outbox(demo_db):
    app = create_app(demo_db.settings)
    chef = login(app, "chef_de_projet")
    meeting_id = new_meeting(demo_db)
    base = f"/instances/{meeting_id}"
    assert chef.post(f"{base}/tenue?as_of={AS_OF}", htmx=False).status_code == 303
    with demo_db.session(write=False) as session:
        partner_ids = (
            session.execute(select(PartnerContact.partner_id).order_by(PartnerContact.id))
            .scalars()
            .all()[:1]
        )
    chef.post(f"{base}/participants?as_of={AS_OF}", {"partner_id": partner_ids}, htmx=False)
    chef.post(f"{base}/decisions?as_of={AS_OF}", {"text": "Lancer l'étude"}, htmx=False)
    issued = chef.post(f"{base}/releve?as_of={AS_OF}", htmx=False)
    assert issued.status_code == 303, issued.text
    page = chef.get(issued.headers["location"]).text
    assert "Relevé de décisions diffusé" in page and "telecharger" in page
    assert "Nouvelle décision" not in page  # the relevé is out: no more decisions
    outbox = list(demo_db.settings.outbox.dir.rglob("*.eml"))
    with demo_db.session(write=False) as session:
        contacts = session.execute(
            select(func.count()).where(
                PartnerContact.partner_id == partner_ids[0],
                PartnerContact.unsubscribed_at.is_(None),
            )
        ).scalar_one()
    assert len(outbox) == contacts >= 1
    assert all("Subject: =?utf-8?q?Relev" in p.read_text() for p in outbox)
    committee = login(app, "copil")
    assert committee.post(f"{base}/releve?as_of={AS_OF}", htmx=False).status_code == 403


def test_the_indicator_page_shows_original_and_revised_targets_with_the_decision(demo_db):
    with demo_db.session(write=False) as session:
        revision, target = session.execute(
            select(TargetRevision, Target)
            .join(Target, Target.id == TargetRevision.target_id)
            .where(TargetRevision.decision_id.is_not(None))
            .order_by(TargetRevision.id)
        ).first()
    chef = login(create_app(demo_db.settings), "chef_de_projet")
    page = chef.get(f"/indicateurs/{target.indicator_id}?as_of={AS_OF}")
    assert page.status_code == 200
    assert "Cible du contrat" in page.text and "Cible en vigueur" in page.text
    section = page.text[page.text.index('id="cibles"') :]
    row = section[section.index(format_date(target.target_date)) :][:1500]
    assert format_number(revision.old_value) in row and format_number(revision.new_value) in row
    assert "décision n\u00a05 du comité de pilotage du 25 novembre 2025" in row
    assert "Avenant n° 1 du 12 mai 2026" in row
    assert f"/decisions/{revision.decision_id}" in row


def test_the_meeting_page_shows_its_data_cutoff_and_lock(demo_db):
    """#18: the meeting page says whether the figures are frozen for this committee."""
    app = create_app(demo_db.settings)
    committee = login(app, "copil")
    meeting_id = new_meeting(demo_db, held_on=date(2026, 6, 9))
    url = f"/instances/{meeting_id}?as_of={AS_OF}"

    def visible(path: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", "", committee.get(path).text)).split())

    assert "Aucune date d'arrêt des données n'est fixée pour cette instance" in visible(url)

    with demo_db.session() as session:
        lock_meeting(session, None, session.get(Meeting, meeting_id), data_cutoff=date(2026, 5, 31))
    text = visible(url)
    assert (
        "Données arrêtées au 31 mai 2026 : verrouillées, les mesures datées jusqu'à cette date "
        "ne changent plus." in text
    )
    assert "Aucune date d'arrêt" not in text

    autumn = autumn_copil(demo_db)  # the demo's cut-off, not locked
    text = visible(f"/instances/{autumn.id}?as_of={AS_OF}")
    assert f"Données arrêtées au {format_date(autumn.data_cutoff)} : non verrouillées." in text
