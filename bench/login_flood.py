"""Benchmark: do anonymous login floods slow down the writers? (issue 15, item 4)

    .venv/bin/python bench/login_flood.py                  # SQLite in a temp dir
    .venv/bin/python bench/login_flood.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

A real uvicorn server (one worker, as `suivi serve`) over the demo database. `--writers`
threads post `--count` measurements (`POST /api/indicators/{id}/measurements`, the demo
project manager's bearer token) and their latencies are measured: first alone (baseline),
then while `--flooders` threads post wrong passwords to `POST /api/auth/token` without
pause. Two floods, each on a fresh server:

The flooders are threads of a separate process (the attacker's host), the writers threads
of this one.

- `limited`: the default `[login]` limits; every flooder comes from 127.0.0.1, so most
  attempts get 429 before any hashing (one attacker host).
- `unlimited`: the limits and the backoff lifted, so that every attempt runs Argon2 and
  counts its failure (many attacker hosts): what remains is the cost of the login itself.

Before the fix, login ran Argon2 inside a BEGIN IMMEDIATE transaction: writes went from
5 ms to 1.26 s median with 4 flooders, and with 10 some logins failed (« database is
locked »). The last line is JSON: per flood, the p50/p99 of writes alone and during the
flood, their ratio, and the login answers by status.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api import ROLE_EMAIL  # noqa: E402
from bench.api import _settings  # noqa: E402
from bench.api import percentile  # noqa: E402
from bench.api import prepare  # noqa: E402
from bench.api import project_manager_headers  # noqa: E402
from bench.api import run_round  # noqa: E402
from bench.api import server_bench_parser  # noqa: E402
from bench.api import spawn_server  # noqa: E402
from bench.api import work_dir_and_url  # noqa: E402

TARGET_P99_MS = 200
MEASUREMENTS = "/api/indicators/{}/measurements"


def serve(url: str, port: int, work_dir: Path, unlimited: bool) -> None:
    import uvicorn

    from suivi.app import create_app

    settings = _settings(url, work_dir)
    if unlimited:
        settings.login.attempts_per_minute_per_address = 1_000_000
        settings.login.attempts_per_minute_per_account = 1_000_000
        settings.login.backoff_after_failures = 1_000_000
    uvicorn.run(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def start_server(url: str, work_dir: Path, unlimited: bool) -> tuple[subprocess.Popen, str]:
    arguments = ["--serve", "--url", url, "--work-dir", str(work_dir)]
    if unlimited:
        arguments.append("--unlimited")
    return spawn_server(Path(__file__).resolve(), arguments, "the server")


def flood(base: str, stop: threading.Event, answers: Counter, lock: threading.Lock) -> None:
    """Wrong passwords without pause (a known account and unknown ones)."""
    n = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            n += 1
            email = ROLE_EMAIL if n % 2 else f"inconnu{n}@example.org"
            response = client.post(
                "/api/auth/token", data={"username": email, "password": f"faux-{n}"}
            )
            with lock:
                answers[response.status_code] += 1


def flood_host(base: str, threads: int, stop, results) -> None:
    """The attacker: its own process (another host in real life), `threads` flooders.

    Until 2026-12-01 the flooders were threads of the measuring process: with logins
    refused in well under a millisecond, ten of them kept the GIL so busy that the writers'
    latencies measured their own client's starvation more than the server."""
    local_stop, lock, answers = threading.Event(), threading.Lock(), Counter()
    workers = [
        threading.Thread(target=flood, args=(base, local_stop, answers, lock))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    stop.wait()
    local_stop.set()
    for worker in workers:
        worker.join()
    results.put(dict(answers))


def scenario(url, work_dir, ids, args, unlimited: bool) -> dict:
    process, base = start_server(url, work_dir, unlimited)
    try:
        headers = project_manager_headers(base)
        run_round(base, MEASUREMENTS, headers, ids, args.writers * 5, args.writers)  # warm-up
        _, alone = run_round(base, MEASUREMENTS, headers, ids, args.count, args.writers)
        context = multiprocessing.get_context("spawn")
        stop, results = context.Event(), context.Queue()
        attacker = context.Process(target=flood_host, args=(base, args.flooders, stop, results))
        attacker.start()
        time.sleep(2.0)  # let the flood build up (the process starts first)
        began = time.perf_counter()
        _, during = run_round(base, MEASUREMENTS, headers, ids, args.count, args.writers)
        seconds = time.perf_counter() - began
        stop.set()
        answers = Counter(results.get(timeout=60))
        attacker.join(timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=30)
    result = {
        "alone_p50_ms": percentile(alone, 0.5) * 1000,
        "alone_p99_ms": percentile(alone, 0.99) * 1000,
        "flood_p50_ms": percentile(during, 0.5) * 1000,
        "flood_p99_ms": percentile(during, 0.99) * 1000,
        "logins": dict(sorted(answers.items())),
        "logins_per_s": round(sum(answers.values()) / seconds, 1),
    }
    result["ratio_p50"] = result["flood_p50_ms"] / result["alone_p50_ms"]
    return {
        key: round(value, 2) if isinstance(value, float) else value for key, value in result.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = server_bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="measurements per phase")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers")
    parser.add_argument("--flooders", type=int, default=10, help="concurrent login flooders")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--unlimited", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.url, args.port, Path(args.work_dir), args.unlimited)
        return 0

    work_dir, url = work_dir_and_url(args.url, "login")
    free_slots, _ = prepare(url)
    ids = iter(free_slots)  # one free (indicator, date) per write, shared by every round
    summary = {"name": "login_flood", "backend": url.split(":", 1)[0]}
    for name, unlimited in (("limited", False), ("unlimited", True)):
        result = scenario(url, work_dir, ids, args, unlimited)
        summary[name] = result
        print(
            f"{name:>9} ({summary['backend']}, {args.writers} writers, {args.flooders} "
            f"flooders): writes alone p50 {result['alone_p50_ms']} ms p99 "
            f"{result['alone_p99_ms']} ms; during the flood p50 {result['flood_p50_ms']} ms "
            f"p99 {result['flood_p99_ms']} ms (x{result['ratio_p50']} at p50); logins "
            f"{result['logins_per_s']}/s {result['logins']}"
            + ("" if result["flood_p99_ms"] < TARGET_P99_MS else f"  > {TARGET_P99_MS} ms!"),
            file=sys.stderr,
        )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
