"""Schema only through Alembic: upgrade, downgrade, and no drift between models and files."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from suivi.migrate import current_heads
from suivi.migrate import downgrade
from suivi.migrate import upgrade
from suivi.models import metadata


def test_upgrade_downgrade_upgrade(empty_db):
    engine = empty_db.engine
    assert "measurement" in inspect(engine).get_table_names()
    empty_db.close()
    downgrade(empty_db.url, "base")
    assert set(inspect(empty_db.engine).get_table_names()) <= {"alembic_version"}
    empty_db.close()
    upgrade(empty_db.url)
    tables = set(inspect(empty_db.engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_models_and_migrations_agree(empty_db):
    with empty_db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_single_head_with_dated_file_names():
    from suivi.migrate import MIGRATIONS_DIR

    assert len(current_heads()) == 1
    files = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert files and all(name[:8].isdigit() for name in files)
