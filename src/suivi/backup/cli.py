"""`suivi backup [--out DIR]` and `suivi restore BACKUP [--force]`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from suivi.cli import app
from suivi.cli import settings_of

# Exit codes of `suivi restore` besides 0: refused (nothing touched), restored with differences.
EXIT_REFUSED = 1
EXIT_DIFFERS = 3


@contextmanager
def _refused_on_backup_error() -> Iterator[None]:
    """A `BackupError` (nothing was touched) printed in red, then exit `EXIT_REFUSED`."""
    from suivi.backup.service import BackupError

    try:
        yield
    except BackupError as exc:
        typer.secho(str(exc), err=True, fg="red")
        raise typer.Exit(EXIT_REFUSED) from None


@app.command()
def backup(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Dossier où écrire la sauvegarde (défaut : [backup] dir)."),
    ] = None,
) -> None:
    """Sauvegarde la base, l'archive des rapports et la boîte d'envoi (serveur en marche)."""
    from suivi.backup.service import create_backup
    from suivi.db import get_engine

    settings = settings_of(ctx)
    with _refused_on_backup_error():
        result = create_backup(get_engine(settings), settings, out, actor_label="cli:backup")
    manifest = result.manifest
    typer.echo(
        f"Sauvegarde écrite : {result.path}\n"
        f"  base {manifest['backend']} (révision {manifest['schema_revision']}) : "
        f"{len(manifest['tables'])} tables, {result.rows} lignes\n"
        f"  {result.files} fichier(s) (rapports et boîte d'envoi), "
        f"{result.size_bytes} octets en tout"
    )


@app.command()
def restore(
    ctx: typer.Context,
    folder: Annotated[
        Path, typer.Argument(metavar="SAUVEGARDE", help="Dossier suivi-backup-… à restaurer.")
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Remplace une base et des dossiers qui ont des données."),
    ] = False,
) -> None:
    """Restaure une sauvegarde (vérifiée avant toute modification). Arrêtez d'abord le
    serveur et le planificateur."""
    from suivi.backup.service import restore_backup
    from suivi.migrate import current_heads

    settings = settings_of(ctx)
    with _refused_on_backup_error():
        result = restore_backup(folder, settings, force=force, actor_label="cli:restore")
    manifest = result.manifest
    typer.echo(
        f"Sauvegarde {manifest['name']} restaurée ({sum(manifest['tables'].values())} lignes, "
        f"{len(manifest['files']) - 1} fichier(s))."
    )
    if manifest["schema_revision"] not in current_heads():
        typer.echo(
            f"Schéma de la sauvegarde : révision {manifest['schema_revision']} ; "
            "lancez « suivi init » pour le mettre à jour."
        )
    if result.differences:
        typer.secho(
            "Le résultat diffère du manifeste de la sauvegarde :\n"
            + "\n".join(f"  - {line}" for line in result.differences),
            err=True,
            fg="red",
        )
        raise typer.Exit(EXIT_DIFFERS)
    typer.echo("Vérification : lignes par table et empreintes des fichiers conformes au manifeste.")
