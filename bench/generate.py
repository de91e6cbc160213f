"""A synthetic national portfolio from the 1,584 QPV of France, written fast.

Contracts are grouped by département (at most 24 QPV each, like the real contracts that
follow the EPCI); each quartier gets commitments with level and cumulative indicators,
monthly or quarterly measurements up to `--as-of`, and a few corrections. At `--scale 1`:
~100,000 indicators and ~2 million measurements. Rows are written in bulk (COPY on
PostgreSQL, executemany on SQLite) with ids computed here, so there is no round trip per row.

    python bench/generate.py --url sqlite:////tmp/national.db --scale 0.05
    python bench/generate.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench --scale 1
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from suivi.db import make_engine  # noqa: E402
from suivi.migrate import upgrade  # noqa: E402
from suivi.models import metadata  # noqa: E402
from suivi.seed.reference import PRIORITIES  # noqa: E402
from suivi.seed.reference import read_national_qpv  # noqa: E402

BASELINE = date(2024, 12, 31)
FINAL = date(2030, 12, 31)
MIDTERM = date(2027, 12, 31)
INDICATORS_PER_QPV_AT_FULL_SCALE = 63  # 1,584 × 63 ≈ 100,000
PARTNER_KINDS = ("etat", "region", "departement", "epci", "operateur", "bailleur", "commune")


def month_ends(start: date, until: date, step: int) -> list[date]:
    ends, year, month = [], start.year, start.month
    while True:
        month += step
        while month > 12:
            month -= 12
            year += 1
        first_next = date(year + month // 12, month % 12 + 1, 1)
        end = first_next - timedelta(days=1)
        if end > until:
            return ends
        ends.append(end)


def departement_of(insee: str) -> str:
    return insee[:3] if insee.startswith("97") else insee[:2]


class Writer:
    """Bulk writes with ids assigned here."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.postgres = engine.url.get_backend_name() == "postgresql"
        self.next_ids: dict[str, int] = {}
        with engine.connect() as connection:
            for name in (
                "contract",
                "commune",
                "quartier",
                "partner",
                "priority",
                "commitment",
                "indicator",
                "target",
                "measurement",
            ):
                current = connection.execute(select(func.max(metadata.tables[name].c.id))).scalar()
                self.next_ids[name] = (current or 0) + 1

    def ids(self, table: str, count: int) -> range:
        start = self.next_ids[table]
        self.next_ids[table] = start + count
        return range(start, start + count)

    def insert(self, connection, table: str, rows: list[dict]) -> None:
        if not rows:
            return
        if self.postgres:
            self._copy(connection, table, rows)
        else:
            connection.execute(metadata.tables[table].insert(), rows)

    def _copy(self, connection, table: str, rows: list[dict]) -> None:
        columns = list(rows[0])
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(_copy_value(row[c]) for c in columns) + "\n")
        raw = connection.connection.driver_connection
        quoted = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            copy.write(buffer.getvalue())

    def fix_sequences(self, connection) -> None:
        if self.postgres:
            for table in self.next_ids:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                    )
                )


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value).replace("\\", "\\\\")
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


@dataclass
class _Run:
    """What every contract of one generation shares."""

    writer: Writer
    rng: random.Random
    now: datetime
    communes: dict[str, int]  # INSEE code → commune id
    indicators_per_qpv: int
    monthly: list[date]
    quarterly: list[date]
    counts: defaultdict[str, int]


def generate(engine: Engine, scale: float, as_of: date, seed: int = 1584) -> dict[str, int]:
    rng = random.Random(seed)
    writer = Writer(engine)
    now = datetime.now(UTC)
    qpvs = read_national_qpv()
    by_departement: dict[str, list[dict]] = defaultdict(list)
    for row in qpvs:
        by_departement[departement_of(row["insee_com"].split(";")[0])].append(row)
    counts = defaultdict(int)
    indicators_per_qpv = max(1, round(INDICATORS_PER_QPV_AT_FULL_SCALE * scale))
    monthly = month_ends(BASELINE, as_of, 1)
    quarterly = month_ends(BASELINE, as_of, 3)

    with engine.begin() as connection:
        existing = set(connection.execute(select(metadata.tables["commune"].c.insee)).scalars())
        existing_qpv = set(connection.execute(select(metadata.tables["quartier"].c.code)).scalars())
        communes: dict[str, int] = {}
        commune_rows = []
        for row in qpvs:
            for insee in row["insee_com"].split(";"):
                if insee not in existing and insee not in communes:
                    (communes[insee],) = writer.ids("commune", 1)
                    commune_rows.append(
                        {
                            "id": communes[insee],
                            "insee": insee,
                            "name": f"Commune {insee}",
                            "epci": "",
                            "longitude": None,
                            "latitude": None,
                        }
                    )
        writer.insert(connection, "commune", commune_rows)
        counts["communes"] = len(commune_rows)

        run = _Run(writer, rng, now, communes, indicators_per_qpv, monthly, quarterly, counts)
        for departement, rows in sorted(by_departement.items()):
            rows = [r for r in rows if r["code_qp"] not in existing_qpv]
            for chunk_start in range(0, len(rows), 24):
                chunk = rows[chunk_start : chunk_start + 24]
                _write_contract(connection, run, departement, chunk_start // 24, chunk)
        writer.fix_sequences(connection)
    return dict(counts)


def _write_contract(connection, run: _Run, departement: str, number: int, qpvs) -> None:
    """One synthetic contract: `qpvs` (at most 24 of a département) and all they hold."""
    (contract_id,) = run.writer.ids("contract", 1)
    run.writer.insert(
        connection,
        "contract",
        [
            {
                "id": contract_id,
                "code": f"BENCH-{departement}-{number + 1}",
                "name": f"Contrat de ville synthétique {departement}-{number + 1}",
                "territory": f"Département {departement}",
                "signed_on": date(2024, 9, 1),
                "term_start": date(2024, 9, 1),
                "term_end": FINAL,
                "midterm_review_on": MIDTERM,
                "is_demo": True,
                "created_at": run.now,
            }
        ],
    )
    run.counts["contracts"] += 1
    partner_ids = list(run.writer.ids("partner", len(PARTNER_KINDS) * 2))
    run.writer.insert(
        connection,
        "partner",
        [
            {
                "id": pid,
                "contract_id": contract_id,
                "code": f"p{index}",
                "name": f"Partenaire {index}",
                "kind": PARTNER_KINDS[index % len(PARTNER_KINDS)],
                "is_signatory": index < 5,
                "siren": None,
                "commune_id": None,
            }
            for index, pid in enumerate(partner_ids)
        ],
    )
    priority_ids = dict(
        zip((p.code for p in PRIORITIES), run.writer.ids("priority", len(PRIORITIES)), strict=True)
    )
    run.writer.insert(
        connection,
        "priority",
        [
            {
                "id": priority_ids[p.code],
                "contract_id": contract_id,
                "parent_id": priority_ids[p.parent] if p.parent else None,
                "code": p.code,
                "title": p.title,
                "description": "",
                "domain": p.domain,
                "tags": list(p.tags),
                "position": position,
            }
            for position, p in enumerate(PRIORITIES)
        ],
    )
    leaf_priorities = [priority_ids[p.code] for p in PRIORITIES if p.parent]

    quartier_ids = list(run.writer.ids("quartier", len(qpvs)))
    run.writer.insert(
        connection,
        "quartier",
        [
            {
                "id": qid,
                "code": row["code_qp"],
                "name": row["lib_qp"],
                "cited_in_press_release": False,
                "contour": None,
            }
            for qid, row in zip(quartier_ids, qpvs, strict=True)
        ],
    )
    run.writer.insert(
        connection,
        "contract_quartier",
        [
            {"contract_id": contract_id, "quartier_id": qid, "in_contract": True}
            for qid in quartier_ids
        ],
    )
    run.writer.insert(
        connection,
        "quartier_commune",
        [
            {"quartier_id": qid, "commune_id": run.communes[insee]}
            for qid, row in zip(quartier_ids, qpvs, strict=True)
            for insee in dict.fromkeys(row["insee_com"].split(";"))
            if insee in run.communes
        ],
    )
    run.counts["quartiers"] += len(qpvs)

    commitment_rows, link_rows, indicator_rows, target_rows, measurement_rows = [], [], [], [], []
    for quartier_id in quartier_ids:
        commitments = max(1, run.indicators_per_qpv // 2)
        for commitment_id in run.writer.ids("commitment", commitments):
            commitment_rows.append(
                {
                    "id": commitment_id,
                    "contract_id": contract_id,
                    "code": f"C{commitment_id}",
                    "title": "Engagement synthétique",
                    "description": "",
                    "lead_partner_id": run.rng.choice(partner_ids),
                    "priority_id": run.rng.choice(leaf_priorities),
                    "start_date": date(2025, 1, 1),
                    "end_date": FINAL,
                    "status": run.rng.choices(("en_cours", "prevu", "suspendu"), (90, 5, 5))[0],
                    "funding_type": run.rng.choice(("droit_commun", "credits_specifiques")),
                    "version": 1,
                    "created_at": run.now,
                    "updated_at": run.now,
                }
            )
            link_rows.append({"commitment_id": commitment_id, "quartier_id": quartier_id})
            for indicator_id in run.writer.ids("indicator", 2):
                cumulative = run.rng.random() < 0.3
                frequency = "monthly" if run.rng.random() < 0.8 else "quarterly"
                baseline = 0.0 if cumulative else float(run.rng.randint(20, 500))
                final = baseline * 1.5 + (240.0 if cumulative else 10.0)
                indicator_rows.append(
                    {
                        "id": indicator_id,
                        "contract_id": contract_id,
                        "commitment_id": commitment_id,
                        "quartier_id": quartier_id,
                        "code": f"I{indicator_id}",
                        "name": "Indicateur synthétique",
                        "unit": "u",
                        "source": "",
                        "direction": "increase",
                        "cumulative": cumulative,
                        "frequency": frequency,
                        "tolerance": 0.1,
                        "grace_days": 30,
                        "baseline_value": baseline,
                        "baseline_date": BASELINE,
                        "version": 1,
                        "created_at": run.now,
                        "updated_at": run.now,
                    }
                )
                midterm = baseline + (final - baseline) / 2
                for target_id, (day, value) in zip(
                    run.writer.ids("target", 2), ((MIDTERM, midterm), (FINAL, final)), strict=True
                ):
                    target_rows.append(
                        {
                            "id": target_id,
                            "indicator_id": indicator_id,
                            "target_date": day,
                            "value": value,
                        }
                    )
                ends = run.monthly if frequency == "monthly" else run.quarterly
                if run.rng.random() < 0.15:
                    ends = ends[: max(0, len(ends) - run.rng.randint(1, 4))]  # late reporters
                pace = run.rng.uniform(0.5, 1.2)
                step = (final - baseline) / (72 if frequency == "monthly" else 24)
                ids = run.writer.ids("measurement", len(ends))
                for measurement_id, (index, day) in zip(ids, enumerate(ends, 1), strict=True):
                    value = step * pace if cumulative else baseline + step * index * pace
                    measurement_rows.append(
                        {
                            "id": measurement_id,
                            "indicator_id": indicator_id,
                            "measured_on": day,
                            "value": round(value, 2),
                            "comment": "",
                            "evidence_url": "",
                            "author_id": None,
                            "entered_at": run.now,
                            "superseded_by_id": None,
                            "correction_reason": "",
                        }
                    )
    run.writer.insert(connection, "commitment", commitment_rows)
    run.writer.insert(connection, "commitment_quartier", link_rows)
    run.writer.insert(connection, "indicator", indicator_rows)
    run.writer.insert(connection, "target", target_rows)
    run.writer.insert(connection, "measurement", measurement_rows)
    run.counts["commitments"] += len(commitment_rows)
    run.counts["indicators"] += len(indicator_rows)
    run.counts["measurements"] += len(measurement_rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="", help="database URL (default: a temp SQLite file)")
    parser.add_argument(
        "--scale", type=float, default=0.02, help="1 = national scale (~100,000 indicators)"
    )
    parser.add_argument("--as-of", default="2026-11-15")
    args = parser.parse_args(argv)
    url = args.url
    if not url:
        import tempfile

        url = f"sqlite:///{tempfile.mkdtemp(prefix='suivi-bench-')}/national.db"
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    counts = generate(engine, args.scale, date.fromisoformat(args.as_of))
    elapsed = time.perf_counter() - started
    engine.dispose()
    print(f"database: {url}")
    for name, value in counts.items():
        print(f"{name:>14}: {value:,}")
    print(
        json.dumps(
            {
                "name": "generate",
                "url": url,
                "seconds": round(elapsed, 2),
                "rows_per_s": round(sum(counts.values()) / elapsed),
                **counts,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
