"""What several revisions do alike, so that each revision file reads as its own change.

Only schema mechanics live here (no application rule: a revision must not change when the
application does). A change to these helpers changes every revision that calls them, so keep
them producing exactly the same DDL on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
import sqlmodel
from alembic import op


def foreign_key(
    table: str, column: str, target: str, *, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    """A one-column foreign key of `table`, named as the models' naming convention names it
    (`fk_<table>_<column>_<referred table>`), for `op.create_table`."""
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def in_list(column: str, values: Iterable[str]) -> str:
    """The SQL of an enum CHECK: `kind IN ('a', 'b')`."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def replace_enum_check(
    table: str, column: str, values: Iterable[str], *, length: tuple[int, int] | None = None
) -> None:
    """Replace the `ck_<table>_<column>_enum` CHECK by one over `values`.

    With `length=(old, new)` the column's VARCHAR length changes in the same step. SQLite
    rebuilds the table (batch mode): mind its triggers and the tables that refer to it (see
    `sqlite_foreign_keys_off`).
    """
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{column}_enum"), type_="check")
        if length is not None:
            old, new = length
            batch_op.alter_column(
                column,
                existing_type=sqlmodel.sql.sqltypes.AutoString(length=old),
                type_=sqlmodel.sql.sqltypes.AutoString(length=new),
                existing_nullable=False,
            )
        batch_op.create_check_constraint(f"{column}_enum", in_list(column, values))


@contextmanager
def sqlite_foreign_keys_off(rebuild: str) -> Iterator[None]:
    """Run a SQLite table rebuild with foreign-key enforcement off, then prove nothing dangles.

    Dropping the old table of a rebuild would otherwise cascade to (or fail on) the rows that
    refer to it, so enforcement is turned off first, as the Alembic batch documentation asks.
    SQLite ignores that pragma inside a transaction, hence the commit before it; the migration
    engine is disposed after the run, so the setting does not outlive it. `rebuild` names the
    change in the error. Nothing is done on PostgreSQL, which alters tables in place.
    Use it as `with sqlite_foreign_keys_off(...):` or as a decorator of `upgrade`/`downgrade`.
    """
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        # SQLite ignores the pragma inside a transaction (one transaction per revision).
        bind.exec_driver_sql("COMMIT")
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        bind.exec_driver_sql("BEGIN")
    yield
    if sqlite:
        dangling = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if dangling:
            raise RuntimeError(f"foreign keys left dangling by {rebuild}: {dangling[:5]}")
