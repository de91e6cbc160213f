"""annual report procedure, conseils citoyens, commitment comments, DSU flag

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:27:40

New tables: `conseil_citoyen` (+ quartiers, contacts, member accounts), `annual_report` and
its `annual_report_opinion` rows (one per consulted body), `commitment_comment`. `commune`
gets `receives_dsu` and `council_email` (plain ADD COLUMN with a default). The role check of
`user` accepts ``conseil_citoyen`` and the kind check of `email_delivery` accepts
``annual_consultation``: SQLite rebuilds those two tables, with foreign-key enforcement off
(dropping the old `user` would otherwise cascade to its sessions, tokens and contracts), as
migration 0005 does; `foreign_key_check` then proves nothing dangles.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import suivi.db
from suivi.migrations.helpers import foreign_key
from suivi.migrations.helpers import replace_enum_check
from suivi.migrations.helpers import sqlite_foreign_keys_off

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_ROLES = ("admin", "chef_de_projet", "partenaire", "copil")
NEW_ROLES = (*OLD_ROLES, "conseil_citoyen")
OLD_KINDS = ("partner_summary", "reminder", "escalation", "releve")  # releve: 0009
NEW_KINDS = (*OLD_KINDS, "annual_consultation", "conseil_summary")


def _replace_checks(roles: tuple[str, ...], kinds: tuple[str, ...]) -> None:
    with sqlite_foreign_keys_off("the user and email_delivery rebuild"):
        replace_enum_check("user", "role", roles)
        replace_enum_check("email_delivery", "kind", kinds)


def upgrade() -> None:
    op.create_table(
        "conseil_citoyen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", suivi.db.UTCDateTime(), nullable=False),
        foreign_key("conseil_citoyen", "contract_id", "contract.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conseil_citoyen")),
        sa.UniqueConstraint("contract_id", "code", name="uq_conseil_citoyen_code"),
    )
    op.create_index(op.f("ix_conseil_citoyen_contract_id"), "conseil_citoyen", ["contract_id"])

    op.create_table(
        "conseil_citoyen_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conseil_citoyen_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        foreign_key("conseil_citoyen_contact", "conseil_citoyen_id", "conseil_citoyen.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conseil_citoyen_contact")),
        sa.UniqueConstraint("conseil_citoyen_id", "email", name="uq_conseil_citoyen_contact_email"),
    )
    op.create_index(
        op.f("ix_conseil_citoyen_contact_conseil_citoyen_id"),
        "conseil_citoyen_contact",
        ["conseil_citoyen_id"],
    )

    op.create_table(
        "conseil_citoyen_quartier",
        sa.Column("conseil_citoyen_id", sa.Integer(), nullable=False),
        sa.Column("quartier_id", sa.Integer(), nullable=False),
        foreign_key(
            "conseil_citoyen_quartier",
            "conseil_citoyen_id",
            "conseil_citoyen.id",
            ondelete="CASCADE",
        ),
        foreign_key("conseil_citoyen_quartier", "quartier_id", "quartier.id"),
        sa.PrimaryKeyConstraint(
            "conseil_citoyen_id", "quartier_id", name=op.f("pk_conseil_citoyen_quartier")
        ),
    )
    op.create_index(
        op.f("ix_conseil_citoyen_quartier_quartier_id"), "conseil_citoyen_quartier", ["quartier_id"]
    )

    op.create_table(
        "commitment_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("conseil_citoyen_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("created_at", suivi.db.UTCDateTime(), nullable=False),
        sa.Column("moderated_at", suivi.db.UTCDateTime(), nullable=True),
        sa.Column("moderated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('en_attente', 'publie', 'rejete')",
            name=op.f("ck_commitment_comment_status_enum"),
        ),
        foreign_key("commitment_comment", "author_id", "user.id"),
        foreign_key("commitment_comment", "commitment_id", "commitment.id", ondelete="CASCADE"),
        foreign_key("commitment_comment", "conseil_citoyen_id", "conseil_citoyen.id"),
        foreign_key("commitment_comment", "moderated_by_id", "user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_comment")),
    )
    op.create_index(
        op.f("ix_commitment_comment_commitment_id"), "commitment_comment", ["commitment_id"]
    )
    op.create_index(
        op.f("ix_commitment_comment_conseil_citoyen_id"),
        "commitment_comment",
        ["conseil_citoyen_id"],
    )

    op.create_table(
        "conseil_citoyen_member",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("conseil_citoyen_id", sa.Integer(), nullable=False),
        foreign_key("conseil_citoyen_member", "conseil_citoyen_id", "conseil_citoyen.id"),
        foreign_key("conseil_citoyen_member", "user_id", "user.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_conseil_citoyen_member")),
    )
    op.create_index(
        op.f("ix_conseil_citoyen_member_conseil_citoyen_id"),
        "conseil_citoyen_member",
        ["conseil_citoyen_id"],
    )

    op.create_table(
        "annual_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("consultation_opened_on", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("deliberation_on", sa.Date(), nullable=True),
        sa.Column("deliberation_ref", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("observations_response", sa.Text(), nullable=False),
        sa.Column("approved_at", suivi.db.UTCDateTime(), nullable=True),
        sa.Column("published_at", suivi.db.UTCDateTime(), nullable=True),
        sa.Column("report_file_id", sa.Integer(), nullable=True),
        sa.Column("created_at", suivi.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('brouillon', 'en_consultation', 'avis_recus', 'approuve', 'publie')",
            name=op.f("ck_annual_report_status_enum"),
        ),
        foreign_key("annual_report", "contract_id", "contract.id"),
        foreign_key("annual_report", "report_file_id", "report_file.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_report")),
        sa.UniqueConstraint("contract_id", "year", name="uq_annual_report_contract_year"),
    )
    op.create_index(op.f("ix_annual_report_contract_id"), "annual_report", ["contract_id"])

    op.create_table(
        "annual_report_opinion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("annual_report_id", sa.Integer(), nullable=False),
        sa.Column("body_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("conseil_citoyen_id", sa.Integer(), nullable=True),
        sa.Column("body_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=True),
        sa.Column("deemed", sa.Boolean(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("attachment_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("attachment_path", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("attachment_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attachment_size", sa.Integer(), nullable=False),
        sa.Column("recorded_at", suivi.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "body_kind IN ('conseil_municipal', 'conseil_citoyen')",
            name=op.f("ck_annual_report_opinion_body_kind_enum"),
        ),
        sa.CheckConstraint(
            "verdict IS NULL OR verdict IN ('favorable', 'reserve', 'defavorable')",
            name=op.f("ck_annual_report_opinion_verdict_enum"),
        ),
        sa.CheckConstraint(
            "(commune_id IS NULL) <> (conseil_citoyen_id IS NULL)",
            name=op.f("ck_annual_report_opinion_exactly_one_body"),
        ),
        foreign_key(
            "annual_report_opinion", "annual_report_id", "annual_report.id", ondelete="CASCADE"
        ),
        foreign_key("annual_report_opinion", "commune_id", "commune.id"),
        foreign_key("annual_report_opinion", "conseil_citoyen_id", "conseil_citoyen.id"),
        foreign_key("annual_report_opinion", "entered_by_id", "user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_report_opinion")),
        sa.UniqueConstraint("annual_report_id", "commune_id", name="uq_opinion_report_commune"),
        sa.UniqueConstraint(
            "annual_report_id", "conseil_citoyen_id", name="uq_opinion_report_conseil"
        ),
    )
    op.create_index(
        op.f("ix_annual_report_opinion_annual_report_id"),
        "annual_report_opinion",
        ["annual_report_id"],
    )

    with op.batch_alter_table("commune", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("receives_dsu", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "council_email",
                sqlmodel.sql.sqltypes.AutoString(length=254),
                nullable=False,
                server_default="",
            )
        )
    _replace_checks(NEW_ROLES, NEW_KINDS)


def downgrade() -> None:
    op.execute(
        "DELETE FROM email_delivery WHERE kind IN ('annual_consultation', 'conseil_summary')"
    )
    op.execute("DELETE FROM \"user\" WHERE role = 'conseil_citoyen'")
    _replace_checks(OLD_ROLES, OLD_KINDS)
    with op.batch_alter_table("commune", schema=None) as batch_op:
        batch_op.drop_column("council_email")
        batch_op.drop_column("receives_dsu")
    # Dropping a table drops its indexes.
    op.drop_table("annual_report_opinion")
    op.drop_table("annual_report")
    op.drop_table("conseil_citoyen_member")
    op.drop_table("commitment_comment")
    op.drop_table("conseil_citoyen_quartier")
    op.drop_table("conseil_citoyen_contact")
    op.drop_table("conseil_citoyen")
