"""job outcomes success/partial/failed, and the content of pending emails

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00

A job run that left work undone is ``partial``; ``error`` becomes ``failed`` (stored runs are
converted both ways). A pending email keeps its MIME message (`email_delivery.content`) so
that the hourly `retry_emails` job sends it again as it was.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK_NAME = "ck_job_run_outcome_enum"


def upgrade() -> None:
    # The old constraint refuses the new value: drop it, convert, then check the new list.
    with op.batch_alter_table("job_run") as batch:
        batch.drop_constraint(op.f(CHECK_NAME), type_="check")
    op.execute("UPDATE job_run SET outcome = 'failed' WHERE outcome = 'error'")
    with op.batch_alter_table("job_run") as batch:
        batch.create_check_constraint(
            op.f(CHECK_NAME), "outcome IN ('running', 'success', 'partial', 'failed')"
        )
    with op.batch_alter_table("email_delivery") as batch:
        batch.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("email_delivery") as batch:
        batch.drop_column("content")
    with op.batch_alter_table("job_run") as batch:
        batch.drop_constraint(op.f(CHECK_NAME), type_="check")
    # A partial run went through: the nearest old outcome is a success.
    op.execute("UPDATE job_run SET outcome = 'success' WHERE outcome = 'partial'")
    op.execute("UPDATE job_run SET outcome = 'error' WHERE outcome = 'failed'")
    with op.batch_alter_table("job_run") as batch:
        batch.create_check_constraint(
            op.f(CHECK_NAME), "outcome IN ('running', 'success', 'error')"
        )
