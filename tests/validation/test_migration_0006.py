"""Migration 0006 on a base written before it: `javascript:` evidence links are emptied and
audited, duplicate current values of one date are resolved, then the unique index holds;
downgrade works."""

from __future__ import annotations

from sqlalchemy import column
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy import update

from suivi.audit.models import AuditEvent
from suivi.db import utcnow
from suivi.indicators.models import Measurement
from suivi.migrate import downgrade
from suivi.migrate import upgrade

# The table as revision 0002 has it: the model's later columns (review states…) do not
# exist yet, so the ORM entity cannot insert into it.
MEASUREMENT_0002 = table(
    "measurement",
    column("id"),
    column("indicator_id"),
    column("measured_on"),
    column("value"),
    column("comment"),
    column("evidence_url"),
    column("correction_reason"),
    column("entered_at"),
)


def test_0006_neutralises_links_and_duplicates(demo_db):
    demo_db.close()
    downgrade(demo_db.url, "0002")
    demo_db.close()
    with demo_db.session() as session:
        first, second = session.execute(
            select(Measurement.id, Measurement.indicator_id, Measurement.measured_on)
            .where(Measurement.superseded_by_id.is_(None))
            .order_by(Measurement.id)
            .limit(2)
        ).all()
        session.execute(
            update(Measurement)
            .where(Measurement.id == first.id)
            .values(evidence_url="javascript:alert(1)")
        )
        session.execute(
            update(Measurement)
            .where(Measurement.id == second.id)
            .values(evidence_url="https://example.org/ok")
        )
        duplicate = session.execute(
            insert(MEASUREMENT_0002)
            .values(
                indicator_id=first.indicator_id,
                measured_on=first.measured_on,
                value=1.0,
                comment="",
                evidence_url="",
                correction_reason="",
                entered_at=utcnow(),
            )
            .returning(MEASUREMENT_0002.c.id)
        ).scalar_one()
    demo_db.close()
    upgrade(demo_db.url)
    demo_db.close()
    with demo_db.session(write=False) as session:
        links = dict(
            session.execute(
                select(Measurement.id, Measurement.evidence_url).where(
                    Measurement.id.in_([first.id, second.id])
                )
            ).all()
        )
        assert links == {first.id: "", second.id: "https://example.org/ok"}
        current = session.execute(
            select(Measurement.id).where(
                Measurement.indicator_id == first.indicator_id,
                Measurement.measured_on == first.measured_on,
                Measurement.superseded_by_id.is_(None),
            )
        ).scalars()
        assert list(current) == [duplicate]  # the latest stays current
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.actor_label == "migration:0006")
        )
        assert audited == 2
    demo_db.close()
    downgrade(demo_db.url, "0002")
    demo_db.close()
    upgrade(demo_db.url)
