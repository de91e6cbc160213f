"""Benchmark of indicator updates through Suivi's HTTP API under concurrency, against a bare
FastAPI endpoint that inserts the same row into the same database, in the same run.

    .venv/bin/python bench/api.py                               # SQLite in a temp dir
    .venv/bin/python bench/api.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Both servers are real uvicorn processes on free loopback ports (one worker each, no access
log), over the demo database. `--clients` threads (keep-alive httpx clients) post
`--count` measurements per round to each server; rounds alternate between the two servers
(so drift on a shared machine hits both) and the medians over `--rounds` are kept.

- Suivi: `POST /api/indicators/{id}/measurements` with the bearer token of the demo project
  manager (token lookup, scoping, validation, the row and its audit row, one transaction).
- Baseline: `POST /baseline/indicators/{id}/measurements`: no auth, no validation, no audit,
  the same measurement row inserted in one writing transaction.

`--url` may be an existing database: the schema is migrated and the demo loaded if absent
(loading it twice changes nothing); the measurements added by the benchmark stay.
The last line is JSON: {"name": "api", "suivi_s": <seconds per update>, "baseline_s": …,
"ratio": …, "suivi_p99_ms": …, "baseline_p99_ms": …} (p99 of every timed request of the
server, all rounds together; target on SQLite with 8 clients: ≤ 150 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from datetime import timedelta
from pathlib import Path

import httpx

AS_OF = date(2026, 11, 15)
MEASURED_ON = "2026-10-31"
ROLE_EMAIL = "chef@example.org"
PASSWORD = "demo"  # noqa: S105 - the published demo password


# -- the servers (run in child processes: `bench/api.py --serve suivi|baseline`) --------------


def _settings(url: str, work_dir: Path):
    from suivi.config import Settings

    settings = Settings.model_validate(
        {
            "app": {"mode": "dev", "log_level": "WARNING"},
            "database": {"url": url},
            "reports": {"dir": str(work_dir / "reports")},
            "outbox": {"dir": str(work_dir / "outbox")},
        }
    )
    settings.source = "<bench>"
    return settings


def suivi_app(url: str, work_dir: Path):
    from suivi.app import create_app

    return create_app(_settings(url, work_dir))


def baseline_app(url: str):
    """The same row, without authentication, validation nor audit."""
    from fastapi import FastAPI
    from sqlalchemy import insert

    from suivi.db import make_engine
    from suivi.db import session_scope
    from suivi.db import utcnow
    from suivi.indicators.models import Measurement

    engine = make_engine(url)
    app = FastAPI()

    @app.post("/baseline/indicators/{indicator_id}/measurements", status_code=201)
    def create_measurement(indicator_id: int, body: dict) -> dict:
        with session_scope(engine, write=True) as session:
            new_id = session.execute(
                insert(Measurement)
                .values(
                    indicator_id=indicator_id,
                    measured_on=date.fromisoformat(body["measured_on"]),
                    value=body["value"],
                    comment=body.get("comment", ""),
                    evidence_url="",
                    author_id=None,
                    entered_at=utcnow(),
                )
                .returning(Measurement.id)
            ).scalar_one()
        return {"id": new_id}

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    return app


def serve(kind: str, url: str, port: int, work_dir: Path) -> None:
    import uvicorn

    app = suivi_app(url, work_dir) if kind == "suivi" else baseline_app(url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the driver -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind: str, url: str, work_dir: Path) -> tuple[subprocess.Popen, str]:
    arguments = ["--serve", kind, "--url", url, "--work-dir", str(work_dir)]
    return spawn_server(Path(__file__).resolve(), arguments, f"the {kind} server")


def spawn_server(script: Path, arguments: list[str], what: str) -> tuple[subprocess.Popen, str]:
    """`python script *arguments --port P` in a child process, once its /healthz answers;
    returns (process, base URL). Shared by the benches that drive a real server."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(script), *arguments, "--port", str(port)],
        env={**os.environ, "PYTHONPATH": _pythonpath()},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded machine takes a while to import the app
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} stopped (exit {process.returncode})")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"{what} did not start on {base}")


def _pythonpath() -> str:
    root = Path(__file__).resolve().parent.parent
    parts = [str(root / "src"), str(root), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(part for part in parts if part)


def prepare(url: str) -> tuple[list[tuple[int, str]], tuple[int, int]]:
    """Schema + demo; free (indicator, date) slots the project manager may update."""
    from sqlalchemy import select

    from suivi import scoping
    from suivi.auth.models import User
    from suivi.auth.principal import load_principal
    from suivi.db import make_engine
    from suivi.db import session_scope
    from suivi.indicators.models import Indicator
    from suivi.indicators.models import Measurement
    from suivi.migrate import upgrade
    from suivi.seed.demo import load_demo

    upgrade(url)
    engine = make_engine(url)
    settings = _settings(url, Path(tempfile.gettempdir()))
    with session_scope(engine, write=True) as session:
        load_demo(session, settings.contract, AS_OF)
    with session_scope(engine) as session:
        user = session.execute(select(User).where(User.email == ROLE_EMAIL)).scalar_one()
        principal = load_principal(session, user)
        # The same measurement date must be valid for every chosen indicator.
        ids = list(
            session.execute(
                select(Indicator.id)
                .where(
                    scoping.indicator_condition(principal, write=True),
                    Indicator.baseline_date <= date.fromisoformat(MEASURED_ON),
                )
                .order_by(Indicator.id)
            ).scalars()
        )
        count = _count(session)
        baselines = dict(
            session.execute(
                select(Indicator.id, Indicator.baseline_date).where(Indicator.id.in_(ids))
            ).all()
        )
        taken = set(
            session.execute(
                select(Measurement.indicator_id, Measurement.measured_on).where(
                    Measurement.indicator_id.in_(ids), Measurement.superseded_by_id.is_(None)
                )
            ).all()
        )
    engine.dispose()
    if not ids:
        raise SystemExit("no indicator in the project manager's scope")
    return _free_slots(ids, baselines, taken), count


def _free_slots(ids: list[int], baselines: dict, taken: set) -> list[tuple[int, str]]:
    """(indicator, date) pairs without a current measurement, going back day by day from
    MEASURED_ON: one current value per indicator and date, so every update needs its own."""
    slots, day = [], date.fromisoformat(MEASURED_ON)
    while len(slots) < 200_000 and day.year >= 2025:
        slots.extend(
            (i, day.isoformat()) for i in ids if (i, day) not in taken and day >= baselines[i]
        )
        day -= timedelta(days=1)
    return slots


def _count(session) -> tuple[int, int]:
    from sqlalchemy import func
    from sqlalchemy import select

    from suivi.audit.models import AuditEvent
    from suivi.indicators.models import Measurement

    return (
        session.execute(select(func.count()).select_from(Measurement)).scalar_one(),
        session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
    )


def counts(url: str) -> tuple[int, int]:
    from suivi.db import make_engine
    from suivi.db import session_scope

    engine = make_engine(url)
    with session_scope(engine) as session:
        result = _count(session)
    engine.dispose()
    return result


def project_manager_headers(base: str) -> dict[str, str]:
    """The bearer header of the demo project manager, logged in on the server at `base`."""
    token = httpx.post(
        f"{base}/api/auth/token",
        data={"username": ROLE_EMAIL, "password": PASSWORD},
        timeout=30,
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def work_dir_and_url(url: str, name: str) -> tuple[Path, str]:
    """A fresh temporary folder for the bench `name`, and the database: `url`, or by default
    a SQLite file in that folder."""
    work_dir = Path(tempfile.mkdtemp(prefix=f"suivi-bench-{name}-"))
    return work_dir, url or f"sqlite:///{work_dir / 'bench.db'}"


def server_bench_parser(description: str) -> argparse.ArgumentParser:
    """The options of a bench that starts its own server: `--url`, and the hidden ones the
    script is run again with, as that server (`--port`, `--work-dir`)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", default="", help="database URL (default: temp SQLite)")
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", help=argparse.SUPPRESS)
    return parser


def run_round(base: str, path: str, headers: dict, slots, count: int, clients: int):
    """`count` POSTs shared by `clients` threads, each to a free (indicator, date) slot taken
    from the shared iterator `slots`; returns (wall seconds, latencies)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    next_index = iter(range(count))
    start = threading.Barrier(clients + 1)

    def worker() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            client.get("/healthz")  # open the keep-alive connection before the clock starts
            start.wait()
            while True:
                with lock:
                    i = next(next_index, None)
                    slot = next(slots) if i is not None else None
                if i is None:
                    return
                indicator_id, day = slot
                body = {"measured_on": day, "value": float(i % 97), "comment": "bench"}
                began = time.perf_counter()
                response = client.post(path.format(indicator_id), json=body)
                elapsed = time.perf_counter() - began
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 201:
                        errors.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    return wall, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = server_bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="updates per round per server")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (median)")
    parser.add_argument("--serve", choices=("suivi", "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        serve(args.serve, args.url, args.port, Path(args.work_dir))
        return 0

    work_dir, url = work_dir_and_url(args.url, "api")
    free_slots, (measurements_before, audit_before) = prepare(url)
    slots = iter(free_slots)
    servers = [start_server(kind, url, work_dir) for kind in ("suivi", "baseline")]
    try:
        (_, suivi_base), (_, baseline_base) = servers
        targets = {
            "suivi": (
                suivi_base,
                "/api/indicators/{}/measurements",
                project_manager_headers(suivi_base),
            ),
            "baseline": (baseline_base, "/baseline/indicators/{}/measurements", {}),
        }
        warmup = max(args.clients, args.count // 10)
        for base, path, headers in targets.values():
            run_round(base, path, headers, slots, warmup, args.clients)
        results: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (base, path, headers) in targets.items():
                results[name].append(
                    run_round(base, path, headers, slots, args.count, args.clients)
                )
    finally:
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            process.wait(timeout=30)

    # Every update really landed (and Suivi's are audited).
    measurements_after, audit_after = counts(url)
    per_server = warmup + args.rounds * args.count
    assert measurements_after - measurements_before == 2 * per_server, "missing measurements"
    assert audit_after - audit_before >= per_server, "missing audit rows"

    summary = {}
    p99 = {}
    backend = url.split(":", 1)[0]
    for name, rounds in results.items():
        per_update = statistics.median(wall / args.count for wall, _ in rounds)
        latencies = [value for _, values in rounds for value in values]
        summary[name] = per_update
        p99[name] = percentile(latencies, 0.99) * 1000
        print(
            f"{name:>8} ({backend}, {args.clients} clients, {args.rounds}×{args.count} updates): "
            f"{1 / per_update:7.1f} updates/s, p50 {percentile(latencies, 0.5) * 1000:6.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "name": "api",
                "suivi_s": round(summary["suivi"], 6),
                "baseline_s": round(summary["baseline"], 6),
                "ratio": round(summary["suivi"] / summary["baseline"], 2),
                "suivi_p99_ms": round(p99["suivi"], 1),
                "baseline_p99_ms": round(p99["baseline"], 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
