"""login failures per (email, source address), for the login backoff

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:00

Failed logins used to lock the whole account (`user.locked_until`), so anyone could lock
anyone out. They are now counted per (email typed, source address): only the address that
keeps failing waits, with an exponential backoff.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import suivi.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", suivi.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", "address", name="uq_login_failure_email_address"),
    )
    # Accounts are no longer locked as a whole: lift the locks in place.
    op.execute('UPDATE "user" SET locked_until = NULL')


def downgrade() -> None:
    op.drop_table("login_failure")
