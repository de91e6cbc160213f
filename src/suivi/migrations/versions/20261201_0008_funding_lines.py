"""funding lines: what each partner asked, voted, paid and had justified, and the payments

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:30:00

Two new tables, and the partner's SIRET (the establishment that signs its subsidy
conventions: SCDL `idAttribuant`), added with a plain `ALTER TABLE ... ADD COLUMN` (its
CHECK inline) on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import suivi.db
from suivi.migrations.helpers import foreign_key

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE partner ADD COLUMN siret VARCHAR(14) CONSTRAINT ck_partner_siret_length "
        "CHECK (siret IS NULL OR length(siret) = 14)"
    )
    op.create_table(
        "funding_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("funding_type", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("amount_requested", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("amount_voted", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("vote_reference", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("voted_on", sa.Date(), nullable=True),
        sa.Column("overrun_reason", sa.Text(), nullable=False),
        sa.Column("amount_justified", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("justified_on", sa.Date(), nullable=True),
        sa.Column("beneficiary_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("beneficiary_siret", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column("beneficiary_rna", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("dauphin_number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("cpo", sa.Boolean(), nullable=False),
        sa.Column("cpo_first_year", sa.Integer(), nullable=True),
        sa.Column("cpo_last_year", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", suivi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", suivi.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "funding_type IN ('droit_commun', 'credits_specifiques', 'investissement', 'tfpb', 'europe', 'autre')",
            name=op.f("ck_funding_line_funding_type_enum"),
        ),
        sa.CheckConstraint(
            "NOT cpo OR (cpo_first_year IS NOT NULL AND cpo_last_year IS NOT NULL AND cpo_first_year <= year AND year <= cpo_last_year)",
            name=op.f("ck_funding_line_cpo_years"),
        ),
        sa.CheckConstraint(
            "amount_justified IS NULL OR amount_justified >= 0",
            name=op.f("ck_funding_line_justified_not_negative"),
        ),
        sa.CheckConstraint(
            "amount_requested >= 0", name=op.f("ck_funding_line_requested_not_negative")
        ),
        sa.CheckConstraint(
            "amount_voted IS NULL OR amount_voted >= 0",
            name=op.f("ck_funding_line_voted_not_negative"),
        ),
        sa.CheckConstraint(
            "year >= 2000 AND year <= 2100", name=op.f("ck_funding_line_year_range")
        ),
        foreign_key("funding_line", "commitment_id", "commitment.id", ondelete="CASCADE"),
        foreign_key("funding_line", "contract_id", "contract.id"),
        foreign_key("funding_line", "partner_id", "partner.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_line")),
    )
    with op.batch_alter_table("funding_line", schema=None) as batch_op:
        batch_op.create_index(
            "ix_funding_line_commitment_year", ["commitment_id", "year"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_funding_line_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_funding_line_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "funding_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("funding_line_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", suivi.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_funding_payment_amount_positive")),
        foreign_key("funding_payment", "funding_line_id", "funding_line.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_payment")),
    )
    with op.batch_alter_table("funding_payment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_funding_payment_funding_line_id"), ["funding_line_id"], unique=False
        )

    op.create_table(
        "funding_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("funding_line_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", suivi.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('justification_en_retard')", name=op.f("ck_funding_alert_kind_enum")
        ),
        foreign_key("funding_alert", "contract_id", "contract.id"),
        foreign_key("funding_alert", "funding_line_id", "funding_line.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_alert")),
    )
    with op.batch_alter_table("funding_alert", schema=None) as batch_op:
        batch_op.create_index(
            "ix_funding_alert_contract_open", ["contract_id", "resolved_on"], unique=False
        )
        batch_op.create_index(
            "uq_funding_alert_open",
            ["funding_line_id", "kind"],
            unique=True,
            sqlite_where=sa.text("resolved_on IS NULL"),
            postgresql_where=sa.text("resolved_on IS NULL"),
        )


def downgrade() -> None:
    op.drop_table("funding_alert")
    with op.batch_alter_table("funding_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funding_payment_funding_line_id"))

    op.drop_table("funding_payment")
    with op.batch_alter_table("funding_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funding_line_partner_id"))
        batch_op.drop_index(batch_op.f("ix_funding_line_contract_id"))
        batch_op.drop_index("ix_funding_line_commitment_year")

    op.drop_table("funding_line")
    op.execute("ALTER TABLE partner DROP COLUMN siret")
