"""Backups and restores of a Suivi instance (no HTTP here; the CLI and the job call these).

A backup is a folder named after the UTC time, ``suivi-backup-20261201T013000Z``:

    manifest.json          what the backup holds (see below)
    manifest.sha256        SHA-256 of manifest.json (`sha256sum -c manifest.sha256` works)
    database.sqlite3       SQLite: a copy made with the online backup API
    database.pgdump        PostgreSQL: `pg_dump -Fc`
    reports/...            the reports archive (`[reports] dir`)
    outbox/...             the outbox (`[outbox] dir`), files being written (*.tmp) left out

The manifest gives the schema revision, the rows of every table (counted in the snapshot
itself) and the size and SHA-256 of every file, the database dump included. The folder is
written under a hidden temporary name and renamed when complete: a folder with a final name
is always a whole backup.

The database is copied first, then the files: reports and e-mails are written to disk
before their row is committed and never changed afterwards, so every file the snapshot's
rows refer to is in the backup (files written during the backup may be there too).

A restore checks every size and hash before touching anything, refuses a target that holds
data unless forced, copies the files beside their folders, replaces the database (all or
nothing), swaps the folders in, then compares the result with the manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from sqlalchemy import Engine

from suivi import __version__
from suivi import clock
from suivi.audit.service import record
from suivi.backup.database import BackupError
from suivi.backup.database import backend_of
from suivi.backup.database import check_postgres_dump
from suivi.backup.database import database_contents
from suivi.backup.database import restore_database
from suivi.backup.database import snapshot_database
from suivi.config import Settings
from suivi.db import make_engine
from suivi.db import session_scope

__all__ = [
    "BackupError",
    "BackupResult",
    "RestoreRefusedError",
    "RestoreResult",
    "create_backup",
    "list_backups",
    "prune_backups",
    "restore_backup",
    "verify_backup",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
PREFIX = "suivi-backup-"
NAME_PATTERN = re.compile(r"^suivi-backup-\d{8}T\d{6}Z(-\d+)?$")
FILE_AREAS = ("reports", "outbox")  # folder in the backup -> the settings' folder of that name
CHUNK = 1 << 20


class RestoreRefusedError(BackupError):
    """The target holds data and `force` was not given."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict

    @property
    def rows(self) -> int:
        return sum(self.manifest["tables"].values())

    @property
    def files(self) -> int:
        return sum(1 for name in self.manifest["files"] if name != self.manifest["database"])

    @property
    def size_bytes(self) -> int:
        return sum(item["size"] for item in self.manifest["files"].values())


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict
    differences: list[str] = field(default_factory=list)


# -- files and hashes --------------------------------------------------------------------------


def _hash_file(path: Path) -> dict:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def _copy_file(source: Path, target: Path) -> dict:
    """Copy, hashing what is written, and flush it to disk."""
    digest, size = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, target)
    return {"size": size, "sha256": digest.hexdigest()}


def _files_under(folder: Path) -> list[Path]:
    """Regular files under `folder`, sorted, without files being written (*.tmp)."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and not path.name.endswith(".tmp")
    )


def _copy_area(source: Path, target: Path, area: str, files: dict[str, dict]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in _files_under(source):
        relative = path.relative_to(source).as_posix()
        try:
            files[f"{area}/{relative}"] = _copy_file(path, target / relative)
        except FileNotFoundError:  # removed while we listed the folder
            continue


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _area_folder(settings: Settings, area: str) -> Path:
    return Path(getattr(settings, area).dir)


# -- backup ------------------------------------------------------------------------------------


def _new_name(out_dir: Path) -> str:
    base = PREFIX + clock.now().strftime("%Y%m%dT%H%M%SZ")
    name, number = base, 0
    while (out_dir / name).exists():
        number += 1
        name = f"{base}-{number}"
    return name


def _check_out_dir(settings: Settings, out_dir: Path) -> None:
    for area in FILE_AREAS:
        folder = _area_folder(settings, area).resolve()
        if out_dir.resolve().is_relative_to(folder):
            raise BackupError(
                f"Le dossier des sauvegardes ({out_dir}) ne peut pas être dans le dossier "
                f"[{area}] dir ({folder})."
            )


def create_backup(
    engine: Engine, settings: Settings, out_dir: Path | None = None, *, actor_label: str = "cli"
) -> BackupResult:
    """Write a complete backup into `out_dir` (default `[backup] dir`) and return it."""
    out_dir = Path(out_dir or settings.backup.dir)
    _check_out_dir(settings, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = clock.now()
    name = _new_name(out_dir)
    partial = out_dir / f".{name}.{secrets.token_hex(4)}.partial"
    partial.mkdir()
    try:
        snapshot = snapshot_database(engine, settings, partial)
        files = {snapshot.file_name: _hash_file(partial / snapshot.file_name)}
        for area in FILE_AREAS:
            _copy_area(_area_folder(settings, area), partial / area, area, files)
        manifest = {
            "format": FORMAT_VERSION,
            "name": name,
            "created_at": started.isoformat(),
            "suivi_version": __version__,
            "backend": snapshot.backend,
            "server_version": snapshot.server_version,
            "schema_revision": snapshot.revision,
            "database": snapshot.file_name,
            "tables": snapshot.tables,
            "files": dict(sorted(files.items())),
        }
        _write_manifest(partial, manifest)
        final = out_dir / name
        os.rename(partial, final)  # a final name only for a complete backup
        _fsync_folder(out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    result = BackupResult(final, manifest)
    log.info(
        "backup %s written: %d tables, %d rows, %d files, %d bytes",
        final,
        len(manifest["tables"]),
        result.rows,
        result.files,
        result.size_bytes,
    )
    _audit(
        engine,
        action="create",
        name=name,
        actor_label=actor_label,
        after={
            "path": str(final),
            "schema_revision": snapshot.revision,
            "rows": result.rows,
            "files": result.files,
            "size_bytes": result.size_bytes,
        },
    )
    return result


def _write_manifest(folder: Path, manifest: dict) -> None:
    data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    for file_name, content in (
        (MANIFEST, data),
        (MANIFEST_SUM, f"{hashlib.sha256(data).hexdigest()}  {MANIFEST}\n".encode("ascii")),
    ):
        with (folder / file_name).open("wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    _fsync_folder(folder)


def _audit(engine: Engine, *, action: str, name: str, actor_label: str, after: dict) -> None:
    """An audit row for a backup or a restore (in the database concerned)."""
    try:
        with session_scope(engine, write=True) as session:
            record(
                session,
                action=action,
                entity="backup",
                entity_id=name,
                after=after,
                actor_label=actor_label,
            )
    except Exception:  # noqa: BLE001 - the backup itself is done; the log keeps the trace
        log.exception("could not write the audit row of %s %s", action, name)


# -- the backups of a folder ------------------------------------------------------------------


def list_backups(folder: Path) -> list[Path]:
    """Complete backups in `folder`, oldest first (their names sort by time)."""
    if not Path(folder).is_dir():
        return []
    return sorted(
        path for path in Path(folder).iterdir() if path.is_dir() and NAME_PATTERN.match(path.name)
    )


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the latest `keep` backups of `folder`; return the deleted ones."""
    backups = list_backups(folder)
    old = backups[: max(len(backups) - keep, 0)]
    for path in old:
        shutil.rmtree(path)
        log.info("old backup %s deleted (keeping %d)", path, keep)
    return old


# -- verification -----------------------------------------------------------------------------


def _load_manifest(folder: Path) -> dict:
    if not folder.is_dir():
        raise BackupError(f"Sauvegarde introuvable : {folder} n'est pas un dossier.")
    manifest_path, sum_path = folder / MANIFEST, folder / MANIFEST_SUM
    if not manifest_path.is_file() or not sum_path.is_file():
        raise BackupError(
            f"Sauvegarde incomplète : {MANIFEST} ou {MANIFEST_SUM} manque dans {folder}."
        )
    data = manifest_path.read_bytes()
    expected = sum_path.read_text(encoding="ascii", errors="replace").split(" ", 1)[0].strip()
    if hashlib.sha256(data).hexdigest() != expected:
        raise BackupError(
            f"Sauvegarde corrompue : {MANIFEST} ne correspond pas à son empreinte SHA-256."
        )
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise BackupError(f"Sauvegarde corrompue : {MANIFEST} illisible ({exc}).") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(
            f"Format de sauvegarde inconnu ({manifest.get('format')!r}) : "
            "restaurez-la avec la version de Suivi qui l'a écrite."
        )
    return manifest


def _file_problems(root: Path, expected: dict[str, dict], extra_scope: list[Path]) -> list[str]:
    """What differs between the files under `root` and `expected` (path -> size, sha256)."""
    problems = []
    for relative, wanted in expected.items():
        path = root / relative
        if not path.is_file():
            problems.append(f"{relative} : fichier absent")
            continue
        actual = _hash_file(path)
        if actual["size"] != wanted["size"]:
            truncated = " (tronqué)" if actual["size"] < wanted["size"] else ""
            problems.append(
                f"{relative} : {actual['size']} octets au lieu de {wanted['size']}{truncated}"
            )
        elif actual["sha256"] != wanted["sha256"]:
            problems.append(f"{relative} : contenu altéré (SHA-256 différent)")
    for folder in extra_scope:
        for path in _files_under(folder):
            relative = path.relative_to(root).as_posix()
            if relative not in expected:
                problems.append(f"{relative} : fichier en trop")
    return problems


def _summary(problems: list[str], limit: int = 10) -> str:
    shown = problems[:limit]
    more = len(problems) - len(shown)
    tail = f"\n  - … et {more} autres" if more else ""
    return "\n".join(f"  - {line}" for line in shown) + tail


def verify_backup(folder: Path, settings: Settings | None = None) -> dict:
    """Check the backup's manifest, then the size and SHA-256 of every file; return the
    manifest or raise BackupError saying what is wrong."""
    folder = Path(folder)
    manifest = _load_manifest(folder)
    database = manifest.get("database")
    files = manifest.get("files") or {}
    if not isinstance(database, str) or database not in files:
        raise BackupError("Sauvegarde corrompue : le manifeste ne décrit pas la base.")
    listed = [folder / area for area in FILE_AREAS]
    problems = _file_problems(folder, files, listed)
    if problems:
        raise BackupError(
            f"Sauvegarde {folder.name} refusée, elle est corrompue ou incomplète :\n"
            + _summary(problems)
        )
    if manifest["backend"] == "postgresql" and settings is not None:
        check_postgres_dump(settings, folder / database)
    return manifest


# -- restore ----------------------------------------------------------------------------------


def _holds_data(tables: dict[str, int]) -> bool:
    return any(count for name, count in tables.items() if name != "alembic_version")


def _stage_area(source: Path, target: Path) -> Path:
    """A copy of `source` beside `target` (same file system, so the swap is a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.parent / f".{target.name}.restore-{secrets.token_hex(4)}"
    if source.is_dir():
        shutil.copytree(source, staged)
    else:
        staged.mkdir()
    return staged


def _swap_in(staged: Path, target: Path) -> None:
    old = target.parent / f".{target.name}.before-restore-{secrets.token_hex(4)}"
    if target.exists():
        os.rename(target, old)
    os.rename(staged, target)
    shutil.rmtree(old, ignore_errors=True)


def _lines(count: int) -> str:
    return f"{count} ligne{'s' if count > 1 else ''}"


def compare_with_manifest(url: str, settings: Settings, manifest: dict) -> list[str]:
    """What differs, in French, between the instance (database and folders) and a manifest."""
    differences = []
    revision, tables = database_contents(url)
    if revision != manifest["schema_revision"]:
        differences.append(
            f"révision du schéma : {revision} au lieu de {manifest['schema_revision']}"
        )
    for name, expected in manifest["tables"].items():
        if name not in tables:
            differences.append(f"table {name} : absente")
        elif tables[name] != expected:
            differences.append(f"table {name} : {_lines(tables[name])} au lieu de {expected}")
    differences += [
        f"table {name} : en trop (absente de la sauvegarde)"
        for name in tables
        if name not in manifest["tables"]
    ]
    for area in FILE_AREAS:
        folder = _area_folder(settings, area)
        expected = {
            name.removeprefix(f"{area}/"): item
            for name, item in manifest["files"].items()
            if name.startswith(f"{area}/")
        }
        differences += [f"[{area}] {line}" for line in _file_problems(folder, expected, [folder])]
    return differences


def restore_backup(
    folder: Path, settings: Settings, *, force: bool = False, actor_label: str = "cli"
) -> RestoreResult:
    """Restore the backup `folder` into the instance of `settings` (database, reports,
    outbox). Raises BackupError (nothing touched) or RestoreRefusedError (target not empty)."""
    try:
        return _restore(Path(folder), settings, force=force, actor_label=actor_label)
    except BackupError as exc:
        log.warning("restore of %s not done: %s", folder, exc)
        raise


def _restore(folder: Path, settings: Settings, *, force: bool, actor_label: str) -> RestoreResult:
    url = settings.database.url
    manifest = verify_backup(folder, settings)
    target_backend = backend_of(url)
    if manifest["backend"] != target_backend:
        raise BackupError(
            f"Sauvegarde {manifest['backend']}, base cible {target_backend} : une sauvegarde "
            "se restaure sur le même moteur (passez par « suivi export » / « suivi import »)."
        )
    _, tables = database_contents(url)
    occupied = ["la base de données"] if _holds_data(tables) else []
    occupied += [
        f"le dossier [{area}] dir ({_area_folder(settings, area)})"
        for area in FILE_AREAS
        if _files_under(_area_folder(settings, area))
    ]
    if occupied and not force:
        raise RestoreRefusedError(
            f"Restauration refusée : {', '.join(occupied)} "
            f"{'contient' if len(occupied) == 1 else 'contiennent'} déjà des données. "
            "Relancez avec --force pour les remplacer (faites d'abord une sauvegarde)."
        )
    log.info("restoring backup %s into %s (force=%s)", folder, target_backend, force)
    staged = {}
    try:
        for area in FILE_AREAS:
            staged[area] = _stage_area(folder / area, _area_folder(settings, area))
        restore_database(url, settings, folder / manifest["database"])
    except BaseException:
        for path in staged.values():
            shutil.rmtree(path, ignore_errors=True)
        raise
    for area, path in staged.items():
        _swap_in(path, _area_folder(settings, area))
    differences = compare_with_manifest(url, settings, manifest)
    if differences:
        log.warning("restore of %s differs from its manifest: %s", folder, differences)
    else:
        log.info("backup %s restored; the result matches its manifest", folder)
    engine = make_engine(url, busy_timeout_ms=settings.database.busy_timeout_ms)
    try:
        _audit(
            engine,
            action="import",
            name=manifest["name"],
            actor_label=actor_label,
            after={
                "path": str(folder.resolve()),
                "forced": force,
                "schema_revision": manifest["schema_revision"],
                "differences": differences,
            },
        )
    finally:
        engine.dispose()
    return RestoreResult(manifest, differences)
