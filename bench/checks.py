"""Benchmark of the daily check (`check_indicators`) against a baseline measured in the same
run: a single SQL query that reads the latest measurement of every indicator.

    .venv/bin/python bench/checks.py                 # SQLite, demo x1, x4, x16
    .venv/bin/python bench/checks.py --sizes 1,8,32 --url postgresql+psycopg://…/db
    .venv/bin/python bench/checks.py --national 1 --url postgresql+psycopg://…/db

`--national SCALE`: the synthetic national portfolio of `bench/generate.py` at SCALE and at
SCALE/4 and SCALE/2 (linearity), one fresh database each (scratch databases `<db>_n<i>` next
to the given PostgreSQL database, dropped afterwards; temp SQLite files by default). For
each: the baseline query, then the whole daily job (`check_indicators` over every contract,
committed): the first run opens every alert (heaviest case), the second finds nothing to
change (an ordinary day). Medians of three for the baseline; the job runs are single.

The demo portfolio is multiplied with set-based INSERT … SELECT (indicators, targets,
measurements copied under new codes). For each size, the check runs in a transaction that is
rolled back (so every run opens all its alerts, the heaviest case); best of three. The cost
per indicator staying flat across sizes shows linear growth. The last line is JSON:
{"name": "checks", "suivi_s": …, "baseline_s": …, "ratio": …} for the largest size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import make_url, text
from sqlmodel import Session

import suivi.models  # noqa: F401 - every table mapped
from suivi.config import Settings
from suivi.db import make_engine, session_scope
from suivi.jobs import JobContext
from suivi.migrate import upgrade
from suivi.monitoring.jobs import check_indicators_job
from suivi.monitoring.service import check_indicators
from suivi.seed.demo import load_demo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402

AS_OF = date(2026, 11, 15)
REPEAT = 3

INDICATOR_COLUMNS = (
    "contract_id, commitment_id, quartier_id, name, unit, source, direction, cumulative, "
    "frequency, tolerance, grace_days, baseline_value, baseline_date, version, created_at, "
    "updated_at"
)

BASELINE_SQL = text(
    """
    SELECT m.indicator_id, m.measured_on, m.value
    FROM measurement m
    JOIN (SELECT indicator_id, max(measured_on) AS latest
          FROM measurement WHERE superseded_by_id IS NULL GROUP BY indicator_id) l
      ON l.indicator_id = m.indicator_id AND l.latest = m.measured_on
    WHERE m.superseded_by_id IS NULL
    """
)


def multiply(engine, copies: int, start: int) -> None:
    """Add copies number `start`…`copies` of the original demo indicators (set-based)."""
    with session_scope(engine, write=True) as session:
        for k in range(start, copies + 1):
            suffix = f"-K{k}"
            session.execute(
                text(
                    f"INSERT INTO indicator (code, {INDICATOR_COLUMNS}) "
                    f"SELECT code || :suffix, {INDICATOR_COLUMNS} FROM indicator "
                    "WHERE code NOT LIKE '%-K%'"
                ),
                {"suffix": suffix},
            )
            mapping = (
                "FROM indicator old JOIN indicator new ON new.code = old.code || :suffix "
                "AND new.contract_id = old.contract_id"
            )
            session.execute(
                text(
                    "INSERT INTO target (indicator_id, target_date, value) "
                    f"SELECT new.id, t.target_date, t.value {mapping} "
                    "JOIN target t ON t.indicator_id = old.id"
                ),
                {"suffix": suffix},
            )
            session.execute(
                text(
                    "INSERT INTO measurement (indicator_id, measured_on, value, comment, "
                    "evidence_url, entered_at, correction_reason) "
                    "SELECT new.id, m.measured_on, m.value, '', '', m.entered_at, '' "
                    f"{mapping} JOIN measurement m ON m.indicator_id = old.id "
                    "AND m.superseded_by_id IS NULL"
                ),
                {"suffix": suffix},
            )


def count(engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def time_check(engine, contract_id: int) -> tuple[float, int]:
    best, opened = float("inf"), 0
    for _ in range(REPEAT):
        with Session(engine.execution_options(sqlite_begin="IMMEDIATE")) as session:
            started = time.perf_counter()
            result = check_indicators(session, contract_id=contract_id, as_of=AS_OF)
            best = min(best, time.perf_counter() - started)
            opened = result.opened
            session.rollback()
    return best, opened


def time_baseline(engine) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        with engine.connect() as connection:
            started = time.perf_counter()
            connection.execute(BASELINE_SQL).all()
            best = min(best, time.perf_counter() - started)
    return best


def median_baseline(engine) -> float:
    runs = []
    for _ in range(REPEAT):
        with engine.connect() as connection:
            started = time.perf_counter()
            connection.execute(BASELINE_SQL).all()
            runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def scratch_databases(url: str, count: int) -> list[str]:
    """`count` empty databases: temp SQLite files, or `<db>_n<i>` on the PostgreSQL server."""
    if not url:
        workdir = Path(tempfile.mkdtemp(prefix="suivi-national-"))
        return [f"sqlite:///{workdir / f'national{i}.db'}" for i in range(count)]
    base = make_url(url)
    admin = make_engine(base.render_as_string(hide_password=False))
    names = [f"{base.database}_n{i}" for i in range(count)]
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in names:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return [base.set(database=name).render_as_string(hide_password=False) for name in names]


def drop_scratch(url: str, urls: list[str]) -> None:
    if not url:
        return
    admin = make_engine(url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for scratch in urls:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(scratch).database}"')
    admin.dispose()


def national(scale: float, url: str) -> int:
    scales = [scale / 4, scale / 2, scale]
    urls = scratch_databases(url, len(scales))
    rows = []
    try:
        for size, scratch in zip(scales, urls, strict=True):
            upgrade(scratch)
            engine = make_engine(scratch)
            started = time.perf_counter()
            counts = generate(engine, size, AS_OF)
            generated_s = time.perf_counter() - started
            with engine.connect() as connection:  # fresh statistics after the bulk load
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE"
                )
            baseline_s = median_baseline(engine)
            context = JobContext(engine, Settings(), AS_OF, trigger="manual")
            started = time.perf_counter()
            first = check_indicators_job(context)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            again = check_indicators_job(context)
            steady_s = time.perf_counter() - started
            engine.dispose()
            row = {
                "scale": size,
                "contracts": counts["contracts"],
                "indicators": counts["indicators"],
                "measurements": counts["measurements"],
                "generated_s": round(generated_s, 1),
                "baseline_s": round(baseline_s, 3),
                "first_run_s": round(first_s, 3),
                "alerts_opened": first["opened"],
                "steady_run_s": round(steady_s, 3),
                "alerts_changed": again["opened"] + again["resolved"],
                "first_ratio": round(first_s / baseline_s, 2),
                "steady_ratio": round(steady_s / baseline_s, 2),
                "us_per_indicator": round(first_s / counts["indicators"] * 1e6, 1),
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    finally:
        drop_scratch(url, urls)
    first, last = rows[0], rows[-1]
    print(
        f"per-indicator cost x{last['us_per_indicator'] / first['us_per_indicator']:.2f} from "
        f"{first['indicators']} to {last['indicators']} indicators (about 1 = linear growth)",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "name": "checks_national",
                "suivi_s": last["first_run_s"],
                "steady_s": last["steady_run_s"],
                "baseline_s": last["baseline_s"],
                "ratio": last["first_ratio"],
                "steady_ratio": last["steady_ratio"],
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,16", help="multiples of the demo portfolio")
    parser.add_argument("--url", default="", help="an EMPTY database (default: temp SQLite)")
    parser.add_argument(
        "--national",
        type=float,
        default=None,
        metavar="SCALE",
        help="synthetic national portfolio at SCALE/4, SCALE/2, SCALE (1 = ~100,000 indicators)",
    )
    args = parser.parse_args(argv)
    if args.national is not None:
        return national(args.national, args.url)
    sizes = sorted({int(size) for size in args.sizes.split(",")})

    workdir = Path(tempfile.mkdtemp(prefix="suivi-bench-"))
    url = args.url or f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine, write=True) as session:
        load_demo(session, Settings().contract, AS_OF)
    with engine.connect() as connection:
        contract_id = connection.execute(text("SELECT id FROM contract")).scalar_one()

    rows = []
    done = 1
    for size in sizes:
        if size > done:
            multiply(engine, size, done + 1)
            done = size
        with engine.connect() as connection:  # fresh statistics after the bulk inserts
            if engine.url.get_backend_name() == "sqlite":
                connection.exec_driver_sql("ANALYZE")
            else:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE"
                )
        suivi_s, opened = time_check(engine, contract_id)
        baseline_s = time_baseline(engine)
        indicators = count(engine, "indicator")
        row = {
            "size": size,
            "indicators": indicators,
            "measurements": count(engine, "measurement"),
            "alerts_opened": opened,
            "suivi_s": round(suivi_s, 4),
            "baseline_s": round(baseline_s, 4),
            "ratio": round(suivi_s / baseline_s, 2),
            "suivi_us_per_indicator": round(suivi_s / indicators * 1e6, 1),
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    engine.dispose()

    first, last = rows[0], rows[-1]
    growth = last["suivi_us_per_indicator"] / first["suivi_us_per_indicator"]
    print(
        f"per-indicator cost x{growth:.2f} from {first['indicators']} to {last['indicators']} "
        "indicators (about 1 = linear growth)",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "name": "checks",
                "suivi_s": last["suivi_s"],
                "baseline_s": last["baseline_s"],
                "ratio": last["ratio"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
