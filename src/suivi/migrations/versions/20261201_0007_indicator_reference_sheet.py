"""indicator reference sheet (fiche indicateur): margin, forecast flag and the sheet's fields

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00

Every column gets a default that keeps the statuses judged before it (margin 0, forecast
on, comparable, no aggregation). Columns are added with plain `ALTER TABLE ... ADD COLUMN`
(their CHECK and FOREIGN KEY inline) on both databases: on SQLite a batch rebuild of
`indicator` would drop the change-noting trigger of migration 0002. That trigger fires on
any update of an indicator, so a changed margin or forecast flag is noted and the daily
check judges the indicator again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns(postgresql: bool) -> list[tuple[str, str]]:
    true = "true" if postgresql else "1"
    false = "false" if postgresql else "0"
    return [
        (
            "margin",
            "FLOAT NOT NULL DEFAULT 0 "
            "CONSTRAINT ck_indicator_margin_not_negative CHECK (margin >= 0)",
        ),
        ("margin_justification", "TEXT NOT NULL DEFAULT ''"),
        ("forecast", f"BOOLEAN NOT NULL DEFAULT {true}"),
        (
            "comparability",
            "VARCHAR(30) NOT NULL DEFAULT 'comparable' CONSTRAINT "
            "ck_indicator_comparability_enum "
            "CHECK (comparability IN ('comparable', 'statistique_non_comparable'))",
        ),
        ("definition", "TEXT NOT NULL DEFAULT ''"),
        ("formula", "TEXT NOT NULL DEFAULT ''"),
        ("is_rate", f"BOOLEAN NOT NULL DEFAULT {false}"),
        ("numerator", "VARCHAR(300) NOT NULL DEFAULT ''"),
        ("denominator", "VARCHAR(300) NOT NULL DEFAULT ''"),
        ("producer", "VARCHAR(200) NOT NULL DEFAULT ''"),
        (
            "publication_lag_days",
            "INTEGER CONSTRAINT ck_indicator_publication_lag_not_negative "
            "CHECK (publication_lag_days IS NULL OR publication_lag_days >= 0)",
        ),
        (
            "breakdown",
            "VARCHAR(20) NOT NULL DEFAULT 'none' CONSTRAINT ck_indicator_breakdown_enum "
            "CHECK (breakdown IN ('none', 'sex', 'age_band', 'sex_age_band'))",
        ),
        (
            "aggregation",
            "VARCHAR(20) NOT NULL DEFAULT 'none' CONSTRAINT ck_indicator_aggregation_enum "
            "CHECK (aggregation IN ('sum', 'weighted_mean', 'none'))",
        ),
        ("aggregation_weight", "VARCHAR(200) NOT NULL DEFAULT ''"),
        (
            "data_owner_contact_id",
            "INTEGER CONSTRAINT fk_indicator_data_owner_contact_id_partner_contact "
            "REFERENCES partner_contact (id)",
        ),
    ]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, definition in _columns(postgresql):
        op.execute(f"ALTER TABLE indicator ADD COLUMN {name} {definition}")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # SQLite drops a column only once nothing else names it: reverse order is enough here
    # (each CHECK only names its own column).
    for name, _ in reversed(_columns(postgresql)):
        op.execute(f"ALTER TABLE indicator DROP COLUMN {name}")
