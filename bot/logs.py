"""Logs on stderr: one JSON object per line (production) or plain text (the demo).

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, and the ids that
are known where it was written (``handleplaner.log_context``): ``request_id`` and ``route`` from
the request middleware (``bot/observe.py``), ``incident_id`` from the access guard's decision,
``alert_id`` and ``delivery_id`` from the delivery worker.

``BEREDSKAB_LOG_FORMAT=json|text`` chooses; the default is json, and text in demo mode.
Log ids, never contents: no descriptions, notes, names or message texts, and no tokens. As a last
line of defence, bearer tokens and JWTs that slip into a message are masked.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone

from handleplaner.log_context import FIELDS, current

FORMATS = ("json", "text")
# A line per HTTP call (with addresses in the URL) or per scheduled run: warnings only.
QUIET_LIBRARIES = ("httpx", "httpcore", "aiohttp.access", "microsoft_agents",
                   "apscheduler.executors", "alembic.runtime.plugins")
MASKED = "[skjult]"
_SECRETS = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"  # Authorization header values
    r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # JWTs
    r"|(\b(?:client_secret|password|access_token|refresh_token|code)=)[^&\s]+")


def mask(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group(1) or m.group(2) or "") + MASKED, text)


def _fields(record: logging.LogRecord) -> dict:
    known = current()
    for name in FIELDS:  # extra={"delivery_id": …} wins over the context
        value = getattr(record, name, None)
        if value is not None:
            known[name] = value
    return known


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = mask(super().format(record))
        known = _fields(record)
        if known:
            line += " [" + " ".join(f"{k}={v}" for k, v in known.items()) + "]"
        return line


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is written (tests swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def chosen_format(value: str | None = None, *, demo: bool = False) -> str:
    value = (value or os.environ.get("BEREDSKAB_LOG_FORMAT") or "").strip().lower()
    if value in FORMATS:
        return value
    return "text" if demo else "json"  # an invalid value is reported by the settings


def configure(value: str | None = None, *, demo: bool = False, level: int = logging.INFO,
              stream=None) -> str:
    """Send the root logger's lines to stderr in the chosen format; returns the format."""
    chosen = chosen_format(value, demo=demo)
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler._beredskab = True  # replaced, not stacked, when configured again
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_beredskab", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in QUIET_LIBRARIES:
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    return chosen
