"""Jinja2 → HTML → WeasyPrint: PDF/A-3a reports, tagged, with the figures attached as CSV.

* Templates and the one stylesheet live in ``settings.reports.templates_dir`` (editable by the
  user); the fonts ship in its ``fonts/`` folder.
* WeasyPrint may read files from the templates folder only: ``TemplatesFetcher`` refuses any
  other ``file://`` path, any network URL and any other scheme.
* Reproducible: the PDF dates, the attachment dates and the file identifier derive from the
  data and ``as_of``, never from the clock, so the same data and ``as_of`` give the very same
  bytes (the generation time lives in the archive row).
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import time
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from markupsafe import Markup
from weasyprint import HTML
from weasyprint import Attachment
from weasyprint.urls import URLFetcher
from weasyprint.urls import URLFetcherResponse

from suivi import charts
from suivi import labels
from suivi.formatting import install_filters
from suivi.progress import FRESHNESSES
from suivi.progress import PERFORMANCES
from suivi.reports.context import ReportContext
from suivi.reports.context import figures_csv

__all__ = [
    "PDF_VARIANT",
    "RenderedReport",
    "ResourceRefusedError",
    "TemplatesFetcher",
    "render_html",
    "render_pdf",
    "render_report",
]

log = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3a"
TEMPLATE_OF_KIND = {
    "copil": "copil.html",
    "quartier": "quartier.html",
    "partner": "partner.html",
    "annual": "annual.html",
    "mi_parcours": "mi_parcours.html",  # suivi.reports.midterm
    "releve": "releve.html",  # suivi.governance.releve
}


class ResourceRefusedError(ValueError):
    """A template asked for a resource outside the templates folder (or on the network)."""


class TemplatesFetcher(URLFetcher):
    """WeasyPrint URL fetcher confined to one folder: only ``file:`` URLs whose real path
    (symlinks resolved) lies inside ``root``, plus ``data:`` URIs (the charts, self-contained).
    Refusals are logged and counted; WeasyPrint then renders without the resource."""

    def __init__(self, root: Path) -> None:
        super().__init__(timeout=5, allowed_protocols=("file", "data"))
        self.root = Path(root).resolve()
        self.refused: list[str] = []

    def resolve(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise ResourceRefusedError(f"ressource refusée (hors du dossier des modèles) : {url}")
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ResourceRefusedError(f"ressource refusée (hors du dossier des modèles) : {url}")
        return path

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return super().fetch(url, headers)
        try:
            path = self.resolve(url)
        except ResourceRefusedError:
            self.refused.append(url)
            log.warning("report resource refused: %s", url)
            raise
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
        )


@lru_cache(maxsize=4)
def _environment(templates_dir: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=jinja2.select_autoescape(("html", "xml"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    install_filters(env)
    env.filters["img"] = charts.as_img
    env.globals.update(
        label=labels.label,
        tone=labels.tone,
        forecast_label=labels.forecast_label,
        PERFORMANCES=PERFORMANCES,
        FRESHNESSES=FRESHNESSES,
    )
    # Every label table of `suivi.labels` (PERFORMANCE_LABELS, …) under its own name.
    env.globals.update(
        {name: table for name, table in vars(labels).items() if name.endswith("_LABELS")}
    )
    return env


def _pdf_timestamp(context: ReportContext) -> datetime:
    """The date written in the PDF: the report's as_of (noon UTC), not the clock."""
    return datetime.combine(context.as_of, time(12, 0), tzinfo=UTC)


def render_html(context: ReportContext, templates_dir: Path) -> str:
    env = _environment(str(Path(templates_dir).resolve()))
    template = env.get_template(TEMPLATE_OF_KIND[context.kind])
    return template.render(
        r=context,
        pdf_date=_pdf_timestamp(context).strftime("%Y-%m-%dT%H:%M:%SZ"),
        css=Markup("report.css"),
    )


@dataclass(frozen=True)
class RenderedReport:
    pdf: bytes
    pages: int
    csv: bytes
    csv_name: str
    refused: tuple[str, ...]


def csv_name(context: ReportContext) -> str:
    scope = f"-{context.scope}" if context.scope else ""
    return f"chiffres-{context.kind}{scope}-{context.as_of.isoformat()}.csv"


@dataclass(frozen=True)
class CsvAttachment:
    data: bytes
    name: str
    description: str


def render_pdf(
    html: str, context: ReportContext, templates_dir: Path, csv: CsvAttachment | None = None
) -> RenderedReport:
    """Lay out ``html`` and write a PDF/A-3a with a CSV attached: the report's figures, or
    `csv` (a relevé de décisions attaches its decisions)."""
    root = Path(templates_dir).resolve()
    fetcher = TemplatesFetcher(root)
    stamp = _pdf_timestamp(context).replace(tzinfo=None)
    if csv is None:
        csv = CsvAttachment(
            figures_csv(context.figures),
            csv_name(context),
            "Chiffres du rapport : un indicateur par ligne (CSV UTF-8)",
        )
    csv_bytes, name = csv.data, csv.name
    attachment = Attachment(
        string=csv_bytes,
        name=name,
        description=csv.description,
        created=stamp,
        modified=stamp,
        relationship="Data",
        url_fetcher=fetcher,
    )
    document = HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=fetcher).render(
        pdf_variant=PDF_VARIANT
    )
    pdf = document.write_pdf(pdf_variant=PDF_VARIANT, attachments=[attachment])
    return RenderedReport(
        pdf=pdf,
        pages=len(document.pages),
        csv=csv_bytes,
        csv_name=name,
        refused=tuple(fetcher.refused),
    )


def render_report(
    context: ReportContext, templates_dir: Path, csv: CsvAttachment | None = None
) -> RenderedReport:
    return render_pdf(render_html(context, templates_dir), context, templates_dir, csv)
