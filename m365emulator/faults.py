"""Faults on request: latency, a share of errors, of throttling and of dropped connections."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

FAULT_APIS = frozenset({"graph", "bot", "token"})
DEFAULT_FAULT_APIS = frozenset({"graph", "bot"})

Outcome = Literal["drop", "error", "throttle"]


@dataclass(frozen=True)
class Faults:
    latency_ms: tuple[int, int] | None = None
    error_rate: float = 0.0
    error_status: int = 503
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    apis: frozenset[str] = field(default_factory=lambda: DEFAULT_FAULT_APIS)

    @classmethod
    def from_json(cls, data: object) -> "Faults":
        """Parse the body of `POST /_emulator/faults`; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = set(data) - {"latency_ms", "error_rate", "error_status", "throttle_rate", "drop_rate", "apis", "seed"}
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        latency = data.get("latency_ms")
        if latency is not None:
            if not (isinstance(latency, list) and len(latency) == 2 and all(isinstance(v, int) for v in latency)):
                raise ValueError("latency_ms must be [min, max] in milliseconds")
            if latency[0] < 0 or latency[1] < latency[0]:
                raise ValueError("latency_ms must satisfy 0 <= min <= max")
            latency = (latency[0], latency[1])
        rates = {}
        for name in ("error_rate", "throttle_rate", "drop_rate"):
            value = data.get(name, 0.0)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number between 0 and 1")
            rates[name] = float(value)
        if sum(rates.values()) > 1.0:
            raise ValueError("error_rate + throttle_rate + drop_rate must be at most 1")
        status = data.get("error_status", 503)
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("error_status must be an HTTP error status (400-599)")
        apis = data.get("apis", sorted(DEFAULT_FAULT_APIS))
        if not isinstance(apis, list) or not apis or not set(apis) <= FAULT_APIS:
            raise ValueError(f"apis must be a non-empty list drawn from {sorted(FAULT_APIS)}")
        return cls(latency_ms=latency, error_status=status, apis=frozenset(apis), **rates)

    def to_json(self) -> dict:
        return {
            "latency_ms": list(self.latency_ms) if self.latency_ms else None,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "throttle_rate": self.throttle_rate,
            "drop_rate": self.drop_rate,
            "apis": sorted(self.apis),
        }

    def applies_to(self, api: str) -> bool:
        return api in self.apis

    def draw(self, rng: random.Random) -> Outcome | None:
        """One draw decides the fate of one request; the rates are shares of all requests."""
        if not (self.drop_rate or self.error_rate or self.throttle_rate):
            return None
        roll = rng.random()
        if roll < self.drop_rate:
            return "drop"
        if roll < self.drop_rate + self.error_rate:
            return "error"
        if roll < self.drop_rate + self.error_rate + self.throttle_rate:
            return "throttle"
        return None
