"""Configuration from the environment: every missing or invalid setting named at once, in
Danish; `beredskab serve` outside demo mode refuses to start without them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import REQUIRED, SettingsError, load_settings, read_settings

ROOT = Path(__file__).resolve().parent.parent
MISSING = [f"BEREDSKAB_{name.upper()}" for name in REQUIRED] + ["BEREDSKAB_PUBLIC_URL"]
PRODUCTION = {
    "BEREDSKAB_TENANT_ID": "00000000-0000-0000-0000-0000000000aa",
    "BEREDSKAB_BOT_APP_ID": "11111111-1111-1111-1111-111111111111",
    "BEREDSKAB_BOT_APP_SECRET": "en-hemmelighed",
    "BEREDSKAB_TOKEN_URL": "https://login.microsoftonline.com/x/oauth2/v2.0/token",
    "BEREDSKAB_SESSION_SECRET": "s" * 40,
    "BEREDSKAB_PUBLIC_URL": "https://beredskab.kk.example",
    "BEREDSKAB_DATABASE_URL": "postgresql://beredskab:kode@db.kk.example:5432/beredskab",
}


@pytest.fixture
def environment(monkeypatch):
    """No BEREDSKAB_ variable but those the test sets."""
    for name in list(os.environ):
        if name.startswith("BEREDSKAB_"):
            monkeypatch.delenv(name)

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_


def problems(**overrides) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        load_settings(**overrides)
    return raised.value.problems


def test_every_missing_production_setting_is_named(environment):
    found = problems()
    for name in MISSING:
        assert any(p.startswith(f"{name} mangler") for p in found), (name, found)
    assert len(found) == len(MISSING)
    message = str(SettingsError(found))
    assert message.startswith(f"{len(MISSING)} indstillinger skal rettes:")


def test_invalid_and_missing_settings_come_together(environment):
    environment(BEREDSKAB_WORKER_POLL_SECONDS="hurtigt", BEREDSKAB_MAIL_MAX_RECIPIENTS="900",
                BEREDSKAB_DATABASE_URL="mysql://vaert/beredskab",
                BEREDSKAB_PUBLIC_URL="http://beredskab.kk.example", BEREDSKAB_LOG_FORMAT="xml",
                BEREDSKAB_QUIET_HOURS="om natten", BEREDSKAB_SHUTDOWN_SECONDS="0",
                BEREDSKAB_BOT_APP_ID="11111111-1111-1111-1111-111111111111")
    found = "\n".join(problems())
    for expected in (
        "BEREDSKAB_WORKER_POLL_SECONDS: skal være et tal (fik 'hurtigt')",
        "BEREDSKAB_MAIL_MAX_RECIPIENTS: må højst være 500",
        "BEREDSKAB_DATABASE_URL: skal være PostgreSQL eller SQLite, ikke mysql",
        "BEREDSKAB_PUBLIC_URL skal være en https-adresse",
        "BEREDSKAB_LOG_FORMAT: skal være json eller text",
        "BEREDSKAB_QUIET_HOURS: skal være to klokkeslæt som 22-7",
        "BEREDSKAB_SHUTDOWN_SECONDS: skal være større end 0",
        "BEREDSKAB_TENANT_ID mangler", "BEREDSKAB_SESSION_SECRET mangler",
    ):
        assert expected in found, (expected, found)
    assert "BEREDSKAB_BOT_APP_ID" not in found


@pytest.mark.parametrize("url,message", [
    ("postgresql://beredskab@/beredskab", "mangler databaseserveren"),
    ("postgresql://beredskab@db.kk.example:5432", "mangler databasens navn"),
    ("ikke en adresse", "er ikke en databaseadresse"),
])
def test_database_addresses_are_checked(environment, url, message):
    environment(**{**PRODUCTION, "BEREDSKAB_DATABASE_URL": url})
    (found,) = problems()
    assert found.startswith("BEREDSKAB_DATABASE_URL: ") and message in found


def test_secrets_are_never_repeated(environment):
    environment(**{**PRODUCTION, "BEREDSKAB_SESSION_SECRET": "for-kort-hemmelighed"},
                BEREDSKAB_METRICS_TOKEN="kort-token")
    found = "\n".join(problems())
    assert "BEREDSKAB_METRICS_TOKEN: skal være mindst 16 tegn" in found
    assert "BEREDSKAB_SESSION_SECRET skal være mindst 32 tegn" in found
    assert "kort-token" not in found and "for-kort-hemmelighed" not in found


def test_a_complete_production_configuration_loads(environment):
    environment(**PRODUCTION, BEREDSKAB_METRICS_TOKEN="t" * 24, BEREDSKAB_LOG_FORMAT="JSON")
    settings = load_settings()
    assert settings.log_format == "json" and settings.shutdown_seconds == 20
    environment(BEREDSKAB_PUBLIC_URL="http://127.0.0.1:8400")  # a local trial
    assert load_settings().public_url == "http://127.0.0.1:8400"


def test_demo_mode_needs_no_microsoft_settings_but_checks_values(environment):
    assert load_settings(demo=True).demo
    environment(BEREDSKAB_DELIVERY_MAX_ATTEMPTS="0")
    with pytest.raises(SettingsError, match="BEREDSKAB_DELIVERY_MAX_ATTEMPTS: skal være mindst 1"):
        read_settings(demo=True)


def test_serve_outside_demo_mode_names_every_missing_setting_and_stops(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEREDSKAB_")}
    env["BEREDSKAB_MAIL_CONCURRENCY"] = "mange"
    done = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--port", "0"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Fejl i indstillingerne" in done.stderr
    for name in MISSING + ["BEREDSKAB_MAIL_CONCURRENCY"]:
        assert name in done.stderr, (name, done.stderr)
    assert "SSP Beredskab kører" not in done.stdout
