"""What the browser tests do in a page: sign in by the demo picker, and check a page's language,
width, headings, skip link and accessibility (axe-core, bundled by axe-playwright-python)."""
from __future__ import annotations

import re

WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
_BLOCKED: dict = {}  # page -> what the Content-Security-Policy blocked there (console errors)


def watch_policy(page):
    """Remember what the page's Content-Security-Policy blocks (``page_problems`` reports it)."""
    blocked = _BLOCKED.setdefault(page, [])
    page.on("console", lambda message: blocked.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    return page


async def signed_in_page(browser, base: str, person_id: str, viewport: dict):
    """A new browser context at the given size, signed in as the person through /log-ind."""
    context = await browser.new_context(viewport=viewport, base_url=base, locale="da-DK")
    page = watch_policy(await context.new_page())
    await page.goto("/log-ind")
    await page.select_option("#person", person_id)
    async with page.expect_navigation():
        await page.locator("main form[action='/log-ind'] button[type=submit]").click()
    assert "/log-ind" not in page.url, page.url
    return page


async def axe_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations, one line per rule."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options={
        "runOnly": {"type": "tag", "values": WCAG_A_AA}, "resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): {v['help']} – "
            + "; ".join(", ".join(n["target"]) if isinstance(n["target"][0], str) else str(n["target"])
                        for n in v["nodes"][:5])
            for v in results.response["violations"] if v["impact"] in BLOCKING]


PAGE_FACTS = """() => {
  const headings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
    .filter(h => h.offsetParent !== null || h.closest("details"))
    .map(h => Number(h.tagName[1]));
  const focusable = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, [tabindex]")]
    .filter(e => e.tabIndex >= 0);
  const first = focusable[0];
  const target = first && first.getAttribute("href") && first.getAttribute("href").startsWith("#")
    ? document.getElementById(first.getAttribute("href").slice(1)) : null;
  return {
    lang: document.documentElement.getAttribute("lang"),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    headings,
    mains: document.querySelectorAll("main").length,
    skip: first ? {text: first.textContent.trim(), href: first.getAttribute("href"),
                   targetIsMain: !!target && target.tagName === "MAIN"} : null,
    wide: [...document.querySelectorAll("body *")]
      .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                   && !e.closest(".tabel") && getComputedStyle(e).position !== "absolute")
      .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
                             + (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : "")),
  };
}"""


async def page_problems(page, *, phone: bool) -> list[str]:
    """What is wrong with the page as a person with a phone or a keyboard would meet it."""
    facts = await page.evaluate(PAGE_FACTS)
    problems = [f"Content-Security-Policy blokerede: {text[:300]}" for text in _BLOCKED.get(page, [])]
    _BLOCKED.get(page, []).clear()
    if facts["lang"] != "da":
        problems.append(f'<html lang="{facts["lang"]}">, ikke "da"')
    if phone and facts["scrollWidth"] > facts["innerWidth"] + 1:
        problems.append(f"vandret rulning på telefon: {facts['scrollWidth']} > {facts['innerWidth']} "
                        f"(for brede: {facts['wide']})")
    levels = facts["headings"]
    if not levels or levels[0] != 1 or levels.count(1) != 1:
        problems.append(f"ikke præcis én h1 først: {levels}")
    jumps = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
    if jumps:
        problems.append(f"overskrifter springer niveauer over: {jumps} i {levels}")
    if facts["mains"] != 1:
        problems.append(f"{facts['mains']} <main>-elementer")
    skip = facts["skip"]
    if not skip or not skip["targetIsMain"] or not re.search("indhold", skip["text"], re.I):
        problems.append(f"første fokuserbare element er ikke et spring-til-indhold-link: {skip}")
    return problems
