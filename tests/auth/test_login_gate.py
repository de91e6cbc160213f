"""An address with no login attempt left is refused before its request is read (issue 15,
the one-host 429 flood of `bench/login_flood.py`).

`suivi.auth.login_gate.LoginGate` answers a POST to `/api/auth/token` or `/connexion` with
the route's own 429 (French message, `Retry-After`, security headers) when the client
address's bucket is already empty: no body read, no database query, nothing taken. Every
other attempt goes on to the route and its limits, unchanged.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from types import SimpleNamespace

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from suivi.auth import ratelimit
from suivi.auth.ratelimit import TokenBuckets
from suivi.auth.ratelimit import login_limiter
from tests.support.forms import LOGIN_CSRF_RE
from tests.support.forms import app_with_account_spent
from tests.support.forms import app_with_login_limits
from tests.support.forms import post_login_form
from tests.support.forms import post_token_request

FLOODER = ("203.0.113.9", 4000)
MESSAGE = re.compile(
    r"^Trop de tentatives de connexion depuis cette adresse ou pour ce compte : "
    r"réessayez dans \d+ secondes?\.$"
)
SECURITY_HEADERS = (
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cache-control",
)


@contextmanager
def _statements():
    """Every SQL statement run, on any engine, inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _exhaust_address(app, client, attempts: int) -> None:
    for _ in range(attempts):
        assert post_token_request(client, "copil@example.org", "x").status_code == 400
    assert login_limiter(app).address_retry_after(FLOODER[0]) >= 1


def _assert_security_headers(response) -> None:
    for name in SECURITY_HEADERS:
        assert name in response.headers, name
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_empty_address_refused_before_the_form_is_read(demo_db):
    app = app_with_login_limits(
        demo_db, attempts_per_minute_per_address=2, backoff_after_failures=100
    )
    flooder = TestClient(app, client=FLOODER)
    page_before = flooder.get("/connexion")  # the page shown before the flood
    _exhaust_address(app, flooder, 2)
    with _statements() as statements:
        # Bodies the routes would refuse with 422 (no form fields) and 403 (no CSRF token):
        # the answer is the 429 all the same, so the body was never looked at.
        api = flooder.post(
            "/api/auth/token", content=b"{not a form", headers={"content-type": "text/plain"}
        )
        page = flooder.post("/connexion", data={"suivant": "/ailleurs"}, follow_redirects=False)
    assert statements == []
    assert api.status_code == 429
    assert int(api.headers["retry-after"]) >= 1
    assert MESSAGE.match(api.json()["detail"])
    assert api.json() == {"detail": api.json()["detail"]}
    assert page.status_code == 429
    assert int(page.headers["retry-after"]) >= 1
    assert page.headers["content-type"].startswith("text/html")
    # The login page itself, in French, with the message and a fresh form to retry.
    assert 'lang="fr"' in page.text and "<h1>Connexion</h1>" in page.text
    message = re.search(r'<p class="form-error" role="alert" id="login-err">([^<]+)</p>', page.text)
    assert MESSAGE.match(message.group(1).strip())
    assert LOGIN_CSRF_RE.search(page.text)
    assert "suivi_login_csrf" in page.headers["set-cookie"]
    # The demonstration hint of the instance, as on the page shown before.
    assert ("Démonstration :" in page_before.text) == ("Démonstration :" in page.text)
    assert "Démonstration :" in page.text
    for response in (api, page):
        _assert_security_headers(response)
    # Another address still logs in, both ways.
    other = TestClient(app, client=("198.51.100.7", 4000))
    assert post_token_request(other, "chef@example.org", "demo").status_code == 200
    assert post_login_form(other, "admin@example.org", "demo").status_code == 303


def test_the_gate_never_receives_the_body(demo_db):
    """Straight through the ASGI interface: the refusal is sent without calling `receive`."""
    app = app_with_login_limits(
        demo_db, attempts_per_minute_per_address=1, backoff_after_failures=100
    )
    _exhaust_address(app, TestClient(app, client=FLOODER), 1)

    async def receive():
        raise AssertionError("the body was read")

    for path in ("/api/auth/token", "/connexion"):
        sent: list[dict] = []

        async def send(message, sent=sent):
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"testserver"),
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", b"1000"),
            ],
            "client": FLOODER,
            "server": ("testserver", 80),
        }
        anyio.run(app, scope, receive, send)
        start = sent[0]
        assert start["type"] == "http.response.start"
        assert start["status"] == 429
        headers = {name.decode(): value.decode() for name, value in start["headers"]}
        assert int(headers["retry-after"]) >= 1
        assert "content-security-policy" in headers
        body = b"".join(message.get("body", b"") for message in sent[1:]).decode()
        assert "Trop de tentatives de connexion" in body


def test_the_gate_takes_nothing_and_leaves_the_other_limits_to_the_routes(demo_db):
    app = app_with_account_spent(demo_db, "copil@example.org", attempts=2)
    fresh = TestClient(app, client=("203.0.113.50", 4000))
    # Only the account is spent: the gate lets the request through, the route reads it…
    malformed = fresh.post("/api/auth/token", content=b"", headers={"content-type": "text/plain"})
    assert malformed.status_code == 422
    # …and refuses that account from any address, by the route's own check.
    refused = post_token_request(fresh, "Copil@Example.org ", "demo")
    assert refused.status_code == 429
    assert MESSAGE.match(refused.json()["detail"])
    _assert_security_headers(refused)
    assert post_login_form(fresh, "copil@example.org", "demo").status_code == 429
    # The address has attempts left for another account.
    assert post_token_request(fresh, "chef@example.org", "demo").status_code == 200


def test_peek_answers_like_take_without_taking(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: now[0]))
    buckets = TokenBuckets(per_minute=2)
    assert buckets.peek("a") == 0  # no bucket yet
    assert buckets.take("a") == 0
    for _ in range(5):
        assert buckets.peek("a") == 0  # one token left, never taken by peek
    assert buckets.take("a") == 0
    waiting = buckets.peek("a")
    assert waiting == 30  # 2 a minute: one token every 30 s
    assert buckets.take("a") == waiting
    now[0] += 29.5
    assert buckets.peek("a") == buckets.take("a") == 1
    now[0] += 0.5
    assert buckets.peek("a") == 0
    assert buckets.take("a") == 0
    assert buckets.peek("b") == 0


@pytest.mark.parametrize("path", ["/api/auth/token", "/connexion"])
def test_other_methods_and_paths_pass(demo_db, path):
    app = app_with_login_limits(
        demo_db, attempts_per_minute_per_address=1, backoff_after_failures=100
    )
    client = TestClient(app, client=FLOODER)
    _exhaust_address(app, client, 1)
    # Not a login attempt: not the gate's business.
    assert client.get(path).status_code in (200, 405)
    assert client.post(path + "/", follow_redirects=False).status_code != 429


def test_a_refused_address_waits_for_its_answer(demo_db):
    """The gate holds its 429 for `refused_pause_seconds`: a flooding client that waits for
    each answer slows itself down (the pause is a sleep on the event loop, not work)."""
    app = app_with_login_limits(
        demo_db,
        attempts_per_minute_per_address=1,
        backoff_after_failures=100,
        refused_pause_seconds=0.3,
    )
    flooder = TestClient(app, client=FLOODER)
    _exhaust_address(app, flooder, 1)
    began = time.monotonic()
    refused = post_token_request(flooder, "copil@example.org", "x")
    held = time.monotonic() - began
    assert refused.status_code == 429
    assert held >= 0.3  # a lower bound: holds however loaded the machine is
    # Another address is not held: its attempt reaches the route at once.
    other = TestClient(app, client=("198.51.100.7", 4000))
    assert post_token_request(other, "chef@example.org", "demo").status_code == 200
