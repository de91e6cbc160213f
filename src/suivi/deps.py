"""FastAPI dependencies shared by the API and the pages (FastAPI template style: Annotated),
and the request's unit of work (`get_session` + `CommitOnSuccess`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from suivi.config import Settings
from suivi.db import finish_session, open_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Key of the ASGI scope holding the request's sessions that await the response's status.
_PENDING_SESSIONS = "suivi.pending_sessions"


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
    try:
        yield session
    except BaseException:
        await run_in_threadpool(finish_session, session, commit=False)
        raise
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


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
