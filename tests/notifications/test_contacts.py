"""Partner contacts: API (scoped, audited), the public unsubscribe link (no login) through a
real email, the admin preview and the list of failed deliveries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from suivi.app import create_app
from suivi.audit.models import AuditEvent
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.notifications.summaries import send_partner_summaries
from tests.support.api_clients import ROLES
from tests.support.api_clients import Api
from tests.support.api_clients import login
from tests.support.api_clients import scope_objects
from tests.support.databases import DEMO_AS_OF
from tests.support.smtp import smtp_settings

MONDAY = DEMO_AS_OF + timedelta(days=1)
NO_WAIT = {"sleep": lambda _seconds: None}


@pytest.fixture
def api(demo_db) -> Api:
    """The API test client of tests/api, with a bearer token per demo role."""
    client = TestClient(create_app(demo_db.settings))
    tokens = {role: login(client, email) for role, email in ROLES.items()}
    return Api(client, demo_db, tokens, {}, scope_objects(demo_db))


def partner_ids(db) -> dict[str, int]:
    with db.session(write=False) as session:
        return {p.code: p.id for p in session.execute(select(Partner)).scalars()}


def audit_actions(db, contact_id: int) -> list[tuple[str, str]]:
    with db.session(write=False) as session:
        return [
            (event.action, event.actor_label)
            for event in session.execute(
                select(AuditEvent)
                .where(
                    AuditEvent.entity == "partner_contact", AuditEvent.entity_id == str(contact_id)
                )
                .order_by(AuditEvent.id)
            ).scalars()
        ]


def test_admin_manages_contacts_with_audit(api: Api):
    partners = partner_ids(api.db)
    url = f"/api/partners/{partners['caf-62']}/contacts"
    created = api.post(
        "admin",
        url,
        json={"name": "Claire Caf", "email": "Claire.Caf@EXAMPLE.org", "frequency": "weekly"},
    )
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["email"] == "Claire.Caf@example.org"  # domain lower-cased
    assert contact["subscribed"] is True and "unsubscribe_token" not in contact
    listed = api.get("admin", url).json()
    assert contact["id"] in {c["id"] for c in listed}

    duplicate = api.post("admin", url, json={"name": "Autre", "email": "claire.caf@example.org"})
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "email"
    bad = api.post("admin", url, json={"name": "X", "email": "pas-une-adresse"})
    assert bad.status_code == 422 and bad.json()["field"] == "email"
    bad = api.post("admin", url, json={"name": "X", "email": "x@example.org", "frequency": "daily"})
    assert bad.status_code == 422

    item = f"{url}/{contact['id']}"
    changed = api.client.patch(item, headers=api.headers("admin"), json={"frequency": "monthly"})
    assert changed.status_code == 200 and changed.json()["frequency"] == "monthly"
    deleted = api.client.delete(item, headers=api.headers("admin"))
    assert deleted.status_code == 204
    assert api.get("admin", item).status_code == 404
    assert [action for action, _ in audit_actions(api.db, contact["id"])] == [
        "create",
        "update",
        "delete",
    ]


def test_contacts_are_scoped(api: Api):
    partners = partner_ids(api.db)
    own = f"/api/partners/{partners['france-travail']}/contacts"
    other = f"/api/partners/{partners['caf-62']}/contacts"
    # The partner account (France Travail) reads its own contacts, not another partner's.
    assert api.get("partenaire", own).status_code == 200
    assert api.get("partenaire", other).status_code == 404
    # Only admins change contacts; others get 403 on what they can read.
    body = {"name": "Y", "email": "y@example.org"}
    for role in ("partenaire", "chef_de_projet", "copil"):
        assert api.post(role, own, json=body).status_code == 403, role
    assert api.get("copil", other).status_code == 200
    # Preview and deliveries are for admins.
    with api.db.session(write=False) as session:
        contact_id = session.execute(
            select(PartnerContact.id).where(PartnerContact.partner_id == partners["caf-62"])
        ).scalar_one()
    preview = f"{other}/{contact_id}/summary-preview?as_of={MONDAY.isoformat()}"
    assert api.get("chef_de_projet", preview).status_code == 403
    assert api.get("partenaire", "/api/email-deliveries").status_code == 403
    assert api.get("copil", "/api/email-deliveries").status_code == 403


def test_admin_preview_renders_without_sending(api: Api):
    partners = partner_ids(api.db)
    with api.db.session(write=False) as session:
        contact_id = session.execute(
            select(PartnerContact.id).where(PartnerContact.partner_id == partners["caf-62"])
        ).scalar_one()
    url = f"/api/partners/{partners['caf-62']}/contacts/{contact_id}/summary-preview"
    response = api.get("admin", url, params={"as_of": MONDAY.isoformat()})
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["subject"] == "Suivi du contrat de ville — votre point de novembre 2026"
    assert preview["dedup_key"] == f"partner_summary:contact:{contact_id}:2026-11"
    assert "CAF" in preview["text"] and "<html" in preview["html"]
    from suivi.notifications.models import EmailDelivery

    with api.db.session(write=False) as session:
        assert session.execute(select(EmailDelivery)).first() is None  # nothing sent
    wrong_partner = f"/api/partners/{partners['france-travail']}/contacts/{contact_id}"
    assert api.get("admin", wrong_partner + "/summary-preview").status_code == 404


def test_cli_preview(demo_db, monkeypatch):
    from suivi.cli import app

    monkeypatch.setenv("SUIVI_DATABASE_URL", demo_db.url)
    with demo_db.session(write=False) as session:
        contact = session.execute(
            select(PartnerContact).where(PartnerContact.email == "contact.region@example.org")
        ).scalar_one()
    result = CliRunner().invoke(
        app, ["summaries", "preview", str(contact.id), "--as-of", MONDAY.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "Objet : Suivi du contrat de ville — votre point de novembre 2026" in result.output
    assert "Région Hauts-de-France" in result.output or "Région" in result.output
    missing = CliRunner().invoke(app, ["summaries", "preview", "999999"])
    assert missing.exit_code == 1 and "introuvable" in missing.output


def test_unsubscribe_through_the_real_link_stops_the_next_sends(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    weekly = "contact.france-travail@example.org"
    message = next(r.message for r in smtp_server.received if weekly in r.recipients)
    link = message["List-Unsubscribe"].strip().strip("<>")
    path = link.removeprefix("http://testserver")
    client = TestClient(create_app(settings))  # no login, no cookie

    # GET only asks (a mail scanner following links unsubscribes no one).
    page = client.get(path)
    assert page.status_code == 200
    assert "Me désabonner" in page.text and 'method="post"' in page.text
    assert "France Travail" in page.text
    with demo_db.session(write=False) as session:
        contact = session.execute(
            select(PartnerContact).where(PartnerContact.email == weekly)
        ).scalar_one()
    assert contact.unsubscribed_at is None

    # The one-click POST of a mail client (RFC 8058), or the button.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "désabonné" in done.text
    assert client.post(path).status_code == 200  # a second click changes nothing
    assert audit_actions(demo_db, contact.id) == [("update", "lien de désabonnement")]
    assert "ne recevra plus" in client.get(path).text
    assert client.get("/desabonnement/inconnu").status_code == 404

    next_week = send_partner_summaries(
        demo_db.engine, settings, as_of=MONDAY + timedelta(days=7), **NO_WAIT
    )
    next_month = send_partner_summaries(
        demo_db.engine, settings, as_of=MONDAY + timedelta(days=21), **NO_WAIT
    )
    assert next_week["sent"] == 0 and next_month["sent"] == 4
    assert sum(weekly in r.recipients for r in smtp_server.received) == 1

    # The admin sees it, and may subscribe the person again when they ask for it.
    admin = TestClient(create_app(settings))
    token = admin.post(
        "/api/auth/token", data={"username": "admin@example.org", "password": "demo"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/partners/{contact.partner_id}/contacts/{contact.id}"
    assert admin.get(url, headers=headers).json()["subscribed"] is False
    again = admin.patch(url, headers=headers, json={"resubscribe": True})
    assert again.json()["subscribed"] is True


def test_failed_deliveries_are_shown_to_admins(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    smtp_server.handler.refuse["contact.bailleur@example.org"] = "554 5.7.1 Message refusé"
    send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    client = TestClient(create_app(settings))
    token = client.post(
        "/api/auth/token", data={"username": "admin@example.org", "password": "demo"}
    ).json()["access_token"]
    response = client.get("/api/email-deliveries", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 1
    (failed,) = page["items"]
    assert failed["recipient"] == "contact.bailleur@example.org"
    assert failed["status"] == "failed" and "554" in failed["last_error"]
    sent = client.get(
        "/api/email-deliveries",
        params={"status": "sent"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert sent["total"] == 4


@pytest.mark.parametrize("frequency", ["weekly", "monthly", "none"])
def test_service_refuses_bad_input_and_writes_nothing(demo_db, frequency):
    from suivi.errors import Invalid
    from suivi.notifications import contacts

    with demo_db.session() as session:
        partner = session.execute(select(Partner).where(Partner.code == "caf-62")).scalar_one()
        contact = contacts.create_contact(
            session,
            partner,
            fields={"name": " Zoé ", "email": "zoe@example.org", "frequency": frequency},
        )
        assert contact.name == "Zoé" and len(contact.unsubscribe_token) >= 32
        with pytest.raises(Invalid):
            contacts.create_contact(session, partner, fields={"name": " ", "email": "a@b.fr"})


def _token(db, contact_id: int) -> str:
    with db.session(write=False) as session:
        return session.get(PartnerContact, contact_id).unsubscribe_token


def test_one_address_per_contact_through_api_and_admin_page(api: Api):
    from tests.support.web_clients import login as web_login

    partners = partner_ids(api.db)
    url = f"/api/partners/{partners['caf-62']}/contacts"
    page = web_login(api.client.app, "admin")
    for email in ("a@example.org,evil@example.net", "a@example.org evil@example.net",
                  "a@example.org;evil@example.net", "a@example", '"a b"@example.org'):  # fmt: skip
        refused = api.post("admin", url, json={"name": "X", "email": email})
        assert refused.status_code == 422 and refused.json()["field"] == "email", email
        form = page.post(
            f"/administration/partenaires/{partners['caf-62']}/contacts",
            {"name": "X", "email": email, "frequency": "monthly"},
            htmx=False,
        )
        assert form.status_code == 422, email
        assert "Adresse électronique invalide." in form.text
    with api.db.session(write=False) as session:
        emails = session.execute(select(PartnerContact.email)).scalars().all()
    assert not any("evil" in email for email in emails)


def test_changing_the_email_gives_a_new_unsubscribe_token(api: Api):
    partners = partner_ids(api.db)
    url = f"/api/partners/{partners['caf-62']}/contacts"
    contact = api.post("admin", url, json={"name": "Léa", "email": "lea@example.org"}).json()
    first = _token(api.db, contact["id"])
    item = f"{url}/{contact['id']}"
    api.client.patch(item, headers=api.headers("admin"), json={"role": "Directrice"})
    assert _token(api.db, contact["id"]) == first  # no new address, same link
    new_email = {"email": "lea@ailleurs.fr"}
    changed = api.client.patch(item, headers=api.headers("admin"), json=new_email)
    assert changed.status_code == 200, changed.text
    second = _token(api.db, contact["id"])
    assert second != first and len(second) >= 40
    public = TestClient(api.client.app)
    assert public.post(f"/desabonnement/{first}").status_code == 404  # the old link is dead
    assert public.post(f"/desabonnement/{second}").status_code == 200


def test_demo_unsubscribe_tokens_are_random(demo_db):
    with demo_db.session(write=False) as session:
        tokens = session.execute(select(PartnerContact.unsubscribe_token)).scalars().all()
    assert tokens and len(set(tokens)) == len(tokens)
    assert all(len(token) >= 40 and "demo" not in token for token in tokens)


def test_deleting_a_data_owner_leaves_its_indicators_without_owner(api: Api):
    from suivi.governance.models import Decision
    from suivi.indicators.models import Indicator

    partners = partner_ids(api.db)
    with api.db.session(write=False) as session:
        contact = session.execute(
            select(PartnerContact).where(PartnerContact.partner_id == partners["caf-62"])
        ).scalar()
        owned = (
            session.execute(
                select(Indicator.id).where(Indicator.data_owner_contact_id == contact.id)
            )
            .scalars()
            .all()
        )
    assert owned, "the demo's CAF contact owns indicators' data"
    with api.db.session(write=False) as session:
        followed = (
            session.execute(select(Decision.id).where(Decision.owner_contact_id == contact.id))
            .scalars()
            .all()
        )
    url = f"/api/partners/{partners['caf-62']}/contacts/{contact.id}"
    assert api.client.delete(url, headers=api.headers("admin")).status_code == 204
    with api.db.session(write=False) as session:
        owners = (
            session.execute(select(Indicator.data_owner_contact_id).where(Indicator.id.in_(owned)))
            .scalars()
            .all()
        )
    assert set(owners) == {None}
    # The committee decisions it followed keep their partner, without a contact.
    with api.db.session(write=False) as session:
        decisions = session.execute(
            select(Decision.owner_contact_id, Decision.owner_partner_id).where(
                Decision.id.in_(followed)
            )
        ).all()
    assert all(contact_id is None for contact_id, _ in decisions)
    assert all(partner_id == partners["caf-62"] for _, partner_id in decisions)
