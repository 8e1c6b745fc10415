"""The emulator's SMTP server: mail over SMTP lands in the mailboxes, is recorded, and can be faulted."""

from __future__ import annotations

import json
from email.message import EmailMessage

import aiohttp
import aiosmtplib
import pytest

from m365emulator import EmulatorConfig, start_emulator
from m365emulator.smtp import REPLY_ERROR

SENDER = "beredskab@kk.example"


@pytest.fixture
async def smtp_emulator(tmp_path):
    emulator, runner = await start_emulator(EmulatorConfig(smtp_port=0, record_dir=tmp_path / "rec", seed=3))
    yield emulator
    await runner.cleanup()


def message(subject="Øvelse: skyderi ved Nørrebro", *, to=SENDER, html="<p><b>Alarm</b> ved Nørrebro</p>") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = SENDER
    mail["To"] = to
    mail["Subject"] = subject
    mail["X-SSP-Beredskab-Alert"] = "17"
    mail.set_content("Alarm ved Nørrebro")
    if html:
        mail.add_alternative(html, subtype="html")
    return mail


async def send(emulator, mail, recipients, **options):
    return await aiosmtplib.send(
        mail, sender=SENDER, recipients=recipients, hostname="127.0.0.1", port=emulator.smtp_port,
        start_tls=False, timeout=10, **options,
    )


async def test_message_lands_in_each_recipients_mailbox(smtp_emulator):
    refused, reply = await send(smtp_emulator, message(), ["Anna@kk.example", "bo@kk.example"])
    assert refused == {} and reply.startswith("2.0.0 OK")
    for address in ("anna@kk.example", "bo@kk.example"):
        [copy] = smtp_emulator.mailboxes[address]
        assert copy["route"] == "smtp"
        assert copy["subject"] == "Øvelse: skyderi ved Nørrebro"
        assert copy["body"] == {"contentType": "html", "content": "<p><b>Alarm</b> ved Nørrebro</p>\n"}
        assert copy["from"] == SENDER and copy["to"] == [SENDER]
        assert copy["bcc"] is True
        assert copy["headers"]["X-SSP-Beredskab-Alert"] == "17"
        assert copy["receivedDateTime"] == copy["received_at"]
    # The sender is in To: its copy is not a Bcc copy.
    await send(smtp_emulator, message(html=""), [SENDER])
    [own] = smtp_emulator.mailboxes[SENDER]
    assert own["bcc"] is False and own["body"]["contentType"] == "text"


async def test_each_message_is_recorded_with_the_graph_requests(smtp_emulator, tmp_path):
    await send(smtp_emulator, message(subject="Rec"), ["anna@kk.example"])
    [record] = smtp_emulator.log.select("smtp")
    assert record["method"] == "DATA" and record["status"] == 250
    assert record["path"] == f"smtp://127.0.0.1:{smtp_emulator.smtp_port}"
    assert record["body"] == {"mail_from": SENDER, "rcpt_tos": ["anna@kk.example"], "subject": "Rec"}
    assert record["ts_start"] <= record["ts_end"]
    lines = (tmp_path / "rec" / "graph-requests.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["api"] == "smtp"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{smtp_emulator.base_url}/_emulator/requests?api=smtp") as response:
            assert [r["body"]["subject"] for r in await response.json()] == ["Rec"]


async def test_unknown_recipients_are_refused_one_by_one(smtp_emulator):
    refused, _ = await send(smtp_emulator, message(), ["anna@kk.example", "nobody@kk.invalid"])
    assert refused["nobody@kk.invalid"].code == 550
    assert list(smtp_emulator.mailboxes) == ["anna@kk.example"]
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(smtp_emulator, message(), ["nobody@kk.invalid"])


async def test_at_most_500_recipients_per_message(smtp_emulator):
    recipients = [f"p{i}@kk.example" for i in range(501)]
    refused, _ = await send(smtp_emulator, message(), recipients)
    assert list(refused) == ["p500@kk.example"] and refused["p500@kk.example"].code == 452
    assert len(smtp_emulator.mailboxes) == 500


async def set_faults(emulator, **faults):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.base_url}/_emulator/faults", json=faults) as response:
            assert response.status == 200, await response.text()


async def test_error_fault_answers_451_and_delivers_nothing(smtp_emulator):
    await set_faults(smtp_emulator, apis=["smtp"], error_rate=1.0, count=1)
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await send(smtp_emulator, message(), ["anna@kk.example"])
    assert f"{caught.value.code} {caught.value.message}" == REPLY_ERROR
    assert smtp_emulator.mailboxes == {}
    [record] = smtp_emulator.log.select("smtp")
    assert record["status"] == 451 and record["fault"] == "error"
    # count=1: the next message goes through.
    await send(smtp_emulator, message(), ["anna@kk.example"])
    assert len(smtp_emulator.mailboxes["anna@kk.example"]) == 1


async def test_drop_fault_answers_421_and_closes(smtp_emulator):
    await set_faults(smtp_emulator, apis=["smtp"], drop_rate=1.0, count=1)
    with pytest.raises(aiosmtplib.SMTPDataError) as caught:
        await send(smtp_emulator, message(), ["anna@kk.example"])
    assert caught.value.code == 421
    assert smtp_emulator.log.select("smtp")[0]["fault"] == "drop"
    await send(smtp_emulator, message(), ["anna@kk.example"])
    assert len(smtp_emulator.mailboxes["anna@kk.example"]) == 1


async def test_graph_faults_leave_smtp_alone(smtp_emulator):
    await set_faults(smtp_emulator, error_rate=1.0)  # graph and bot
    await send(smtp_emulator, message(), ["anna@kk.example"])
    assert len(smtp_emulator.mailboxes["anna@kk.example"]) == 1


async def test_any_login_is_accepted_without_tls(smtp_emulator):
    await send(smtp_emulator, message(), ["anna@kk.example"], username="beredskab", password="x")
    assert len(smtp_emulator.mailboxes["anna@kk.example"]) == 1


async def test_mailbox_page_shows_smtp_mail(smtp_emulator):
    await send(smtp_emulator, message(subject="Via SMTP"), ["anna@kk.example"])
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{smtp_emulator.base_url}/mailbox/anna@kk.example") as response:
            page = await response.text()
        async with session.get(f"{smtp_emulator.base_url}/") as response:
            overview = await response.text()
    assert "Via SMTP" in page and "Du modtog beskeden som Bcc." in page
    assert f"SMTP-port: {smtp_emulator.smtp_port}" in overview


async def test_no_smtp_server_unless_asked_and_stopped_by_cleanup():
    emulator, runner = await start_emulator(EmulatorConfig())
    assert emulator.smtp_port is None
    await runner.cleanup()

    emulator, runner = await start_emulator(EmulatorConfig(smtp_port=0))
    port = emulator.smtp_port
    assert port
    await runner.cleanup()
    assert emulator.smtp_port is None
    with pytest.raises((aiosmtplib.SMTPConnectError, OSError)):
        await aiosmtplib.send(message(), sender=SENDER, recipients=["anna@kk.example"], hostname="127.0.0.1",
                              port=port, start_tls=False, timeout=5)
