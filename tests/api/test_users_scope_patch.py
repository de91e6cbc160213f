"""PATCH /api/users/{id} changes only the scope lists it is sent (issue 15, item 3): sending
the partners used to wipe the quartiers too, leaving the project manager unrestricted."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from sqlalchemy import select

from suivi.auth.models import User
from suivi.auth.models import UserScope
from suivi.contract.models import Partner
from suivi.contract.models import Quartier


def _setup_scope(api) -> dict:
    """The demo project manager restricted to two partners and two quartiers."""
    with api.db.session() as session:
        chef = session.execute(select(User).where(User.email == "chef@example.org")).scalar_one()
        partners = list(session.execute(select(Partner.id).order_by(Partner.id)).scalars())[:3]
        quartiers = list(session.execute(select(Quartier.id).order_by(Quartier.id)).scalars())[:3]
        session.execute(delete(UserScope).where(UserScope.user_id == chef.id))
        for p in partners[:2]:
            session.add(UserScope(user_id=chef.id, partner_id=p))
        for q in quartiers[:2]:
            session.add(UserScope(user_id=chef.id, quartier_id=q))
        return {"user_id": chef.id, "partners": partners, "quartiers": quartiers}


def _scope_in_db(api, user_id) -> tuple[list[int], list[int]]:
    with api.db.session(write=False) as session:
        rows = session.execute(
            select(UserScope.partner_id, UserScope.quartier_id).where(UserScope.user_id == user_id)
        ).all()
    return (
        sorted(p for p, _ in rows if p is not None),
        sorted(q for _, q in rows if q is not None),
    )


# (body built from the setup, expected partners, expected quartiers); "P"/"Q" = as set up.
CASES = {
    "partners only, emptied": (
        lambda s: {"scope_partner_ids": []},
        lambda s: [],
        lambda s: s["quartiers"][:2],
    ),
    "partners only, replaced": (
        lambda s: {"scope_partner_ids": [s["partners"][2]]},
        lambda s: [s["partners"][2]],
        lambda s: s["quartiers"][:2],
    ),
    "quartiers only, emptied": (
        lambda s: {"scope_quartier_ids": []},
        lambda s: s["partners"][:2],
        lambda s: [],
    ),
    "quartiers only, replaced": (
        lambda s: {"scope_quartier_ids": [s["quartiers"][2]]},
        lambda s: s["partners"][:2],
        lambda s: [s["quartiers"][2]],
    ),
    "both": (
        lambda s: {"scope_partner_ids": [s["partners"][2]], "scope_quartier_ids": []},
        lambda s: [s["partners"][2]],
        lambda s: [],
    ),
    "neither": (
        lambda s: {"full_name": "Chef de projet"},
        lambda s: s["partners"][:2],
        lambda s: s["quartiers"][:2],
    ),
    "same role sent, partners only": (
        lambda s: {"role": "chef_de_projet", "scope_partner_ids": []},
        lambda s: [],
        lambda s: s["quartiers"][:2],
    ),
    "role changed: no scope left": (
        lambda s: {"role": "copil"},
        lambda s: [],
        lambda s: [],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_patch_changes_only_the_scope_lists_sent(api, case):
    setup = _setup_scope(api)
    body, partners, quartiers = (f(setup) for f in CASES[case])
    response = api.client.patch(
        f"/api/users/{setup['user_id']}", json=body, headers=api.headers("admin")
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["scope_partner_ids"], out["scope_quartier_ids"]) == (partners, quartiers)
    assert _scope_in_db(api, setup["user_id"]) == (partners, quartiers)


def test_role_change_to_project_manager_takes_the_lists_sent(api):
    copil_id = api.user_ids["copil"]
    setup = _setup_scope(api)
    body = {"role": "chef_de_projet", "scope_quartier_ids": [setup["quartiers"][0]]}
    response = api.client.patch(f"/api/users/{copil_id}", json=body, headers=api.headers("admin"))
    assert response.status_code == 200, response.text
    assert _scope_in_db(api, copil_id) == ([], [setup["quartiers"][0]])
    # Then the partners alone: the quartier stays.
    body = {"scope_partner_ids": [setup["partners"][0]]}
    response = api.client.patch(f"/api/users/{copil_id}", json=body, headers=api.headers("admin"))
    assert response.status_code == 200, response.text
    assert _scope_in_db(api, copil_id) == ([setup["partners"][0]], [setup["quartiers"][0]])


def test_scope_for_another_role_is_refused_and_nothing_changes(api):
    setup = _setup_scope(api)
    body = {"role": "copil", "scope_quartier_ids": [setup["quartiers"][0]]}
    response = api.client.patch(
        f"/api/users/{setup['user_id']}", json=body, headers=api.headers("admin")
    )
    assert response.status_code == 422
    assert response.json()["field"] == "role"
    assert _scope_in_db(api, setup["user_id"]) == (setup["partners"][:2], setup["quartiers"][:2])
