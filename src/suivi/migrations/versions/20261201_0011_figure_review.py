"""figure review and data cut-off: measurement states, validators, meeting lock

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:45:00

A measurement gets a review status (submitted, validated, returned) with who validated it,
when, and why it was returned. Existing figures are validated: they counted before, they
still count. A partner scope row of a user may make them a validator of that partner
(`can_validate`). A meeting may fix a data cut-off and lock it.

Plain `ALTER TABLE ... ADD COLUMN` on both databases (CHECK and FOREIGN KEY inline): a batch
rebuild of `measurement` on SQLite would drop the change-noting triggers of migration 0002.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns(postgresql: bool) -> list[tuple[str, str, str]]:
    false = "false" if postgresql else "0"
    timestamp = "TIMESTAMP WITHOUT TIME ZONE" if postgresql else "DATETIME"
    return [
        (
            "measurement",
            "status",
            "VARCHAR(12) NOT NULL DEFAULT 'validated' CONSTRAINT ck_measurement_status_enum "
            "CHECK (status IN ('submitted', 'validated', 'returned'))",
        ),
        (
            "measurement",
            "validated_by_id",
            'INTEGER CONSTRAINT fk_measurement_validated_by_id_user REFERENCES "user" (id)',
        ),
        ("measurement", "validated_at", timestamp),
        ("measurement", "return_reason", "VARCHAR(500) NOT NULL DEFAULT ''"),
        (
            "user_scope",
            "can_validate",
            f"BOOLEAN NOT NULL DEFAULT {false} CONSTRAINT ck_user_scope_validator_of_partner "
            "CHECK (NOT can_validate OR partner_id IS NOT NULL)",
        ),
        ("meeting", "data_cutoff", "DATE"),
        (
            "meeting",
            "locked",
            f"BOOLEAN NOT NULL DEFAULT {false} CONSTRAINT ck_meeting_locked_has_cutoff "
            "CHECK (NOT locked OR data_cutoff IS NOT NULL)",
        ),
    ]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, name, definition in _columns(postgresql):
        op.execute(f'ALTER TABLE "{table}" ADD COLUMN {name} {definition}')


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Each CHECK names only its own column (or one added before it): reverse order drops
    # them on SQLite too, without a batch rebuild (which would drop the 0002 triggers).
    for table, name, _ in reversed(_columns(postgresql)):
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN {name}')
