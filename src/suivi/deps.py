"""FastAPI dependencies shared by the API and the pages (FastAPI template style: Annotated),
and the request's unit of work (`get_session` + `CommitOnSuccess`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Iterable
from typing import Annotated
from typing import Any

from fastapi import Depends
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.types import ASGIApp
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from suivi.config import Settings
from suivi.db import finish_session
from suivi.db import open_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Key of the ASGI scope holding the request's sessions that await the response's status.
_PENDING_SESSIONS = "suivi.pending_sessions"
# Keys of a request session's `info`: it is one, and it is already committed and closed.
_REQUEST_SESSION = "suivi_request_session"
_FINISHED = "suivi_finished"


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, committed only if the response is a success (status < 400),
    before the response leaves, so a client never sees a success that was not saved, and a
    refused form or API call (4xx, 5xx) never leaves half its writes behind.

    The route raising: rolled back here. The route returning: `CommitOnSuccess` finishes the
    session when the response starts, once its status is known (behind an app without that
    middleware, it commits here, as before). Opening a session does no I/O, so only its end
    (commit or rollback, close) takes a worker thread.
    """
    write = request.method not in SAFE_METHODS
    session = open_session(request.app.state.engine, write=write)
    session.info[_REQUEST_SESSION] = True
    try:
        yield session
    except BaseException:
        await run_in_threadpool(finish_session, session, commit=False)
        raise
    if session.info.get(_FINISHED):  # committed in the endpoint's thread (UnitOfWorkRoute)
        return
    pending: list[Session] | None = request.scope.get(_PENDING_SESSIONS)
    if pending is None:
        await run_in_threadpool(finish_session, session, commit=True)
    else:
        pending.append(session)


def _finish_all(sessions: list[Session], *, commit: bool) -> None:
    for session in sessions:
        finish_session(session, commit=commit)


class CommitOnSuccess:
    """Pure ASGI middleware ending the request's unit of work when the response's status is
    known: commit for status < 400, else roll back; before the status line leaves (a failed
    commit still gets an error response). A response never started (the client left, an
    error): rolled back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pending: list[Session] = []
        scope[_PENDING_SESSIONS] = pending

        async def send_after_finishing(message: Message) -> None:
            if message["type"] == "http.response.start" and pending:
                sessions = pending[:]
                pending.clear()
                await run_in_threadpool(_finish_all, sessions, commit=message["status"] < 400)
            await send(message)

        try:
            await self.app(scope, receive, send_after_finishing)
        finally:
            if pending:
                await run_in_threadpool(_finish_all, pending[:], commit=False)
                pending.clear()


class UnitOfWorkRoute(APIRoute):
    """A route whose sync endpoint, when it returns a success `Response` (status < 400),
    commits the request's session at once, in the endpoint's own worker thread.

    On SQLite a writing session holds the write lock from its first query to its commit.
    Committed by the boundary, the lock would also be held across the event-loop turns and
    the threadpool hop between the endpoint and the commit, and every concurrent writer
    would queue behind them (issue 14: the write-latency tail). The rule is unchanged:
    only a success is committed; anything else is left to `get_session`/`CommitOnSuccess`.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _committing_on_success(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _committing_on_success(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the parameters through __wrapped__
    def endpoint_then_commit(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        if isinstance(result, Response) and result.status_code < 400:
            for session in _request_sessions(kwargs.values()):
                finish_session(session, commit=True)
                session.info[_FINISHED] = True
        return result

    return endpoint_then_commit


def _request_sessions(values: Iterable[Any]) -> list[Session]:
    """The request sessions among an endpoint's arguments (directly, or a page's)."""
    found = []
    for value in values:
        session = value if isinstance(value, Session) else getattr(value, "session", None)
        if (
            isinstance(session, Session)
            and session.info.get(_REQUEST_SESSION)
            and not session.info.get(_FINISHED)
            and session not in found
        ):
            found.append(session)
    return found


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
