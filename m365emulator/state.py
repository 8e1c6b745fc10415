"""The emulator's state: mailboxes, Teams chats and channels, conversations, records, faults, keys and limits."""

from __future__ import annotations

import copy
import datetime as dt
import random
import time
import uuid
from dataclasses import dataclass

from . import bot_client
from .channels import thread_conversation_id
from .config import EmulatorConfig
from .entra_directory import EntraDirectory
from .faults import Faults, Outcome
from .keys import SigningKey, shared_key
from .limits import Clock
from .mail import OutgoingMail, mailbox_copies
from .quotas import MicrosoftQuotas
from .records import RequestLog
from .sign_in import AuthorizationCodes, id_token_claims
from .sign_in import sign as sign_user_token
from .teams_activities import ADAPTIVE_CARD, ActivityIds, personal_conversation_id
from .tokens import (
    BOT_ISSUER,
    BOTFRAMEWORK_TENANT,
    BOTFRAMEWORK_TENANT_ID,
    GRAPH_RESOURCE,
    TokenRejected,
    app_id_of,
    bearer_token,
    issue_access_token,
    resource_from_scope,
    sign_activity_token,
    verify_access_token,
)


@dataclass(frozen=True)
class RequestFate:
    """What happens to one request before it is handled: a delay, then perhaps a fault."""

    delay: float = 0.0
    outcome: Outcome | None = None
    error_status: int = 503
    retry_after: int = 2


def utc_now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Emulator:
    """Everything the emulated Microsoft 365 knows. Served by `create_emulator_app`."""

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock = time.monotonic) -> None:
        self.config = config or EmulatorConfig()
        self.clock = clock
        self.rng = random.Random(self.config.seed)
        self.aad_key: SigningKey = shared_key("aad")
        self.bot_key: SigningKey = shared_key("botframework")
        self.quotas = MicrosoftQuotas(enabled=self.config.limits, clock=clock)
        self.log = RequestLog(self.config.record_dir)
        self.faults: Faults | None = None
        # lower-cased address -> messages received (oldest first)
        self.mailboxes: dict[str, list[dict]] = {}
        # sending mailbox -> messages sent with saveToSentItems
        self.sent_items: dict[str, list[dict]] = {}
        # Teams user id (Entra object id) -> activities the bot posted in the personal chat
        self.chats: dict[str, list[dict]] = {}
        # conversation id -> {"id", "user_id", "tenant_id", "conversation_type", "created_at"}
        self.conversations: dict[str, dict] = {}
        # activities sent to the bot, with the bot's answer
        self.to_bot: list[dict] = []
        # Teams channel id -> threads the bot started there (oldest first), each with its "replies"
        self.channels: dict[str, list[dict]] = {}
        # thread conversation id ("<channel id>;messageid=<root id>") ->
        # {"id", "channel_id", "thread_id", "tenant_id", "conversation_type": "channel", "created_at"}
        self.channel_conversations: dict[str, dict] = {}
        # lower-cased address -> calendar events in Graph's shape (calendar.py): the organizer's own
        # (isOrganizer) and attendees' copies (same iCalUId); cancelled ones stay with isCancelled
        self.calendars: dict[str, list[dict]] = {}
        # The SMTP server's port once started (EmulatorConfig.smtp_port), else None.
        self.smtp_port: int | None = None
        # Sign-in (authorization code flow): codes handed out by the authorize endpoint
        self.authorization_codes = AuthorizationCodes(clock)
        # Tests: claims to add or replace (None: remove) in the id tokens issued, and another key to
        # sign them with (e.g. `rogue_key()`), to see that a service refuses them.
        self.id_token_changes: dict = {}
        self.id_token_key: SigningKey | None = None
        # Entra ID's users and groups (`groups/{id}/members`); kept by reset(), like the config.
        self.directory = EntraDirectory(self.config.directory)
        self._activity_ids = ActivityIds()
        self._base_url: str | None = None

    # Addresses ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str | None:
        """Where the emulator is served, e.g. `http://127.0.0.1:5123` (None until known)."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str | None) -> None:
        self._base_url = value.rstrip("/") if value else None

    def _require_base_url(self) -> str:
        if not self._base_url:
            raise RuntimeError("the emulator's base_url is not known yet (start it with start_emulator)")
        return self._base_url

    @property
    def service_url(self) -> str:
        """The Bot Connector's serviceUrl given to the bot."""
        return f"{self._require_base_url()}/connector/"

    @property
    def aad_issuer(self) -> str:
        return self.issuer_for(self.config.tenant_id)

    def tenant_id_for(self, tenant: str) -> str | None:
        """The tenant id behind a tenant in a URL (our tenant, or `botframework.com`); None if unknown."""
        if tenant.lower() == self.config.tenant_id.lower():
            return self.config.tenant_id
        if tenant.lower() in (BOTFRAMEWORK_TENANT, BOTFRAMEWORK_TENANT_ID):
            return BOTFRAMEWORK_TENANT_ID
        return None

    def issuer_for(self, tenant_id: str) -> str:
        return f"{self._require_base_url()}/{tenant_id}/v2.0"

    @property
    def accepted_issuers(self) -> list[str]:
        return [self.issuer_for(self.config.tenant_id), self.issuer_for(BOTFRAMEWORK_TENANT_ID)]

    @property
    def requests(self) -> list[dict]:
        return self.log.records

    # Tokens --------------------------------------------------------------------------------
    def issue_access_token(
        self, client_id: str, scope: str, *, expires_in: int = 3599, tenant_id: str | None = None
    ) -> str:
        """An access token as the token endpoint gives it (scope `.../.default` or a bare resource)."""
        audience = resource_from_scope(scope) or scope
        tenant_id = tenant_id or self.config.tenant_id
        return issue_access_token(
            self.aad_key,
            issuer=self.issuer_for(tenant_id),
            tenant_id=tenant_id,
            client_id=client_id,
            audience=audience,
            expires_in=expires_in,
            roles=self.config.graph_permissions if audience == GRAPH_RESOURCE else None,
        )

    def issue_id_token(self, *, client_id: str, user: dict, nonce: str | None, tenant_id: str | None = None) -> str:
        """The id_token given to `client_id` for `user` (with `id_token_changes` applied)."""
        tenant_id = tenant_id or self.config.tenant_id
        claims = id_token_claims(issuer=self.issuer_for(tenant_id), tenant_id=tenant_id, client_id=client_id,
                                 user=user, nonce=nonce)
        for name, value in self.id_token_changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return sign_user_token(claims, self.id_token_key or self.aad_key)

    def check_token(self, authorization: str | None, *, audiences: list[str], app_id: str | None = None) -> dict:
        """The claims of a bearer token we issued for one of `audiences`; TokenRejected if not."""
        claims = verify_access_token(
            bearer_token(authorization), self.aad_key, issuer=self.accepted_issuers, audiences=audiences
        )
        if app_id is not None and app_id_of(claims) != app_id:
            raise TokenRejected("Access token validation failure. The token was not issued to the bot.")
        return claims

    def signed_activity_token(
        self,
        *,
        audience: str | None = None,
        expires_in: int = 3600,
        key: SigningKey | None = None,
        service_url: str | None = None,
        issuer: str = BOT_ISSUER,
    ) -> str:
        """The bearer token sent with activities to the bot; override parts to make bad ones."""
        return sign_activity_token(
            key or self.bot_key,
            audience=audience or self.config.bot_app_id,
            service_url=service_url or self.service_url,
            expires_in=expires_in,
            issuer=issuer,
        )

    @staticmethod
    def rogue_key() -> SigningKey:
        """A key the emulator does not publish: tokens signed with it must be refused."""
        return shared_key("rogue")

    # Faults and latency --------------------------------------------------------------------
    def set_faults(self, faults: Faults, *, seed: int | None = None) -> None:
        self.faults = faults
        if seed is not None:
            self.rng.seed(seed)

    def clear_faults(self) -> None:
        self.faults = None

    def request_fate(self, api: str) -> RequestFate:
        """Draw the delay and the fault (if any) for one request to `api`; counts down `count`."""
        faults = self.faults
        if faults is not None and faults.expired():
            self.faults = faults = None
        low, high = self.config.latency_ms
        if faults is None or not faults.applies_to(api):
            return RequestFate(delay=self._uniform_ms(low, high))
        if faults.latency_ms:
            low, high = faults.latency_ms
        self.faults = faults.used_once()
        outcome = faults.draw(self.rng)
        return RequestFate(
            delay=self._uniform_ms(low, high),
            outcome=outcome,
            error_status=faults.error_status_for(self.rng),
            retry_after=faults.retry_after,
        )

    def _uniform_ms(self, low: int, high: int) -> float:
        return self.rng.uniform(low, high) / 1000.0 if high > 0 else 0.0

    def reset(self) -> None:
        """Forget everything that happened (mail, calendars, chats, conversations, records, limits, faults)."""
        self.mailboxes.clear()
        self.sent_items.clear()
        self.chats.clear()
        self.conversations.clear()
        self.to_bot.clear()
        self.channels.clear()
        self.channel_conversations.clear()
        self.calendars.clear()
        self.authorization_codes.clear()
        self.id_token_changes = {}
        self.id_token_key = None
        self.log.clear()
        self.quotas.reset()
        self.faults = None

    # People --------------------------------------------------------------------------------
    def user_name(self, user_id: str) -> str:
        person = self.config.person_by_user_id(user_id)
        return str(person["name"]) if person and person.get("name") else "Testbruger"

    def mailbox_address(self, user: str) -> str:
        """`users/{id}` may be an address or an object id; the address if we know it."""
        person = self.config.person_by_user_id(user)
        if person and person.get("email"):
            return str(person["email"]).lower()
        return user.lower()

    # Mail ----------------------------------------------------------------------------------
    def deliver_mail(self, sender: str, mail: OutgoingMail) -> list[dict]:
        """Put a copy in each recipient's mailbox; return the copies."""
        sender_address = self.mailbox_address(sender)
        person = self.config.person_by_email(sender_address)
        copies = mailbox_copies(mail, sender=sender_address, sender_name=(person or {}).get("name", ""))
        for address, message in copies:
            self.mailboxes.setdefault(address, []).append(message)
        if mail.save_to_sent_items and copies:
            sent = dict(
                copies[0][1],
                id=str(uuid.uuid4()),
                to=[r["address"] for r in mail.to],
                bcc=[r["address"] for r in mail.bcc],
                extended_properties=dict(mail.extended_properties),
            )
            self.sent_items.setdefault(sender_address, []).append(sent)
        return [message for _, message in copies]

    # Teams conversations -------------------------------------------------------------------
    def personal_conversation(self, user_id: str) -> dict:
        """The one-to-one chat between the user and the bot (created on first use)."""
        conversation_id = personal_conversation_id(self.config.tenant_id, self.config.bot_app_id, user_id)
        if conversation_id not in self.conversations:
            self.conversations[conversation_id] = {
                "id": conversation_id,
                "user_id": user_id,
                "tenant_id": self.config.tenant_id,
                "conversation_type": "personal",
                "created_at": utc_now_iso(),
            }
            self.chats.setdefault(user_id, [])
        return self.conversations[conversation_id]

    def new_activity_id(self) -> str:
        return self._activity_ids.next()

    def post_activity(self, conversation_id: str, activity: dict, *, reply_to_id: str | None = None) -> str:
        """Store an activity the bot posted; KeyError if the conversation is unknown."""
        if conversation_id in self.channel_conversations:
            return self._post_in_thread(conversation_id, activity, reply_to_id=reply_to_id)
        conversation = self.conversations[conversation_id]
        activity_id = self.new_activity_id()
        stored = dict(activity, id=activity_id)
        stored.setdefault("timestamp", utc_now_iso())
        if reply_to_id:
            stored.setdefault("replyToId", reply_to_id)
        self.chats.setdefault(conversation["user_id"], []).append(
            {
                "id": activity_id,
                "conversation_id": conversation_id,
                "user_id": conversation["user_id"],
                "activity": stored,
                "version": 1,
                "history": [],
                "posted_at": utc_now_iso(),  # when Teams took it (Graph's createdDateTime), whatever the bot stamped
                "updated_at": None,
                "reply_to_id": reply_to_id,
                "deleted": False,
            }
        )
        return activity_id

    def chat_entry(self, conversation_id: str, activity_id: str) -> dict:
        """The stored activity; KeyError if the conversation or the activity is unknown."""
        if conversation_id in self.channel_conversations:
            return self._thread_entry(conversation_id, activity_id)
        conversation = self.conversations[conversation_id]
        for entry in self.chats.get(conversation["user_id"], []):
            if entry["id"] == activity_id:
                return entry
        raise KeyError(activity_id)

    def update_activity(self, conversation_id: str, activity_id: str, activity: dict) -> dict:
        """Replace a posted activity (its card), keeping the earlier versions."""
        entry = self.chat_entry(conversation_id, activity_id)
        entry["history"].append(entry["activity"])
        entry["activity"] = dict(activity, id=activity_id)
        entry["version"] += 1
        entry["updated_at"] = utc_now_iso()
        return entry

    def delete_activity(self, conversation_id: str, activity_id: str) -> None:
        entry = self.chat_entry(conversation_id, activity_id)
        entry["deleted"] = True
        entry["updated_at"] = utc_now_iso()

    def apply_card_from_invoke(self, user_id: str, activity_id: str, card: dict) -> None:
        """Teams replaces the card with the one the bot returned to an Action.Execute."""
        conversation = self.personal_conversation(user_id)
        try:
            entry = self.chat_entry(conversation["id"], activity_id)
        except KeyError:
            return
        updated = copy.deepcopy(entry["activity"])
        for attachment in updated.get("attachments") or []:
            if isinstance(attachment, dict) and attachment.get("contentType") == ADAPTIVE_CARD:
                attachment["content"] = card
                break
        else:
            return
        self.update_activity(conversation["id"], activity_id, updated)

    # Teams channels ------------------------------------------------------------------------
    def channel_accepted(self, channel_id: str) -> bool:
        """Any channel when none are configured (the bot is taken to be installed in its team)."""
        return not self.config.channels or self.config.channel_by_id(channel_id) is not None

    def channel_name(self, channel_id: str) -> str:
        channel = self.config.channel_by_id(channel_id)
        return str(channel["name"]) if channel and channel.get("name") else channel_id

    def channel_conversation(self, conversation_id: str) -> dict | None:
        """The thread behind a conversation id `<channel id>;messageid=<root id>`, if the bot started it."""
        return self.channel_conversations.get(conversation_id)

    def start_channel_thread(self, channel_id: str, activity: dict) -> dict:
        """A new thread in a channel with `activity` as its first post; the thread's conversation."""
        activity_id = self.new_activity_id()
        conversation_id = thread_conversation_id(channel_id, activity_id)
        conversation = {
            "id": conversation_id,
            "channel_id": channel_id,
            "thread_id": activity_id,
            "tenant_id": self.config.tenant_id,
            "conversation_type": "channel",
            "created_at": utc_now_iso(),
        }
        self.channel_conversations[conversation_id] = conversation
        entry = self._channel_entry(conversation, activity_id, activity, reply_to_id=None)
        entry["replies"] = []
        self.channels.setdefault(channel_id, []).append(entry)
        return conversation

    def _channel_entry(self, conversation: dict, activity_id: str, activity: dict, *, reply_to_id: str | None) -> dict:
        stored = dict(activity, id=activity_id)
        stored.setdefault("timestamp", utc_now_iso())
        if reply_to_id:
            stored.setdefault("replyToId", reply_to_id)
        return {
            "id": activity_id,
            "conversation_id": conversation["id"],
            "channel_id": conversation["channel_id"],
            "activity": stored,
            "version": 1,
            "history": [],
            "posted_at": stored["timestamp"],
            "updated_at": None,
            "reply_to_id": reply_to_id,
            "deleted": False,
        }

    def _thread_root(self, conversation_id: str) -> dict:
        conversation = self.channel_conversations[conversation_id]
        for entry in self.channels.get(conversation["channel_id"], []):
            if entry["id"] == conversation["thread_id"]:
                return entry
        raise KeyError(conversation_id)

    def _post_in_thread(self, conversation_id: str, activity: dict, *, reply_to_id: str | None) -> str:
        conversation = self.channel_conversations[conversation_id]
        root = self._thread_root(conversation_id)
        activity_id = self.new_activity_id()
        entry = self._channel_entry(conversation, activity_id, activity, reply_to_id=reply_to_id or root["id"])
        root["replies"].append(entry)
        return activity_id

    def _thread_entry(self, conversation_id: str, activity_id: str) -> dict:
        root = self._thread_root(conversation_id)
        for entry in [root, *root["replies"]]:
            if entry["id"] == activity_id:
                return entry
        raise KeyError(activity_id)

    # Activities to the bot -----------------------------------------------------------------
    async def send_to_bot(
        self,
        user_id: str,
        *,
        text: str | None = None,
        invoke_value: dict | None = None,
        reply_to_id: str | None = None,
        value: dict | None = None,
    ) -> tuple[int, dict | None]:
        """Send a signed message (or `adaptiveCard/action` invoke) from a user; return the bot's answer."""
        return await bot_client.send_user_activity(
            self, user_id, text=text, invoke_value=invoke_value, reply_to_id=reply_to_id, value=value
        )

    async def send_install_update(self, user_id: str) -> tuple[int, dict | None]:
        """The `conversationUpdate` Teams sends when a user installs the bot (gives it the chat)."""
        return await bot_client.send_install_update(self, user_id)
