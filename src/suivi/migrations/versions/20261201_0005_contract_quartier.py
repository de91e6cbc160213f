"""contract_quartier: a QPV is reference data that several contracts may list

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

A quartier carried its contract (`quartier.contract_id`, `quartier.in_contract`), and the QPV
code is unique across the base: loading a second contract's reference took the first
contract's quartiers. The contract now lists its quartiers in `contract_quartier`, with the
in-contract flag per contract. Downgrade gives each quartier back one contract (the first
that lists it).

SQLite rebuilds `quartier` to drop its columns. With foreign keys enforced, dropping the old
table would delete its `quartier_commune` rows (ON DELETE CASCADE) and fail on the rows that
reference it, so enforcement is turned off first, as the Alembic batch documentation asks;
SQLite ignores that pragma inside a transaction, hence the commit before it. The migration
engine is disposed after the run, so the setting does not outlive it; `foreign_key_check`
then proves nothing dangles.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_foreign_keys_off() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # The transaction is empty here (SQLite migrations run one transaction per revision).
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN")


def _sqlite_check_foreign_keys() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    dangling = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise RuntimeError(f"foreign keys left dangling by the quartier rebuild: {dangling[:5]}")


def upgrade() -> None:
    _sqlite_foreign_keys_off()
    op.create_table(
        "contract_quartier",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("quartier_id", sa.Integer(), nullable=False),
        sa.Column("in_contract", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_contract_quartier_contract_id_contract")
        ),
        sa.ForeignKeyConstraint(
            ["quartier_id"],
            ["quartier.id"],
            name=op.f("fk_contract_quartier_quartier_id_quartier"),
        ),
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
    _sqlite_check_foreign_keys()


def downgrade() -> None:
    _sqlite_foreign_keys_off()
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
    _sqlite_check_foreign_keys()
