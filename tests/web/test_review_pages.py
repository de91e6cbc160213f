"""« À valider » and the review on the pages (issue #18), without a browser: the list, the
home notice, validate / return with CSRF, the committee refused, the meeting's cut-off."""

from __future__ import annotations

import re

from sqlalchemy import select

from suivi.indicators.models import Measurement
from tests.support.web_clients import AS_OF


def _pending_ids(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="mesure-(\d+)">', text)]


def test_validator_page_lists_validates_and_returns(web):
    partner = web["partenaire"]
    home = partner.get(f"/?as_of={AS_OF}")
    assert "3 mesures attendent votre validation" in home.text
    page = partner.get(f"/a-valider?as_of={AS_OF}")
    assert page.status_code == 200
    assert "3 mesures en attente de validation" in page.text
    first, second, third = _pending_ids(page.text)

    refused = partner.post(f"/a-valider/{first}/valider", csrf=False)
    assert refused.status_code == 403
    validated = partner.post(f"/a-valider/{first}/valider")
    assert validated.status_code == 200 and "Validée" in validated.text
    no_reason = partner.post(f"/a-valider/{second}/renvoyer", {"reason": " "})
    assert no_reason.status_code == 422 and "doit dire pourquoi" in no_reason.text
    returned = partner.post(f"/a-valider/{second}/renvoyer", {"reason": "Double compte"})
    assert returned.status_code == 200 and "Double compte" in returned.text
    # Without htmx: back to the list (303).
    assert partner.post(f"/a-valider/{third}/valider", htmx=False).status_code == 303
    with web.db.session(write=False) as session:
        states = dict(
            session.execute(
                select(Measurement.id, Measurement.status).where(
                    Measurement.id.in_([first, second, third])
                )
            ).all()
        )
    assert states == {first: "validated", second: "returned", third: "validated"}
    assert _pending_ids(partner.get(f"/a-valider?as_of={AS_OF}").text) == []


def test_committee_cannot_validate_and_sees_the_cutoff(web):
    copil = web["copil"]
    figure = _pending_ids(web["partenaire"].get(f"/a-valider?as_of={AS_OF}").text)[0]
    assert copil.post(f"/a-valider/{figure}/valider").status_code == 422  # the refusal, shown
    assert copil.post(f"/a-valider/{figure}/valider", htmx=False).status_code == 403
    contract = copil.get(f"/contrat?as_of={AS_OF}")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", contract.text))
    assert "Données arrêtées au 31 octobre 2026 : non verrouillées" in text
    # The admin (author of the demo's pending figures) is told of the returned ones.
    home = web["admin"].get(f"/?as_of={AS_OF}").text
    assert "2 de vos mesures ont été renvoyées" in home
