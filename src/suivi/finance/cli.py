"""`suivi financements importer REGISTRE.csv`: a partner's subsidy register, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suivi.cli import app
from suivi.cli import settings_of

money_app = typer.Typer(help="Financements : voté, versé, justifié.", no_args_is_help=True)
app.add_typer(money_app, name="financements")


@money_app.command("importer")
def import_register_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Registre des subventions (CSV, colonnes nommées).")],
) -> None:
    """Importe un registre de subventions (voir docs/registre-subventions.md) : tout ou rien,
    chaque ligne refusée signalée avec son numéro."""
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.finance.register import import_register
    from suivi.finance.register import system_principal
    from suivi.io.cli import _contract_id

    settings = settings_of(ctx)
    if not path.exists():
        typer.secho(f"Fichier introuvable : {path}", err=True, fg="red")
        raise typer.Exit(1)
    content = path.read_bytes()
    with session_scope(get_engine(settings), write=True) as session:
        contract_id = _contract_id(session, settings)
        report = import_register(
            session,
            system_principal(contract_id),
            contract_id=contract_id,
            content=content,
            actor_id=None,
        )
    if not report.ok:
        typer.secho(
            f"Import refusé : {len(report.problems)} ligne(s) en erreur, rien n'a été enregistré.",
            err=True,
            fg="red",
        )
        for number, message in report.problems:
            typer.echo(f"  ligne {number} : {message}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Registre importé : {report.created} ligne(s) de financement créée(s).")
