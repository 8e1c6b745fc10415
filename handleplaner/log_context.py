"""What the log lines of the current request or delivery are about: ids only, never contents.

The values live in context variables, so each request (its own asyncio task) and each delivery
(set by the worker around its call) carries its own, and ``asyncio.to_thread`` takes them along.
``bot/logs.py`` writes them into every line; this module sits at the bottom so the domain and the
delivery worker can set them without knowing how logs are written.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

FIELDS = ("request_id", "route", "incident_id", "alert_id", "delivery_id")

_VARS: dict[str, ContextVar] = {name: ContextVar(f"beredskab_log_{name}", default=None)
                                for name in FIELDS}


def current() -> dict:
    """The known ids, e.g. ``{"request_id": "…", "incident_id": 7}``."""
    values = {}
    for name, var in _VARS.items():
        value = var.get()
        if value is not None:
            values[name] = value
    return values


def bind(**values) -> None:
    """Set ids until the current task (or ``scope``) ends."""
    for name, value in values.items():
        _VARS[name].set(value)


@contextmanager
def scope(**values):
    """Set ids for the block; every field is as it was afterwards."""
    tokens = [(_VARS[name], _VARS[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
