"""Benchmark of the daily check (`check_indicators`) against a baseline measured in the same
run: a single SQL query that reads the latest measurement of every indicator.

    .venv/bin/python bench/checks.py                 # SQLite, demo x1, x4, x16
    .venv/bin/python bench/checks.py --sizes 1,8,32 --url postgresql+psycopg://…/db
    .venv/bin/python bench/checks.py --national 1 --url postgresql+psycopg://…/db

`--national SCALE`: the synthetic national portfolio of `bench/generate.py` at SCALE and at
SCALE/4 and SCALE/2 (linearity), one fresh database each (scratch databases `<db>_n<i>` next
to the given PostgreSQL database, dropped afterwards; temp SQLite files by default). For
each: the baseline query (median of three), then the whole daily job (`check_indicators_job`,
committed): the first run judges everything and opens every alert (once per database); a
full re-judge (every conclusion forgotten, as after a change of the rules); then `--days`
ordinary days, each with the portfolio's own pace of data entry (its measurements per day
over the last year, entered as plain SQL) followed by the daily job. The JSON line reports
the median day (the target: within 2x the baseline) and the worst day.

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
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Date
from sqlalchemy import bindparam
from sqlalchemy import make_url
from sqlalchemy import text
from sqlmodel import Session

import suivi.models  # noqa: F401 - every table mapped
from suivi.config import Settings
from suivi.db import make_engine
from suivi.db import session_scope
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


def daily_rate(engine) -> int:
    """Measurements per day over the year before AS_OF: the portfolio's own pace."""
    with engine.connect() as connection:
        count = connection.execute(
            text(
                "SELECT count(*) FROM measurement "
                "WHERE measured_on > :since AND measured_on <= :day"
            ).bindparams(bindparam("since", type_=Date), bindparam("day", type_=Date)),
            {"since": AS_OF - timedelta(days=365), "day": AS_OF},
        ).scalar_one()
    return max(1, round(count / 365))


def enter_figures(engine, day: date, per_day: int, indicators: int) -> None:
    """A day of data entry: `per_day` indicators (a different, deterministic set each day)
    get a measurement dated `day`, repeating their latest figure. Plain SQL: the change
    notes come from the database triggers, as for any writer."""
    modulus = max(1, round(indicators / per_day))
    with session_scope(engine, write=True) as session:
        session.execute(
            text(
                "INSERT INTO measurement (indicator_id, measured_on, value, comment, "
                "evidence_url, entered_at, correction_reason) "
                "SELECT i.id, :day, COALESCE((SELECT m.value FROM measurement m "
                "WHERE m.indicator_id = i.id AND m.superseded_by_id IS NULL "
                "ORDER BY m.measured_on DESC, m.id DESC LIMIT 1), i.baseline_value), "
                "'', '', CURRENT_TIMESTAMP, '' FROM indicator i "
                "WHERE (i.id * 7919 + :offset) % :modulus = 0"
            ).bindparams(bindparam("day", type_=Date)),
            {"day": day, "offset": day.toordinal(), "modulus": modulus},
        )


def analyze(engine) -> None:
    """Refresh the planner's statistics (PostgreSQL's ANALYZE may not run in a transaction)."""
    with engine.connect() as connection:
        if engine.url.get_backend_name() == "sqlite":
            connection.exec_driver_sql("ANALYZE")
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def run_job_timed(engine, day: date) -> tuple[float, dict]:
    context = JobContext(engine, Settings(), day, trigger="manual")
    started = time.perf_counter()
    counts = check_indicators_job(context).counts
    return time.perf_counter() - started, counts


def national(scale: float, url: str, days: int) -> int:
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
            analyze(engine)  # fresh statistics after the bulk load
            baseline_s = median_baseline(engine)
            first_s, first = run_job_timed(engine, AS_OF)
            # Every conclusion forgotten (as after a change of the rules): all judged again.
            with session_scope(engine, write=True) as session:
                session.execute(text("DELETE FROM indicator_check"))
            full_s, full = run_job_timed(engine, AS_OF)
            # Ordinary days: the portfolio's daily pace of data entry, then the daily check.
            per_day = daily_rate(engine)
            day_runs = []
            for offset in range(1, days + 1):
                day = AS_OF + timedelta(days=offset)
                enter_figures(engine, day, per_day, counts["indicators"])
                seconds, result = run_job_timed(engine, day)
                day_runs.append((seconds, day, result))
            engine.dispose()
            times = sorted(seconds for seconds, _, _ in day_runs)
            worst_s, worst_day, worst = max(day_runs, key=lambda run: run[0])
            day_s = statistics.median(times)
            row = {
                "scale": size,
                "contracts": counts["contracts"],
                "indicators": counts["indicators"],
                "measurements": counts["measurements"],
                "generated_s": round(generated_s, 1),
                "baseline_s": round(baseline_s, 3),
                "first_run_s": round(first_s, 3),
                "first_ratio": round(first_s / baseline_s, 2),
                "alerts_opened": first["opened"],
                "full_rejudge_s": round(full_s, 3),
                "full_rejudge_changed": full["opened"] + full["resolved"],
                "figures_per_day": per_day,
                "days": days,
                "day_median_s": round(day_s, 3),
                "day_ratio": round(day_s / baseline_s, 2),
                "day_p90_s": round(times[int(0.9 * (len(times) - 1))], 3),
                "worst_day": worst_day.isoformat(),
                "worst_day_s": round(worst_s, 3),
                "worst_day_judged": worst["evaluated"],
                "worst_day_opened": worst["opened"],
                "worst_ratio": round(worst_s / baseline_s, 2),
                "first_us_per_indicator": round(first_s / counts["indicators"] * 1e6, 1),
                "day_us_per_indicator": round(day_s / counts["indicators"] * 1e6, 2),
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    finally:
        drop_scratch(url, urls)
    first, last = rows[0], rows[-1]
    for key, what in (("first_us_per_indicator", "first run"), ("day_us_per_indicator", "day")):
        print(
            f"{what}: cost per indicator x{last[key] / first[key]:.2f} from "
            f"{first['indicators']} to {last['indicators']} indicators (about 1 = linear)",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "name": "checks_national",
                "suivi_s": last["day_median_s"],
                "baseline_s": last["baseline_s"],
                "ratio": last["day_ratio"],
                "worst_day_s": last["worst_day_s"],
                "worst_ratio": last["worst_ratio"],
                "first_run_s": last["first_run_s"],
                "first_ratio": last["first_ratio"],
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
    parser.add_argument(
        "--days", type=int, default=28, help="with --national: ordinary days simulated"
    )
    args = parser.parse_args(argv)
    if args.national is not None:
        return national(args.national, args.url, args.days)
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
        analyze(engine)  # fresh statistics after the bulk inserts
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
