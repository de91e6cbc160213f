"""FastAPI dependencies shared by the API and the pages (FastAPI template style: Annotated)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from suivi.config import Settings
from suivi.db import session_scope

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; it commits when the route returns, before the response
    leaves (scope="function"), so a client never sees a success that was not saved."""
    write = request.method not in SAFE_METHODS
    with session_scope(request.app.state.engine, write=write) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
