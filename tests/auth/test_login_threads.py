"""Logins from many addresses wait for their own threads, not for the shared thread pool.

Argon2 takes a core for ~0.2 s and at most one verification per two cores runs at once. The
logins used to wait for that slot inside the thread pool every synchronous route needs
(40 threads): 50 attempts from 50 addresses (`bench/login_flood.py --flooders 100`, the
limits lifted) held all of them, and the writes waited seconds behind the queued logins.
Logins now run in their own threads (`suivi.auth.deps.LOGIN_THREADS`); the others wait
on the event loop."""

from __future__ import annotations

import threading
import time

import httpx

from tests.support.browser import served
from tests.support.forms import app_with_login_limits

ATTEMPTS = 50


def test_a_login_flood_leaves_the_thread_pool_to_other_requests(demo_db):
    app = app_with_login_limits(  # as from many addresses
        demo_db,
        attempts_per_minute_per_address=100_000,
        attempts_per_minute_per_account=100_000,
        backoff_after_failures=100_000,
    )
    with served(app) as base:
        token = httpx.post(
            f"{base}/api/auth/token",
            data={"username": "chef@example.org", "password": "demo"},
            timeout=60,
        ).json()["access_token"]
        answered: list[int] = []
        lock = threading.Lock()

        def attempt(n: int) -> None:
            response = httpx.post(
                f"{base}/api/auth/token",
                data={"username": f"inconnu{n}@example.org", "password": "faux"},
                timeout=300,
            )
            with lock:
                answered.append(response.status_code)

        flood = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
        for thread in flood:
            thread.start()
        deadline = time.monotonic() + 120
        while len(answered) < 2:  # the flood is in: its first logins are verified
            assert time.monotonic() < deadline, "no login answered"
            time.sleep(0.01)
        me = httpx.get(
            f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=300
        )
        with lock:
            logins_done_meanwhile = len(answered)
        for thread in flood:
            thread.join(timeout=300)
    assert me.status_code == 200 and me.json()["email"] == "chef@example.org"
    # One login is verified at a time, one every ~0.2 s (more on a slow machine): a request
    # behind the queued logins would have waited for ATTEMPTS - 40 of them at least.
    assert logins_done_meanwhile < ATTEMPTS - 40
    assert answered.count(400) == ATTEMPTS
