"""mid-term review report: `report_file` accepts the kind `mi_parcours`

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00

`mi_parcours` is eleven characters: the `kind` column widens from 10 to 20 and its CHECK
is replaced (a batch rebuild on SQLite; no trigger sits on `report_file`).
"""

from collections.abc import Sequence

from alembic import op

from suivi.migrations.helpers import replace_enum_check

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("copil", "quartier", "partner", "annual", "releve")


def upgrade() -> None:
    replace_enum_check("report_file", "kind", (*_KINDS, "mi_parcours"), length=(10, 20))


def downgrade() -> None:
    op.execute("DELETE FROM report_file WHERE kind = 'mi_parcours'")
    replace_enum_check("report_file", "kind", _KINDS, length=(20, 10))
