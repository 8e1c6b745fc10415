"""The Teams bot: what it answers when people write to it or install it.

Alerts are sent proactively by the delivery worker; here the bot greets, explains itself in
Danish, and keeps the personal conversation so later alerts reach the person in the same chat.
"""
from __future__ import annotations

import asyncio

from microsoft_agents.hosting.core import ActivityHandler, MessageFactory, TurnContext
from sqlalchemy.engine import Engine
from sqlmodel import Session

from handleplaner.clock import utcnow
from handleplaner.directory import queries as directory
from handleplaner.storage import transaction
from notifications.models import TeamsConversation

HELP = ("Jeg er SSP Beredskabs bot. Når beredskabet aktiveres, får du varslet her i chatten "
        "og på e-mail. Åbn hændelsen fra varslet for at se detaljer og leveringer.")


class BeredskabAgent(ActivityHandler):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _person(self, aad_object_id: str | None):
        if not aad_object_id:
            return None
        with Session(self.engine) as session:
            return directory.person_by_teams_id(session, aad_object_id)

    def _keep_conversation(self, person_id: str, conversation_id: str, service_url: str) -> None:
        with transaction(self.engine) as session:
            existing = session.get(TeamsConversation, person_id)
            if existing is None:
                session.add(TeamsConversation(person_id=person_id, conversation_id=conversation_id,
                                              service_url=service_url or "", created_at=utcnow()))
            elif (existing.conversation_id, existing.service_url) != (conversation_id, service_url):
                existing.conversation_id = conversation_id
                existing.service_url = service_url or ""
                session.add(existing)

    async def _remember(self, turn_context: TurnContext):
        activity = turn_context.activity
        sender = activity.from_property
        person = await asyncio.to_thread(self._person, getattr(sender, "aad_object_id", None))
        if person is not None and activity.conversation and activity.conversation.id:
            await asyncio.to_thread(self._keep_conversation, person.id, activity.conversation.id,
                                    activity.service_url or "")
        return person

    async def on_message_activity(self, turn_context: TurnContext):
        person = await self._remember(turn_context)
        if person is None:
            await turn_context.send_activity(MessageFactory.text(
                "Du findes ikke i SSP Beredskabs organisationsoversigt. "
                "Kontakt SSP Sekretariatet, hvis du skal have varsler."))
            return
        await turn_context.send_activity(MessageFactory.text(f"Hej {person.name}. {HELP}"))

    async def on_members_added_activity(self, members_added, turn_context: TurnContext):
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(member.id != bot_id for member in members_added):
            person = await self._remember(turn_context)
            name = f" {person.name}" if person else ""
            await turn_context.send_activity(MessageFactory.text(f"Velkommen{name}. {HELP}"))
