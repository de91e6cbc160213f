"""contract_quartier: a QPV is reference data that several contracts may list

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

A quartier carried its contract (`quartier.contract_id`, `quartier.in_contract`), and the QPV
code is unique across the base: loading a second contract's reference took the first
contract's quartiers. The contract now lists its quartiers in `contract_quartier`, with the
in-contract flag per contract. Downgrade gives each quartier back one contract (the first
that lists it).

SQLite rebuilds `quartier` to drop its columns, with foreign-key enforcement off
(`sqlite_foreign_keys_off`): dropping the old table would otherwise delete its
`quartier_commune` rows (ON DELETE CASCADE) and fail on the rows that reference it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from suivi.migrations.helpers import foreign_key
from suivi.migrations.helpers import sqlite_foreign_keys_off

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@sqlite_foreign_keys_off("the quartier rebuild")
def upgrade() -> None:
    op.create_table(
        "contract_quartier",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("quartier_id", sa.Integer(), nullable=False),
        sa.Column("in_contract", sa.Boolean(), nullable=False),
        foreign_key("contract_quartier", "contract_id", "contract.id"),
        foreign_key("contract_quartier", "quartier_id", "quartier.id"),
        sa.PrimaryKeyConstraint("contract_id", "quartier_id", name=op.f("pk_contract_quartier")),
    )
    with op.batch_alter_table("contract_quartier", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_quartier_quartier_id"), ["quartier_id"], unique=False
        )
    op.execute(
        "INSERT INTO contract_quartier (contract_id, quartier_id, in_contract) "
        "SELECT contract_id, id, in_contract FROM quartier WHERE contract_id IS NOT NULL"
    )
    with op.batch_alter_table("quartier", schema=None) as batch_op:
        batch_op.drop_index("ix_quartier_contract_id")
        batch_op.drop_constraint("fk_quartier_contract_id_contract", type_="foreignkey")
        batch_op.drop_column("contract_id")
        batch_op.drop_column("in_contract")


@sqlite_foreign_keys_off("the quartier rebuild")
def downgrade() -> None:
    with op.batch_alter_table("quartier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contract_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("in_contract", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_foreign_key(
            "fk_quartier_contract_id_contract", "contract", ["contract_id"], ["id"]
        )
        batch_op.create_index("ix_quartier_contract_id", ["contract_id"], unique=False)
    # One contract per quartier again: the first that lists it.
    op.execute(
        "UPDATE quartier SET "
        "contract_id = (SELECT min(l.contract_id) FROM contract_quartier l"
        " WHERE l.quartier_id = quartier.id), "
        "in_contract = COALESCE((SELECT l.in_contract FROM contract_quartier l"
        " WHERE l.quartier_id = quartier.id ORDER BY l.contract_id LIMIT 1), in_contract)"
    )
    with op.batch_alter_table("quartier", schema=None) as batch_op:
        batch_op.alter_column("in_contract", server_default=None)
    with op.batch_alter_table("contract_quartier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_quartier_quartier_id"))
    op.drop_table("contract_quartier")
