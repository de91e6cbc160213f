"""incremental check: what each indicator's last check concluded, and change notes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:42:17.031886

The daily check judges again only the indicators whose inputs changed or whose verdict
could change with the date (`suivi.monitoring.service.pending_indicators`). Changes are
noted by triggers, so that no writer (service, import, plain SQL) can forget to: any
insert, update or delete of a measurement or a target, any update of an indicator, any
change of a commitment's status adds a row to `indicator_change`.

PostgreSQL: statement-level triggers over transition tables, so a bulk insert or a COPY of
many measurements adds one note per indicator, not one per row. SQLite has row triggers
only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from suivi.migrations.helpers import foreign_key

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, event) pairs whose rows carry an `indicator_id`.
ROWS_OF_INDICATORS = [
    (table, event)
    for table in ("measurement", "target")
    for event in ("INSERT", "UPDATE", "DELETE")
]

PG_FUNCTIONS = """
CREATE FUNCTION note_indicator_change_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO indicator_change (indicator_id) SELECT DISTINCT indicator_id FROM changed;
    RETURN NULL;
END $$;

CREATE FUNCTION note_indicator_change_self() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO indicator_change (indicator_id) SELECT DISTINCT id FROM changed;
    RETURN NULL;
END $$;

CREATE FUNCTION note_indicator_change_commitment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO indicator_change (indicator_id)
    SELECT i.id FROM indicator i
    JOIN changed ON changed.id = i.commitment_id
    JOIN previous ON previous.id = changed.id
    WHERE previous.status IS DISTINCT FROM changed.status;
    RETURN NULL;
END $$;
"""


def _trigger_name(table: str, event: str) -> str:
    return f"trg_{table}_{event.lower()}_note_change"


def _postgresql_upgrade() -> None:
    op.execute(PG_FUNCTIONS)
    for table, event in ROWS_OF_INDICATORS:
        rows = "OLD" if event == "DELETE" else "NEW"
        op.execute(
            f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} "
            f"REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT "
            "EXECUTE FUNCTION note_indicator_change_rows()"
        )
    op.execute(
        f"CREATE TRIGGER {_trigger_name('indicator', 'UPDATE')} AFTER UPDATE ON indicator "
        "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
        "EXECUTE FUNCTION note_indicator_change_self()"
    )
    op.execute(
        f"CREATE TRIGGER {_trigger_name('commitment', 'UPDATE')} AFTER UPDATE ON commitment "
        "REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT "
        "EXECUTE FUNCTION note_indicator_change_commitment()"
    )


def _sqlite_upgrade() -> None:
    for table, event in ROWS_OF_INDICATORS:
        row = "OLD" if event == "DELETE" else "NEW"
        op.execute(
            f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} "
            f"BEGIN INSERT INTO indicator_change (indicator_id) VALUES ({row}.indicator_id); END"
        )
    op.execute(
        f"CREATE TRIGGER {_trigger_name('indicator', 'UPDATE')} AFTER UPDATE ON indicator "
        "BEGIN INSERT INTO indicator_change (indicator_id) VALUES (NEW.id); END"
    )
    op.execute(
        f"CREATE TRIGGER {_trigger_name('commitment', 'UPDATE')} AFTER UPDATE OF status "
        "ON commitment WHEN OLD.status IS NOT NEW.status BEGIN "
        "INSERT INTO indicator_change (indicator_id) "
        "SELECT id FROM indicator WHERE commitment_id = NEW.id; END"
    )


TRIGGERS = [
    *ROWS_OF_INDICATORS,
    ("indicator", "UPDATE"),
    ("commitment", "UPDATE"),
]


def upgrade() -> None:
    op.create_table(
        "indicator_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_change")),
    )
    op.create_table(
        "indicator_check",
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("recheck_on", sa.Date(), nullable=True),
        foreign_key("indicator_check", "indicator_id", "indicator.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("indicator_id", name=op.f("pk_indicator_check")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, event in TRIGGERS:
        on_table = f" ON {table}" if postgresql else ""
        op.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(table, event)}{on_table}")
    if postgresql:
        for function in ("rows", "self", "commitment"):
            op.execute(f"DROP FUNCTION IF EXISTS note_indicator_change_{function}()")
    op.drop_table("indicator_check")
    op.drop_table("indicator_change")
