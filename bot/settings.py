"""Configuration from the environment (prefix ``BEREDSKAB_``).

Every setting has a production meaning; demo mode fills in the local Microsoft 365 emulator's
addresses. An invalid value stops start-up with a message naming the variable.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """Configuration that cannot be used; the message names each bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEREDSKAB_", extra="ignore")

    database_url: str = "sqlite:///var/beredskab.db"
    demo: bool = Field(False, description="Demo mode: demo sign-in and the embedded emulator")
    public_url: str = "http://127.0.0.1:8400"
    session_secret: str = Field("", description="Secret for signing session cookies (32+ chars)")
    directory_file: Path | None = None

    tenant_id: str = ""
    bot_app_id: str = ""
    bot_app_secret: str = ""
    token_url: str = ""  # OAuth2 client-credentials endpoint (Entra ID or the emulator)
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    connector_url: str = "https://smba.trafficmanager.net/emea/"
    bot_openid_metadata_url: str = (
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    )
    bot_issuer: str = "https://api.botframework.com"
    sender_mailbox: str = "ssp-beredskab@kk.example"

    # SMTP: the second mail route (function mailboxes, and when Graph cannot deliver)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = ""
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""

    worker_poll_seconds: float = 0.5
    teams_requests_per_second: float = 50.0
    mail_messages_per_minute: int = 30
    mail_max_recipients: int = 500
    mail_concurrency: int = 4
    delivery_max_attempts: int = 6
    # Akut activation alerts must be acknowledged; silence escalates after this many minutes.
    activation_escalate_minutes: float = Field(10.0, gt=0)
    escalation_check_seconds: float = Field(15.0, gt=0)
    # Commitments: remind an unconfirmed one after this long, then escalate step by step.
    commitment_remind_minutes: float = Field(60.0, gt=0)
    commitment_escalate_minutes: float = Field(60.0, gt=0)
    quiet_hours: str = Field("22-7", pattern=r"^\d{1,2}-\d{1,2}$")  # Copenhagen time
    # Who approves a plan for the styregruppe: formand | et-medlem | flertal
    approval_rule: str = Field("formand", pattern="^(formand|et-medlem|flertal)$")

    @field_validator("public_url", "graph_base_url", "connector_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("skal være en http(s)-adresse")
        return value.rstrip("/") if not value.endswith("/v1.0/") else value[:-1]

    def require_production_settings(self) -> None:
        """Outside demo mode every Microsoft 365 setting must be given."""
        if self.demo:
            return
        missing = [
            f"BEREDSKAB_{name.upper()}"
            for name in ("tenant_id", "bot_app_id", "bot_app_secret", "token_url", "session_secret")
            if not getattr(self, name)
        ]
        if missing:
            raise SettingsError("Mangler indstillinger: " + ", ".join(missing))
        if len(self.session_secret) < 32:
            raise SettingsError("BEREDSKAB_SESSION_SECRET skal være mindst 32 tegn")


def load_settings(**overrides) -> Settings:
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        problems = [
            f"BEREDSKAB_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        ]
        raise SettingsError("Ugyldige indstillinger: " + "; ".join(problems)) from None
    settings.require_production_settings()
    return settings
