"""Suspended and abandoned commitments are out of every roll-up: the pages say « Hors suivi »
instead of judging them."""

from __future__ import annotations

import re

from sqlalchemy import select

from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentQuartier
from suivi.contract.models import Quartier
from tests.support.web_clients import AS_OF


def test_suspended_commitment_is_shown_out_of_monitoring(web):
    with web.db.session(write=False) as session:
        commitment, code = session.execute(
            select(Commitment, Quartier.code)
            .join(CommitmentQuartier, CommitmentQuartier.commitment_id == Commitment.id)
            .join(Quartier, Quartier.id == CommitmentQuartier.quartier_id)
            .where(Commitment.status == "suspendu")
            .order_by(Commitment.id)
        ).first()
    admin = web["admin"]
    quartier = admin.get(f"/quartiers/{code}?as_of={AS_OF}").text
    line = re.search(rf"{commitment.code}</a>.*?</li>", quartier, re.S).group(0)
    assert "Hors suivi" in line
    assert not re.search(r"Dans la trajectoire|Hors trajectoire|À surveiller|Atteint", line)
    page = admin.get(f"/engagements/{commitment.id}?as_of={AS_OF}").text
    badges = re.search(r'<p class="badges">(.*?)</p>', page, re.S).group(1)
    assert "Hors suivi" in badges and "Suspendu" in badges
