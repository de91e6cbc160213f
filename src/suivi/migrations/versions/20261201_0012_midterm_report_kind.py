"""mid-term review report: `report_file` accepts the kind `mi_parcours`

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00

`mi_parcours` is eleven characters: the `kind` column widens from 10 to 20 and its CHECK
is replaced (a batch rebuild on SQLite; no trigger sits on `report_file`).
"""

from collections.abc import Sequence

import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_KINDS = "'copil', 'quartier', 'partner', 'annual', 'releve'"


def _rebuild(kinds: str, old_length: int, new_length: int) -> None:
    with op.batch_alter_table("report_file", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_report_file_kind_enum"), type_="check")
        batch_op.alter_column(
            "kind",
            existing_type=_TEXT(length=old_length),
            type_=_TEXT(length=new_length),
            existing_nullable=False,
        )
        batch_op.create_check_constraint("kind_enum", f"kind IN ({kinds})")


def upgrade() -> None:
    _rebuild(_KINDS + ", 'mi_parcours'", 10, 20)


def downgrade() -> None:
    op.execute("DELETE FROM report_file WHERE kind = 'mi_parcours'")
    _rebuild(_KINDS, 20, 10)
