"""Pages of lists at national scale: how long the French pages take to answer, paginated,
over a synthetic national portfolio (`bench/generate.py`), against a baseline measured in the
same run (the bare SQL query that reads the same page of commitments).

    .venv/bin/python bench/pages.py                                  # temp SQLite, scale 0.05
    .venv/bin/python bench/pages.py --scale 0 \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/suivi_national

The pages are served in-process (FastAPI TestClient: no network in the timing) for a
project manager of the largest contract; each page is fetched `--repeat` times, the median
kept. Target (issue 10): every list page under 200 ms. JSON line last:
{"name": "pages", "suivi_s": <slowest page median>, "baseline_s": ..., "ratio": ..., "pages": {...}}
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import generate  # noqa: E402
from suivi.auth.models import User  # noqa: E402
from suivi.auth.models import UserContract  # noqa: E402
from suivi.auth.passwords import hash_password  # noqa: E402
from suivi.config import Settings  # noqa: E402
from suivi.db import make_engine  # noqa: E402
from suivi.db import session_scope  # noqa: E402
from suivi.indicators.models import Indicator  # noqa: E402
from suivi.migrate import upgrade  # noqa: E402

AS_OF = date(2026, 11, 15)
EMAIL = "bench.pages@example.org"
PAGES = (
    "/",
    "/engagements",
    "/engagements?page=3",
    "/quartiers",
    "/partenaires",
    "/alertes",
    "/contrat",
    "/rapports",
)


def largest_contract(session) -> int:
    return session.execute(
        select(Indicator.contract_id)
        .group_by(Indicator.contract_id)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar_one()


def ensure_user(session, contract_id: int) -> None:
    user = session.execute(select(User).where(User.email == EMAIL)).scalar_one_or_none()
    if user is None:
        user = User(
            email=EMAIL,
            full_name="Banc d'essai",
            role="chef_de_projet",
            password_hash=hash_password("bench"),
        )
        session.add(user)
        session.flush()
    session.execute(UserContract.__table__.delete().where(UserContract.user_id == user.id))
    session.add(UserContract(user_id=user.id, contract_id=contract_id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="", help="database (default: a temp SQLite file)")
    parser.add_argument(
        "--scale",
        type=float,
        default=0.05,
        help="generate this scale first (0 = use the database as it is)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="suivi-bench-pages-"))
    url = args.url or f"sqlite:///{work}/national.db"
    upgrade(url)
    engine = make_engine(url)
    if args.scale > 0:
        generate(engine, args.scale, AS_OF)
    with session_scope(engine, write=True) as session:
        contract_id = largest_contract(session)
        ensure_user(session, contract_id)
        indicators = session.execute(
            select(func.count()).select_from(Indicator).where(Indicator.contract_id == contract_id)
        ).scalar_one()
        total = session.execute(select(func.count()).select_from(Indicator)).scalar_one()

    from fastapi.testclient import TestClient

    from suivi.app import create_app

    settings = Settings.model_validate(
        {
            "app": {"mode": "dev"},
            "database": {"url": url},
            "reports": {"dir": str(work / "reports")},
            "outbox": {"dir": str(work / "outbox")},
        }
    )
    client = TestClient(create_app(settings))
    form = client.get("/connexion").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post(
        "/connexion",
        data={"email": EMAIL, "password": "bench", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text

    medians: dict[str, float] = {}
    for path in PAGES:
        url_path = f"{path}{'&' if '?' in path else '?'}as_of={AS_OF.isoformat()}"
        timings = []
        for _ in range(args.repeat + 1):  # the first request warms caches, not counted
            began = time.perf_counter()
            response = client.get(url_path)
            timings.append(time.perf_counter() - began)
            assert response.status_code == 200, (path, response.status_code)
        medians[path] = statistics.median(timings[1:])
        print(f"{path:<24} {medians[path] * 1000:8.1f} ms")

    baseline_sql = text(
        "SELECT id, code, title, status FROM commitment WHERE contract_id = :c "
        "ORDER BY code LIMIT 50 OFFSET 100"
    )
    timings = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        with engine.connect() as connection:
            connection.execute(baseline_sql, {"c": contract_id}).all()
        timings.append(time.perf_counter() - began)
    baseline = statistics.median(timings)
    engine.dispose()
    slowest = max(medians.values())
    print(f"contract {contract_id}: {indicators:,} indicators (of {total:,} in the database)")
    print(
        f"slowest page {slowest * 1000:.1f} ms (target under 200 ms); "
        f"baseline query {baseline * 1000:.2f} ms"
    )
    print(
        json.dumps(
            {
                "name": "pages",
                "suivi_s": round(slowest, 4),
                "baseline_s": round(baseline, 5),
                "ratio": round(slowest / baseline, 1),
                "pages": {k: round(v, 4) for k, v in medians.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
