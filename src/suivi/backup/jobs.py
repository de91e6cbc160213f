"""Scheduled job `backup`: a backup into `[backup] dir`, then only the latest `[backup] keep`
are kept (older ones are deleted once the new one is complete)."""

from __future__ import annotations

from suivi.backup.service import create_backup
from suivi.backup.service import prune_backups
from suivi.jobs import JobContext
from suivi.jobs import job


@job("backup")
def backup_job(context: JobContext) -> dict[str, int]:
    folder = context.settings.backup.dir
    result = create_backup(
        context.engine, context.settings, folder, actor_label=f"job:backup ({context.trigger})"
    )
    deleted = prune_backups(folder, context.settings.backup.keep)
    return {
        "tables": len(result.manifest["tables"]),
        "rows": result.rows,
        "files": result.files,
        "bytes": result.size_bytes,
        "deleted": len(deleted),
    }
