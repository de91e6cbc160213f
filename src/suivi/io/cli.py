"""`suivi export`, `suivi import`, `suivi opendata`: spreadsheets in and out, open data.

Exit codes: 0 done; 1 import refused (the problems are listed, nothing was written);
2 wrong usage (unknown format, no contract in the database).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.progress import SpinnerColumn
from rich.progress import TextColumn
from rich.progress import TimeElapsedColumn
from sqlalchemy import select

from suivi import clock
from suivi.cli import AsOfOption
from suivi.cli import app
from suivi.cli import parse_as_of
from suivi.cli import settings_of

# Problems shown on the terminal; the rest are counted (the report lists them all).
MAX_SHOWN_PROBLEMS = 200

err = Console(stderr=True)


def _contract_id(session, settings) -> int:
    from suivi.contract.models import Contract

    contract_id = session.scalar(select(Contract.id).where(Contract.code == settings.contract.code))
    if contract_id is None:
        typer.secho(
            f"Contrat {settings.contract.code!r} introuvable dans la base : lancez « suivi init ».",
            err=True,
            fg="red",
        )
        raise typer.Exit(2)
    return contract_id


@contextmanager
def _progress(title: str):
    """A progress line on stderr: rows handled per sheet (transient on a terminal)."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:>8.0f} lignes"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(title, total=None)

        def advance(sheet: str, rows: int) -> None:
            bar.update(task, description=f"{title} — {sheet}", advance=rows)

        yield advance


@app.command("export")
def export_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Fichier à écrire (.xlsx, ou .zip en CSV).")],
    fmt: Annotated[
        str, typer.Option("--format", help="xlsx (classeur) ou csv (archive .zip de CSV).")
    ] = "xlsx",
    template: Annotated[
        bool, typer.Option("--template", help="Classeur vierge avec les listes déroulantes.")
    ] = False,
) -> None:
    """Exporte le portefeuille du contrat (engagements, indicateurs, mesures…) en xlsx ou CSV."""
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.io.export import FORMATS
    from suivi.io.export import export_portfolio

    if fmt not in FORMATS:
        typer.secho(f"Format inconnu : {fmt!r} (xlsx ou csv)", err=True, fg="red")
        raise typer.Exit(2)
    settings = settings_of(ctx)
    out.parent.mkdir(parents=True, exist_ok=True)
    with session_scope(get_engine(settings)) as session, _progress("Export") as advance:
        contract_id = _contract_id(session, settings)
        summary = export_portfolio(
            session, contract_id, out, fmt=fmt, template=template, progress=advance
        )
    what = "Modèle vierge" if template else "Export"
    typer.echo(f"{what} écrit : {out} ({summary.total} lignes)")


@app.command("import")
def import_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Classeur .xlsx, archive .zip de CSV, ou CSV.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Vérifie et compte sans rien enregistrer.")
    ] = False,
) -> None:
    """Importe un classeur au format de l'export : tout ou rien, chaque erreur signalée."""
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.io.importer import import_portfolio
    from suivi.io.importer import read_portfolio
    from suivi.io.reading import FileTooLargeError
    from suivi.io.reading import ReadLimits

    settings = settings_of(ctx)
    if not path.exists():
        typer.secho(f"Fichier introuvable : {path}", err=True, fg="red")
        raise typer.Exit(1)
    # Read and typed before the database is opened: no write lock while reading.
    try:
        with _progress("Lecture") as advance:
            read = read_portfolio(path, limits=ReadLimits.of(settings), progress=advance)
    except FileTooLargeError as exc:
        typer.secho(f"Import refusé : {exc}", err=True, fg="red")
        raise typer.Exit(1) from None
    # A dry run writes nothing: no write transaction.
    engine = get_engine(settings)
    with session_scope(engine, write=not dry_run) as session, _progress("Import") as advance:
        contract_id = _contract_id(session, settings)
        report = import_portfolio(
            session,
            contract_id,
            read,
            dry_run=dry_run,
            actor_label="import",
            progress=advance,
            today=clock.today(settings.tz),
            validation_required=settings.validation.required,
            revision_requires_decision=settings.governance.revision_requires_decision,
        )
    if not report.ok:
        count = len(report.problems)
        typer.secho(
            f"Import refusé : {count} problème(s), rien n'a été enregistré.", err=True, fg="red"
        )
        for problem in report.problems[:MAX_SHOWN_PROBLEMS]:
            typer.echo(f"  {problem}", err=True)
        if count > MAX_SHOWN_PROBLEMS:
            typer.echo(f"  … et {count - MAX_SHOWN_PROBLEMS} autre(s).", err=True)
        raise typer.Exit(1)
    heading = (
        "Vérification réussie (essai : rien n'a été enregistré)" if dry_run else "Import réussi"
    )
    typer.echo(f"{heading}.")
    for line in report.summary_lines():
        typer.echo(f"  {line}")


opendata_app = typer.Typer(
    help="Données ouvertes : engagements et indicateurs par quartier (--out), subventions "
    "au format SCDL (sous-commande « subventions »)."
)
app.add_typer(opendata_app, name="opendata")


@opendata_app.callback(invoke_without_command=True)
def opendata_command(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="Fichier CSV à écrire.")] = None,
    as_of: AsOfOption = None,
) -> None:
    """Écrit le CSV open data (engagements et indicateurs par quartier) et son schéma."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        typer.secho("Indiquez le fichier à écrire : --out FICHIER.csv", err=True, fg="red")
        raise typer.Exit(2)
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.io.opendata import write_opendata

    settings = settings_of(ctx)
    day = parse_as_of(as_of, settings)
    with session_scope(get_engine(settings)) as session:
        contract_id = _contract_id(session, settings)
        schema = write_opendata(session, contract_id, out, day)
    typer.echo(f"Données ouvertes écrites : {out} (schéma : {schema.name})")


@opendata_app.command("subventions")
def subventions_command(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--year", min=2000, max=2100, help="Année budgétaire.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Fichier CSV (défaut : subventions-ANNÉE.csv).")
    ] = None,
) -> None:
    """Écrit les conventions de subvention de plus de 23 000 € de l'année au format SCDL
    « subventions » 2.1.1 (décret n° 2017-779)."""
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.io.opendata import write_subventions

    settings = settings_of(ctx)
    out = out or Path(f"subventions-{year}.csv")
    with session_scope(get_engine(settings)) as session:
        contract_id = _contract_id(session, settings)
        result = write_subventions(session, contract_id, out, year)
    typer.echo(f"Subventions {year} au format SCDL : {len(result.rows)} ligne(s) dans {out}")
    for reason in result.skipped:
        typer.secho(f"  non publiée : {reason}", err=True, fg="yellow")
