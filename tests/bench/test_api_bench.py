"""`bench/api.py` runs end to end at a tiny size (real uvicorn servers on loopback, both
backends) and prints its JSON line last. No timing assertion: speed is read, not tested."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from suivi.audit.models import AuditEvent
from suivi.indicators.models import Measurement

BENCH = Path(__file__).resolve().parents[2] / "bench" / "api.py"


def test_api_bench_prints_its_json_line_last(empty_db):
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--url",
            empty_db.url,
            "--count",
            "12",
            "--rounds",
            "1",
            "--clients",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    line = json.loads(last)
    assert set(line) == {
        "name",
        "suivi_s",
        "baseline_s",
        "ratio",
        "suivi_p99_ms",
        "baseline_p99_ms",
    }
    assert line["suivi_p99_ms"] > 0 and line["baseline_p99_ms"] > 0
    assert line["name"] == "api"
    assert line["suivi_s"] > 0 and line["baseline_s"] > 0
    # The printed times are rounded, the ratio is computed before rounding.
    assert line["ratio"] == pytest.approx(line["suivi_s"] / line["baseline_s"], rel=0.05)
    assert "updates/s" in result.stderr and "p99" in result.stderr
    # Both servers really wrote: warm-up (3) + 12 per server; Suivi's rows are audited.
    with empty_db.session(write=False) as session:
        bench_rows = session.execute(
            select(func.count()).select_from(Measurement).where(Measurement.comment == "bench")
        ).scalar_one()
        audited = session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "measurement", AuditEvent.action == "create")
        ).scalar_one()
    assert bench_rows == 2 * (3 + 12)
    assert audited >= 3 + 12
