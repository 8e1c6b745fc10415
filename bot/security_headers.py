"""The headers every response carries, set just before it goes out (``on_response_prepare``,
so that redirects, refusals and streams get them too).

- ``Content-Security-Policy``: scripts, styles and connections only from this service, no
  inline script or style, no plugins, not inside another site's frame, forms only to us.
- ``Strict-Transport-Security`` outside demo mode when the public address is https.
- ``Cache-Control: no-store`` on everything but the static style sheets and scripts: pages, the
  API, documents and exports hold personal data, and no browser or proxy may keep them.
- ``Referrer-Policy: same-origin``: addresses (which name incidents) never go to other sites.
- ``X-Content-Type-Options: nosniff``, and ``X-Frame-Options: DENY`` for older browsers.

A handler may set a stricter policy of its own (the plan document, ``document_policy``).
"""
from __future__ import annotations

import base64
import hashlib
import re

from aiohttp import web

from .keys import SERVICES
from .static_files import PREFIX as STATIC_PREFIX

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
          "base-uri 'none'")
HSTS = "max-age=31536000"  # a year
NONE = "'none'"
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


def document_policy(html: str) -> str:
    """The policy of a stand-alone HTML document with its own ``<style>`` (the plan sent to
    the styregruppe, also saved as a file): no script at all, and only exactly that style."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
        for style in _STYLE.findall(html))
    return (f"default-src 'none'; style-src {hashes or NONE}; "
            "img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


def _static(request: web.Request, response: web.StreamResponse) -> bool:
    return request.path.startswith(STATIC_PREFIX) and response.status in (200, 304)


async def add(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", POLICY)
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if (response.content_type or "").startswith("text/html"):
        headers.setdefault("X-Frame-Options", "DENY")
    if not _static(request, response):
        headers["Cache-Control"] = "no-store"
    services = request.app.get(SERVICES)
    if (services is not None and not services.settings.demo
            and services.settings.public_url.startswith("https://")):
        headers.setdefault("Strict-Transport-Security", HSTS)
