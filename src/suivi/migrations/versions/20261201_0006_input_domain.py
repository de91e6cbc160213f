"""input domain: only http(s) evidence links, one current measurement per indicator and date

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:00:00

- Evidence links are rendered as links: a stored `javascript:`, `data:`… link (accepted by
  the API and the import before 0006) is emptied, and each one is recorded in the audit
  trail (before/after) and logged.
- `ix_measurement_current` becomes unique: two concurrent corrections could leave two
  current values for one date. Duplicates already stored are resolved first: the latest
  (highest id) stays current and supersedes the others, with a reason, audited too.
"""

import json
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

ACTOR = "migration:0006"
DUPLICATE_REASON = "Doublon de valeur courante résolu par la migration 0006"
WHERE_CURRENT = sa.text("superseded_by_id IS NULL")

# The columns this migration writes (a frozen view, not the application's models).
measurement = sa.table(
    "measurement",
    sa.column("id", sa.Integer),
    sa.column("indicator_id", sa.Integer),
    sa.column("measured_on", sa.Date),
    sa.column("evidence_url", sa.String),
    sa.column("superseded_by_id", sa.Integer),
    sa.column("correction_reason", sa.String),
)
indicator = sa.table("indicator", sa.column("id", sa.Integer), sa.column("contract_id", sa.Integer))
audit_event = sa.table(
    "audit_event",
    sa.column("at", sa.DateTime),
    sa.column("actor_label", sa.String),
    sa.column("contract_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)


def _is_web_link(url: str) -> bool:
    """The rule of `suivi.validation.clean_url` at the time of this migration, kept here so
    that the migration does not change if the application's rule does."""
    try:
        parts = urlsplit(url)
        return (
            url == url.strip()
            and not any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)
            and parts.scheme.lower() in ("http", "https")
            and bool(parts.hostname)
            and parts.username is None
            and parts.password is None
        )
    except ValueError:
        return False


def _audit(connection, rows: list[dict]) -> None:
    if not rows:
        return
    now = connection.execute(sa.select(sa.func.current_timestamp())).scalar_one()
    for row in rows:
        row.setdefault("at", now)
    connection.execute(sa.insert(audit_event), rows)


def _contract_of(connection) -> dict[int, int]:
    return dict(connection.execute(sa.select(indicator.c.id, indicator.c.contract_id)).all())


def _neutralise_links(connection) -> None:
    rows = connection.execute(
        sa.select(measurement.c.id, measurement.c.indicator_id, measurement.c.evidence_url).where(
            measurement.c.evidence_url != ""
        )
    ).all()
    unsafe = [row for row in rows if not _is_web_link(row.evidence_url)]
    if not unsafe:
        return
    contracts = _contract_of(connection)
    for row in unsafe:
        connection.execute(
            sa.update(measurement).where(measurement.c.id == row.id).values(evidence_url="")
        )
    _audit(
        connection,
        [
            {
                "actor_label": ACTOR,
                "contract_id": contracts.get(row.indicator_id),
                "action": "update",
                "entity": "measurement",
                "entity_id": str(row.id),
                "before": {"evidence_url": row.evidence_url},
                "after": {"evidence_url": ""},
            }
            for row in unsafe
        ],
    )
    log.warning(
        "0006: emptied %d evidence link(s) that were not http(s) (measurement ids %s)",
        len(unsafe),
        json.dumps([row.id for row in unsafe]),
    )


def _resolve_duplicate_current(connection) -> None:
    groups = connection.execute(
        sa.select(
            measurement.c.indicator_id,
            measurement.c.measured_on,
            sa.func.max(measurement.c.id).label("keep"),
        )
        .where(measurement.c.superseded_by_id.is_(None))
        .group_by(measurement.c.indicator_id, measurement.c.measured_on)
        .having(sa.func.count() > 1)
    ).all()
    if not groups:
        return
    contracts = _contract_of(connection)
    audits = []
    for group in groups:
        older = connection.execute(
            sa.select(measurement.c.id).where(
                measurement.c.indicator_id == group.indicator_id,
                measurement.c.measured_on == group.measured_on,
                measurement.c.superseded_by_id.is_(None),
                measurement.c.id != group.keep,
            )
        ).scalars()
        for old_id in list(older):
            connection.execute(
                sa.update(measurement)
                .where(measurement.c.id == old_id)
                .values(superseded_by_id=group.keep, correction_reason=DUPLICATE_REASON)
            )
            audits.append(
                {
                    "actor_label": ACTOR,
                    "contract_id": contracts.get(group.indicator_id),
                    "action": "update",
                    "entity": "measurement",
                    "entity_id": str(old_id),
                    "before": {"superseded_by_id": None},
                    "after": {
                        "superseded_by_id": group.keep,
                        "correction_reason": DUPLICATE_REASON,
                    },
                }
            )
    _audit(connection, audits)
    log.warning(
        "0006: %d measurement(s) superseded by a later current value of the same date",
        len(audits),
    )


def _replace_current_index(unique: bool) -> None:
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_measurement_current", sqlite_where=WHERE_CURRENT, postgresql_where=WHERE_CURRENT
        )
        batch_op.create_index(
            "ix_measurement_current",
            ["indicator_id", "measured_on"],
            unique=unique,
            sqlite_where=WHERE_CURRENT,
            postgresql_where=WHERE_CURRENT,
        )


def upgrade() -> None:
    connection = op.get_bind()
    _neutralise_links(connection)
    _resolve_duplicate_current(connection)
    _replace_current_index(unique=True)


def downgrade() -> None:
    # The emptied links are not restored (they are in the audit trail).
    _replace_current_index(unique=False)
