"""The tests mirror the code and share helpers through one place: a test module or a conftest
imports helpers only from `tests.support.*`, never from another test module or another
package's conftest; and apart from `tests/support/`, the test tree holds only `test_*.py`,
`conftest.py` and `__init__.py` files (no stray `helpers.py`)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS_ROOT = Path(__file__).resolve().parents[1]
SUPPORT = "tests.support"


def module_name(path: Path) -> str:
    parts = path.relative_to(TESTS_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, relative ones resolved
    against `module`; `from package import name` counts as `package.name` (it may be a
    module)."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports of another `tests.` module than `tests.support` and what it holds."""
    problems = []
    for line, name in imported_modules(source, module, is_package):
        inside_tests = name == "tests" or name.startswith("tests.")
        to_support = name == SUPPORT or name.startswith(f"{SUPPORT}.")
        if inside_tests and not to_support and name != "tests":
            problems.append(f"{module}:{line} imports {name}")
    return problems


def test_the_checker_tells_support_imports_from_test_module_imports():
    bad = (
        "from tests.web.test_pages import measurements\n"
        "from tests.api.conftest import login\n"
        "import tests.databases\n"
        "from .conftest import AS_OF\n"
        "from tests.io import helpers\n"
        "def later():\n"
        "    from tests.reports.conftest import build\n"
    )
    good = (
        "from tests.support.api_clients import login\n"
        "from tests.support import web_clients\n"
        "import tests.support.databases\n"
        "from suivi.app import create_app\n"
    )
    assert forbidden_imports(bad, "tests.web.test_x") == [
        "tests.web.test_x:1 imports tests.web.test_pages",
        "tests.web.test_x:1 imports tests.web.test_pages.measurements",
        "tests.web.test_x:2 imports tests.api.conftest",
        "tests.web.test_x:2 imports tests.api.conftest.login",
        "tests.web.test_x:3 imports tests.databases",
        "tests.web.test_x:4 imports tests.web.conftest",
        "tests.web.test_x:4 imports tests.web.conftest.AS_OF",
        "tests.web.test_x:5 imports tests.io",
        "tests.web.test_x:5 imports tests.io.helpers",
        "tests.web.test_x:7 imports tests.reports.conftest",
        "tests.web.test_x:7 imports tests.reports.conftest.build",
    ]
    assert forbidden_imports(good, "tests.web.test_x") == []
    # Inside the support package, a relative import stays inside it.
    assert forbidden_imports("from .databases import DEMO_AS_OF\n", "tests.support.io") == []


def test_test_modules_import_helpers_only_from_tests_support():
    problems = []
    for path in sorted(TESTS_ROOT.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        problems += forbidden_imports(source, module_name(path), path.name == "__init__.py")
    assert problems == [], "shared test helpers belong in tests/support/:\n" + "\n".join(problems)


def test_helpers_live_in_tests_support_only():
    stray = [
        path.relative_to(TESTS_ROOT).as_posix()
        for path in sorted(TESTS_ROOT.rglob("*.py"))
        if TESTS_ROOT / "support" not in path.parents
        and not (path.name.startswith("test_") or path.name in ("conftest.py", "__init__.py"))
    ]
    assert stray == [], "move these helper modules into tests/support/"
