"""Configuration from the environment (prefix ``BEREDSKAB_``).

Every setting has a production meaning; demo mode fills in the local Microsoft 365 emulator's
addresses. Start-up stops with one Danish message that names every missing or invalid variable
at once (``load_settings``); docs/deployment.md lists them.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """Configuration that cannot be used; the message names each bad variable, one a line."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            text = self.problems[0]
        else:
            text = (f"{len(self.problems)} indstillinger skal rettes:\n"
                    + "\n".join(f"  - {p}" for p in self.problems))
        super().__init__(text)


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
    # Sign-in with Microsoft Entra ID (OpenID Connect, code flow with PKCE); off without client id.
    # The app registration's redirect URI is <public_url>/log-ind/microsoft/svar.
    entra_client_id: str = ""
    entra_client_secret: str = ""
    entra_authority: str = ""  # default https://login.microsoftonline.com/<tenant_id>/v2.0

    # SMTP: the second mail route (function mailboxes, and when Graph cannot deliver)
    smtp_host: str = ""
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_sender: str = ""
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""

    worker_poll_seconds: float = Field(0.5, gt=0, le=60)
    teams_requests_per_second: float = Field(50.0, gt=0, le=1000)
    mail_messages_per_minute: int = Field(30, ge=1, le=10000)
    mail_max_recipients: int = Field(500, ge=1, le=500)  # Graph: 500 recipients per message
    mail_concurrency: int = Field(4, ge=1, le=32)
    delivery_max_attempts: int = Field(6, ge=1, le=50)
    # How long a replica's claim on deliveries holds if it dies (renewed while it works).
    delivery_lease_seconds: float = Field(120.0, ge=3, le=3600)
    # Akut activation alerts must be acknowledged; silence escalates after this many minutes.
    activation_escalate_minutes: float = Field(10.0, gt=0)
    escalation_check_seconds: float = Field(15.0, gt=0)
    # Commitments: remind an unconfirmed one after this long, then escalate step by step.
    commitment_remind_minutes: float = Field(60.0, gt=0)
    commitment_escalate_minutes: float = Field(60.0, gt=0)
    quiet_hours: str = Field("22-7", pattern=r"^\d{1,2}-\d{1,2}$")  # Copenhagen time
    # Who approves a plan for the styregruppe: formand | et-medlem | flertal
    approval_rule: str = Field("formand", pattern="^(formand|et-medlem|flertal)$")
    # The web pages ask the sender to confirm an alert (or activation) going to more people.
    alert_confirm_above: int = Field(50, ge=0)
    # Retention in months (handleplaner.retention): marked personal data counted from when the
    # incident was closed; the delivery log (attempts, error texts) and the read log by age.
    retention_personal_data_months: int = 6
    retention_delivery_log_months: int = 12
    retention_read_log_months: int = 24
    # Nightly sync of the directory with Entra ID (beredskab directory sync --apply): the mapping
    # file and the time of day (HH:MM, Copenhagen); off unless both are given.
    directory_sync_mapping: Path | None = None
    directory_sync_at: str = ""

    # The record's anchors (handleplaner.record.anchors): the Ed25519 key that signs every
    # incident's chain head (a PEM file's path, PEM text or base64 of 32 bytes, from the secret
    # store; never in the database), the public key(s) that check anchors (comma-separated; the
    # signing key's own is always accepted), the file the signed heads are appended to (on other
    # storage than the database) and how often a changed head is signed. Demo mode makes a key
    # next to the anchor file.
    record_signing_key: str = ""
    record_verify_key: str = ""
    record_anchor_file: Path = Path("var/record-anchors.jsonl")
    record_anchor_minutes: float = Field(15.0, gt=0, le=1440)

    # Operations (docs/deployment.md): log lines as JSON or text (default json, text in demo
    # mode); the bearer token that opens /metrics from outside the internal network; the most a
    # stop on SIGTERM may take (requests, then the delivery worker's calls in flight).
    log_format: str = ""
    metrics_token: str = ""
    shutdown_seconds: float = Field(20.0, gt=0, le=300)

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("", "json", "text"):
            raise ValueError("skal være json eller text")
        return value

    @field_validator("directory_sync_at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        value = value.strip()
        if value:
            hour, _, minute = value.partition(":")
            if not (hour.isdigit() and minute.isdigit() and len(minute) == 2
                    and int(hour) < 24 and int(minute) < 60):
                raise ValueError("skal være et klokkeslæt TT:MM, fx 02:30")
        return value

    @field_validator("directory_sync_mapping")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"filen {value} findes ikke")
        return value

    @property
    def directory_sync_time(self) -> tuple[int, int] | None:
        """(hour, minute) of the nightly directory sync, or None when it is off."""
        if not (self.directory_sync_at and self.directory_sync_mapping):
            return None
        hour, _, minute = self.directory_sync_at.partition(":")
        return int(hour), int(minute)

    @field_validator("record_signing_key")
    @classmethod
    def _signing_key(cls, value: str) -> str:
        from handleplaner.record.signing import KeyProblem, load_private_key

        if value.strip():
            try:
                load_private_key(value)
            except KeyProblem as problem:
                raise ValueError(f"nøglen {problem}") from None
        return value.strip()

    @field_validator("record_verify_key")
    @classmethod
    def _verify_key(cls, value: str) -> str:
        from handleplaner.record.signing import KeyProblem

        try:
            record_verify_keys(value)
        except KeyProblem as problem:
            raise ValueError(f"nøglen {problem}") from None
        return value.strip()

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str) -> str:
        if value and len(value) < 16:
            raise ValueError("skal være mindst 16 tegn (eller tom: kun det interne net)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url

        example = ("fx postgresql://bruger:kode@vært:5432/beredskab "
                   "eller sqlite:///var/beredskab.db")
        try:
            url = make_url(value)
        except Exception:
            raise ValueError(f"er ikke en databaseadresse ({example})") from None
        backend = url.get_backend_name()
        if backend in ("postgresql", "postgres"):
            if not url.host and "host" not in url.query:
                raise ValueError(f"mangler databaseserveren ({example})")
            if not url.database:
                raise ValueError(f"mangler databasens navn ({example})")
        elif backend != "sqlite":
            raise ValueError(f"skal være PostgreSQL eller SQLite, ikke {backend} ({example})")
        return value

    @field_validator("retention_personal_data_months", "retention_delivery_log_months",
                     "retention_read_log_months")
    @classmethod
    def _months(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("skal være et antal måneder større end 0")
        return value

    @field_validator("public_url", "graph_base_url", "connector_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("skal være en http(s)-adresse")
        return value.rstrip("/") if not value.endswith("/v1.0/") else value[:-1]

    @field_validator("entra_authority")
    @classmethod
    def _optional_http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("skal være en http(s)-adresse")
        return value.rstrip("/")

    @property
    def entra_sign_in(self) -> bool:
        """Whether people sign in with Microsoft (Entra ID)."""
        return bool(self.entra_client_id)

    @property
    def entra_authority_url(self) -> str:
        """Where Entra ID's discovery document lives: <authority>/.well-known/openid-configuration."""
        return self.entra_authority or f"https://login.microsoftonline.com/{self.tenant_id}/v2.0"

    def production_problems(self) -> list[str]:
        """What is missing or unusable outside demo mode, one Danish line per variable."""
        if self.demo:
            return []
        problems = [f"BEREDSKAB_{name.upper()} mangler: {what}"
                    for name, what in REQUIRED.items() if not getattr(self, name)]
        if "public_url" not in self.model_fields_set:
            problems.append("BEREDSKAB_PUBLIC_URL mangler: tjenestens offentlige https-adresse, "
                            "fx https://beredskab.kk.dk")
        elif not _secure_or_local(self.public_url):
            problems.append(f"BEREDSKAB_PUBLIC_URL skal være en https-adresse (fik "
                            f"{self.public_url}); http kun på 127.0.0.1/localhost")
        if self.token_url and not _secure_or_local(self.token_url):
            problems.append("BEREDSKAB_TOKEN_URL skal være en https-adresse, fx "
                            "https://login.microsoftonline.com/<lejer>/oauth2/v2.0/token")
        if self.session_secret and len(self.session_secret) < 32:
            problems.append("BEREDSKAB_SESSION_SECRET skal være mindst 32 tegn")
        if self.entra_client_id and not self.entra_client_secret:
            problems.append("BEREDSKAB_ENTRA_CLIENT_SECRET mangler: klienthemmeligheden til "
                            "log-ind med Microsoft (BEREDSKAB_ENTRA_CLIENT_ID er sat)")
        if bool(self.directory_sync_at) != bool(self.directory_sync_mapping):
            problems.append("BEREDSKAB_DIRECTORY_SYNC_AT og BEREDSKAB_DIRECTORY_SYNC_MAPPING skal "
                            "gives sammen (eller ingen af dem: ingen natlig synkronisering)")
        if self.smtp_username and not self.smtp_password:
            problems.append("BEREDSKAB_SMTP_PASSWORD mangler (BEREDSKAB_SMTP_USERNAME er sat)")
        return problems

    def require_production_settings(self) -> None:
        """Outside demo mode every Microsoft 365 setting must be given."""
        problems = self.production_problems()
        if problems:
            raise SettingsError(problems)


# What each setting that production needs is, for the message that says it is missing.
REQUIRED = {
    "tenant_id": "Entra ID-lejerens id (Directory (tenant) ID)",
    "bot_app_id": "app-registreringens Application (client) ID",
    "bot_app_secret": "app-registreringens klienthemmelighed",
    "token_url": "https://login.microsoftonline.com/<lejer>/oauth2/v2.0/token",
    "session_secret": "mindst 32 tilfældige tegn, det samme på alle replikaer",
}
SECRET = ("secret", "password", "token", "signing_key")  # values never repeated in a message

# pydantic's error types in Danish ({…} from the error's context)
MESSAGES = {
    "int_parsing": "skal være et helt tal",
    "int_from_float": "skal være et helt tal",
    "float_parsing": "skal være et tal",
    "bool_parsing": "skal være true eller false (ja/nej: 1/0)",
    "greater_than": "skal være større end {gt}",
    "greater_than_equal": "skal være mindst {ge}",
    "less_than": "skal være mindre end {lt}",
    "less_than_equal": "må højst være {le}",
    "finite_number": "skal være et endeligt tal",
    "path_type": "skal være en filsti",
}
PATTERNS = {
    "quiet_hours": "skal være to klokkeslæt som 22-7",
    "approval_rule": "skal være formand, et-medlem eller flertal",
}


def record_verify_keys(value: str) -> list:
    """The public keys in BEREDSKAB_RECORD_VERIFY_KEY: one PEM text, or paths and base64 keys
    separated by commas."""
    from handleplaner.record.signing import load_public_key

    text = value.strip()
    if not text:
        return []
    items = [text] if text.startswith("-----BEGIN") else [v for v in text.split(",") if v.strip()]
    return [load_public_key(item) for item in items]


def _secure_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in (
        "127.0.0.1", "localhost", "::1"))


def _problem(error: dict) -> str:
    name = "_".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
    elif kind == "string_pattern_mismatch":
        message = PATTERNS.get(name, "har ikke den rette form")
    else:
        message = MESSAGES.get(kind, error["msg"]).format(**error.get("ctx", {}))
    value = error.get("input")
    if isinstance(value, str) and not any(word in name for word in SECRET):
        message += f" (fik '{value[:80]}')"
    return f"BEREDSKAB_{name.upper()}: {message}"


def _read(overrides: dict) -> tuple[Settings | None, list[str], set[str]]:
    try:
        return Settings(**overrides), [], set()
    except ValidationError as error:
        errors = error.errors()
        bad = {str(e["loc"][0]) for e in errors if e["loc"]}
        return None, [_problem(e) for e in errors], bad


def read_settings(**overrides) -> Settings:
    """The settings from the environment; bad values raise ``SettingsError`` naming each."""
    settings, problems, _ = _read(overrides)
    if problems:
        raise SettingsError(problems)
    return settings


def load_settings(**overrides) -> Settings:
    """The settings for running the service: outside demo mode every Microsoft setting too.
    Every problem is named at once: the invalid values and, with those left at their defaults,
    whatever production still misses."""
    settings, problems, bad = _read(overrides)
    if settings is None:  # the rest is checked with the invalid values at their defaults
        defaults = {name: Settings.model_fields[name].default for name in bad
                    if name in Settings.model_fields}
        settings, more, _ = _read({**overrides, **defaults})
        problems += more
    if settings is not None:
        problems += [p for p in settings.production_problems()
                     if p.split()[0] not in {q.split(":")[0] for q in problems}]
    if problems:
        raise SettingsError(problems)
    return settings
