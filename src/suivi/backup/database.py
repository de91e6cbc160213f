"""Database snapshots and restores, one way per backend.

* SQLite: the online backup API (`sqlite3.Connection.backup`) copies the whole file in one
  step inside one read transaction: a consistent snapshot, and in WAL mode writers go on.
  The restore goes through the same API into the target file, under its write lock.
* PostgreSQL: `pg_dump -Fc` on a snapshot exported by a REPEATABLE READ transaction, which
  also counts the rows, so the manifest's counts are those of the dump. The restore turns
  the dump into SQL (`pg_restore -f`) and runs it with `psql --single-transaction` after
  dropping the target's tables: all or nothing, and the target ends up with exactly the
  tables of the backup (`pg_restore --clean` would keep tables the backup does not know).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.engine import make_url

from suivi.config import Settings
from suivi.db import is_sqlite
from suivi.db import make_engine
from suivi.db import normalize_url

log = logging.getLogger(__name__)

SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"


class BackupError(Exception):
    """A backup or restore that cannot be done, with a French message for the administrator."""


@dataclass(frozen=True)
class DatabaseSnapshot:
    file_name: str
    backend: str  # "sqlite" or "postgresql"
    revision: str | None
    tables: dict[str, int]
    server_version: str = ""


def backend_of(url: str) -> str:
    return "sqlite" if is_sqlite(url) else "postgresql"


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        where = database or "mémoire"
        raise BackupError(f"Base SQLite sans fichier ({where}) : rien à sauvegarder ni restaurer.")
    return Path(database)


# -- counting rows -----------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def count_rows(connection, table_names) -> dict[str, int]:
    """`SELECT count(*)` of each table, on a SQLAlchemy connection."""
    return {
        name: connection.execute(text(f"SELECT count(*) FROM {_quote(name)}")).scalar_one()
        for name in sorted(table_names)
    }


def _revision(tables: dict[str, int], read_column) -> str | None:
    """The Alembic revision ("a,b" if there are several heads; None without the table)."""
    if "alembic_version" not in tables:
        return None
    values = sorted(read_column("SELECT version_num FROM alembic_version"))
    return ",".join(values) or None


def database_contents(url: str) -> tuple[str | None, dict[str, int]]:
    """(schema revision, rows per table) of the database at `url`; a SQLite file that does
    not exist is an empty database."""
    if is_sqlite(url) and not sqlite_path(url).exists():
        return None, {}
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = count_rows(connection, inspect(connection).get_table_names())
            revision = _revision(tables, lambda sql: connection.execute(text(sql)).scalars())
    except Exception as exc:  # noqa: BLE001 - said to the administrator
        raise BackupError(f"Base cible injoignable : {exc}") from exc
    finally:
        engine.dispose()
    return revision, tables


# -- SQLite -----------------------------------------------------------------------------------


def _snapshot_sqlite(engine: Engine, folder: Path) -> DatabaseSnapshot:
    source_path = sqlite_path(str(engine.url))
    if not source_path.exists():
        raise BackupError(f"Base SQLite introuvable : {source_path}")
    target_path = folder / SQLITE_FILE
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(target_path)
    try:
        # One step (pages=-1): the whole copy in one read transaction, a consistent snapshot.
        source.backup(target, pages=-1)
        # A self-contained file: no -wal/-shm beside it when it is opened again.
        target.execute("PRAGMA journal_mode=DELETE")
        problem = target.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"La copie de la base est incohérente : {problem}")
        names = [
            row[0]
            for row in target.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        tables = {
            name: target.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]  # noqa: S608
            for name in sorted(names)
        }
        revision = _revision(tables, lambda sql: [row[0] for row in target.execute(sql)])
    finally:
        target.close()
        source.close()
    return DatabaseSnapshot(SQLITE_FILE, "sqlite", revision, tables, sqlite3.sqlite_version)


def _restore_sqlite(url: str, dump: Path, busy_timeout_ms: int) -> None:
    target_path = sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{dump}?mode=ro&immutable=1", uri=True)
    target = sqlite3.connect(target_path, timeout=busy_timeout_ms / 1000)
    try:
        # Under the target's write lock; the pages of the backup replace the target's.
        source.backup(target, pages=-1)
    finally:
        target.close()
        source.close()


# -- PostgreSQL -------------------------------------------------------------------------------


def _tool(settings: Settings, name: str) -> str:
    folder = settings.backup.pg_bin_dir
    path = str(Path(folder) / name) if folder else shutil.which(name)
    if not path or not Path(path).exists():
        raise BackupError(
            f"Outil PostgreSQL « {name} » introuvable : installez le client PostgreSQL "
            "ou indiquez son dossier dans [backup] pg_bin_dir."
        )
    return path


def _tool_major(path: str) -> int:
    output = subprocess.run(  # noqa: S603 - a PostgreSQL client tool
        [path, "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    if not match:
        raise BackupError(f"Version de {path} illisible : {output.strip()!r}")
    return int(match.group(1))


def _quote_libpq(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the PostgreSQL tools, and their environment (the
    password goes through PGPASSWORD, never on a command line)."""
    parsed = make_url(normalize_url(url))
    parts = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "dbname": parsed.database,
    }
    for key, value in parsed.query.items():
        parts[key] = value if isinstance(value, str) else value[-1]
    conninfo = " ".join(
        f"{key}={_quote_libpq(str(value))}"
        for key, value in parts.items()
        if value not in (None, "")
    )
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = parsed.password
    return conninfo, environment


def _run(command: list[str], environment: dict[str, str], what: str) -> None:
    result = subprocess.run(  # noqa: S603 - PostgreSQL client tools, arguments built here
        command, env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        detail = [line for line in lines if "ERROR" in line or "FATAL" in line] or lines
        log.error("%s failed (%s): %s", command[0], result.returncode, result.stderr.strip())
        raise BackupError(f"{what} : échec de {Path(command[0]).name} ({' / '.join(detail[-3:])})")


def _snapshot_postgres(engine: Engine, settings: Settings, folder: Path) -> DatabaseSnapshot:
    pg_dump = _tool(settings, "pg_dump")
    conninfo, environment = libpq_target(str(engine.url))
    repeatable = engine.execution_options(isolation_level="REPEATABLE READ")
    with repeatable.connect() as connection, connection.begin():
        server_number = connection.execute(text("SHOW server_version_num")).scalar_one()
        server_major = int(server_number) // 10000
        if _tool_major(pg_dump) < server_major:
            raise BackupError(
                f"{pg_dump} (version {_tool_major(pg_dump)}) ne peut pas sauvegarder un "
                f"serveur PostgreSQL {server_major} : installez pg_dump {server_major} ou "
                "plus récent et indiquez son dossier dans [backup] pg_bin_dir."
            )
        # The dump and the counts below read the same snapshot.
        snapshot_id = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        tables = count_rows(connection, inspect(connection).get_table_names())
        revision = _revision(tables, lambda sql: connection.execute(text(sql)).scalars())
        server_version = connection.execute(text("SHOW server_version")).scalar_one()
        _run(
            [
                pg_dump,
                "--format=custom",
                f"--snapshot={snapshot_id}",
                f"--file={folder / POSTGRES_FILE}",
                f"--dbname={conninfo}",
            ],
            environment,
            "Sauvegarde de la base",
        )
    return DatabaseSnapshot(POSTGRES_FILE, "postgresql", revision, tables, server_version)


# Drop every view, table, sequence and function of the target's schema (inside the
# restore's transaction): the target ends up with the backup's objects and no others.
_DROP_EVERYTHING = """
SET client_min_messages = warning;
DO $$
DECLARE item record;
BEGIN
  FOR item IN SELECT viewname AS name FROM pg_views WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP VIEW IF EXISTS %I.%I CASCADE', current_schema(), item.name);
  END LOOP;
  FOR item IN SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I.%I CASCADE', current_schema(), item.name);
  END LOOP;
  FOR item IN SELECT sequencename AS name FROM pg_sequences
      WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', current_schema(), item.name);
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
      WHERE p.pronamespace = current_schema()::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.signature);
  END LOOP;
END $$;
"""


def check_postgres_dump(settings: Settings, dump: Path) -> None:
    """`pg_restore --list`: the dump is readable by this pg_restore (before touching anything)."""
    _run(
        [_tool(settings, "pg_restore"), "--list", str(dump)],
        dict(os.environ),
        "Sauvegarde illisible",
    )


def _restore_postgres(url: str, settings: Settings, dump: Path) -> None:
    pg_restore, psql = _tool(settings, "pg_restore"), _tool(settings, "psql")
    conninfo, environment = libpq_target(url)
    with tempfile.TemporaryDirectory(prefix="suivi-restore-") as work:
        script, preamble = Path(work) / "restore.sql", Path(work) / "drop.sql"
        # The whole script is written before psql starts: a pg_restore failing half-way
        # must not leave psql to commit half a restore.
        _run(
            [pg_restore, "--no-owner", "--no-privileges", f"--file={script}", str(dump)],
            environment,
            "Restauration de la base",
        )
        preamble.write_text(_DROP_EVERYTHING, encoding="utf-8")
        _run(
            [
                psql,
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--file={preamble}",
                f"--file={script}",
                f"--dbname={conninfo}",
            ],
            environment,
            "Restauration de la base (rien n'a été modifié)",
        )


# -- entry points ------------------------------------------------------------------------------


def snapshot_database(engine: Engine, settings: Settings, folder: Path) -> DatabaseSnapshot:
    """Write the database's snapshot into `folder` and count its rows."""
    if is_sqlite(engine):
        return _snapshot_sqlite(engine, folder)
    return _snapshot_postgres(engine, settings, folder)


def restore_database(url: str, settings: Settings, dump: Path) -> None:
    """Replace the database at `url` with the snapshot `dump` (all or nothing)."""
    if is_sqlite(url):
        _restore_sqlite(url, dump, settings.database.busy_timeout_ms)
    else:
        _restore_postgres(url, settings, dump)
