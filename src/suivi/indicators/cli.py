"""`suivi meetings lock ID --cutoff DATE` and `suivi meetings unlock ID --reason …`: a
committee's data cut-off from the command line (audited as « cli »)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from suivi.cli import app
from suivi.cli import settings_of

meetings_app = typer.Typer(help="Instances : arrêt des données.", no_args_is_help=True)
app.add_typer(meetings_app, name="meetings")

MeetingIdArgument = Annotated[int, typer.Argument(metavar="ID", help="Identifiant de l'instance.")]
CutoffOption = Annotated[
    str, typer.Option("--cutoff", help="Date d'arrêt des données (AAAA-MM-JJ).")
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Motif de la réouverture.")]


def _run(ctx: typer.Context, meeting_id: int, change) -> None:
    from suivi.contract.models import Meeting
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.errors import ApiError
    from suivi.formatting import format_date

    settings = settings_of(ctx)
    try:
        with session_scope(get_engine(settings), write=True) as session:
            meeting = session.get(Meeting, meeting_id, with_for_update=True)
            if meeting is None:
                typer.secho(f"Instance {meeting_id} introuvable.", err=True, fg="red")
                raise typer.Exit(2)
            change(session, meeting)
            state = "verrouillées" if meeting.locked else "rouvertes"
            message = (
                f"{meeting.title} ({format_date(meeting.held_on)}) : données arrêtées au "
                f"{format_date(meeting.data_cutoff)}, {state}."
            )
    except ApiError as exc:
        typer.secho(exc.detail, err=True, fg="red")
        raise typer.Exit(1) from None
    typer.echo(message)


@meetings_app.command("lock")
def lock(ctx: typer.Context, meeting_id: MeetingIdArgument, cutoff: CutoffOption) -> None:
    """Arrête et verrouille les données d'une instance : les mesures datées jusqu'à cette date
    ne peuvent plus être saisies, corrigées, validées ni importées."""
    from suivi.indicators.review import lock_meeting

    try:
        day = date.fromisoformat(cutoff)
    except ValueError:
        typer.secho(f"Date invalide : {cutoff!r} (attendu AAAA-MM-JJ).", err=True, fg="red")
        raise typer.Exit(2) from None
    _run(
        ctx,
        meeting_id,
        lambda session, meeting: lock_meeting(session, None, meeting, data_cutoff=day),
    )


@meetings_app.command("unlock")
def unlock(ctx: typer.Context, meeting_id: MeetingIdArgument, reason: ReasonOption) -> None:
    """Rouvre les données d'une instance, avec un motif (tracé dans le journal)."""
    from suivi.indicators.review import unlock_meeting

    _run(
        ctx,
        meeting_id,
        lambda session, meeting: unlock_meeting(session, None, meeting, reason=reason),
    )
