"""The bot's personal conversation with each person, kept for proactive messages.

Two writers meet here: the delivery worker, which learns the conversation when Teams creates it,
and the bot, which sees it on every activity a person sends (a card press among them). On
PostgreSQL both may find no row and insert at the same moment, so the write is one upsert: the
second writer updates what the first inserted instead of failing on the primary key.

The bot also keeps the person's Teams id (MRI, ``from.id`` of their activities), which Adaptive
Cards' ``refresh.userIds`` need."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from .models import TeamsConversation


def keep_conversation(session: Session, person_id: str, conversation_id: str, service_url: str,
                      now: datetime, user_mri: str | None = None) -> None:
    """Insert or update the person's conversation; an empty service URL, or no Teams id (MRI),
    keeps the known one."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(TeamsConversation).values(
        person_id=person_id, conversation_id=conversation_id, service_url=service_url or "",
        created_at=now, user_mri=user_mri or None)
    table = TeamsConversation.__table__
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.person_id],
        set_={"conversation_id": statement.excluded.conversation_id,
              "service_url": func.coalesce(func.nullif(statement.excluded.service_url, ""),
                                           table.c.service_url),
              "user_mri": func.coalesce(statement.excluded.user_mri, table.c.user_mri)}))


def teams_ids(session: Session, person_ids) -> dict[str, str]:
    """person id -> Teams id (MRI), for the people whose Teams id the bot has learnt."""
    from sqlmodel import select

    ids = set(person_ids)
    if not ids:
        return {}
    return {person_id: mri for person_id, mri in session.exec(
        select(TeamsConversation.person_id, TeamsConversation.user_mri).where(
            TeamsConversation.person_id.in_(ids), TeamsConversation.user_mri.is_not(None)))}
