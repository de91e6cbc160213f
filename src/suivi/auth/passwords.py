"""Password hashing with Argon2 (pwdlib's recommended settings)."""

from __future__ import annotations

import os
import threading
from functools import lru_cache

from pwdlib import PasswordHash

# Argon2 takes a core for ~0.2 s per verification. At most this many run at once, so that a
# login flood (each attempt has to be verified) leaves cores to the other requests; the
# other logins wait their turn without using the CPU.
_VERIFY_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) // 2))


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    with _VERIFY_SLOTS:
        return _hasher().verify(password, password_hash)


# Verified against when the account does not exist, so that an unknown email costs the same
# time as a wrong password.
_DUMMY_HASH: str | None = None


def dummy_verify(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    verify_password(password, _DUMMY_HASH)
