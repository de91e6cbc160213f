"""Benchmark: measurement writes while zip bombs are uploaded to the import (issue 15, item 5).

    .venv/bin/python bench/zip_upload.py              # SQLite in a temp dir

One Suivi uvicorn process over the demo database (started as `bench/api.py` does).
`--clients` threads post `--count` measurements (`POST /api/indicators/{id}/measurements`,
the demo project manager's token): first alone, then while another client uploads a zip
bomb — a ~200 KB archive holding a 200 MB CSV — with `dry_run=true`, again and again from
`--uploaders` clients until the writes are done.
Before the import limits, each bomb took ~100 s and 1.75 GB, holding the write lock, and
every concurrent write failed after 10 s; now each is refused (413) once its declared size
is read. Prints p50/p99 of the writes alone and under the bombs, their ratio, and the
bombs' answers; target: p99 under the bombs < 200 ms. The last line is JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import percentile  # noqa: E402
from bench.api import prepare  # noqa: E402
from bench.api import project_manager_headers  # noqa: E402
from bench.api import run_round  # noqa: E402
from bench.api import start_server  # noqa: E402
from bench.api import work_dir_and_url  # noqa: E402

BOMB_MB = 200
TARGET_P99_S = 0.2


def zip_bomb(megabytes: int = BOMB_MB) -> bytes:
    buffer = io.BytesIO()
    chunk = b"0" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("mesures.csv", "w", force_zip64=True) as member,
    ):
        member.write(b"Code indicateur;Date;Valeur\n")
        for _ in range(megabytes):
            member.write(chunk)
    return buffer.getvalue()


def upload_bombs(base: str, headers: dict, bomb: bytes, stop: threading.Event, answers: list):
    """Upload the bomb again and again until `stop` (so it overlaps every write)."""
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        while not stop.is_set():
            began = time.perf_counter()
            response = client.post(
                "/api/io/import",
                params={"dry_run": "true"},
                files={"file": ("mesures.zip", bomb, "application/zip")},
            )
            answers.append((response.status_code, time.perf_counter() - began))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="writes per phase")
    parser.add_argument("--clients", type=int, default=4, help="concurrent writers")
    parser.add_argument(
        "--uploaders", type=int, default=2, help="clients uploading bombs during the writes"
    )
    args = parser.parse_args(argv)

    work_dir, url = work_dir_and_url("", "zip")
    free_slots, _counts = prepare(url)
    ids = iter(free_slots)  # one free (indicator, date) per write, shared by every round
    bomb = zip_bomb()
    process, base = start_server("suivi", url, work_dir)
    try:
        headers = project_manager_headers(base)
        path = "/api/indicators/{}/measurements"
        run_round(base, path, headers, ids, max(args.clients, args.count // 10), args.clients)
        _, alone = run_round(base, path, headers, ids, args.count, args.clients)
        answers: list[tuple[int, float]] = []
        stop = threading.Event()
        uploaders = [
            threading.Thread(target=upload_bombs, args=(base, headers, bomb, stop, answers))
            for _ in range(args.uploaders)
        ]
        for uploader in uploaders:
            uploader.start()
        _, loaded = run_round(base, path, headers, ids, args.count, args.clients)
        stop.set()
        for uploader in uploaders:
            uploader.join()
    finally:
        process.terminate()
        process.wait(timeout=30)

    result = {
        "name": "zip_upload",
        "bomb_bytes": len(bomb),
        "bomb_uncompressed_mb": BOMB_MB,
        "alone_p50_ms": round(percentile(alone, 0.5) * 1000, 1),
        "alone_p99_ms": round(percentile(alone, 0.99) * 1000, 1),
        "bombs_p50_ms": round(percentile(loaded, 0.5) * 1000, 1),
        "bombs_p99_ms": round(percentile(loaded, 0.99) * 1000, 1),
        "bombs": len(answers),
        "bomb_answers": sorted({status for status, _ in answers}),
        "bomb_max_s": round(max(seconds for _, seconds in answers), 3),
    }
    result["p99_ratio"] = round(result["bombs_p99_ms"] / result["alone_p99_ms"], 2)
    print(
        f"writes ({args.clients} clients, {args.count} each phase): alone p50 "
        f"{result['alone_p50_ms']} ms p99 {result['alone_p99_ms']} ms; with {len(answers)} zip "
        f"bombs ({len(bomb) // 1024} KB → {BOMB_MB} MB) p50 {result['bombs_p50_ms']} ms p99 "
        f"{result['bombs_p99_ms']} ms (×{result['p99_ratio']}); bombs answered "
        f"{result['bomb_answers']} in ≤ {result['bomb_max_s']} s",
        file=sys.stderr,
    )
    print(json.dumps(result))
    ok = result["bombs_p99_ms"] < TARGET_P99_S * 1000 and result["bomb_answers"] == [413]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
