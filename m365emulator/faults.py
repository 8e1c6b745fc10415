"""Faults on request: latency, a share of errors, of throttling, of dropped connections, and of
answers lost after the request took effect.

The JSON accepted by `POST /_emulator/faults` (every field optional):

    {"apis": ["graph", "bot"],          # which APIs: graph, bot, token, smtp (default graph and bot)
     "latency_ms": [200, 800],          # added delay, uniform between min and max
     "error_rate": 0.3,                 # share of requests answered with an error status
     "error_status": 503,               # or a list, e.g. [500, 503], one drawn per error
     "throttle_rate": 0.1,              # share answered 429 with Retry-After
     "retry_after": 2,                  # the Retry-After of those 429s, in seconds
     "drop_rate": 0.1,                  # share whose connection is closed without a response
                                        # (before the request takes effect)
     "lost_rate": 0.05,                 # share whose answer is lost *after* the request took
                                        # effect (the mail went out, the card was posted)
     "lost_mode": "reset",              # how it is lost: "reset" closes the connection at once;
                                        # "timeout" holds the answer until the client gives up
     "lost_hold_s": 60,                 # ... or until this many seconds have passed, then closes
     "count": 10,                       # the faults apply to the next 10 matching requests only
     "until": 1767225600.0,             # ... or until this time (epoch seconds)
     "duration_s": 30,                  # ... or for this many seconds from now
     "seed": 7}                         # makes the draws reproducible

The rates are shares of all matching requests and add up to at most 1; one draw decides each
request. A lost answer is the commonest ambiguous case of a real network: Microsoft acted, the
client never heard. It applies to the Graph and Bot Connector requests that change something
(POST, PUT, PATCH, DELETE: sendMail, events, conversations, activities); a read, a token or an
SMTP message that draws it is served as usual, since losing its answer would only be a drop.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from typing import Literal

FAULT_APIS = frozenset({"graph", "bot", "token", "smtp"})
DEFAULT_FAULT_APIS = frozenset({"graph", "bot"})
FIELDS = frozenset(
    {
        "latency_ms",
        "error_rate",
        "error_status",
        "throttle_rate",
        "retry_after",
        "drop_rate",
        "lost_rate",
        "lost_mode",
        "lost_hold_s",
        "apis",
        "count",
        "until",
        "duration_s",
        "seed",
    }
)

Outcome = Literal["drop", "error", "throttle", "lost"]
LostMode = Literal["reset", "timeout"]
LOST_MODES = ("reset", "timeout")
# Longer than the clients' own timeouts (30 s in the service): a "timeout" is the client's.
DEFAULT_LOST_HOLD_S = 60.0
RATES = ("error_rate", "throttle_rate", "drop_rate", "lost_rate")


def _number(data: dict, name: str, default: float | None, *, low: float, high: float | None = None) -> float | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be a number {bounds}")
    return value


def _statuses(value: object) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and 400 <= v <= 599 for v in values):
        raise ValueError("error_status must be an HTTP error status (400-599) or a list of them")
    return tuple(values)


@dataclass(frozen=True)
class Faults:
    latency_ms: tuple[int, int] | None = None
    error_rate: float = 0.0
    error_status: tuple[int, ...] = (503,)
    throttle_rate: float = 0.0
    retry_after: int = 2
    drop_rate: float = 0.0
    lost_rate: float = 0.0
    lost_mode: LostMode = "reset"
    lost_hold_s: float = DEFAULT_LOST_HOLD_S
    apis: frozenset[str] = field(default_factory=lambda: DEFAULT_FAULT_APIS)
    # How many more matching requests the faults apply to (None: no limit).
    remaining: int | None = None
    # Epoch seconds after which the faults no longer apply (None: no end).
    until: float | None = None

    @classmethod
    def from_json(cls, data: object, *, now: float | None = None) -> "Faults":
        """Parse the body of `POST /_emulator/faults`; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = set(data) - FIELDS
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        latency = data.get("latency_ms")
        if latency is not None:
            if not (
                isinstance(latency, list)
                and len(latency) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in latency)
            ):
                raise ValueError("latency_ms must be [min, max] in milliseconds")
            if latency[0] < 0 or latency[1] < latency[0]:
                raise ValueError("latency_ms must satisfy 0 <= min <= max")
            latency = (latency[0], latency[1])
        rates = {name: float(_number(data, name, 0.0, low=0.0, high=1.0)) for name in RATES}
        if sum(rates.values()) > 1.0:
            raise ValueError(f"{' + '.join(RATES)} must be at most 1")
        lost_mode = data.get("lost_mode", "reset")
        if lost_mode not in LOST_MODES:
            raise ValueError(f"lost_mode must be one of {list(LOST_MODES)}")
        lost_hold_s = float(_number(data, "lost_hold_s", DEFAULT_LOST_HOLD_S, low=0.0, high=600.0))
        retry_after = _number(data, "retry_after", 2, low=0)
        if not isinstance(retry_after, int):
            raise ValueError("retry_after must be whole seconds")
        apis = data.get("apis", sorted(DEFAULT_FAULT_APIS))
        if not isinstance(apis, list) or not apis or not set(apis) <= FAULT_APIS:
            raise ValueError(f"apis must be a non-empty list drawn from {sorted(FAULT_APIS)}")
        count = data.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a whole number >= 1")
        until = _number(data, "until", None, low=0)
        duration = _number(data, "duration_s", None, low=0)
        if until is not None and duration is not None:
            raise ValueError("give until or duration_s, not both")
        if duration is not None:
            until = (time.time() if now is None else now) + duration
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be a whole number")
        return cls(
            latency_ms=latency,
            error_status=_statuses(data.get("error_status", 503)),
            retry_after=retry_after,
            apis=frozenset(apis),
            remaining=count,
            until=float(until) if until is not None else None,
            lost_mode=lost_mode,
            lost_hold_s=lost_hold_s,
            **rates,
        )

    def to_json(self) -> dict:
        return {
            "latency_ms": list(self.latency_ms) if self.latency_ms else None,
            "error_rate": self.error_rate,
            "error_status": list(self.error_status),
            "throttle_rate": self.throttle_rate,
            "retry_after": self.retry_after,
            "drop_rate": self.drop_rate,
            "lost_rate": self.lost_rate,
            "lost_mode": self.lost_mode,
            "lost_hold_s": self.lost_hold_s,
            "apis": sorted(self.apis),
            "count": self.remaining,
            "until": self.until,
        }

    def applies_to(self, api: str) -> bool:
        return api in self.apis

    def expired(self, now: float | None = None) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return True
        return self.until is not None and (time.time() if now is None else now) >= self.until

    def used_once(self) -> "Faults":
        """The faults after one more matching request (count goes down by one)."""
        return self if self.remaining is None else replace(self, remaining=self.remaining - 1)

    def draw(self, rng: random.Random) -> Outcome | None:
        """One draw decides the fate of one request; the rates are shares of all requests."""
        if not (self.drop_rate or self.error_rate or self.throttle_rate or self.lost_rate):
            return None
        roll = rng.random()
        if roll < self.drop_rate:
            return "drop"
        if roll < self.drop_rate + self.error_rate:
            return "error"
        if roll < self.drop_rate + self.error_rate + self.throttle_rate:
            return "throttle"
        if roll < self.drop_rate + self.error_rate + self.throttle_rate + self.lost_rate:
            return "lost"
        return None

    def error_status_for(self, rng: random.Random) -> int:
        return self.error_status[0] if len(self.error_status) == 1 else rng.choice(self.error_status)
