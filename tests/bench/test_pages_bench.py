"""`bench/pages.py` runs end to end at a tiny size and prints its JSON line last, with every
list page answered. No timing assertion: speed is read, not tested."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pages.py"


def test_pages_bench_prints_its_json_line_last():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--scale", "0.02", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["name"] == "pages"
    assert set(line["pages"]) >= {"/", "/engagements", "/quartiers", "/contrat"}
    assert line["suivi_s"] == max(line["pages"].values()) > 0
    assert line["baseline_s"] > 0
