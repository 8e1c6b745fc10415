"""The main pages in headless Chromium at desktop (1280×800) and phone (390×844) width:
a screenshot of each (var/screenshots/, git-ignored), Danish declared, no sideways scrolling on
the phone, headings in order, a skip link to the content, and axe-core finds no serious or
critical WCAG 2.1 A/AA violations. Then the keyboard: the skip link, a visible focus, and tables
that scroll inside their own box on a phone."""
from __future__ import annotations

import pytest

from .browsing import axe_violations, page_problems, signed_in_page, watch_policy
from .conftest import DESKTOP, PHONE
from .scene import incident_with_plan_and_meeting


def main_pages(scene: dict) -> list[tuple[str, str, str]]:
    """(name, who, path): the pages a person meets, and who looks at them (None: signed out)."""
    incident = f"/haendelser/{scene['incident']}"
    return [
        ("log-ind", None, "/log-ind"),
        ("overblik", "editor", "/"),
        ("aktiver", "editor", "/aktiver"),
        ("aktiver-fejl", "editor", "/aktiver#fejl"),
        ("aktiver-bekraeft", "editor", "/aktiver#bekraeft"),
        ("haendelse", "editor", incident),
        ("varsel", "editor", f"{incident}/varsel"),
        ("plan", "editor", f"{incident}/plan"),
        ("opgaver", "leader", f"{incident}/opgaver"),
        ("moede", "editor", f"{incident}/moede"),
        ("kvitter", "leader", f"/kvitter/{scene['alert']}"),
        ("statistik", "editor", "/statistik"),
        ("om", "editor", "/om"),
    ]


async def _open(page, name: str, path: str) -> int:
    """Go to the page; its HTTP status."""
    response = await page.goto(path.split("#")[0])
    if response.status >= 400:
        return response.status
    if name == "aktiver-fejl":  # the form sent empty: the server's Danish errors
        async with page.expect_navigation():
            await page.evaluate("""() => { const f = document.querySelector("main form[action='/aktiver']");
                                          f.noValidate = true; f.querySelector("[type=submit]").click(); }""")
    if name == "aktiver-bekraeft":  # the whole city: the step that asks to confirm the number
        form = page.locator("main form[action='/aktiver']")
        await form.locator("select[name=incident_type]").select_option("uro")
        await form.locator("input[name=title]").fill("Uro i flere bydele")
        await form.locator("input[name=whole_city]").check()
        await form.locator("textarea[name=description]").fill("Uro og hærværk flere steder i byen.")
        async with page.expect_navigation():
            await form.locator("button[value=send]").click()
        assert page.url.endswith("/aktiver"), page.url  # asked, nothing activated
    return 200


@pytest.mark.parametrize("size", ["desktop", "telefon"])
async def test_main_pages_at_desktop_and_phone_width(service, browser, screenshots, size):
    scene = await incident_with_plan_and_meeting(service)
    viewport, phone = (PHONE, True) if size == "telefon" else (DESKTOP, False)
    service.services.settings.alert_confirm_above = 10  # the demo's whole city is 38 people
    found: dict[str, list[str]] = {}

    signed_out = watch_policy(await (await browser.new_context(viewport=viewport,
                                                               base_url=service.base)).new_page())
    pages = {who: await signed_in_page(browser, service.base, scene[who], viewport)
             for who in ("editor", "leader")}
    pages[None] = signed_out
    for name, who, path in main_pages(scene):
        page = pages[who]
        status = await _open(page, name, path)
        if status != 200:
            found[f"{name} ({path})"] = [f"HTTP {status}"]
            continue
        await page.screenshot(path=screenshots / f"{name}-{size}.png", full_page=True)
        problems = await page_problems(page, phone=phone) + await axe_violations(page)
        if problems:
            found[f"{name} ({path})"] = problems
    assert not found, "\n".join(f"{where}:\n  " + "\n  ".join(p) for where, p in found.items())


async def test_keyboard_skip_link_focus_and_tables_on_a_phone(service, browser):
    scene = await incident_with_plan_and_meeting(service)
    page = await signed_in_page(browser, service.base, scene["editor"], PHONE)
    await page.goto(f"/haendelser/{scene['incident']}")

    # The first Tab reaches the skip link, shown on screen with a visible focus.
    await page.keyboard.press("Tab")
    focused = await page.evaluate(FOCUSED)
    assert focused["text"] == "Spring til indholdet" and focused["inView"], focused
    assert focused["ring"], focused
    # Enter moves the focus to the content; the next Tab stays in it.
    await page.keyboard.press("Enter")
    assert await page.evaluate("() => document.activeElement.id") == "indhold"
    await page.keyboard.press("Tab")
    focused = await page.evaluate(FOCUSED)
    assert focused["inMain"] and focused["ring"], focused

    # Every control shows where the focus is: a link, a button and a field.
    for selector in ("header a", "header button", "main a.knap", "main button"):
        await page.focus(selector)
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Tab")  # focus by keyboard, so :focus-visible applies
        focused = await page.evaluate(FOCUSED)
        assert focused["ring"], (selector, focused)

    # Wide tables scroll inside their box; the page itself does not scroll sideways, and a box
    # that scrolls can be reached by keyboard and has a name.
    boxes = await page.evaluate("""() => [...document.querySelectorAll("main table")].map(t => {
        const box = t.parentElement, style = getComputedStyle(box);
        return {overflow: style.overflowX, boxWidth: box.getBoundingClientRect().width,
                scrolls: box.scrollWidth > box.clientWidth + 1, tabIndex: box.tabIndex,
                name: box.getAttribute("aria-label")};
    })""")
    assert boxes, "no tables on the incident page"
    assert all(b["overflow"] in ("auto", "scroll") and b["boxWidth"] <= PHONE["width"] for b in boxes), boxes
    assert any(b["scrolls"] for b in boxes), boxes  # the deliveries table is wider than a phone
    assert all(b["tabIndex"] == 0 and b["name"] for b in boxes if b["scrolls"]), boxes
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"] + 1


FOCUSED = """() => {
  const e = document.activeElement, style = getComputedStyle(e), box = e.getBoundingClientRect();
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return {tag: e.tagName, text: e.textContent.trim(), inMain: !!e.closest("main"),
          ring: outline || (style.boxShadow !== "none" && style.boxShadow !== ""),
          inView: box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth};
}"""
