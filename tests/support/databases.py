"""Real test databases: SQLite files always, PostgreSQL when SUIVI_TEST_POSTGRES_URL is set.

Each test gets its own database, cloned from a template built once per run through the
Alembic migrations (empty schema, reference data, or the demo): a file copy on SQLite,
`CREATE DATABASE ... TEMPLATE` on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from suivi.config import Settings
from suivi.db import make_engine
from suivi.db import session_scope
from suivi.migrate import upgrade

POSTGRES_URL = os.environ.get("SUIVI_TEST_POSTGRES_URL", "")
BACKENDS = ("sqlite", "postgres") if POSTGRES_URL else ("sqlite",)
# The demo is generated as of this day in tests, so results never depend on the clock.
DEMO_AS_OF = date(2026, 11, 15)
KINDS = ("empty", "reference", "demo")


def make_settings(url: str, work_dir: Path) -> Settings:
    settings = Settings.model_validate(
        {
            "app": {"mode": "dev", "base_url": "http://testserver"},
            "database": {"url": url},
            "reports": {"dir": str(work_dir / "reports")},  # templates: the packaged ones
            "outbox": {"dir": str(work_dir / "outbox")},
        }
    )
    settings.source = "<tests>"
    return settings


def _fill(url: str, kind: str, work_dir: Path) -> None:
    upgrade(url)
    if kind == "empty":
        return
    from suivi.seed.demo import load_demo
    from suivi.seed.reference import load_reference

    engine = make_engine(url)
    settings = make_settings(url, work_dir)
    with session_scope(engine, write=True) as session:
        if kind == "reference":
            load_reference(session, settings.contract)
        else:
            load_demo(session, settings.contract, DEMO_AS_OF)
    engine.dispose()


@dataclass
class TestDatabase:
    url: str
    backend: str
    work_dir: Path
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    @property
    def settings(self) -> Settings:
        return make_settings(self.url, self.work_dir)

    def session(self, write: bool = True):
        return session_scope(self.engine, write=write)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class DatabaseFactory:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="suivi-tests-"))
        self.templates: dict[tuple[str, str], str] = {}
        self.counter = itertools.count()
        self.pg_prefix = f"suivi_t{os.getpid()}_"
        self.created_pg: list[str] = []

    # -- PostgreSQL administration through the server's maintenance connection
    def _pg_admin(self) -> Engine:
        return create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")

    def _pg_url(self, name: str) -> str:
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def _pg_execute(self, sql: str) -> None:
        admin = self._pg_admin()
        with admin.connect() as connection:
            connection.execute(text(sql))
        admin.dispose()

    def template(self, backend: str, kind: str) -> str:
        key = (backend, kind)
        if key not in self.templates:
            if backend == "sqlite":
                path = self.root / f"template-{kind}.db"
                url = f"sqlite:///{path}"
                _fill(url, kind, self.root)
                self.templates[key] = str(path)
            else:
                name = f"{self.pg_prefix}tpl_{kind}"
                self._pg_execute(f'DROP DATABASE IF EXISTS "{name}"')
                self._pg_execute(f'CREATE DATABASE "{name}"')
                self.created_pg.append(name)
                _fill(self._pg_url(name), kind, self.root)
                self.templates[key] = name
        return self.templates[key]

    def create(self, backend: str, kind: str, work_dir: Path) -> TestDatabase:
        source = self.template(backend, kind)
        number = next(self.counter)
        if backend == "sqlite":
            path = work_dir / f"suivi-{number}.db"
            shutil.copyfile(source, path)
            return TestDatabase(f"sqlite:///{path}", backend, work_dir)
        name = f"{self.pg_prefix}{number}"
        self._pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        self.created_pg.append(name)
        return TestDatabase(self._pg_url(name), backend, work_dir)

    def drop(self, database: TestDatabase) -> None:
        database.close()
        if database.backend == "postgres":
            name = make_url(database.url).database
            self._pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.created_pg.remove(name)

    def cleanup(self) -> None:
        for name in list(self.created_pg):
            self._pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(self.root, ignore_errors=True)
