"""Signed-in sessions, kept in the database so that ending one holds on every replica at once.

The browser's cookie carries a random session key; the database keeps only its SHA-256 (a copy of
the table signs no one in). A session is open from signing in until it is ended (the person logs
out, or an administrator logs the person out everywhere) or it expires. Replicas share only the
database, so every request checks the session here: a session ended on one replica is refused by
all of them on their next request.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from ..storage import transaction

ENDED_BY_SIGN_OUT = "log_ud"  # the person logged out
ENDED_BY_REVOCATION = "tilbagekaldt"  # an administrator logged the person out everywhere
ENDED_BY_NEW_SIGN_IN = "nyt_log_ind"  # someone signed in anew in the same browser
KEEP_ENDED = timedelta(days=1)  # ended or expired sessions are deleted this long afterwards


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    key_hash: str = Field(primary_key=True, max_length=64)  # SHA-256 of the cookie's key, hex
    person_id: str = Field(max_length=32, index=True)
    started_at: datetime
    expires_at: datetime = Field(index=True)
    ended_at: datetime | None = None
    ended_by: str | None = Field(default=None, max_length=16)  # one of ENDED_BY_*


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(engine: Engine, *, key: str, person_id: str, now: datetime, lifetime: timedelta) -> None:
    """Record a new session; sessions gone for a while are cleared away at the same time."""
    with transaction(engine) as session:
        session.exec(delete(WebSession).where(WebSession.expires_at < now - KEEP_ENDED))
        session.exec(delete(WebSession).where(WebSession.ended_at < now - KEEP_ENDED))
        session.add(WebSession(key_hash=_hash(key), person_id=person_id, started_at=now,
                               expires_at=now + lifetime))


def holder(engine: Engine, *, key: str, now: datetime) -> str | None:
    """The person whose open session the key is, or None (unknown, ended or expired)."""
    with Session(engine) as session:
        found = session.get(WebSession, _hash(key))
    if found is None or found.ended_at is not None or _aware(found.expires_at) <= now:
        return None
    return found.person_id


def end(engine: Engine, *, key: str, now: datetime, ended_by: str = ENDED_BY_SIGN_OUT) -> bool:
    """End one session (logging out); whether it was open."""
    with transaction(engine) as session:
        result = session.exec(update(WebSession)
                              .where(WebSession.key_hash == _hash(key),
                                     WebSession.ended_at.is_(None))
                              .values(ended_at=now, ended_by=ended_by))
        return result.rowcount > 0


def end_all(engine: Engine, *, person_id: str, now: datetime,
            ended_by: str = ENDED_BY_REVOCATION) -> int:
    """End every open session of the person (log out everywhere); how many there were."""
    with transaction(engine) as session:
        result = session.exec(update(WebSession)
                              .where(WebSession.person_id == person_id,
                                     WebSession.ended_at.is_(None),
                                     WebSession.expires_at > now)
                              .values(ended_at=now, ended_by=ended_by))
        return result.rowcount


def open_sessions(engine: Engine, *, person_id: str, now: datetime) -> list[WebSession]:
    with Session(engine) as session:
        return list(session.exec(select(WebSession).where(
            WebSession.person_id == person_id, WebSession.ended_at.is_(None),
            WebSession.expires_at > now)))


def _aware(moment: datetime) -> datetime:
    """A naive datetime from the database is in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
