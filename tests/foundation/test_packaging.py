"""The wheel ships everything read at run time (issue 16, packaging): the PDF and email
templates with their fonts, the web templates and static files, the seed data, the migrations.

Built offline with the installed setuptools (no build isolation), from a copy of the checkout
so that the build leaves nothing in the working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "src" / "suivi"


def _shipped_source_files() -> set[str]:
    """Every file of src/suivi (through the report_templates symlink), as a wheel path."""
    files = set()
    for folder, dirs, names in os.walk(PACKAGE_DIR, followlinks=True):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        for name in names:
            relative = (Path(folder) / name).relative_to(PACKAGE_DIR)
            files.add(f"suivi/{relative.as_posix()}")
    return files


def _pip(command: str, *args: str) -> None:
    """pip, offline: no index, no dependencies, no build isolation (the venv holds them)."""
    subprocess.run(
        [sys.executable, "-m", "pip", command, "--quiet", "--no-deps", "--no-index"]
        + ["--no-build-isolation", *args],
        check=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    # The symlink src/suivi/report_templates -> ../../reports/templates is copied as a link.
    shutil.copytree(ROOT / "src", source / "src", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "reports", source / "reports", ignore=ignore)
    out = tmp / "dist"
    _pip("wheel", "-w", str(out), str(source))
    (built,) = out.glob("suivi-*.whl")
    return built


def test_wheel_ships_every_file_the_app_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "suivi/report_templates/copil.html",
        "suivi/report_templates/report.css",
        "suivi/report_templates/fonts/DejaVuSans.ttf",
        "suivi/report_templates/fonts/LICENSE-DejaVu.txt",
        "suivi/report_templates/email/reminder.txt.j2",
        "suivi/report_templates/email/partner_summary.html.j2",
        "suivi/web/templates/base.html",
        "suivi/seed/data/communes-call.csv",
        "suivi/web/static/suivi.css",
        "suivi/migrations/script.py.mako",
    }
    assert expected <= names, expected - names
    assert any(name.startswith("suivi/migrations/versions/") for name in names)
    # Nothing of the package folder is left behind (a new data folder needs package-data).
    assert _shipped_source_files() - names == set()
    report_templates = {
        f"suivi/report_templates/{path.relative_to(ROOT / 'reports' / 'templates').as_posix()}"
        for path in (ROOT / "reports" / "templates").rglob("*")
        if path.is_file()
    }
    assert report_templates <= names


@pytest.mark.slow
def test_installed_wheel_renders_a_report_away_from_the_checkout(wheel, tmp_path):
    """A non-editable install, run from a folder with no config.toml: demo + COPIL report."""
    target = tmp_path / "site"
    _pip("install", "--target", str(target), str(wheel))
    workdir = tmp_path / "ailleurs"
    workdir.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("SUIVI_")}
    env["PYTHONPATH"] = str(target)  # before the checkout's editable install, if any

    def suivi(*args: str) -> str:
        code = "import sys; from suivi.cli import app; sys.argv[0] = 'suivi'; app()"
        result = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    where = subprocess.run(
        [sys.executable, "-c", "import suivi.config as c; print(c.PACKAGED_TEMPLATES_DIR)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where) == target / "suivi" / "report_templates"

    suivi("demo")
    assert "Archivé" in suivi("report", "copil")
    (pdf,) = (workdir / "var" / "reports" / "copil").rglob("*.pdf")
    first_page = PdfReader(pdf).pages[0]
    fonts = {font.get_object()["/BaseFont"] for font in first_page["/Resources"]["/Font"].values()}
    assert any("Suivi-Sans" in font for font in fonts)  # the packaged fonts/ were used
