"""The authorisation matrix: every route of the OpenAPI document, for each role, on an
object in scope and one out of scope, answers the expected status — and without
credentials, every /api route (except the login) answers 401."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from tests.support.api_clients import ROLES
from tests.support.api_clients import login

ALL = tuple(ROLES)
READ_ALL = {"admin", "chef_de_projet", "copil"}
_counter = itertools.count(1)


def everyone(status):
    return lambda role, scope: status


def admin_only(status):
    return lambda role, scope: status if role == "admin" else 403


def scoped_read(role, scope):
    """Commitments, indicators and their children: a partner only reads its own."""
    if scope == "out" and role == "partenaire":
        return 404
    return 200


def editor_write(status):
    """Commitments/indicators/targets: admin anywhere, the project manager in scope."""

    def rule(role, scope):
        if role == "admin" or (role == "chef_de_projet" and scope == "in"):
            return status
        return 403

    return rule


def unreadable_404(rule):
    """A write to an indicator one may not even read is 404: it does not reveal it exists."""
    return lambda role, scope: 404 if scoped_read(role, scope) == 404 else rule(role, scope)


def measurement_write(role, scope):
    if role == "admin" or (role in ("chef_de_projet", "partenaire") and scope == "in"):
        return 201
    return 403


def manager(status):
    """Meetings' agenda, participants, status and decisions: admins and project managers."""
    return lambda role, scope: status if role in ("admin", "chef_de_projet") else 403


def in_contract(rule):
    """Creations name their contract (`?contract_id=`): another contract is 404 for all."""
    return lambda role, scope: rule(role, scope) if scope == "in" else 404


def contract_admin(status):
    """Reference data changed in a named contract: its admins only, 404 in another one."""
    return in_contract(admin_only(status))


def partner_read(role, scope):
    return 404 if role == "partenaire" and scope == "out" else 200


def _current_version(api, kind, object_id):
    return api.get("admin", f"/api/{kind}/{object_id}").json()["version"]


def _current_measurement(api, indicator_id):
    with api.db.session(write=False) as session:
        return (
            session.execute(
                select(Measurement.id)
                .where(
                    Measurement.indicator_id == indicator_id, Measurement.superseded_by_id.is_(None)
                )
                .order_by(Measurement.id.desc())
            )
            .scalars()
            .first()
        )


def _contract_commune(api) -> int:
    from suivi.contract.models import ContractQuartier
    from suivi.contract.models import QuartierCommune

    with api.db.session(write=False) as session:
        return (
            session.execute(
                select(QuartierCommune.commune_id)
                .join(ContractQuartier, ContractQuartier.quartier_id == QuartierCommune.quartier_id)
                .where(ContractQuartier.contract_id == 1)
                .order_by(QuartierCommune.commune_id)
            )
            .scalars()
            .first()
        )


def _baseline(api, indicator_id):
    with api.db.session(write=False) as session:
        return session.get(Indicator, indicator_id)


def body_for(api, method, path, ids, role):
    """A valid request body for the route (valid apart from authorisation)."""
    n = next(_counter)
    if (method, path) == ("post", "/api/commitments"):
        quartiers = api.get("admin", "/api/auth/me")  # noqa: F841 - keeps the client warm
        chef = api.get("chef_de_projet", "/api/auth/me").json()
        in_scope = ids["scope"] == "in"
        return {
            "code": f"T-{n}",
            "title": "Engagement de test",
            "lead_partner_id": ids["partner_id"],
            "priority_id": 2,
            "start_date": "2025-01-01",
            "end_date": "2026-12-31",
            "funding_type": "droit_commun",
            "quartier_ids": chef["scope_quartier_ids"][:1] if in_scope else [],
        }
    if (method, path) == ("patch", "/api/commitments/{commitment_id}"):
        return {
            "version": _current_version(api, "commitments", ids["commitment_id"]),
            "title": f"Titre {n}",
        }
    if (method, path) == ("post", "/api/indicators"):
        return {
            "commitment_id": ids["commitment_id"],
            "code": f"T-I-{n}",
            "name": "Indicateur de test",
            "unit": "personnes",
            "direction": "increase",
            "baseline_value": 10,
            "baseline_date": "2024-12-31",
            "targets": [{"target_date": "2030-12-31", "value": 20}],
        }
    if (method, path) == ("patch", "/api/indicators/{indicator_id}"):
        return {
            "version": _current_version(api, "indicators", ids["indicator_id"]),
            "name": f"Nom {n}",
        }
    if (method, path) == ("post", "/api/indicators/{indicator_id}/targets"):
        return {"target_date": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}", "value": 1.5}
    if (method, path) == ("put", "/api/indicators/{indicator_id}/targets/{target_id}"):
        current = api.get("admin", f"/api/indicators/{ids['indicator_id']}").json()["targets"]
        value = next(t["value"] for t in current if t["id"] == ids["target_id"])
        return {"value": value + 1, "kind": "autre", "reason": "Ajustement"}
    if (method, path) == ("post", "/api/indicators/{indicator_id}/measurements"):
        return {"measured_on": "2026-10-31", "value": 42, "comment": "saisie"}
    if path.endswith("/correction"):
        return {"value": 43, "reason": "erreur de saisie"}
    if (method, path) == ("post", "/api/tokens"):
        return {"name": f"intégration {n}"}
    if (method, path) == ("post", "/api/users"):
        return {"email": f"u{n}@example.org", "password": "motdepasse", "role": "copil"}
    if (method, path) == ("patch", "/api/users/{user_id}"):
        return {"full_name": f"Nom {n}"}
    # Reference data (admins of the contract only).
    if (method, path) == ("patch", "/api/contracts/{contract_id}"):
        return {"name": f"Contrat de ville {n}"}
    if (method, path) == ("post", "/api/partners"):
        return {"code": f"P-{n}", "name": f"Partenaire {n}", "kind": "bailleur"}
    if (method, path) == ("patch", "/api/partners/{partner_id}"):
        return {"is_signatory": n % 2 == 0}
    if (method, path) == ("patch", "/api/quartiers/{quartier_id}"):
        return {"in_contract": n % 2 == 0}
    if (method, path) == ("post", "/api/priorities"):
        return {"code": f"PR-{n}", "title": "Objectif de test", "domain": "emploi"}
    if (method, path) == ("patch", "/api/priorities/{priority_id}"):
        return {"tags": ["jeunesse"] if n % 2 else ["participation"]}
    if (method, path) == ("post", "/api/meetings"):
        return {"kind": "copil", "held_on": "2026-12-01", "title": f"COPIL {n}"}
    if (method, path) == ("patch", "/api/meetings/{meeting_id}"):
        return {"location": f"Salle {n}"}
    if (method, path) == ("put", "/api/meetings/{meeting_id}/participants"):
        return {"partner_ids": [ids["partner_id"]]}
    if (method, path) == ("post", "/api/meetings/{meeting_id}/agenda"):
        return {"title": f"Point {n}"}
    if (method, path) == ("post", "/api/meetings/{meeting_id}/decisions"):
        return {"text": f"Décision {n}"}
    if (method, path) == ("patch", "/api/communes/{commune_id}/consultation"):
        return {"receives_dsu": n % 2 == 0}
    if (method, path) == ("post", "/api/meetings/{meeting_id}/lock"):
        # Before any figure of the demo: the other routes' writes stay possible.
        return {"data_cutoff": "2024-01-31"}
    if (method, path) == ("post", "/api/meetings/{meeting_id}/unlock"):
        return {"reason": "Chiffres de la CAF arrivés après l'arrêt"}
    return None


# (method, path) → rule(role, scope) → expected status.
MATRIX = {
    ("get", "/api/auth/me"): everyone(200),
    ("delete", "/api/auth/token"): everyone(204),
    ("get", "/api/tokens"): everyone(200),
    ("post", "/api/tokens"): everyone(201),
    ("delete", "/api/tokens/{token_id}"): lambda role, scope: 204 if scope == "in" else 404,
    ("get", "/api/contracts"): everyone(200),
    ("get", "/api/contracts/{contract_id}"): lambda role, scope: 200 if scope == "in" else 404,
    ("get", "/api/communes"): everyone(200),
    ("get", "/api/quartiers"): everyone(200),
    ("get", "/api/quartiers/{quartier_id}"): everyone(200),
    ("get", "/api/quartiers/{quartier_id}/contour"): everyone(200),
    ("get", "/api/partners"): everyone(200),
    ("get", "/api/partners/{partner_id}"): partner_read,
    ("get", "/api/priorities"): everyone(200),
    ("get", "/api/meetings"): everyone(200),
    ("get", "/api/commitments"): everyone(200),
    ("get", "/api/commitments/{commitment_id}"): scoped_read,
    ("post", "/api/commitments"): editor_write(201),
    ("patch", "/api/commitments/{commitment_id}"): editor_write(200),
    ("get", "/api/indicators"): everyone(200),
    ("get", "/api/indicators/{indicator_id}"): scoped_read,
    ("get", "/api/indicators/{indicator_id}/evaluation"): scoped_read,
    ("get", "/api/rollups"): everyone(200),
    ("post", "/api/indicators"): editor_write(201),
    ("patch", "/api/indicators/{indicator_id}"): unreadable_404(editor_write(200)),
    ("post", "/api/indicators/{indicator_id}/targets"): unreadable_404(editor_write(201)),
    ("put", "/api/indicators/{indicator_id}/targets/{target_id}"): unreadable_404(
        editor_write(200)
    ),
    ("get", "/api/indicators/{indicator_id}/targets/{target_id}/revisions"): scoped_read,
    ("get", "/api/indicators/{indicator_id}/measurements"): scoped_read,
    ("post", "/api/indicators/{indicator_id}/measurements"): unreadable_404(measurement_write),
    (
        "post",
        "/api/indicators/{indicator_id}/measurements/{measurement_id}/correction",
    ): unreadable_404(measurement_write),
    ("get", "/api/users"): admin_only(200),
    ("get", "/api/users/{user_id}"): admin_only(200),
    ("post", "/api/users"): admin_only(201),
    ("patch", "/api/users/{user_id}"): admin_only(200),
    ("post", "/api/users/{user_id}/unlock"): admin_only(200),
    ("get", "/api/audit"): admin_only(200),
    # Reference data: read by all, changed by the contract's admins only.
    ("patch", "/api/contracts/{contract_id}"): contract_admin(200),
    ("post", "/api/partners"): contract_admin(201),
    ("patch", "/api/partners/{partner_id}"): admin_only(200),
    ("patch", "/api/quartiers/{quartier_id}"): admin_only(200),
    ("get", "/api/priorities/{priority_id}"): everyone(200),
    ("post", "/api/priorities"): contract_admin(201),
    ("patch", "/api/priorities/{priority_id}"): admin_only(200),
    ("get", "/api/meetings/{meeting_id}"): everyone(200),
    ("post", "/api/meetings"): contract_admin(201),
    ("patch", "/api/meetings/{meeting_id}"): admin_only(200),
    ("delete", "/api/meetings/{meeting_id}"): admin_only(204),
    # The committee cycle (suivi.governance): all read; admins and project managers manage.
    ("get", "/api/meetings/{meeting_id}/cycle"): everyone(200),
    ("get", "/api/meetings/{meeting_id}/decisions"): everyone(200),
    ("post", "/api/meetings/{meeting_id}/held"): manager(200),
    ("put", "/api/meetings/{meeting_id}/participants"): manager(200),
    ("post", "/api/meetings/{meeting_id}/agenda"): manager(201),
    ("post", "/api/meetings/{meeting_id}/agenda/from-report"): manager(200),
    # A meeting just created is not held yet: no decision on it (409), whoever may manage.
    ("post", "/api/meetings/{meeting_id}/decisions"): manager(409),
    # A commune's DSU flag and conseil municipal address (annual report, issue 21).
    ("patch", "/api/communes/{commune_id}/consultation"): contract_admin(200),
    ("post", "/api/meetings/{meeting_id}/lock"): admin_only(200),
    ("post", "/api/meetings/{meeting_id}/unlock"): admin_only(200),
    ("get", "/api/measurements"): everyone(200),
}
# Routes that need no credentials.
PUBLIC = {
    ("post", "/api/auth/token"),
    # The public JSON of the contract and its quartiers (issue 21): no login by design.
    ("get", "/api/public/contract"),
    ("get", "/api/public/quartiers/{code}"),
}


def api_operations(client):
    document = client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path


def test_matrix_covers_every_route_of_this_issue(api):
    operations = set(api_operations(api.client))
    missing = set(MATRIX) - operations
    assert not missing, f"routes of the matrix missing from /openapi.json: {missing}"


def test_every_api_route_refuses_anonymous_requests(api):
    checked = 0
    for method, path in api_operations(api.client):
        if (method, path) in PUBLIC:
            continue
        url = path.format_map(_AnyId())
        response = api.client.request(method, url)
        assert response.status_code == 401, (method, path, response.status_code)
        assert "detail" in response.json()
        checked += 1
    assert checked >= len(MATRIX)


def _params(method, path, ids):
    if path.endswith(("/evaluation", "/held")):  # /held: the meeting's day is past
        return {"as_of": "2026-11-15"}
    if method == "post" and path in ("/api/partners", "/api/priorities", "/api/meetings"):
        return {"contract_id": ids["contract_id"]}
    return None


class _AnyId(dict):
    def __missing__(self, key):
        return 1


def _path_ids(api, role, scope, path):
    ids = dict(api.ids[scope])
    ids["scope"] = scope
    ids["contract_id"] = 1 if scope == "in" else 999_999
    ids["quartier_id"] = 1
    if "{measurement_id}" in path:
        ids["measurement_id"] = _current_measurement(api, ids["indicator_id"])
    ids["priority_id"] = 2
    if "{commune_id}" in path:
        # A commune holding a quartier of the contract; another one is unknown (404).
        ids["commune_id"] = _contract_commune(api) if scope == "in" else 999_999
    if "{meeting_id}" in path:
        created = api.post(
            "admin", "/api/meetings", json={"kind": "cotech", "held_on": "2026-06-01", "title": "T"}
        )
        ids["meeting_id"] = created.json()["id"]
        if path.endswith("/unlock"):
            locked = api.post(
                "admin",
                f"/api/meetings/{ids['meeting_id']}/lock",
                json={"data_cutoff": "2024-01-31"},
            )
            assert locked.status_code == 200, locked.text
    if "{token_id}" in path:
        owner = role if scope == "in" else ("copil" if role != "copil" else "admin")
        created = api.post(owner, "/api/tokens", json={"name": "à révoquer"})
        ids["token_id"] = created.json()["id"]
    return ids


@pytest.mark.parametrize("role", ALL)
def test_authorization_matrix(api, role):
    failures = []
    for (method, path), rule in MATRIX.items():
        for scope in ("in", "out"):
            ids = _path_ids(api, role, scope, path)
            url = path.format_map(ids)
            body = body_for(api, method, path, ids, role)
            token = api.tokens[role]
            if (method, path) == ("delete", "/api/auth/token"):
                token = login(api.client, ROLES[role])  # revoke a spare one
            response = api.client.request(
                method,
                url,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                params=_params(method, path, ids),
            )
            expected = rule(role, scope)
            if response.status_code != expected:
                failures.append(
                    (method, url, scope, expected, response.status_code, response.text[:200])
                )
            if response.status_code >= 400:
                assert "detail" in response.json()
    assert not failures, "\n".join(map(str, failures))


REFERENCE_PREFIXES = ("/api/contracts", "/api/partners", "/api/quartiers", "/api/priorities")


def test_matrix_covers_every_reference_data_route(api):
    """A new route of the reference data cannot slip in without its expected statuses
    (partner contacts belong to the notifications and are checked there)."""
    reference = {
        (method, path)
        for method, path in api_operations(api.client)
        if path.startswith((*REFERENCE_PREFIXES, "/api/meetings", "/api/communes"))
        and "/contacts" not in path
    }
    assert reference - set(MATRIX) == set()
