"""Shared fixtures: real databases on every configured backend (see tests/databases.py)."""

from __future__ import annotations

import pytest

from tests.databases import BACKENDS, DatabaseFactory, TestDatabase


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
    """Reference data + the demo portfolio as of tests.databases.DEMO_AS_OF."""
    yield from _database(database_factory, backend, "demo", tmp_path)
