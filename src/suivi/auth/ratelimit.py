"""In-process token buckets limiting login attempts per source address and per account.

Checked before any database access or password hashing, so that a flood of logins costs
almost nothing and cannot starve the writers. In-process: each server process has its own
buckets (one process per instance is the supported deployment; with several workers the
limits are per worker).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

# Buckets kept at most; beyond, the full ones (idle keys) are forgotten first.
MAX_KEYS = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """`capacity` attempts at once, refilled at `capacity` per minute, per key."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """Take one token for `key`: 0 if allowed, else the seconds to wait (at least 1)."""
        now = time.monotonic()  # a duration, not a date: not read through suivi.clock
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0
            return self._wait(bucket.tokens)

    def peek(self, key: str) -> int:
        """What `take(key)` would answer now if refused, without taking anything: 0 if a
        token is there (or `key` has no bucket yet), else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0
            tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        return 0 if tokens >= 1 else self._wait(tokens)

    def _wait(self, tokens: float) -> int:
        return max(1, math.ceil((1 - tokens) / self.rate))

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.capacity
        ]
        for key in full or list(self._buckets)[: MAX_KEYS // 10]:
            del self._buckets[key]


class LoginRateLimiter:
    def __init__(self, per_address: int, per_account: int) -> None:
        self.addresses = TokenBuckets(per_address)
        self.accounts = TokenBuckets(per_account)

    def retry_after(self, address: str, email: str) -> int:
        """0 if this attempt may go on, else the seconds before the next one may."""
        return self.addresses.take(address) or self.accounts.take(email)

    def address_retry_after(self, address: str) -> int:
        """0 unless `address` has no attempt left: then the seconds `retry_after` would answer
        for any email. Takes nothing (`suivi.auth.login_gate`, before the form is read)."""
        return self.addresses.peek(address)


_CREATE_LOCK = threading.Lock()


def login_limiter(app) -> LoginRateLimiter:
    """The application's limiter, made at its first login from `[login]`."""
    limiter = getattr(app.state, "login_limiter", None)
    if limiter is None:
        with _CREATE_LOCK:
            limiter = getattr(app.state, "login_limiter", None)
            if limiter is None:
                login = app.state.settings.login
                limiter = LoginRateLimiter(
                    login.attempts_per_minute_per_address, login.attempts_per_minute_per_account
                )
                app.state.login_limiter = limiter
    return limiter
