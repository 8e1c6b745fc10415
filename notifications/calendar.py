"""The beredskabsmøde in Outlook/Teams: a calendar event with a Teams online meeting created,
changed and cancelled through Microsoft Graph (msgraph-sdk), and the attendees' answers read
back from it. The event's transactionId is the meeting's UID, so a retried create is one event."""
from __future__ import annotations

from datetime import datetime, timezone

from kiota_abstractions.api_error import APIError
from msgraph import GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType


class CalendarError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _when(moment: datetime) -> DateTimeTimeZone:
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return DateTimeTimeZone(date_time=utc.isoformat(timespec="seconds"), time_zone="UTC")


def event_body(*, subject: str, html: str, starts_at: datetime, ends_at: datetime, online: bool,
               location: str, attendees: list[tuple[str, str]], transaction_id: str | None) -> Event:
    return Event(
        subject=subject, body=ItemBody(content_type=BodyType.Html, content=html),
        start=_when(starts_at), end=_when(ends_at), location=Location(display_name=location),
        attendees=[Attendee(email_address=EmailAddress(address=a, name=n), type=AttendeeType.Required)
                   for a, n in attendees],
        is_online_meeting=online,
        online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness if online else None,
        transaction_id=transaction_id)


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
        event.transaction_id = None
        try:
            await self._events().by_event_id(event_id).patch(event)
        except APIError as error:
            raise CalendarError(f"kalenderen svarede: {error}", error.response_status_code) from error

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
