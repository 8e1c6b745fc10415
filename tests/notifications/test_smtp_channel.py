"""The SMTP mail route: one BCC message per batch through the emulator's SMTP server, and how its
replies become DeliveryResults (4xx and lost connections transient, 5xx permanent)."""
from __future__ import annotations

import asyncio
import socket

import pytest
from aiosmtpd.smtp import SMTP

from m365emulator import EmulatorConfig, start_emulator
from m365emulator.faults import Faults
from notifications.channels.base import AlertMessage, Recipient
from notifications.channels.smtp import SmtpMailChannel

SENDER = "beredskab@kk.example"


def alert(*, exercise=True) -> AlertMessage:
    return AlertMessage(
        alert_id=42, incident_id=7, subject="ØVELSE: Skyderi ved Nørrebro st. – rød",
        text="Skyderi ved Nørrebro st.\nSe handleplanen.", facts=(("Sted", "Nørrebro"),),
        severity="rød", exercise=exercise, link="http://x/h/7",
        html="<h1>Skyderi ved Nørrebro st.</h1><p>Se <a href='http://x/h/7'>handleplanen</a>.</p>")


def people(*addresses) -> list[Recipient]:
    return [Recipient(person_id=f"p{i}", name=a, email=a) for i, a in enumerate(addresses)]


@pytest.fixture
async def m365():
    emulator, runner = await start_emulator(EmulatorConfig(smtp_port=0, seed=5))
    yield emulator
    await runner.cleanup()


def channel(emulator, **options) -> SmtpMailChannel:
    return SmtpMailChannel(host="127.0.0.1", port=emulator.smtp_port, sender=SENDER, timeout=5, **options)


async def test_one_message_reaches_every_bcc_recipient(m365):
    result = await channel(m365).send(alert(), people("anna@kk.example", "bo@kk.example", "Anna@kk.example"))
    assert result.ok and result.status_code == 250 and result.error is None
    assert result.provider_message_id.startswith("<") and result.provider_message_id.endswith("@kk.example>")
    for address in ("anna@kk.example", "bo@kk.example"):
        [copy] = m365.mailboxes[address]
        assert copy["route"] == "smtp" and copy["bcc"] is True
        assert copy["subject"] == "ØVELSE: Skyderi ved Nørrebro st. – rød"
        assert copy["body"]["contentType"] == "html"
        assert copy["body"]["content"].startswith("<h1>Skyderi ved Nørrebro st.</h1>")
        assert copy["from"] == SENDER and copy["to"] == [SENDER]
        assert copy["message_id"] == result.provider_message_id
        assert copy["headers"]["X-SSP-Beredskab-Alert"] == "42"
        assert copy["headers"]["X-SSP-Beredskab-Exercise"] == "ja"
    [record] = m365.log.select("smtp")
    assert record["body"]["rcpt_tos"] == ["anna@kk.example", "bo@kk.example"]
    assert SENDER not in m365.mailboxes  # recipients in the envelope only


def test_the_mime_message():
    mime = SmtpMailChannel(host="h", port=25, sender=SENDER).mime(alert(exercise=False))
    assert mime.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mime.iter_parts()] == ["text/plain", "text/html"]
    assert mime["From"] == SENDER and mime["To"] == SENDER and "Bcc" not in mime
    assert "X-SSP-Beredskab-Exercise" not in mime
    assert "=?utf-8?" in mime.as_string()  # the subject is encoded for the wire


async def test_some_refused_recipients_still_deliver_to_the_rest(m365):
    result = await channel(m365).send(alert(), people("anna@kk.example", "ingen@kk.invalid", "ikke en adresse"))
    assert result.ok
    assert "ingen@kk.invalid (550" in result.error and "ikke en adresse" in result.error
    assert list(m365.mailboxes) == ["anna@kk.example"]


async def test_all_recipients_refused_is_permanent(m365):
    result = await channel(m365).send(alert(), people("ingen@kk.invalid"))
    assert not result.ok and not result.transient and result.status_code == 550
    assert "ingen@kk.invalid" in result.error


async def test_451_fault_is_transient(m365):
    m365.set_faults(Faults(apis=frozenset({"smtp"}), error_rate=1.0, remaining=1))
    result = await channel(m365).send(alert(), people("anna@kk.example"))
    assert not result.ok and result.transient and result.status_code == 451
    assert result.error == "451 4.3.0 Midlertidig fejl"
    assert m365.mailboxes == {}


async def test_421_drop_is_transient(m365):
    m365.set_faults(Faults(apis=frozenset({"smtp"}), drop_rate=1.0, remaining=1))
    result = await channel(m365).send(alert(), people("anna@kk.example"))
    assert not result.ok and result.transient and result.status_code == 421


class Refusing:
    async def handle_DATA(self, server, session, envelope):
        return "554 5.7.1 Besked afvist af politik"


async def test_5xx_is_permanent_with_the_servers_reply():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Refusing(), hostname="refusing.local", loop=loop),
                                      "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await SmtpMailChannel(host="127.0.0.1", port=port, sender=SENDER, timeout=5).send(
            alert(), people("anna@kk.example"))
    finally:
        server.close()
        await server.wait_closed()
    assert not result.ok and not result.transient
    assert result.status_code == 554 and result.error == "554 5.7.1 Besked afvist af politik"


async def test_unreachable_port_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    result = await SmtpMailChannel(host="127.0.0.1", port=port, sender=SENDER, timeout=2).send(
        alert(), people("anna@kk.example"))
    assert not result.ok and result.transient and result.error.startswith("forbindelsesfejl")


async def test_starttls_not_offered_is_permanent(m365):
    result = await channel(m365, starttls=True).send(alert(), people("anna@kk.example"))
    assert not result.ok and not result.transient


async def test_no_address_and_too_many():
    smtp = SmtpMailChannel(host="127.0.0.1", port=1, sender=SENDER, max_batch=2)
    result = await smtp.send(alert(), [Recipient(person_id="p", name="Uden")])
    assert not result.ok and not result.transient and result.error == "ingen e-mailadresse"
    with pytest.raises(ValueError):
        await smtp.send(alert(), people("a@kk.example", "b@kk.example", "c@kk.example"))
