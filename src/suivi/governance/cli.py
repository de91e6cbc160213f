"""`suivi report releve MEETING_ID [--as-of DATE] [--out FILE] [--sans-envoi]`: the relevé de
décisions of a meeting, archived and e-mailed to the partners' contacts concerned."""

from __future__ import annotations

import shutil
from typing import Annotated

import typer

from suivi.cli import AsOfOption
from suivi.cli import parse_as_of
from suivi.cli import settings_of
from suivi.reports.cli import OutOption
from suivi.reports.cli import report_app


@report_app.command()
def releve(
    ctx: typer.Context,
    meeting_id: Annotated[
        int, typer.Argument(metavar="MEETING_ID", help="Identifiant de l'instance.")
    ],
    as_of: AsOfOption = None,
    out: OutOption = None,
    no_send: Annotated[
        bool, typer.Option("--sans-envoi", help="Archive le relevé sans l'envoyer.")
    ] = False,
) -> None:
    """Relevé de décisions d'une instance tenue (PDF/A-3a, envoyé aux contacts concernés)."""
    from suivi.db import get_engine
    from suivi.errors import ApiError
    from suivi.governance.releve import issue_releve

    settings = settings_of(ctx)
    day = parse_as_of(as_of, settings)
    try:
        issued = issue_releve(
            get_engine(settings), settings, meeting_id, as_of=day, send=not no_send
        )
    except ApiError as exc:
        typer.secho(exc.detail, err=True, fg="red")
        raise typer.Exit(1) from None
    row = issued.generated.file
    typer.echo(f"Relevé : {row.pages} page(s), {row.size_bytes} octets, SHA-256 {row.sha256}")
    typer.echo(f"Archivé : {issued.generated.path}")
    if issued.emails:
        sent = ", ".join(f"{status} {count}" for status, count in issued.emails.items() if count)
        typer.echo(f"Courriels ({issued.recipients} contact(s)) : {sent}")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(issued.generated.path, out)
        typer.echo(f"Copie : {out}")
