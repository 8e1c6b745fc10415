"""The Teams meeting blob in an online event's body.

When an event becomes an online meeting, Outlook appends the meeting's join information (the
"meeting blob") to its body. Graph's "Update event" page warns that a new body must keep that
blob: "Inadvertently removing the meeting blob from the body would disable meeting online."
The emulator writes its own blob (a `me-email-text` block with the join link as its
`me-email-headline` anchor) and treats a new body without that anchor as the blob removed.
"""

from __future__ import annotations

from html import escape

SEPARATOR = "_" * 80
BLOB_CLASS = "me-email-headline"


def _anchor(join_url: str) -> str:
    return f'<a class="{BLOB_CLASS}" href="{escape(join_url)}"'


def blob_html(join_url: str) -> str:
    return (
        f'<div style="width:100%"><span style="color:gray">{SEPARATOR}</span></div>'
        '<div class="me-email-text"><div><span style="font-size:24px">Microsoft Teams</span></div>'
        f'<div>{_anchor(join_url)} target="_blank">Join the meeting now</a></div></div>'
        f'<div style="width:100%"><span style="color:gray">{SEPARATOR}</span></div>'
    )


def blob_text(join_url: str) -> str:
    return f"\n{SEPARATOR}\nMicrosoft Teams\nJoin the meeting now: {join_url}\n{SEPARATOR}\n"


def with_blob(body: dict, join_url: str) -> dict:
    """The body with the meeting blob appended (an HTML body in html/body as Outlook keeps it)."""
    content = body.get("content", "")
    if body.get("contentType") == "html":
        return {"contentType": "html", "content": f"<html><body>{content}{blob_html(join_url)}</body></html>"}
    return {"contentType": "text", "content": content + blob_text(join_url)}


def keeps_blob(body: dict, join_url: str) -> bool:
    """True if a new body still holds the meeting's blob."""
    content = body.get("content", "")
    if body.get("contentType") == "html":
        return _anchor(join_url) in content
    return f"Join the meeting now: {join_url}" in content
