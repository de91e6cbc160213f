"""The fast path of the login rate limit: an address with no attempt left is answered 429
before its request is read.

A host flooding the login (hundreds of attempts a second) is refused by the per-address
bucket of `suivi.auth.ratelimit`; inside the routes, each refusal still cost the whole
request machinery on the event loop (routing, the form parsing, the dependencies), and
the writers' tail waited for that loop (issue 15, `bench/login_flood.py`). `LoginGate`,
a pure ASGI middleware, answers a POST to a login path at once when the client address's
bucket is already empty: the body is never read, no database is touched, nothing is
taken from any bucket (`LoginRateLimiter.address_retry_after` only looks).

It is a fast path, not a second set of rules: the same limiter (`login_limiter(app)`) and
the same answer as the route's own (each login path gives its renderer). Every other
attempt goes on to the route, which takes its tokens, applies the per-account limit and
the backoff as before.

The refusal is held `[login] refused_pause_seconds` (1 s) before it is sent: the pause is
an `asyncio.sleep`, so it costs the server nothing, while a flooding client waits for each
answer before its next attempt. Refusals inside the routes (the per-account limit, the
backoff) are not held: those run in the thread pool, where a pause would hold a thread.
The gate sits inside `SecurityHeaders`, so its answers carry the
security headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from suivi.auth.deps import client_address
from suivi.auth.ratelimit import login_limiter

# The route's refusal for that many seconds (status 429, `Retry-After`, French message).
RefusalAnswer = Callable[[Request, int], Response]


class LoginGate:
    def __init__(self, app: ASGIApp, *, answers: Mapping[str, RefusalAnswer]) -> None:
        self.app = app
        self.answers = dict(answers)  # login path → its 429 answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            answer = self.answers.get(scope["path"])
            if answer is not None:
                request = Request(scope)  # without `receive`: the body cannot be read
                limiter = login_limiter(request.app)
                wait = limiter.address_retry_after(client_address(request))
                if wait:
                    pause = request.app.state.settings.login.refused_pause_seconds
                    if pause:
                        await asyncio.sleep(pause)
                    await answer(request, wait)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
