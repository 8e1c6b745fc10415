"""The record of every request to the token endpoint, Graph, the Bot Connector and the SMTP server."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

REDACTED = "***"
SECRET_FORM_FIELDS = ("client_secret", "client_assertion")
JSONL_FILES = {
    "graph": "graph-requests.jsonl",
    "token": "graph-requests.jsonl",
    "smtp": "graph-requests.jsonl",
    "bot": "bot-requests.jsonl",
    "to_bot": "bot-requests.jsonl",
}
API_NAMES = frozenset(JSONL_FILES)


def parse_body(raw: bytes, content_type: str, *, api: str) -> object:
    """The body as it is worth reading: JSON, a form (secrets redacted), text, or None."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    if "x-www-form-urlencoded" in content_type or api == "token":
        form = dict(parse_qsl(text, keep_blank_values=True))
        for name in SECRET_FORM_FIELDS:
            if name in form:
                form[name] = REDACTED
        return form
    return text


class RequestLog:
    """Records in memory, and appended as JSON lines when a directory is given."""

    def __init__(self, record_dir: Path | None = None) -> None:
        self.record_dir = record_dir
        self.records: list[dict] = []
        if record_dir is not None:
            record_dir.mkdir(parents=True, exist_ok=True)

    def add(self, record: dict) -> None:
        self.records.append(record)
        if self.record_dir is not None:
            path = self.record_dir / JSONL_FILES[record["api"]]
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def select(self, api: str | None = None) -> list[dict]:
        return [r for r in self.records if api is None or r["api"] == api]

    def clear(self) -> None:
        self.records.clear()
