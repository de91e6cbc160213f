"""The `suivi` command."""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from suivi import clock
from suivi.config import ConfigError
from suivi.config import Settings
from suivi.config import load_settings

app = typer.Typer(help="Suivi des engagements du contrat de ville.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Fichier de configuration (défaut : ./config.toml ou $SUIVI_CONFIG)."
    ),
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Date de référence AAAA-MM-JJ (défaut : aujourd'hui).")
]


@app.callback()
def main(ctx: typer.Context, config: ConfigOption = None) -> None:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.secho(f"Erreur de configuration : {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.app.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = settings


def settings_of(ctx: typer.Context) -> Settings:
    return ctx.obj


def parse_as_of(value: str | None, settings: Settings) -> date:
    """`--as-of` or today in the configured time zone."""
    if value is None:
        return clock.today(settings.tz)
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.secho(f"Date invalide : {value!r} (attendu AAAA-MM-JJ)", err=True, fg="red")
        raise typer.Exit(2) from None


@app.command()
def init(ctx: typer.Context) -> None:
    """Crée ou met à jour le schéma de la base (migrations Alembic) et charge le référentiel."""
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.migrate import upgrade
    from suivi.seed.reference import load_reference

    settings = settings_of(ctx)
    _ensure_sqlite_folder(settings)
    upgrade(settings.database.url)
    with session_scope(get_engine(settings), write=True) as session:
        contract = load_reference(session, settings.contract)
        name = contract.name
    typer.echo(f"Base prête ({_safe_url(settings)}) — {name}")


@app.command()
def demo(ctx: typer.Context, as_of: AsOfOption = None) -> None:
    """Initialise la base et charge le portefeuille fictif de démonstration (idempotent)."""
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.migrate import upgrade
    from suivi.seed.demo import load_demo

    settings = settings_of(ctx)
    day = parse_as_of(as_of, settings)
    _ensure_sqlite_folder(settings)
    upgrade(settings.database.url)
    with session_scope(get_engine(settings), write=True) as session:
        written = load_demo(session, settings.contract, day)
    if written:
        typer.echo(f"Données de démonstration chargées (au {day.isoformat()}).")
    else:
        typer.echo("Données de démonstration déjà présentes : rien à faire.")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute.")] = None,
    port: Annotated[int | None, typer.Option(help="Port d'écoute.")] = None,
    with_scheduler: Annotated[
        bool,
        typer.Option("--with-scheduler", help="Lance aussi le planificateur (processus fils)."),
    ] = False,
) -> None:
    """Lance le serveur web (uvicorn)."""
    import uvicorn

    from suivi.app import create_app

    settings = settings_of(ctx)
    try:
        application = create_app(settings)
    except ConfigError as exc:
        typer.secho(f"Erreur de configuration : {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    host = host or settings.web.host
    port = port or settings.web.port
    typer.echo(f"Suivi écoute sur http://{host}:{port}/")
    from suivi.monitoring.cli import start_scheduler_child
    from suivi.monitoring.cli import stop_scheduler_child

    child = start_scheduler_child(settings) if with_scheduler else None
    try:
        uvicorn.run(application, host=host, port=port, log_level=settings.app.log_level.lower())
    finally:
        if child is not None:
            stop_scheduler_child(child)


def _ensure_sqlite_folder(settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database.url).render_as_string(hide_password=True)


# Commands of the domain packages: each module adds its commands to `app` when imported.
# (One import per package; keep this list sorted.)
# -- domain commands --
import suivi.auth.cli  # noqa: E402, F401  (suivi users ...)
import suivi.backup.cli  # noqa: E402,F401 - backup, restore
import suivi.finance.cli  # noqa: E402,F401 - financements importer
import suivi.governance.cli  # noqa: E402,F401 - report releve
import suivi.indicators.cli  # noqa: E402,F401 - meetings lock|unlock
import suivi.io.cli  # noqa: E402,F401 - export, import, opendata
import suivi.monitoring.cli  # noqa: E402,F401 - scheduler, jobs, check
import suivi.notifications.cli  # noqa: E402,F401 - summaries preview
import suivi.reports.cli  # noqa: E402,F401 - report copil|quartier|partner|annual

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
