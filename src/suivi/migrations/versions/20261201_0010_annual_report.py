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
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_conseil_citoyen_contract_id_contract")
        ),
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
        sa.ForeignKeyConstraint(
            ["conseil_citoyen_id"],
            ["conseil_citoyen.id"],
            name=op.f("fk_conseil_citoyen_contact_conseil_citoyen_id_conseil_citoyen"),
        ),
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
        sa.ForeignKeyConstraint(
            ["conseil_citoyen_id"],
            ["conseil_citoyen.id"],
            name=op.f("fk_conseil_citoyen_quartier_conseil_citoyen_id_conseil_citoyen"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quartier_id"],
            ["quartier.id"],
            name=op.f("fk_conseil_citoyen_quartier_quartier_id_quartier"),
        ),
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
        sa.ForeignKeyConstraint(
            ["author_id"], ["user.id"], name=op.f("fk_commitment_comment_author_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitment.id"],
            name=op.f("fk_commitment_comment_commitment_id_commitment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conseil_citoyen_id"],
            ["conseil_citoyen.id"],
            name=op.f("fk_commitment_comment_conseil_citoyen_id_conseil_citoyen"),
        ),
        sa.ForeignKeyConstraint(
            ["moderated_by_id"],
            ["user.id"],
            name=op.f("fk_commitment_comment_moderated_by_id_user"),
        ),
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
        sa.ForeignKeyConstraint(
            ["conseil_citoyen_id"],
            ["conseil_citoyen.id"],
            name=op.f("fk_conseil_citoyen_member_conseil_citoyen_id_conseil_citoyen"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_conseil_citoyen_member_user_id_user"),
            ondelete="CASCADE",
        ),
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
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_annual_report_contract_id_contract")
        ),
        sa.ForeignKeyConstraint(
            ["report_file_id"],
            ["report_file.id"],
            name=op.f("fk_annual_report_report_file_id_report_file"),
        ),
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
        sa.ForeignKeyConstraint(
            ["annual_report_id"],
            ["annual_report.id"],
            name=op.f("fk_annual_report_opinion_annual_report_id_annual_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["commune.id"], name=op.f("fk_annual_report_opinion_commune_id_commune")
        ),
        sa.ForeignKeyConstraint(
            ["conseil_citoyen_id"],
            ["conseil_citoyen.id"],
            name=op.f("fk_annual_report_opinion_conseil_citoyen_id_conseil_citoyen"),
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["user.id"], name=op.f("fk_annual_report_opinion_entered_by_id_user")
        ),
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
