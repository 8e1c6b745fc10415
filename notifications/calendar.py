"""The beredskabsmøde in Outlook/Teams: a calendar event with a Teams online meeting created,
changed and cancelled through Microsoft Graph (msgraph-sdk), and the attendees' answers read
back from it. The event's transactionId is the meeting's UID, so a retried create is one event.

Outlook appends the Teams meeting's join information (the "meeting blob") to an online event's
body, and a new body without it disables the online meeting (Graph, "Update event": body
property and online meetings). So our text sits in a marked block (``INVITATION_CLASS``), and an
update of an online meeting reads the body back and replaces only that block; if the block
cannot be found, the body is left as it is."""
from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone

from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType


INVITATION_CLASS = "ssp-beredskab-indkaldelse"
_DIV_TAG = re.compile(r"<div\b[^>]*>|</div\s*>", re.IGNORECASE)


class CalendarError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _when(moment: datetime) -> DateTimeTimeZone:
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return DateTimeTimeZone(date_time=utc.isoformat(timespec="seconds"), time_zone="UTC")


def invitation_block(html: str) -> str:
    return f'<div class="{INVITATION_CLASS}">{html}</div>'


def replace_invitation(current: str, html: str) -> str | None:
    """The body ``current`` with our block's content replaced by ``html`` (everything around it,
    the meeting blob among it, kept as it was); None if the block is not there."""
    start = re.search(rf'<div\b[^>]*class="[^"]*\b{INVITATION_CLASS}\b[^"]*"[^>]*>', current, re.IGNORECASE)
    if start is None:
        return None
    depth = 0
    for tag in _DIV_TAG.finditer(current, start.start()):
        depth += -1 if tag.group(0).startswith("</") else 1
        if depth == 0:
            return current[:start.start()] + invitation_block(html) + current[tag.end():]
    return None


def event_body(*, subject: str, html: str, starts_at: datetime, ends_at: datetime, online: bool,
               location: str, attendees: list[tuple[str, str]], transaction_id: str | None) -> Event:
    return Event(
        subject=subject, body=ItemBody(content_type=BodyType.Html, content=invitation_block(html)),
        start=_when(starts_at), end=_when(ends_at), location=Location(display_name=location),
        attendees=[Attendee(email_address=EmailAddress(address=a, name=n), type=AttendeeType.Required)
                   for a, n in attendees],
        is_online_meeting=online,
        online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness if online else None,
        transaction_id=transaction_id)


def _inner(block: str) -> str:
    """Our html from our own block (as event_body wrote it)."""
    head = f'<div class="{INVITATION_CLASS}">'
    return block[len(head):-len("</div>")] if block.startswith(head) and block.endswith("</div>") else block


class MeetingCalendar:
    def __init__(self, client: GraphServiceClient, organizer: str) -> None:
        self.client, self.organizer = client, organizer

    def _events(self):
        return self.client.users.by_user_id(self.organizer).events

    async def create(self, event: Event) -> tuple[str, str | None]:
        """(event id, Teams join URL)."""
        try:
            created = await self._events().post(event)
        except APIError as error:
            raise CalendarError(f"kalenderen svarede: {error}", error.response_status_code) from error
        join = created.online_meeting.join_url if created.online_meeting else None
        return created.id, join

    async def update(self, event_id: str, event: Event) -> None:
        """Change the event; an online meeting's body keeps its meeting blob."""
        item = self._events().by_event_id(event_id)
        try:
            body = event.body
            if event.is_online_meeting and body is not None:
                body = await self._body_keeping_blob(item, body)
            # A new Event, not assignments: msgraph-sdk sends a field set to None after
            # construction as null under its Python name (`"transaction_id": null`), which Graph
            # refuses, and `"body": null` would empty the body, meeting blob and all.
            await item.patch(dataclasses.replace(event, transaction_id=None, body=body))
        except APIError as error:
            raise CalendarError(f"kalenderen svarede: {error}", error.response_status_code) from error

    async def _body_keeping_blob(self, item, body: ItemBody) -> ItemBody | None:
        """The event's current body with our block renewed, or None (the body is not sent) if
        the current body is not ours to change."""
        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
            select=["body", "isOnlineMeeting"])
        current = await item.get(request_configuration=RequestConfiguration(query_parameters=query))
        if current is None or not current.is_online_meeting:
            return body
        content = current.body.content if current.body else None
        new = _inner(body.content or "")
        renewed = replace_invitation(content or "", new)
        return ItemBody(content_type=BodyType.Html, content=renewed) if renewed is not None else None

    async def cancel(self, event_id: str) -> None:
        try:
            await self._events().by_event_id(event_id).delete()
        except APIError as error:
            raise CalendarError(f"kalenderen svarede: {error}", error.response_status_code) from error

    async def responses(self, event_id: str) -> dict[str, str]:
        """Each attendee's answer by lower-cased address: none, accepted, declined, ..."""
        try:
            event = await self._events().by_event_id(event_id).get()
        except APIError as error:
            raise CalendarError(f"kalenderen svarede: {error}", error.response_status_code) from error
        answers = {}
        for attendee in event.attendees or []:
            response = attendee.status.response if attendee.status else None
            value = getattr(response, "value", response) or "none"
            answers[attendee.email_address.address.lower()] = "none" if value == "notResponded" else value
        return answers
