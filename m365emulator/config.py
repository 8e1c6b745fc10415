"""Settings of the local Microsoft 365 emulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TENANT_ID = "00000000-0000-0000-0000-0000000000aa"
DEFAULT_BOT_APP_ID = "11111111-1111-1111-1111-111111111111"
DEFAULT_BOT_APP_SECRET = "emulator-bot-secret"
# The Graph application permissions (app roles) granted to the app and put in its tokens' `roles`.
DEFAULT_GRAPH_PERMISSIONS = ("Mail.Send", "Calendars.ReadWrite", "GroupMember.Read.All", "User.Read.All",
                             "Chat.Read.All", "TeamsAppInstallation.ReadForUser.All", "Mail.Read")
# Graph's largest page for group members (`$top` up to 999).
MAX_MEMBERS_PAGE = 999


@dataclass
class EmulatorConfig:
    """What the emulator pretends to be, and how it behaves.

    One app registration by default: the bot and the Graph client share id and secret.
    """

    tenant_id: str = DEFAULT_TENANT_ID
    bot_app_id: str = DEFAULT_BOT_APP_ID
    bot_app_secret: str = DEFAULT_BOT_APP_SECRET
    graph_client_id: str = DEFAULT_BOT_APP_ID
    graph_client_secret: str = DEFAULT_BOT_APP_SECRET
    # URL of the service's /api/messages, where signed activities are posted.
    bot_endpoint: str | None = None
    # Delay added to every Graph, connector and token request (uniform between min and max).
    latency_ms: tuple[int, int] = (0, 0)
    # Microsoft's throttling limits (429 with Retry-After); on by default.
    limits: bool = True
    # If set, every record is appended as a JSON line to graph-requests.jsonl / bot-requests.jsonl.
    record_dir: Path | None = None
    # Optional directory: [{"name", "email", "teams_user_id"}], used by the pages and activities.
    people: list[dict] = field(default_factory=list)
    # Seed for the random numbers behind latency and faults (None: not reproducible).
    seed: int | None = None
    # Display name of the bot in activities sent to the service.
    bot_name: str = "SSP Beredskab"
    # Teams channels the bot is installed in: [{"id": "19:...@thread.tacv2", "name": "..."}]. Empty: any
    # channel id is accepted; otherwise an id not listed is 404 ChannelNotFound.
    channels: list[dict] = field(default_factory=list)
    # The app registration's redirect URIs (Web platform) for sign-in. Empty: any http(s) address is
    # taken (the emulator on its own); otherwise the authorize endpoint takes only these, exactly.
    redirect_uris: list[str] = field(default_factory=list)
    # Port of the SMTP server (None: no SMTP server; 0: any free port), started by start_emulator.
    smtp_port: int | None = None
    # Entra ID's users and groups for `groups/{id}/members`: {"users": [...], "groups": [...]}
    # (entra_directory.py). None: no groups.
    directory: dict | None = None
    # Application permissions granted to the app (tokens' `roles`); remove one to see Graph's 403.
    graph_permissions: list[str] = field(default_factory=lambda: list(DEFAULT_GRAPH_PERMISSIONS))
    # At most this many members per page whatever `$top` asks (Graph may return fewer; clients
    # follow `@odata.nextLink`). Tests make it small to see paging.
    members_page_size: int = MAX_MEMBERS_PAGE

    def __post_init__(self) -> None:
        if self.record_dir is not None and not isinstance(self.record_dir, Path):
            self.record_dir = Path(self.record_dir)
        low, high = self.latency_ms
        if low < 0 or high < low:
            raise ValueError(f"latency_ms must be (min, max) with 0 <= min <= max, got {self.latency_ms}")
        self.latency_ms = (int(low), int(high))

    def client_secrets(self) -> dict[str, str]:
        """Known app registrations: client id -> secret."""
        return {self.graph_client_id: self.graph_client_secret, self.bot_app_id: self.bot_app_secret}

    def person_by_user_id(self, user_id: str) -> dict | None:
        return next((p for p in self.people if p.get("teams_user_id") == user_id), None)

    def channel_by_id(self, channel_id: str) -> dict | None:
        return next((c for c in self.channels if c.get("id") == channel_id), None)

    def person_by_email(self, address: str) -> dict | None:
        address = address.lower()
        return next((p for p in self.people if str(p.get("email", "")).lower() == address), None)
