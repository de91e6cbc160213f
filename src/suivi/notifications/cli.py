"""`suivi summaries preview CONTACT_ID [--as-of DATE] [--html FILE]`: render one contact's
summary without sending it (sending is `suivi jobs run send_partner_summaries`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suivi.cli import AsOfOption
from suivi.cli import app
from suivi.cli import parse_as_of
from suivi.cli import settings_of

summaries_app = typer.Typer(help="Points de suivi envoyés aux partenaires.", no_args_is_help=True)
app.add_typer(summaries_app, name="summaries")


@summaries_app.command("preview")
def preview(
    ctx: typer.Context,
    contact_id: Annotated[int, typer.Argument(help="Identifiant du contact.")],
    as_of: AsOfOption = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Écrit aussi la version HTML dans ce fichier.")
    ] = None,
) -> None:
    """Affiche le point qu'un contact recevrait (rien n'est envoyé)."""
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.notifications.summaries import ContactNotFoundError
    from suivi.notifications.summaries import summary_email
    from suivi.notifications.summaries import summary_for_contact

    settings = settings_of(ctx)
    day = parse_as_of(as_of, settings)
    with session_scope(get_engine(settings)) as session:
        try:
            summary = summary_for_contact(session, settings, contact_id, as_of=day)
        except ContactNotFoundError as exc:
            typer.secho(str(exc), err=True, fg="red")
            raise typer.Exit(1) from None
    message = summary_email(settings, summary)
    typer.echo(f"À : {message.recipient}")
    typer.echo(f"Objet : {message.subject}")
    typer.echo(f"Clé : {message.dedup_key}")
    typer.echo("")
    typer.echo(message.text)
    if html is not None:
        html.write_text(message.html, encoding="utf-8")
        typer.echo(f"HTML écrit dans {html}")
