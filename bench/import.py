# ruff: noqa: N999 - the file name is the benchmark's name (bench/import.py)
"""Import speed: a 10,000-row measurements workbook through `suivi.io.importer` (typed cells,
every check, one audit row per change, all in one transaction) against a baseline measured
in the same run: openpyxl reading the same file (read-only) + a bare `executemany` insert of
the same rows. Prints a JSON line last:

    {"name": "import", "suivi_s": ..., "baseline_s": ..., "ratio": ...}

    python bench/import.py [--rows 10000] [--repeat 3]

Each side runs `--repeat` times, alternated, on fresh copies of the database; the best time
of each side is kept (the machine may be shared).
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl import load_workbook
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from suivi.config import ContractSettings  # noqa: E402
from suivi.contract.models import Contract  # noqa: E402
from suivi.db import make_engine  # noqa: E402
from suivi.db import session_scope  # noqa: E402
from suivi.indicators.models import Indicator  # noqa: E402
from suivi.indicators.models import Measurement  # noqa: E402
from suivi.io.importer import import_portfolio  # noqa: E402
from suivi.migrate import upgrade  # noqa: E402
from suivi.seed.demo import load_demo  # noqa: E402

PER_INDICATOR = 2000


def write_file(path: Path, codes: list[str], rows: int) -> list[tuple[str, date, float]]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Mesures")
    sheet.append(["Code indicateur", "Date", "Valeur", "Commentaire"])
    start = date(2025, 1, 1).toordinal()
    data = []
    for index in range(rows):
        code = codes[index // PER_INDICATOR]
        day = date.fromordinal(start + index % PER_INDICATOR)
        value = float(index % 97) + 0.5
        sheet.append([code, day, value, ""])
        data.append((code, day, value))
    workbook.save(path)
    return data


def baseline(url: str, path: Path, ids: dict[str, int]) -> float:
    engine = make_engine(url)
    gc.collect()  # neither side pays for the garbage the other one left
    started = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True)
    rows = workbook["Mesures"].iter_rows(min_row=2, values_only=True)
    now = datetime.now(UTC)
    params = [
        {
            "indicator_id": ids[code],
            "measured_on": day.date(),
            "value": value,
            "comment": comment or "",
            "evidence_url": "",
            "entered_at": now,
            "correction_reason": "",
        }
        for code, day, value, comment in rows
    ]
    workbook.close()
    with session_scope(engine, write=True) as session:
        session.execute(insert(Measurement), params)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def import_once(url: str, contract_id: int, path: Path) -> float:
    engine = make_engine(url)
    gc.collect()  # neither side pays for the garbage the other one left
    started = time.perf_counter()
    with session_scope(engine, write=True) as session:
        report = import_portfolio(session, contract_id, path, today=date(2030, 12, 31))
    elapsed = time.perf_counter() - started
    engine.dispose()
    assert report.ok, [str(p) for p in report.problems[:5]]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="suivi-bench-import-"))
    try:
        template = folder / "template.db"
        upgrade(f"sqlite:///{template}")
        engine = make_engine(f"sqlite:///{template}")
        with session_scope(engine, write=True) as session:
            load_demo(session, ContractSettings(), date(2026, 11, 15))
        with session_scope(engine) as session:
            contract_id = session.scalar(select(Contract.id))
            indicators = dict(
                session.execute(select(Indicator.code, Indicator.id).order_by(Indicator.code)).all()
            )
        count = -(-args.rows // PER_INDICATOR)
        codes = list(indicators)[:count]
        # Creations only, on both sides: the demo's own readings of these indicators would
        # make some file rows corrections for Suivi and duplicates for the bare insert.
        with session_scope(engine, write=True) as session:
            session.execute(
                delete(Measurement).where(
                    Measurement.indicator_id.in_([indicators[code] for code in codes])
                )
            )
        engine.dispose()
        path = folder / "mesures.xlsx"
        write_file(path, codes, args.rows)

        # Best of `--repeat` runs of each side, alternated: on a shared, loaded machine one
        # run of either side can be slowed down several fold by the others.
        suivi_runs, baseline_runs = [], []
        for attempt in range(args.repeat):
            suivi_db = folder / f"suivi-{attempt}.db"
            baseline_db = folder / f"baseline-{attempt}.db"
            shutil.copyfile(template, suivi_db)
            shutil.copyfile(template, baseline_db)
            suivi_runs.append(import_once(f"sqlite:///{suivi_db}", contract_id, path))
            baseline_runs.append(baseline(f"sqlite:///{baseline_db}", path, indicators))
        suivi_s, baseline_s = min(suivi_runs), min(baseline_runs)
        print(f"{args.rows} rows: suivi {suivi_s:.2f} s, baseline {baseline_s:.2f} s")
        print(
            json.dumps(
                {
                    "name": "import",
                    "rows": args.rows,
                    "suivi_s": round(suivi_s, 3),
                    "baseline_s": round(baseline_s, 3),
                    "ratio": round(suivi_s / baseline_s, 2),
                    "repeat": args.repeat,
                }
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
