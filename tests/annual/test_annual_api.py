"""The annual report procedure and the conseils citoyens through the API and the pages
(SQLite and PostgreSQL): the 2026 cycle of the demo from draft to the PDF downloadable from
/public, the refusals in French, a conseil citoyen account reading its quartier, giving its
opinion and commenting (moderated), and its writes outside its quartiers answered 404."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from suivi import clock
from suivi import scoping
from suivi.annual.models import AnnualReport
from suivi.annual.models import AnnualReportOpinion
from suivi.app import create_app
from suivi.commitments.models import Commitment
from suivi.notifications.models import EmailDelivery
from tests.support.annual import principal_of

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _at(day: str):
    return clock.frozen_at(datetime.fromisoformat(f"{day}T09:00:00+00:00").astimezone(UTC))


def _token(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _commitments(db, email: str) -> tuple[int, int]:
    """A commitment the account may read, and one it may not."""
    with db.session(write=False) as session:
        readable = scoping.commitment_condition(principal_of(session, email))

        def first(condition) -> int:
            query = select(Commitment.id).where(condition).order_by(Commitment.id)
            return session.execute(query).scalars().first()

        return first(readable), first(~readable)


def _give_opinion(client, report_id, opinion_id, headers, verdict, text, given_on):
    return client.post(
        f"/api/annual-reports/{report_id}/opinions/{opinion_id}",
        json={"verdict": verdict, "text": text, "given_on": given_on},
        headers=headers,
    )


def test_the_2026_cycle_through_the_api_to_the_public_page(demo_db):
    app = create_app(demo_db.settings)
    client = TestClient(app)
    with _at("2026-11-15"):
        admin = _token(client, "admin@example.org")
        citoyen = _token(client, "citoyen@example.org")
        created = client.post("/api/annual-reports", json={"year": 2026}, headers=admin)
        assert created.status_code == 201, created.text
        report_id = created.json()["id"]
        assert (
            client.post("/api/annual-reports", json={"year": 2026}, headers=admin).json()["detail"]
            == "Le rapport annuel 2026 existe déjà."
        )
        denied = client.post(f"/api/annual-reports/{report_id}/consultation", headers=citoyen)
        assert denied.status_code == 403
        opened = client.post(f"/api/annual-reports/{report_id}/consultation", headers=admin)
        assert opened.status_code == 200, opened.text
        body = opened.json()
        assert body["status"] == "en_consultation" and body["deadline"] == "2026-12-15"
        opinions = body["opinions"]
        publish_early = client.post(f"/api/annual-reports/{report_id}/publication", headers=admin)
        assert publish_early.status_code == 409
        assert publish_early.json()["detail"] == (
            "Publication impossible : le rapport n'a pas encore été approuvé."
        )
    # The emails left after the response, through the outbox (no SMTP host configured).
    with demo_db.session(write=False) as session:
        sent = (
            session.execute(
                select(EmailDelivery.status).where(EmailDelivery.kind == "annual_consultation")
            )
            .scalars()
            .all()
        )
    assert sent and set(sent) == {"sent"}
    outbox = list(Path(demo_db.settings.outbox.dir).rglob("*.eml"))
    assert len(outbox) == len(sent)

    with _at("2026-11-20"):
        citoyen = _token(client, "citoyen@example.org")
        admin = _token(client, "admin@example.org")
        listed = client.get(f"/api/annual-reports/{report_id}", headers=citoyen).json()
        with demo_db.session(write=False) as session:
            conseil_opinions = select(AnnualReportOpinion.id).where(
                AnnualReportOpinion.annual_report_id == report_id,
                AnnualReportOpinion.conseil_citoyen_id.is_not(None),
            )
            own_conseil = session.execute(conseil_opinions).scalars().all()
        assert listed["id"] == report_id
        given = None
        for opinion_id in own_conseil:
            response = _give_opinion(
                client,
                report_id,
                opinion_id,
                citoyen,
                "reserve",
                "Réserve sur la cité 12.",
                "2026-11-20",
            )
            if response.status_code == 200:
                given = opinion_id
            else:  # the other conseil citoyen's opinion: not revealed
                assert response.status_code == 404
        assert given is not None
        municipal = next(o for o in opinions if o["body_kind"] == "conseil_municipal")
        other = _give_opinion(
            client, report_id, municipal["id"], citoyen, "favorable", "", "2026-11-20"
        )
        assert other.status_code == 404
        entered = _give_opinion(
            client,
            report_id,
            municipal["id"],
            admin,
            "defavorable",
            "Avis du conseil municipal.",
            "2026-11-19",
        )
        assert entered.status_code == 200
        early = client.post(
            f"/api/annual-reports/{report_id}/approval",
            json={"deliberation_on": "2026-11-20", "deliberation_ref": "DEL-1"},
            headers=admin,
        )
        assert early.status_code == 409
        assert early.json()["detail"].startswith(
            "Approbation impossible avant la fin de la consultation le 15 décembre 2026"
        )

    with _at("2026-12-16"):
        admin = _token(client, "admin@example.org")
        citoyen = _token(client, "citoyen@example.org")
        approved = client.post(
            f"/api/annual-reports/{report_id}/approval",
            json={
                "deliberation_on": "2026-12-16",
                "deliberation_ref": "DEL-2026-117",
                "observations_response": "Les réserves seront examinées au COPIL.",
            },
            headers=admin,
        )
        assert approved.status_code == 200, approved.text
        data = approved.json()
        assert data["status"] == "approuve"
        deemed = [o for o in data["opinions"] if o["deemed"]]
        assert deemed and all(
            o["text"] == "Avis réputé favorable (absence de réponse)" for o in deemed
        )
        late = _give_opinion(client, report_id, given, citoyen, "favorable", "", "2026-12-16")
        assert late.status_code == 409
        assert late.json()["detail"] == (
            "Le rapport est déjà approuvé : il n'est plus possible de donner un avis."
        )
        assert client.get("/public").status_code == 200  # cached before publication
        published = client.post(f"/api/annual-reports/{report_id}/publication", headers=admin)
        assert published.status_code == 200, published.text
        assert published.json()["status"] == "publie"
        home = client.get("/public").text
        assert 'href="/public/rapports-annuels/2026.pdf"' in home
        assert "DEL-2026-117" in home
        pdf = client.get("/public/rapports-annuels/2026.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert client.get("/public/rapports-annuels/2025.pdf").status_code == 404


def _page_client(app, email: str) -> tuple[TestClient, str]:
    from tests.support.forms import post_login_form

    client = TestClient(app)
    assert post_login_form(client, email, "demo").status_code == 303
    page = client.get("/contrat")
    return client, CSRF_RE.search(page.text).group(1)


def test_conseil_citoyen_reads_its_quartier_comments_and_is_moderated(demo_db):
    inside, outside = _commitments(demo_db, "citoyen@example.org")
    assert inside and outside
    app = create_app(demo_db.settings)
    client, csrf = _page_client(app, "citoyen@example.org")
    # Read-only on its quartiers: its commitments open, the others do not exist for it.
    assert client.get(f"/engagements/{inside}").status_code == 200
    assert client.get(f"/engagements/{outside}").status_code == 404
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"].startswith("/contrat")
    posted = client.post(
        f"/engagements/{inside}/commentaires",
        data={"text": "Les habitants demandent un point d'étape.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and "saved=1" in posted.headers["location"]
    outside_post = client.post(
        f"/engagements/{outside}/commentaires",
        data={"text": "Hors quartier.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert outside_post.status_code == 404
    no_csrf = client.post(
        f"/engagements/{inside}/commentaires", data={"text": "x"}, follow_redirects=False
    )
    assert no_csrf.status_code == 403
    own = client.get(f"/engagements/{inside}/commentaires").text
    assert "en attente de modération" in own

    api = TestClient(app)
    citoyen = _token(api, "citoyen@example.org")
    chef = _token(api, "chef@example.org")
    copil = _token(api, "copil@example.org")
    assert (
        api.post(
            f"/api/commitments/{outside}/comments", json={"text": "x"}, headers=citoyen
        ).status_code
        == 404
    )
    assert (
        api.post(
            f"/api/commitments/{inside}/comments", json={"text": "x"}, headers=chef
        ).status_code
        == 403
    )
    assert api.get(f"/api/commitments/{inside}/comments", headers=copil).json() == []
    queue = api.get("/api/comments/pending", headers=chef).json()
    assert [c["text"] for c in queue] == ["Les habitants demandent un point d'étape."]
    assert api.get("/api/comments/pending", headers=citoyen).status_code == 403
    comment_id = queue[0]["id"]
    assert api.post(
        f"/api/comments/{comment_id}/moderation", json={"decision": "publie"}, headers=citoyen
    ).status_code in (403, 404)
    done = api.post(
        f"/api/comments/{comment_id}/moderation", json={"decision": "publie"}, headers=chef
    )
    assert done.status_code == 200 and done.json()["status"] == "publie"
    visible = api.get(f"/api/commitments/{inside}/comments", headers=copil).json()
    assert [c["conseil_citoyen"] for c in visible] == ["Conseil citoyen des cités minières"]
    conseils = api.get("/api/conseils-citoyens", headers=citoyen).json()
    assert {c["code"] for c in conseils} == {"CC-1", "CC-2"}
    assert all(c["contacts"] == [] for c in conseils)  # contacts: project team only
    with demo_db.session(write=False) as session:
        principal = principal_of(session, "citoyen@example.org")
        assert principal.role == "conseil_citoyen" and principal.scope_quartier_ids


def test_dsu_flag_and_council_address_are_editable_by_an_admin(demo_db):
    client = TestClient(create_app(demo_db.settings))
    admin = _token(client, "admin@example.org")
    chef = _token(client, "chef@example.org")
    communes = client.get("/api/communes?size=100", headers=admin).json()["items"]
    commune_id = communes[0]["id"]
    url = f"/api/communes/{commune_id}/consultation"
    assert client.patch(url, json={"receives_dsu": True}, headers=chef).status_code == 403
    bad = client.patch(url, json={"council_email": "pas une adresse"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"] == "Adresse électronique invalide."
    ok = client.patch(
        url, json={"receives_dsu": True, "council_email": "cm@Mairie.example.org"}, headers=admin
    )
    assert ok.status_code == 200
    assert ok.json()["receives_dsu"] is True
    assert ok.json()["council_email"] == "cm@mairie.example.org"


def test_the_project_team_runs_the_procedure_from_the_pages(demo_db):
    app = create_app(demo_db.settings)
    with _at("2026-11-15"):
        client, csrf = _page_client(app, "admin@example.org")
        created = client.post(
            "/rapport-annuel", data={"year": "2026", "csrf_token": csrf}, follow_redirects=False
        )
        assert created.status_code == 303
        url = created.headers["location"]
        report_id = int(url.rsplit("/", 1)[1])
        assert "Ouvrir la consultation" in client.get(url).text
        index = client.get("/rapport-annuel").text
        assert "<title>Rapports annuels —" in index and "Rapport annuel 2026</a>" in index
        opened = client.post(
            f"{url}/consultation", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert "saved=etape" in opened.headers["location"]
        refused = client.post(
            f"{url}/approbation",
            data={"deliberation_on": "2026-11-15", "deliberation_ref": "D1", "csrf_token": csrf},
        )
        assert "Approbation impossible avant la fin de la consultation" in refused.text
        early = client.post(f"{url}/publication", data={"csrf_token": csrf})
        assert "Publication impossible : le rapport n&#39;a pas encore été approuvé." in early.text
        citoyen, citoyen_csrf = _page_client(app, "citoyen@example.org")
        page = citoyen.get(url).text
        assert "Ouvrir la consultation" not in page and "opinion-form" in page
        denied = citoyen.post(f"{url}/publication", data={"csrf_token": citoyen_csrf})
        assert "Seule l&#39;équipe projet" in denied.text
    with demo_db.session(write=False) as session:
        assert session.get(AnnualReport, report_id).status == "en_consultation"
