"""FastAPI dependencies shared by the API and the pages (FastAPI template style: Annotated)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session

from suivi.config import Settings
from suivi.db import finish_session, open_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; it commits when the route returns, before the response
    leaves (scope="function"), so a client never sees a success that was not saved.

    The same unit of work as `session_scope`, but async: opening a session does no I/O, so
    only its end (commit or rollback, close) takes a worker thread. A sync generator would
    take two threadpool hops per request, one to open and one to close.
    """
    write = request.method not in SAFE_METHODS
    session = open_session(request.app.state.engine, write=write)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(finish_session, session, commit=False)
        raise
    await run_in_threadpool(finish_session, session, commit=True)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
