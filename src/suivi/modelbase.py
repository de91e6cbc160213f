"""Shared pieces of the SQLModel tables: metadata naming convention, enum checks, columns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import Index
from sqlalchemy import MetaData
from sqlalchemy import text
from sqlmodel import Field
from sqlmodel import SQLModel

from suivi.db import UTCDateTime
from suivi.db import utcnow

# Stable constraint names so that Alembic migrations (and batch mode on SQLite) can find them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def enum_check(
    column: str, values: Iterable[str], name: str | None = None, *, nullable: bool = False
) -> CheckConstraint:
    """A CHECK that keeps a string column within a closed list of codes (a `StrEnum`'s
    values: the constraint's text, hence the schema, is the same as with plain strings);
    `nullable` lets the column also be NULL."""
    quoted = ", ".join(f"'{value}'" for value in values)
    condition = f"{column} IN ({quoted})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=name or f"{column}_enum")


def alert_table_args(table: str, subject: str, kinds: Iterable[str]) -> tuple[Any, ...]:
    """What every alert table (indicators, financial lines, decisions) holds to: its closed list
    of kinds, at most one open alert per (subject, kind) so that the daily check can never
    open one twice, and an index to find a contract's open alerts."""
    still_open = text("resolved_on IS NULL")
    return (
        enum_check("kind", kinds),
        Index(
            f"uq_{table}_open",
            subject,
            "kind",
            unique=True,
            sqlite_where=still_open,
            postgresql_where=still_open,
        ),
        Index(f"ix_{table}_contract_open", "contract_id", "resolved_on"),
    )


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def timestamp_field(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


def json_field(default_factory=dict, nullable: bool = False) -> Any:
    return Field(
        default_factory=default_factory,
        sa_column=Column(JSON(none_as_null=True), nullable=nullable),
    )


__all__ = ["SQLModel", "Field", "datetime", "enum_check", "metadata"]
