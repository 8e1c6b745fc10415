"""Sliding-window rate limits and concurrency limits, with an injectable clock.

A request that is refused consumes nothing: check every limit first (`wait_time`), and only when
all have room, record the use in each (`acquire_all` does both).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

Clock = Callable[[], float]


class SlidingWindow:
    """At most `limit` units in any `period` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self._events: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        while self._events and now - self._events[0][0] >= self.period:
            _, weight = self._events.popleft()
            self._used -= weight

    def used(self, now: float) -> int:
        self._expire(now)
        return self._used

    def wait_time(self, now: float, weight: int = 1) -> float:
        """Seconds until `weight` more units fit (0.0: they fit now; inf: they never will)."""
        self._expire(now)
        excess = self._used + weight - self.limit
        if excess <= 0:
            return 0.0
        if weight > self.limit:
            return math.inf
        freed = 0
        for stamp, used in self._events:
            freed += used
            if freed >= excess:
                return max(stamp + self.period - now, 0.0)
        return self.period  # unreachable: the events hold all used units

    def record(self, now: float, weight: int = 1) -> None:
        self._expire(now)
        self._events.append((now, weight))
        self._used += weight


class RateLimiter:
    """A set of sliding windows applied per key (per conversation, per mailbox, per app).

    `RateLimiter([(7, 1), (8, 2)])` allows 7 per second and 8 per two seconds for each key.
    """

    def __init__(self, windows: Sequence[tuple[int, float]], clock: Clock = time.monotonic) -> None:
        self.windows = list(windows)
        self.clock = clock
        self._by_key: dict[Hashable, list[SlidingWindow]] = {}

    def _windows(self, key: Hashable) -> list[SlidingWindow]:
        found = self._by_key.get(key)
        if found is None:
            found = self._by_key[key] = [SlidingWindow(limit, period) for limit, period in self.windows]
        return found

    def wait_time(self, key: Hashable, weight: int = 1) -> float:
        now = self.clock()
        return max(window.wait_time(now, weight) for window in self._windows(key))

    def record(self, key: Hashable, weight: int = 1) -> None:
        now = self.clock()
        for window in self._windows(key):
            window.record(now, weight)

    def try_acquire(self, key: Hashable, weight: int = 1) -> float:
        """Record and return 0.0 if there is room, else return the wait without recording."""
        return acquire_all([Use(self, key, weight)])

    def reset(self) -> None:
        self._by_key.clear()


@dataclass(frozen=True)
class Use:
    """One use of one limiter: `weight` units for `key`."""

    limiter: RateLimiter
    key: Hashable
    weight: int = 1


def wait_time(uses: Iterable[Use]) -> float:
    return max((use.limiter.wait_time(use.key, use.weight) for use in uses), default=0.0)


def acquire_all(uses: Sequence[Use]) -> float:
    """All or nothing: record every use if all have room (returns 0.0), else the longest wait."""
    wait = wait_time(uses)
    if wait > 0:
        return wait
    for use in uses:
        use.limiter.record(use.key, use.weight)
    return 0.0


def retry_after_seconds(wait: float) -> int:
    """The Retry-After header value: whole seconds, at least 1."""
    if math.isinf(wait):
        return 3600
    return max(1, math.ceil(wait))


class ConcurrencyLimiter:
    """At most `limit` requests in flight per key."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight: dict[Hashable, int] = {}

    def in_flight(self, key: Hashable) -> int:
        return self._in_flight.get(key, 0)

    def try_enter(self, key: Hashable) -> bool:
        if self.in_flight(key) >= self.limit:
            return False
        self._in_flight[key] = self.in_flight(key) + 1
        return True

    def leave(self, key: Hashable) -> None:
        remaining = self.in_flight(key) - 1
        if remaining > 0:
            self._in_flight[key] = remaining
        else:
            self._in_flight.pop(key, None)

    def reset(self) -> None:
        self._in_flight.clear()
