"""The Teams bot: what it answers when people write to it or install it.

Every card action (refresh, acknowledge, the commitment verbs, the plan decision) asks the
domain's access policy (``handleplaner/access.py``) about the id in the card's data first.

Alerts are sent proactively by the delivery worker; here the bot greets, explains itself in
Danish, and keeps the personal conversation so later alerts reach the person in the same chat.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import re
from concurrent.futures import ThreadPoolExecutor

import aiohttp

from microsoft_agents.activity import (Activity, ActivityTypes, AdaptiveCardInvokeResponse,
                                      Attachment)
from microsoft_agents.hosting.core import ActivityHandler, MessageFactory, TurnContext
from sqlalchemy.engine import Engine
from sqlmodel import Session

from handleplaner import access as policy
from handleplaner.clock import utcnow
from handleplaner.directory import queries as directory
from handleplaner.storage import transaction
from notifications.acknowledgements import NotARecipient, acknowledge
from notifications.conversations import keep_conversation
from notifications.messages import alert_message
from notifications.models import Alert, TeamsConversation

from .card_action import (ALERT_MISSING, CARD_MISSING, COMMENT, COMMITMENT_MISSING,
                          COMMITMENT_VERBS, DECISION_VERBS, HAND_TO, REASON, REFRESH,
                          UNKNOWN_PERSON, VERSION_MISSING, CardAction, CardRefused, card_action)
from .involved_command import WORD, register_from_chat

COMMANDS = ("Skriv 'status' for dine åbne hændelser, 'mine opgaver' for dine opgaver i "
            "handleplanerne, eller 'hjælp'.")
HELP = ("Jeg er SSP Beredskabs bot. Når beredskabet aktiveres, får du varslet her i chatten "
        "og på e-mail. Åbn hændelsen fra varslet for at se detaljer og leveringer. SSP "
        "Sekretariatet og den, der aktiverede beredskabet, kan registrere en involveret person: "
        "'involveret H-2026-nnnn Fornavn Efternavn'.")


# Card actions run on threads of their own: someone is waiting for the card, and the default
# executor may be queued deep with the delivery worker's writes during a fan-out. A few threads
# (each holds one database connection while it works; the engine's pool has room for them).
CARD_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kort")


async def on_card_thread(function, *args):
    """``asyncio.to_thread`` on the card actions' own threads (context variables included)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        CARD_THREADS, functools.partial(context.run, function, *args))


async def reply(turn_context: TurnContext, activity, attempts: int = 4) -> None:
    """Send a reply; Teams answers 429 with Retry-After when a chat gets too much at once, and
    the connector client does not retry, so wait as told and try again."""
    for attempt in range(attempts):
        try:
            await turn_context.send_activity(activity)
            return
        except aiohttp.ClientResponseError as error:
            if error.status != 429 or attempt == attempts - 1:
                raise
            try:
                wait = float((error.headers or {}).get("Retry-After", 1))
            except ValueError:
                wait = 1.0
            await asyncio.sleep(min(wait, 10.0))


def _keep_conversation_in(session: Session, person_id: str, conversation_id: str | None,
                          service_url: str, user_mri: str | None = None) -> None:
    """Keep the person's chat with the bot for proactive messages, and their Teams id (MRI);
    usually both are known as is and nothing is written."""
    if not conversation_id:
        return
    known = session.get(TeamsConversation, person_id)
    if known is None or (known.conversation_id, known.service_url) != (conversation_id,
                                                                       service_url) or (
            user_mri and known.user_mri != user_mri):
        keep_conversation(session, person_id, conversation_id, service_url, utcnow(), user_mri)


def teams_id_of(account) -> str | None:
    """The sender's Teams id (MRI, "29:..."), as `from.id` carries it in Teams."""
    value = str(getattr(account, "id", "") or "")
    return value if value.startswith("29:") and len(value) > 3 else None


class BeredskabAgent(ActivityHandler):
    def __init__(self, engine: Engine, link_base: str = "", on_change=None) -> None:
        self.engine = engine
        self.link_base = link_base
        self.on_change = on_change or (lambda: None)
        self.pressed = lambda verb, status: None  # card presses counted (bot/metrics.py)

    def _person(self, aad_object_id: str | None):
        if not aad_object_id:
            return None
        with Session(self.engine) as session:
            return directory.person_by_teams_id(session, aad_object_id)

    def _keep_conversation(self, person_id: str, conversation_id: str, service_url: str,
                           user_mri: str | None = None) -> None:
        with transaction(self.engine) as session:
            _keep_conversation_in(session, person_id, conversation_id, service_url, user_mri)

    async def _remember(self, turn_context: TurnContext):
        activity = turn_context.activity
        sender = activity.from_property
        person = await asyncio.to_thread(self._person, getattr(sender, "aad_object_id", None))
        if person is not None and activity.conversation and activity.conversation.id:
            await asyncio.to_thread(self._keep_conversation, person.id, activity.conversation.id,
                                    activity.service_url or "", teams_id_of(sender))
        return person

    async def on_message_activity(self, turn_context: TurnContext):
        person = await self._remember(turn_context)
        if person is None:
            await reply(turn_context, MessageFactory.text(
                "Du findes ikke i SSP Beredskabs organisationsoversigt. "
                "Kontakt SSP Sekretariatet, hvis du skal have varsler."))
            return
        text = re.sub(r"<at>.*?</at>", " ", turn_context.activity.text or "", flags=re.S | re.I)
        command = re.sub(r"<[^>]+>", " ", text).strip().lower()  # a mention in a channel
        command = " ".join(command.split())
        if command in ("mine opgaver", "opgaver"):
            card = await asyncio.to_thread(self._my_tasks, person)
            if card is None:
                await reply(turn_context, MessageFactory.text("Du har ingen åbne opgaver."))
            else:
                await reply(turn_context, MessageFactory.attachment(
                    Attachment(content_type="application/vnd.microsoft.card.adaptive",
                               content=card)))
            return
        if command == "status":
            await reply(turn_context, MessageFactory.text(
                await asyncio.to_thread(self._status, person)))
            return
        if command == WORD or command.startswith(f"{WORD} "):  # a person the incident concerns
            plain = " ".join(re.sub(r"<[^>]+>", " ", text).split())
            await reply(turn_context, MessageFactory.text(await asyncio.to_thread(
                register_from_chat, self.engine, person.id, plain)))
            return
        if command in ("hjælp", "hjaelp", "help", "?", ""):
            await reply(turn_context, MessageFactory.text(f"Hej {person.name}. {HELP}\n\n{COMMANDS}"))
            return
        await reply(turn_context, MessageFactory.text(
            f"Det forstår jeg ikke: '{command[:60]}'. {COMMANDS}"))

    def _my_tasks(self, person):
        from notifications.messages import my_tasks_card

        with Session(self.engine) as session:
            return my_tasks_card(session, person, self.link_base)

    def _status(self, person) -> str:
        """The open incidents the person is part of (alerted, or owning a commitment)."""
        from sqlmodel import select

        from handleplaner.commitments.models import Commitment
        from handleplaner.incidents import Incident
        from handleplaner.incidents.states import STATE_LABELS
        from notifications.models import Delivery

        with Session(self.engine) as session:
            ids = set(session.exec(select(Delivery.incident_id).where(Delivery.person_id == person.id)))
            ids |= set(session.exec(select(Commitment.incident_id).where(
                Commitment.responsible_id == person.id)))
            incidents = [i for i in session.exec(select(Incident).where(Incident.id.in_(ids)))
                         if i.state != "afsluttet"]
            if not incidents:
                return "Du er ikke med i nogen åbne hændelser."
            lines = [f"- {i.reference}{' (ØVELSE)' if i.exercise else ''}: {i.title} – "
                     f"{STATE_LABELS.get(i.state, i.state)}" for i in incidents]
            return "Åbne hændelser, du er med i:\n" + "\n".join(lines)

    async def on_members_added_activity(self, members_added, turn_context: TurnContext):
        """Installing the bot in personal scope lists only the bot as added; either way the
        personal conversation is kept so the first alert needs no new conversation."""
        person = await self._remember(turn_context)
        name = f" {person.name}" if person else ""
        await reply(turn_context, MessageFactory.text(f"Velkommen{name}. {HELP}"))

    # Card actions (Action.Execute) -------------------------------------------------------
    def _acknowledge(self, aad_object_id: str | None, alert_id: int | None,
                     conversation_id: str | None, service_url: str,
                     user_mri: str | None = None) -> tuple[int, dict | str]:
        with transaction(self.engine) as session:
            person = directory.person_by_teams_id(session, aad_object_id) if aad_object_id else None
            if person is None:
                return 403, UNKNOWN_PERSON
            _keep_conversation_in(session, person.id, conversation_id, service_url, user_mri)
            if policy.visible(session, person.id, "alert", alert_id) is None:
                return 404, ALERT_MISSING  # missing, or of an incident the person may not see
            try:
                done = acknowledge(session, alert_id=alert_id, person_id=person.id, via="teams")
            except NotARecipient as error:
                return 403, str(error)
            card = alert_message(session, done.alert, self.link_base, acknowledged=done.text).card
        self.on_change()
        return 200, card

    def _refreshed(self, aad_object_id: str | None, alert_id: int | None):
        """Universal Actions refresh: the task card as it stands now, for those who may see its
        incident. Anyone else, known or not, gets None, as for an alert that does not exist."""
        from notifications.messages import commitments_message

        with Session(self.engine) as session:
            person = directory.person_by_teams_id(session, aad_object_id) if aad_object_id else None
            if policy.visible(session, person.id if person else None, "alert", alert_id) is None:
                return None
            alert = session.get(Alert, alert_id)
            if alert.kind != "opgaver":
                return None
            return commitments_message(session, alert, self.link_base).card

    def _press(self, aad_object_id: str | None, action: CardAction) -> tuple[int, dict | str]:
        """Bekræft / Afvis / Videregiv / I gang / Udført / Blokeret on an authority's task card."""
        import json

        from sqlmodel import select

        from handleplaner.commitments.service import (CommitmentRefused, NotYours,
                                                      SupersededVersion, press, record_refusal)
        from notifications.messages import commitments_message

        verb = action.verb
        commitment_id, version_id = action.id("commitment_id"), action.id("version_id")
        reason = action.text((f"grund_{commitment_id}", "reason"), REASON)
        hand_to = action.text((f"til_{commitment_id}", "hand_to"), HAND_TO)
        person_id = incident_id = None
        refused = None
        try:
            # One session: who pressed, the press (committed at once, letting go of the
            # incident), then the card redrawn as it now stands.
            with transaction(self.engine) as session:
                person = directory.person_by_teams_id(session, aad_object_id) if aad_object_id else None
                if person is None:
                    return 403, UNKNOWN_PERSON
                person_id = person.id
                # Through its incident: an id the person may not see, or a card version of
                # another incident, is answered as an id that does not exist; nothing recorded.
                found = policy.visible_commitment(session, person_id, commitment_id)
                if found is None or (version_id is not None and policy.version_in(
                        session, found.incident_id, version_id) is None):
                    return 404, COMMITMENT_MISSING
                incident_id = found.incident_id
                done = press(session, commitment_id=commitment_id, version_id=version_id,
                             person_id=person_id, action=verb,
                             reason=reason if verb in ("afvis", "blokeret") else "",
                             note=reason if verb not in ("afvis", "blokeret") else "",
                             hand_to=hand_to or None, via="teams")
                session.commit()
                commitment = done.commitment
                audience = json.dumps({"authority": commitment.authority_code})
                alert = session.exec(select(Alert).where(
                    Alert.kind == "opgaver", Alert.plan_version_id == commitment.version_id,
                    Alert.audience == audience)).first()
                if alert is None:
                    alert = session.exec(select(Alert).where(
                        Alert.kind == "opgaver", Alert.incident_id == commitment.incident_id,
                        Alert.audience == audience).order_by(Alert.id.desc())).first()
                card = commitments_message(session, alert, self.link_base).card
        except SupersededVersion as error:
            return 409, str(error)
        except NotYours as error:
            with transaction(self.engine) as session:
                record_refusal(session, incident_id=incident_id, commitment_id=commitment_id,
                               person_id=person_id, action=verb, via="teams")
            refused = str(error)
        except CommitmentRefused as error:
            refused = str(error)
        if refused is not None:
            return 403, refused
        self.on_change()
        return 200, card

    def _decide(self, aad_object_id: str | None, action: CardAction) -> tuple[int, dict | str]:
        """Godkend / Afvis / Kommentér on the styregruppe's card."""
        from sqlmodel import select

        from handleplaner.plans.service import PlanInvalid, PlanRefused, decide
        from notifications.messages import approval_message

        verb, version_id = action.verb, action.id("version_id")
        comment = action.text(("comment",), COMMENT)
        with transaction(self.engine) as session:
            person = directory.person_by_teams_id(session, aad_object_id) if aad_object_id else None
            if person is None:
                return 403, UNKNOWN_PERSON
            if policy.visible_version(session, person.id, version_id) is None:
                return 404, VERSION_MISSING  # missing, or of an incident the person may not see
            try:
                done = decide(session, version_id=version_id, person_id=person.id, decision=verb,
                              comment=comment, via="teams")
            except (PlanInvalid, PlanRefused) as error:
                return 403 if isinstance(error, PlanRefused) else 400, str(error)
            alert = session.exec(select(Alert).where(Alert.plan_version_id == version_id,
                                                     Alert.kind == "godkendelse")).first()
            verb_text = {"godkend": "godkendte", "afvis": "afviste", "kommentar": "kommenterede"}[verb]
            outcome = f"{person.name} {verb_text} version {done.version.number}."
            if done.version.state in ("godkendt", "afvist"):
                outcome += f" Planen er {done.version.state}."
            card = approval_message(session, alert, self.link_base, outcome=outcome,
                                    with_pdf=False).card
        self.on_change()
        return 200, card

    async def on_turn(self, turn_context: TurnContext):
        """As the SDK's, except for invokes: a card action (``adaptiveCard/action``) is read here,
        strictly (``card_action.py``), not by the SDK's model, and its answer goes straight where
        the adapter takes it from (the SDK "sends" it as an activity, deep-copying the whole card
        on the event loop only for the adapter to put it in the HTTP response). An invoke the bot
        does not offer is refused (400), as is a card action it cannot read."""
        activity = turn_context.activity
        if activity.type != ActivityTypes.invoke:
            return await super().on_turn(turn_context)
        if activity.name == "adaptiveCard/action":
            response = await self.on_card_action(turn_context)
        else:
            response = refused(400, f"Ukendt handling: {str(activity.name or '')[:40]}")
        key = turn_context.adapter.INVOKE_RESPONSE_KEY
        if not turn_context.turn_state.get(key):
            turn_context.turn_state[key] = Activity(
                type=ActivityTypes.invoke_response,
                value={"status": 200, "body": response.model_dump(
                    mode="json", by_alias=True, exclude_none=True)})

    async def on_card_action(self, turn_context: TurnContext) -> AdaptiveCardInvokeResponse:
        """Universal Actions: each verb asks the access policy in a thread of its own; the answer
        is the redrawn card, or an error the card shows (never an exception's text)."""
        activity = turn_context.activity
        sender = getattr(activity.from_property, "aad_object_id", None)
        verb = None
        try:
            action = card_action(activity.value)
            verb, data = action.verb, action.data
            if verb == REFRESH:
                card = await on_card_thread(self._refreshed, sender, action.id("alert_id"))
                status, result = (200, card) if card is not None else (404, CARD_MISSING)
            elif verb in COMMITMENT_VERBS and (verb != "afvis" or "commitment_id" in data):
                status, result = await on_card_thread(self._press, sender, action)
            elif verb in DECISION_VERBS:
                status, result = await on_card_thread(self._decide, sender, action)
            else:  # ACKNOWLEDGE: one session on the card threads: who, the chat, the receipt
                status, result = await on_card_thread(
                    self._acknowledge, sender, action.id("alert_id"),
                    activity.conversation.id if activity.conversation else None,
                    activity.service_url or "", teams_id_of(activity.from_property))
        except CardRefused as error:
            status, result = error.status, error.message
        self.pressed(verb, status)
        if status != 200:
            return refused(status, result)
        return AdaptiveCardInvokeResponse(status_code=200,
                                          type="application/vnd.microsoft.card.adaptive",
                                          value=result)


def refused(status: int, message: str) -> AdaptiveCardInvokeResponse:
    """A card action's refusal, as the card shows it."""
    return AdaptiveCardInvokeResponse(status_code=status, type="application/vnd.microsoft.error",
                                      value={"code": "Refused", "message": message})
