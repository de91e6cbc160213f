"""Benchmark of the COPIL PDF report of the demo: Suivi end to end against WeasyPrint alone
rendering the very same HTML, in the same run.

    .venv/bin/python bench/report.py                 # demo SQLite database in a temp dir
    .venv/bin/python bench/report.py --url URL       # an existing database (demo loaded if absent)

- Suivi (``suivi_s``): build the report context from the database (queries, progress
  engine, charts), render the Jinja2 templates, lay out and write the PDF/A-3a with its CSV
  attachment — what ``suivi report copil`` does, minus writing the archive file.
- Baseline (``baseline_s``): ``weasyprint.HTML(string=html).render().write_pdf()`` with the
  same options on the HTML Suivi produced.

A small report is rendered first so that font loading is paid by neither measurement.
``ratio`` = suivi_s / baseline_s: Suivi's own work is ``ratio - 1`` of WeasyPrint's
(target: under 15 %). Targets: suivi_s under 15 s on a 2-core machine, peak RSS under
500 MB. The last line is JSON: {"name": "report", "suivi_s", "baseline_s", "ratio", "pages",
"peak_rss_mb", ...}.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 15)
ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a demo SQLite in a temp dir)")
    args = parser.parse_args()

    from sqlalchemy import select
    from weasyprint import HTML

    from suivi.config import Settings
    from suivi.contract.models import Contract
    from suivi.db import make_engine
    from suivi.db import session_scope
    from suivi.migrate import upgrade
    from suivi.reports.context import build_report_context
    from suivi.reports.render import PDF_VARIANT
    from suivi.reports.render import TemplatesFetcher
    from suivi.reports.render import render_html
    from suivi.reports.render import render_pdf
    from suivi.seed.demo import load_demo

    with tempfile.TemporaryDirectory(prefix="suivi-bench-report-") as tmp:
        url = args.url or f"sqlite:///{tmp}/demo.db"
        settings = Settings.model_validate(
            {
                "database": {"url": url},
                "reports": {"dir": tmp, "templates_dir": str(ROOT / "reports" / "templates")},
            }
        )
        templates = settings.reports.templates_dir
        started = time.perf_counter()
        upgrade(url)
        engine = make_engine(url)
        with session_scope(engine, write=True) as session:
            load_demo(session, settings.contract, AS_OF)
        print(f"demo database ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        with session_scope(engine) as session:
            contract_id = session.execute(
                select(Contract.id).where(Contract.code == settings.contract.code)
            ).scalar_one()

        def context(kind: str, scope: str = ""):
            with session_scope(engine) as session:
                return build_report_context(
                    session, contract_id=contract_id, kind=kind, scope=scope, as_of=AS_OF
                )

        # Warm-up: fonts, templates, imports.
        small = context("quartier", "QN06202M")
        render_pdf(render_html(small, templates), small, templates)

        # Suivi end to end.
        t0 = time.perf_counter()
        copil = context("copil")
        t1 = time.perf_counter()
        html = render_html(copil, templates)
        t2 = time.perf_counter()
        rendered = render_pdf(html, copil, templates)
        t3 = time.perf_counter()
        suivi_s = t3 - t0

        # Baseline: WeasyPrint alone on the very same HTML, same options, no attachment.
        root = Path(templates).resolve()
        b0 = time.perf_counter()
        document = HTML(
            string=html, base_url=root.as_uri() + "/", url_fetcher=TemplatesFetcher(root)
        ).render(pdf_variant=PDF_VARIANT)
        document.write_pdf(pdf_variant=PDF_VARIANT)
        baseline_s = time.perf_counter() - b0
        engine.dispose()

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "name": "report",
        "suivi_s": round(suivi_s, 3),
        "baseline_s": round(baseline_s, 3),
        "ratio": round(suivi_s / baseline_s, 3),
        "pages": rendered.pages,
        "peak_rss_mb": round(peak_rss_mb, 1),
        "context_s": round(t1 - t0, 3),
        "html_s": round(t2 - t1, 3),
        "pdf_s": round(t3 - t2, 3),
        "own_share": round((t2 - t0) / suivi_s, 4),
        "indicators": copil.summary.count,
        "commitments": copil.commitment_count,
    }
    print(
        f"COPIL report: {rendered.pages} pages, Suivi {suivi_s:.2f} s "
        f"(context {t1 - t0:.2f} s, templates {t2 - t1:.2f} s, PDF {t3 - t2:.2f} s), "
        f"WeasyPrint alone {baseline_s:.2f} s, peak RSS {peak_rss_mb:.0f} MB",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
