"""committee decisions: meeting status and kinds, agenda, participants, decisions, follow-up

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:00:00

`meeting` gains a status (prevue → tenue → releve_diffuse) and the `revue_mi_parcours` kind
(a wider `kind` column and a new CHECK: a batch rebuild on SQLite, which is safe here because
no table refers to `meeting` yet and no trigger sits on it). Existing meetings start `prevue`.
`report_file` and `email_delivery` accept the kind `releve` (relevé de décisions).
`target_revision` gains the decision it carries out and the avenant reference, added with a
plain `ADD COLUMN` so that SQLite keeps the change-noting triggers of migration 0002.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from suivi.migrations.helpers import foreign_key
from suivi.migrations.helpers import replace_enum_check

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def _utc():
    from suivi.db import UTCDateTime

    return UTCDateTime()


_REPORT_KINDS = ("copil", "quartier", "partner", "annual")
_DELIVERY_KINDS = ("partner_summary", "reminder", "escalation")


def upgrade() -> None:
    # The relevé de décisions is archived as a report and e-mailed like the summaries.
    replace_enum_check("report_file", "kind", (*_REPORT_KINDS, "releve"))
    replace_enum_check("email_delivery", "kind", (*_DELIVERY_KINDS, "releve"))
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_meeting_kind_enum"), type_="check")
        batch_op.alter_column(
            "kind", existing_type=_TEXT(length=10), type_=_TEXT(length=20), existing_nullable=False
        )
        batch_op.add_column(
            sa.Column("status", _TEXT(length=16), nullable=False, server_default="prevue")
        )
        batch_op.create_check_constraint(
            "kind_enum", "kind IN ('copil', 'cotech', 'revue_mi_parcours')"
        )
        batch_op.create_check_constraint(
            "status_enum", "status IN ('prevue', 'tenue', 'releve_diffuse')"
        )

    op.create_table(
        "meeting_participant",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        foreign_key("meeting_participant", "meeting_id", "meeting.id", ondelete="CASCADE"),
        foreign_key("meeting_participant", "partner_id", "partner.id"),
        sa.PrimaryKeyConstraint("meeting_id", "partner_id", name=op.f("pk_meeting_participant")),
    )
    op.create_index(
        op.f("ix_meeting_participant_partner_id"), "meeting_participant", ["partner_id"]
    )

    op.create_table(
        "agenda_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", _TEXT(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("source", _TEXT(length=10), nullable=False),
        sa.Column("reference", _TEXT(length=40), nullable=False),
        sa.CheckConstraint(
            "source IN ('rapport', 'libre')", name=op.f("ck_agenda_item_source_enum")
        ),
        foreign_key("agenda_item", "meeting_id", "meeting.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_item")),
    )
    op.create_index(op.f("ix_agenda_item_meeting_id"), "agenda_item", ["meeting_id"])

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", _TEXT(length=20), nullable=False),
        sa.Column("owner_partner_id", sa.Integer(), nullable=True),
        sa.Column("owner_contact_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", _TEXT(length=12), nullable=False),
        sa.Column("avenant_reference", _TEXT(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('action', 'revision_cible', 'reprogrammation', 'abandon', 'information')",
            name=op.f("ck_decision_kind_enum"),
        ),
        sa.CheckConstraint(
            "status IN ('ouverte', 'en_cours', 'realisee', 'abandonnee')",
            name=op.f("ck_decision_status_enum"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_decision_number_positive")),
        foreign_key("decision", "contract_id", "contract.id"),
        foreign_key("decision", "meeting_id", "meeting.id"),
        foreign_key("decision", "owner_partner_id", "partner.id"),
        foreign_key("decision", "owner_contact_id", "partner_contact.id"),
        foreign_key("decision", "created_by_id", "user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.UniqueConstraint("meeting_id", "number", name="uq_decision_meeting_number"),
    )
    for column in ("contract_id", "meeting_id", "owner_partner_id", "due_on"):
        op.create_index(op.f(f"ix_decision_{column}"), "decision", [column])

    op.create_table(
        "decision_link",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("target_kind", _TEXT(length=12), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "target_kind IN ('commitment', 'indicator', 'quartier')",
            name=op.f("ck_decision_link_target_kind_enum"),
        ),
        foreign_key("decision_link", "decision_id", "decision.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(
            "decision_id", "target_kind", "target_id", name=op.f("pk_decision_link")
        ),
    )

    op.create_table(
        "decision_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("old_status", _TEXT(length=12), nullable=True),
        sa.Column("new_status", _TEXT(length=12), nullable=True),
        sa.Column("old_text", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_label", _TEXT(length=200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "new_status IS NULL OR new_status IN ('ouverte', 'en_cours', 'realisee', 'abandonnee')",
            name=op.f("ck_decision_update_new_status_enum"),
        ),
        foreign_key("decision_update", "decision_id", "decision.id", ondelete="CASCADE"),
        foreign_key("decision_update", "author_id", "user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_update")),
    )
    op.create_index(op.f("ix_decision_update_decision_id"), "decision_update", ["decision_id"])

    op.create_table(
        "decision_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("kind", _TEXT(length=20), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('decision_overdue')", name=op.f("ck_decision_alert_kind_enum")
        ),
        foreign_key("decision_alert", "contract_id", "contract.id"),
        foreign_key("decision_alert", "decision_id", "decision.id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_alert")),
    )
    op.create_index(
        "uq_decision_alert_open",
        "decision_alert",
        ["decision_id", "kind"],
        unique=True,
        sqlite_where=sa.text("resolved_on IS NULL"),
        postgresql_where=sa.text("resolved_on IS NULL"),
    )
    op.create_index(
        "ix_decision_alert_contract_open", "decision_alert", ["contract_id", "resolved_on"]
    )

    # Plain ADD COLUMN on both databases (see the docstring): SQLite accepts an inline
    # REFERENCES on a column added with a NULL default.
    op.execute(
        "ALTER TABLE target_revision ADD COLUMN decision_id INTEGER "
        "CONSTRAINT fk_target_revision_decision_id_decision REFERENCES decision (id)"
    )
    op.execute(
        "ALTER TABLE target_revision ADD COLUMN avenant_reference VARCHAR(200) NOT NULL DEFAULT ''"
    )
    op.create_index(op.f("ix_target_revision_decision_id"), "target_revision", ["decision_id"])


def downgrade() -> None:
    op.execute("DELETE FROM email_delivery WHERE kind = 'releve'")
    op.execute("DELETE FROM report_file WHERE kind = 'releve'")
    replace_enum_check("email_delivery", "kind", _DELIVERY_KINDS)
    replace_enum_check("report_file", "kind", _REPORT_KINDS)
    op.drop_index(op.f("ix_target_revision_decision_id"), table_name="target_revision")
    with op.batch_alter_table("target_revision", schema=None) as batch_op:
        batch_op.drop_column("avenant_reference")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(
            "fk_target_revision_decision_id_decision", "target_revision", type_="foreignkey"
        )
    with op.batch_alter_table("target_revision", schema=None) as batch_op:
        batch_op.drop_column("decision_id")
    op.drop_table("decision_alert")
    op.drop_table("decision_update")
    op.drop_table("decision_link")
    op.drop_table("decision")
    op.drop_table("agenda_item")
    op.drop_table("meeting_participant")
    op.execute("DELETE FROM meeting WHERE kind = 'revue_mi_parcours'")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_meeting_status_enum"), type_="check")
        batch_op.drop_constraint(op.f("ck_meeting_kind_enum"), type_="check")
        batch_op.drop_column("status")
        batch_op.alter_column(
            "kind", existing_type=_TEXT(length=20), type_=_TEXT(length=10), existing_nullable=False
        )
        batch_op.create_check_constraint("kind_enum", "kind IN ('copil', 'cotech')")
