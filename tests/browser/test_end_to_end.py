"""A whole beredskab in headless Chromium, as people do it: a secretariat member signs in by the
demo picker and activates the beredskab on /aktiver with the keyboard alone (Tab, typing, Space,
arrow keys, Enter), confirming the number of recipients on the step the page shows for a large
audience (more than 50 people; the limit is lowered to 10 here, as the demo activation reaches
fewer); drafts the handleplan from a template and sends it; a leader responsible for measures signs in and
confirms them on the board; the secretariat's open board shows them confirmed, live."""
from __future__ import annotations

import re

from playwright.async_api import expect
from sqlmodel import Session, select

from handleplaner.commitments.models import Commitment

from ..service.helpers import secretariat_member
from .browsing import signed_in_page
from .conftest import DESKTOP, PHONE

MAX_TABS = 200


async def tab_to(page, selector: str) -> None:
    """Press Tab until the focus is on an element matching the selector."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def choose_with_arrows(page, value: str) -> None:
    """In the focused <select>, press ArrowDown until the value is chosen."""
    for _ in range(30):
        if await page.evaluate("() => document.activeElement.value") == value:
            return
        await page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} not among the options")


async def activate_by_keyboard(page) -> tuple[int, bool]:
    """Fill and send /aktiver without the mouse: the incident's id, and whether the page asked
    to confirm the number of recipients."""
    await page.goto("/aktiver")
    await tab_to(page, "select[name=incident_type]")
    await choose_with_arrows(page, "skyderi")
    await tab_to(page, "input[name=title]")
    await page.keyboard.type("Skud ved boligområde")
    await tab_to(page, "input[name=whole_city]")  # the whole city: 38 people
    await page.keyboard.press("Space")
    await tab_to(page, "textarea[name=description]")
    await page.keyboard.type("Skud affyret mod en gruppe unge. Ingen tilskadekomne.")
    await tab_to(page, "input[name=severity]")
    await page.keyboard.press("Space")  # the checked radio button (akut) stays chosen
    await tab_to(page, "form[action='/aktiver'] button[value=send]")  # past "Vis varslet"
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    asked = not re.search(r"/haendelser/\d+$", page.url)
    if asked:
        # The confirmation step: the number of people, then "Bekræft og send".
        confirm = "main form button[type=submit]:not([value=ret])"
        await expect(page.locator("h1")).to_contain_text("38 personer")
        await tab_to(page, confirm)
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
    match = re.search(r"/haendelser/(\d+)$", page.url)
    assert match, (page.url, await page.locator("main").inner_text())
    return int(match.group(1)), asked


async def test_activate_plan_confirm_and_read_the_board(service, browser):
    editor = secretariat_member(service.engine)
    page = await signed_in_page(browser, service.base, editor.id, DESKTOP)
    assert await page.locator("header").get_by_text(editor.name).count() == 1

    # The demo organisation's whole city is 38 people; with the limit at 10 the page asks.
    service.services.settings.alert_confirm_above = 10
    incident_id, asked = await activate_by_keyboard(page)
    assert asked
    await expect(page.locator("h1")).to_contain_text("Skud ved boligområde")
    await expect(page.locator("main")).to_contain_text("Hele byen")

    # The plan: drafted from the suggested template (skyderi), then frozen and sent.
    await page.goto(f"/haendelser/{incident_id}/plan")
    draft = page.locator("main form:has(input[name=handling][value=udarbejd])")
    await expect(draft.locator("select[name=template]")).to_have_value("skyderi")
    async with page.expect_navigation():
        await draft.locator("button[type=submit]").click()
    await expect(page.locator("main")).to_contain_text("Indsatser")
    send = page.locator("main form:has(input[name=handling][value=send])")
    async with page.expect_navigation():
        await send.locator("button[type=submit]").click()
    await expect(page.locator("main")).to_contain_text("Version 1")
    await service.services.worker.run_until_idle(timeout=60)

    with Session(service.engine) as session:
        rows = session.exec(select(Commitment).where(Commitment.responsible_id.is_not(None))
                            .order_by(Commitment.id)).all()
    leader_id = rows[0].responsible_id
    mine = [c.id for c in rows if c.responsible_id == leader_id]

    # The secretariat keeps the board open while the leader answers.
    await page.goto(f"/haendelser/{incident_id}/opgaver")
    for commitment_id in mine:
        await expect(page.locator(f"#tavle tr[data-id='{commitment_id}']")).to_contain_text(
            "Afventer bekræftelse")

    # The leader, on a phone, confirms each of their commitments.
    leader = await signed_in_page(browser, service.base, leader_id, PHONE)
    await leader.goto(f"/haendelser/{incident_id}/opgaver")
    for commitment_id in mine:
        row = leader.locator(f"#tavle tr[data-id='{commitment_id}']")
        async with leader.expect_navigation():
            await row.locator("button[name=handling][value=bekraeft]").click()
        await expect(leader.locator(f"#tavle tr[data-id='{commitment_id}']")).to_contain_text(
            "Bekræftet")

    # The open board redraws itself (server-sent events) and shows them confirmed.
    for commitment_id in mine:
        row = page.locator(f"#tavle tr[data-id='{commitment_id}']")
        await expect(row).to_contain_text("Bekræftet", timeout=15_000)
    with Session(service.engine) as session:
        assert {session.get(Commitment, c).state for c in mine} == {"bekraeftet"}
