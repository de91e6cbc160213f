"""Real browser helpers: Debian's chromium driven by Playwright against `served(app)` (uvicorn
in a thread on a free loopback port), a demo user logged in through the form, screenshots in
test-artifacts/screenshots/ (gitignored).

`require_chromium` skips when /usr/bin/chromium is missing, unless SUIVI_REQUIRE_BROWSER=1
(then it fails)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.web_clients import AS_OF
from tests.support.web_clients import EMAILS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} absent (apt-get install chromium)"
    if os.environ.get("SUIVI_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def served(app) -> Iterator[str]:
    """`app` served by uvicorn in a thread on a free port; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def demo_database(database_factory, tmp_path_factory, name: str):
    """A fresh SQLite demo database for a module's browser tests (skipped without chromium),
    dropped after them."""
    require_chromium()
    database = database_factory.create("sqlite", "demo", tmp_path_factory.mktemp(name))
    try:
        yield database
    finally:
        database_factory.drop(database)


@contextmanager
def chromium_browser():
    """One headless chromium (Playwright) for a module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def login(browser, site, role: str, **context_options):
    context = browser.new_context(locale="fr-FR", **context_options)
    page = context.new_page()
    page.goto(f"{site['url']}/?as_of={AS_OF}")
    assert "/connexion" in page.url
    page.get_by_label("Adresse électronique").fill(EMAILS[role])
    page.get_by_label("Mot de passe").fill("demo")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    return context, page


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
