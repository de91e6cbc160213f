"""`suivi report copil|quartier CODE|partner ID|annual|mi-parcours [--as-of DATE] [--out FILE]`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from suivi.cli import AsOfOption
from suivi.cli import app
from suivi.cli import parse_as_of
from suivi.cli import settings_of

report_app = typer.Typer(help="Génère et archive un rapport PDF (PDF/A-3a).", no_args_is_help=True)
app.add_typer(report_app, name="report")

OutOption = Annotated[
    Path | None, typer.Option("--out", help="Copie du PDF à cet endroit (l'archive est gardée).")
]


def _generate(ctx: typer.Context, kind: str, scope: str, as_of: str | None, out: Path | None):
    from suivi.db import get_engine
    from suivi.formatting import format_date
    from suivi.reports.archive import generate_report
    from suivi.reports.context import ReportError

    settings = settings_of(ctx)
    day = parse_as_of(as_of, settings)
    try:
        generated = generate_report(
            get_engine(settings), settings, kind=kind, scope=scope, as_of=day
        )
    except ReportError as exc:
        typer.secho(str(exc), err=True, fg="red")
        raise typer.Exit(1) from None
    row = generated.file
    typer.echo(
        f"Rapport {kind}{' ' + scope if scope else ''} au {format_date(day)} : "
        f"{row.pages} pages, {row.size_bytes} octets, SHA-256 {row.sha256}"
    )
    typer.echo(f"Archivé : {generated.path}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(generated.path, out)
        typer.echo(f"Copie : {out}")


@report_app.command()
def copil(ctx: typer.Context, as_of: AsOfOption = None, out: OutOption = None) -> None:
    """Rapport au comité de pilotage (tout le contrat)."""
    _generate(ctx, "copil", "", as_of, out)


@report_app.command()
def quartier(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Code du quartier, ex. QN06202M.")],
    as_of: AsOfOption = None,
    out: OutOption = None,
) -> None:
    """Rapport d'un quartier prioritaire."""
    _generate(ctx, "quartier", code, as_of, out)


@report_app.command()
def partner(
    ctx: typer.Context,
    partner_id: Annotated[int, typer.Argument(metavar="ID", help="Identifiant du partenaire.")],
    as_of: AsOfOption = None,
    out: OutOption = None,
) -> None:
    """Rapport d'un partenaire (ses engagements seulement)."""
    _generate(ctx, "partner", str(partner_id), as_of, out)


@report_app.command()
def annual(
    ctx: typer.Context,
    year: Annotated[
        int | None,
        typer.Option("--year", min=2000, max=2100, help="Année du rapport (situation au 31/12)."),
    ] = None,
    as_of: AsOfOption = None,
    out: OutOption = None,
) -> None:
    """Rapport annuel politique de la ville (décret n° 2015-1118), avis annexés."""
    if year is not None and as_of is None:
        as_of = f"{year}-12-31"
    _generate(ctx, "annual", "", as_of, out)


@report_app.command("mi-parcours")
def mi_parcours(ctx: typer.Context, as_of: AsOfOption = None, out: OutOption = None) -> None:
    """Revue à mi-parcours : cibles initiales et révisées de chaque indicateur."""
    _generate(ctx, "mi_parcours", "", as_of, out)
