"""Shared fixtures: real databases on every configured backend (see tests/support/databases.py).

The modules that read the clock (pages without `?as_of=`, the scheduler and its jobs,
alerts, emails and their period keys, sessions, reports and backups, the progress engine)
carry the `clock` marker: `make test-clock` runs them under libfaketime at month ends, a
DST change, a leap day and the contract's last minute.
"""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

import pytest

from tests.support.browser import chromium_browser
from tests.support.databases import BACKENDS
from tests.support.databases import DatabaseFactory
from tests.support.databases import TestDatabase

CLOCK_SENSITIVE_MODULES = (
    "auth/test_tokens_sessions.py",
    "backup/test_cli.py",
    "monitoring/test_checks.py",
    "monitoring/test_incremental_check.py",
    "monitoring/test_routes.py",
    "monitoring/test_scheduler.py",
    "notifications/test_email.py",
    "notifications/test_reminders.py",
    "notifications/test_summaries.py",
    "progress/test_labels.py",
    "progress/test_progress.py",
    "reports/test_archive_fetcher_jobs.py",
    "web/test_admin_pages.py",
    "web/test_pages.py",
)
TESTS_ROOT = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        relative = Path(item.fspath).relative_to(TESTS_ROOT).as_posix()
        if relative in CLOCK_SENSITIVE_MODULES:
            item.add_marker(pytest.mark.clock)


if "faketime" in os.environ.get("LD_PRELOAD", ""):
    # Under libfaketime 0.9.10 with a real monotonic clock, the absolute-deadline
    # clock_nanosleep behind time.sleep fails with EINVAL; a relative select() wait does not.
    def _relative_sleep(seconds: float) -> None:
        select.select([], [], [], max(0.0, seconds))

    time.sleep = _relative_sleep


@pytest.fixture(scope="session")
def database_factory():
    factory = DatabaseFactory()
    yield factory
    factory.cleanup()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def _database(database_factory, backend, kind, tmp_path):
    database = database_factory.create(backend, kind, tmp_path)
    try:
        yield database
    finally:
        database_factory.drop(database)


@pytest.fixture
def empty_db(database_factory, backend, tmp_path) -> TestDatabase:
    """A migrated, empty database."""
    yield from _database(database_factory, backend, "empty", tmp_path)


@pytest.fixture
def reference_db(database_factory, backend, tmp_path) -> TestDatabase:
    """The real Lens-Liévin reference data, no demo portfolio."""
    yield from _database(database_factory, backend, "reference", tmp_path)


@pytest.fixture
def demo_db(database_factory, backend, tmp_path) -> TestDatabase:
    """Reference data + the demo portfolio as of tests.support.databases.DEMO_AS_OF."""
    yield from _database(database_factory, backend, "demo", tmp_path)


@pytest.fixture(scope="module")
def browser(site):
    """One headless chromium for a browser test module, started after its `site` fixture (the
    demo served by uvicorn, which the module defines)."""
    with chromium_browser() as browser:
        yield browser
