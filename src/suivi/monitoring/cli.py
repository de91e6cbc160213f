"""`suivi scheduler`, `suivi jobs list|run`, `suivi check`, and the scheduler child process
of `suivi serve --with-scheduler`."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from suivi import clock
from suivi.cli import AsOfOption
from suivi.cli import app
from suivi.cli import parse_as_of
from suivi.cli import settings_of
from suivi.config import Settings
from suivi.labels import JOB_OUTCOME_LABELS

log = logging.getLogger(__name__)

# `suivi jobs run` exit codes (2 = unknown job): a partial run (work left for a later run, e.g.
# emails pending while the SMTP server is down) is told apart from a failed one.
EXIT_FAILED = 1
EXIT_PARTIAL = 4

jobs_app = typer.Typer(help="Tâches planifiées : liste, exécution immédiate.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@app.command()
def scheduler(ctx: typer.Context) -> None:
    """Lance le planificateur (processus séparé ; un seul par base)."""
    from suivi.db import get_engine
    from suivi.scheduler import SchedulerProcess

    settings = settings_of(ctx)
    process = SchedulerProcess(settings, get_engine(settings), echo=typer.echo)
    process.install_signal_handlers()
    raise typer.Exit(process.run())


@jobs_app.command("list")
def jobs_list(ctx: typer.Context) -> None:
    """Affiche les tâches : nom, planification, prochaine exécution, dernier résultat."""
    from suivi.db import get_engine
    from suivi.formatting import format_date
    from suivi.scheduler import last_runs
    from suivi.scheduler import next_run
    from suivi.scheduler import scheduled_jobs

    settings = settings_of(ctx)
    now = clock.now_in(settings.tz)
    latest = last_runs(get_engine(settings))
    rows = [("tâche", "planification", "prochaine exécution", "dernière exécution")]
    for item in scheduled_jobs(settings):
        if not item.implemented:
            upcoming = "non disponible"
        elif not item.enabled:
            upcoming = "désactivée"
        else:
            when = next_run(item, now)
            upcoming = f"{format_date(when)} {when:%H:%M}" if when else "—"
        run = latest.get(item.name)
        if run is None:
            last = "jamais"
        else:
            started = run.started_at.astimezone(settings.tz)
            outcome = JOB_OUTCOME_LABELS[run.outcome].lower()
            last = f"{format_date(started)} {started:%H:%M} — {outcome}"
            if run.counts:
                last += " " + json.dumps(run.counts, ensure_ascii=False)
        rows.append((item.name, item.cron, upcoming, last))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            + "  "
            + row[3]
        )


@jobs_app.command("run")
def jobs_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Nom de la tâche (voir `suivi jobs list`).")],
    as_of: AsOfOption = None,
) -> None:
    """Exécute une tâche maintenant (journalisée comme les exécutions planifiées).

    Code de sortie : 0 réussie, 4 partielle (une partie du travail reste à refaire, par
    exemple des courriels en attente), 1 en échec, 2 tâche inconnue."""
    from suivi.db import get_engine
    from suivi.jobs import registered_jobs
    from suivi.scheduler import run_job

    settings = settings_of(ctx)
    day = parse_as_of(as_of, settings)
    available = registered_jobs()
    if name not in available:
        typer.secho(
            f"Tâche inconnue : {name!r} (disponibles : {', '.join(available)})", err=True, fg="red"
        )
        raise typer.Exit(2)
    run = run_job(get_engine(settings), settings, name, as_of=day, trigger="manual")
    if run.outcome == "failed":
        reason = run.error.splitlines()[0] if run.error else "raison inconnue"
        typer.secho(f"Tâche {name} en échec : {reason}", err=True, fg="red")
        raise typer.Exit(EXIT_FAILED)
    if run.outcome == "partial":
        typer.secho(
            f"Tâche {name} partielle (au {day.isoformat()}) : " + _counts(run.counts),
            err=True,
            fg="yellow",
        )
        for line in run.error.splitlines()[:10]:
            typer.secho(f"  {line}", err=True, fg="yellow")
        raise typer.Exit(EXIT_PARTIAL)
    typer.echo(f"Tâche {name} réussie (au {day.isoformat()}) : " + _counts(run.counts))


@app.command()
def check(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Juge de nouveau chaque indicateur, même inchangé (après une mise à jour "
            "des règles).",
        ),
    ] = False,
) -> None:
    """Vérifie les indicateurs maintenant : ouvre et clôt les alertes.

    Par défaut, seuls sont jugés les indicateurs dont les données ont changé ou dont
    l'échéance est arrivée depuis la dernière vérification."""
    if everything:
        from suivi.db import get_engine
        from suivi.db import session_scope
        from suivi.monitoring.service import forget_checks

        settings = settings_of(ctx)
        with session_scope(get_engine(settings), write=True) as session:
            forget_checks(session, actor_label="cli:check --all")
    ctx.invoke(jobs_run, ctx=ctx, name="check_indicators", as_of=as_of)


def _counts(counts: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "rien à faire"


# -- `suivi serve --with-scheduler` -------------------------------------------------------------


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if the server dies without stopping it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def suivi_command() -> list[str]:
    """The `suivi` command with this interpreter (`python -m suivi.cli` would run cli.py as
    `__main__`, without the commands the domain modules add to `suivi.cli.app`)."""
    return [sys.executable, "-c", "from suivi.cli import app; app(prog_name='suivi')"]


def start_scheduler_child(settings: Settings) -> subprocess.Popen:
    """`suivi scheduler` as a separate child process with the same configuration."""
    command = suivi_command()
    if settings.source and Path(settings.source).is_file():
        command += ["--config", str(Path(settings.source).resolve())]
    command.append("scheduler")
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    child = subprocess.Popen(command, env=dict(os.environ), preexec_fn=preexec)  # noqa: S603 - our own interpreter
    typer.echo(f"Planificateur lancé (processus {child.pid}).")
    return child


def stop_scheduler_child(child: subprocess.Popen, timeout: float = 60.0) -> None:
    """SIGTERM (the scheduler finishes its running job), then SIGKILL after `timeout`."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("scheduler child %s did not stop in %.0fs: killing it", child.pid, timeout)
        child.kill()
        child.wait()
