"""A write to an indicator one may not even read answers 404, like a read: a 403 would
tell that it exists (issue 15, item 21). One readable but not writable stays 403."""

from __future__ import annotations

WRITES = [
    (
        "post",
        "/api/indicators/{indicator_id}/measurements",
        {"measured_on": "2026-10-31", "value": 1},
    ),
    (
        "post",
        "/api/indicators/{indicator_id}/measurements/{measurement_id}/correction",
        {"value": 2, "reason": "erreur de saisie"},
    ),
    ("post", "/api/indicators/{indicator_id}/targets", {"target_date": "2029-12-31", "value": 3}),
    ("patch", "/api/indicators/{indicator_id}", {"version": 1, "name": "Nom"}),
]


def test_partner_writes_to_an_unreadable_indicator_are_404(api):
    out = api.ids["out"]
    for method, path, body in WRITES:
        url = path.format(**out)
        assert api.get("partenaire", f"/api/indicators/{out['indicator_id']}").status_code == 404
        response = api.client.request(method, url, json=body, headers=api.headers("partenaire"))
        assert response.status_code == 404, (url, response.text)
        assert response.json()["detail"] == "Indicateur introuvable."


def test_copil_reads_but_may_not_write_so_403(api):
    inside = api.ids["in"]
    url = "/api/indicators/{indicator_id}/measurements".format(**inside)
    assert api.get("copil", f"/api/indicators/{inside['indicator_id']}").status_code == 200
    body = {"measured_on": "2026-10-31", "value": 1}
    assert api.post("copil", url, json=body).status_code == 403
