"""The domain core loads without the web framework: services, queries and jobs can run (and be
tested) with neither FastAPI nor Starlette imported. Each module is imported in a fresh
interpreter, since this test process has long loaded FastAPI.

`lint-imports` (in `make test`) checks the same rule statically, on the import graph; this
checks what an import really drags in at run time (an adapter imported by a package's
`__init__`, a lazy import at module level...).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

FASTAPI_FREE = [
    "suivi.errors",
    "suivi.progress",
    "suivi.clock",
    "suivi.scoping",
    "suivi.auth.principal",
    "suivi.annual.service",
    "suivi.annual.comments",
    "suivi.annual.consultation",
    "suivi.public.service",
    "suivi.audit.service",
    "suivi.commitments.service",
    "suivi.contract.service",
    "suivi.governance.service",
    "suivi.governance.releve",
    "suivi.indicators.service",
    "suivi.indicators.evaluation",
    "suivi.finance.service",
    "suivi.finance.rollups",
    "suivi.io.importer",
    "suivi.io.export",
    "suivi.monitoring.service",
    "suivi.notifications.contacts",
    "suivi.notifications.reminders",
    "suivi.notifications.summaries",
    "suivi.reports.context",
    "suivi.backup.service",
    "suivi.seed.demo",
    # The scheduler process and its jobs run without the web stack too.
    "suivi.jobs",
    "suivi.scheduler",
    "suivi.backup.jobs",
    "suivi.monitoring.jobs",
    "suivi.notifications.jobs",
    "suivi.notifications.delivery",
    "suivi.reports.jobs",
    "suivi.reports.render",
]

CHECK = """
import importlib, sys
importlib.import_module(sys.argv[1])
web = sorted(name for name in sys.modules if name.split(".")[0] in ("fastapi", "starlette"))
print(" ".join(web))
"""


@pytest.mark.parametrize("module", FASTAPI_FREE)
def test_domain_module_loads_without_fastapi(module):
    result = subprocess.run(
        [sys.executable, "-c", CHECK, module],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} loads {result.stdout.strip()}"


def test_the_check_sees_fastapi_when_it_is_loaded():
    """The check itself can fail: an adapter module does load FastAPI."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK, "suivi.auth.deps"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "fastapi" in result.stdout.split()
