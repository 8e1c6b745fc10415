"""Microsoft's published limits for Teams bots, Graph (Outlook) and Exchange Online sending."""

from __future__ import annotations

import time

from .limits import Clock, ConcurrencyLimiter, RateLimiter, Use, acquire_all, wait_time

TEAMS_PER_CONVERSATION = [(7, 1), (8, 2), (60, 30), (1800, 3600)]
TEAMS_PER_APP = [(50, 1)]
GRAPH_PER_MAILBOX = [(10_000, 600)]
GRAPH_MAILBOX_CONCURRENCY = 4
GRAPH_PER_APP = [(130_000, 10)]
MAIL_MESSAGES_PER_MAILBOX = [(30, 60)]
MAIL_RECIPIENTS_PER_MAILBOX = [(10_000, 24 * 3600)]
MAIL_RECIPIENTS_PER_MESSAGE = 500
# Entra ID (identity and access): resource units per app and tenant in 10 seconds, by tenant size
# (S under 50 users, M up to 500, L above). A request's cost: see group_routes.resource_units.
IDENTITY_UNITS_PER_APP_TENANT = {"S": [(3_500, 10)], "M": [(5_000, 10)], "L": [(8_000, 10)]}


def tenant_size(users: int) -> str:
    return "S" if users < 50 else "M" if users <= 500 else "L"


class MicrosoftQuotas:
    """Every limit the emulator enforces. When disabled, nothing is refused and nothing counted."""

    def __init__(self, *, enabled: bool = True, clock: Clock = time.monotonic) -> None:
        self.enabled = enabled
        self.teams_conversation = RateLimiter(TEAMS_PER_CONVERSATION, clock)
        self.teams_app = RateLimiter(TEAMS_PER_APP, clock)
        self.graph_mailbox = RateLimiter(GRAPH_PER_MAILBOX, clock)
        self.graph_app = RateLimiter(GRAPH_PER_APP, clock)
        self.mail_messages = RateLimiter(MAIL_MESSAGES_PER_MAILBOX, clock)
        self.mail_recipients = RateLimiter(MAIL_RECIPIENTS_PER_MAILBOX, clock)
        self.mailbox_concurrency = ConcurrencyLimiter(GRAPH_MAILBOX_CONCURRENCY)
        self.identity = {size: RateLimiter(windows, clock) for size, windows in IDENTITY_UNITS_PER_APP_TENANT.items()}

    # Teams (Bot Connector) --------------------------------------------------------------
    def teams_activity_uses(self, app_id: str, conversation_id: str) -> list[Use]:
        return [Use(self.teams_conversation, conversation_id), Use(self.teams_app, app_id)]

    def teams_create_uses(self, app_id: str) -> list[Use]:
        return [Use(self.teams_app, app_id)]

    # Graph ------------------------------------------------------------------------------
    def graph_request_uses(self, app_id: str, mailbox: str) -> list[Use]:
        return [Use(self.graph_app, app_id), Use(self.graph_mailbox, (app_id, mailbox))]

    def graph_app_use(self, app_id: str) -> Use:
        """Any Graph request of the app (the global limit per app)."""
        return Use(self.graph_app, app_id)

    def identity_read_uses(self, app_id: str, tenant_id: str, units: int, users: int) -> list[Use]:
        """A directory read costing `units` resource units, in a tenant of `users` users."""
        return [Use(self.graph_app, app_id), Use(self.identity[tenant_size(users)], (app_id, tenant_id), units)]

    def mail_send_uses(self, mailbox: str, recipients: int) -> list[Use]:
        return [Use(self.mail_messages, mailbox), Use(self.mail_recipients, mailbox, recipients)]

    # Checking and counting ----------------------------------------------------------------
    def wait(self, uses: list[Use]) -> float:
        return wait_time(uses) if self.enabled else 0.0

    def acquire(self, uses: list[Use]) -> float:
        """0.0 and counted if all have room; else the wait in seconds and nothing counted."""
        return acquire_all(uses) if self.enabled else 0.0

    def count(self, uses: list[Use]) -> None:
        """Count uses without checking (a request that was answered with an error still counts)."""
        if self.enabled:
            for use in uses:
                use.limiter.record(use.key, use.weight)

    def enter_mailbox(self, mailbox: str) -> bool:
        return self.mailbox_concurrency.try_enter(mailbox) if self.enabled else True

    def leave_mailbox(self, mailbox: str) -> None:
        if self.enabled:
            self.mailbox_concurrency.leave(mailbox)

    def reset(self) -> None:
        for limiter in (
            self.teams_conversation,
            self.teams_app,
            self.graph_mailbox,
            self.graph_app,
            self.mail_messages,
            self.mail_recipients,
            *self.identity.values(),
        ):
            limiter.reset()
        self.mailbox_concurrency.reset()
