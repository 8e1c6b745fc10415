"""Staying inside Microsoft's published limits on our side (microsoft365.md).

``SlidingWindow`` lets at most ``limit`` calls start in any ``window`` seconds, optionally at an
even pace (``spacing``); ``pause`` holds everyone back after a 429 until the provider's
Retry-After has passed.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections import deque

BACKOFF_BASE = 2.0
BACKOFF_MAX = 300.0


def backoff(attempts: int, rng: random.Random, base: float = BACKOFF_BASE) -> float:
    """Exponential backoff with jitter: base·2^(n-1) seconds, at most BACKOFF_MAX, times 0.5–1."""
    return min(BACKOFF_MAX, base * 2 ** max(0, attempts - 1)) * rng.uniform(0.5, 1.0)


class SlidingWindow:
    """At most ``limit`` calls in any ``window`` seconds.

    With ``count_from_end`` a call holds its place while it is in flight and for ``window``
    seconds after it *ended* (``release``): the provider counts a request when it handles it,
    which is some unknown time after we started it but never after we had its answer, so
    counting from the answer cannot overrun the provider's window, whatever the latency."""

    def __init__(self, limit: int, window: float, *, clock=time.monotonic, sleep=asyncio.sleep,
                 count_from_end: bool = False, spacing: float = 0.0):
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit, self.window = limit, window
        self.count_from_end = count_from_end
        # Starts at least this far apart (per request): a fan-out then flows at an even pace
        # instead of a burst of ``limit`` calls at once each window, whose preparation would
        # hold the event loop (and the card presses waiting on it) for a moment every second.
        self.spacing = spacing
        self._next_start = 0.0
        self._clock, self._sleep = clock, sleep
        self._starts: deque[float] = deque()
        self._in_flight = 0
        self._ended = asyncio.Event()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    def wait_time(self, count: int = 1) -> float:
        now = self._clock()
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()
        wait = max(0.0, self._paused_until - now)
        excess = len(self._starts) + self._in_flight + count - self.limit
        if excess > 0:
            if excess <= len(self._starts):
                wait = max(wait, self._starts[excess - 1] + self.window - now)
            elif wait == 0.0:
                wait = -1.0  # only a call in flight can make room: wait until one ends
        return wait

    async def acquire(self, count: int = 1) -> None:
        """Wait until ``count`` more calls may start, then take them."""
        count = min(count, self.limit)
        async with self._lock:
            while (wait := self.wait_time(count) or max(0.0, self._next_start - self._clock())):
                if wait < 0:
                    self._ended.clear()
                    await self._ended.wait()
                else:
                    await self._sleep(wait)
            if self.spacing:
                self._next_start = self._clock() + self.spacing * count
            if self.count_from_end:
                self._in_flight += count
            else:
                self._starts.extend([self._clock()] * count)

    def release(self, count: int = 1) -> None:
        """The calls have been answered (``count_from_end``: their window starts now)."""
        if self.count_from_end:
            count = min(count, self.limit)
            self._in_flight -= count
            self._starts.extend([self._clock()] * count)
            self._ended.set()


class ChannelLimits:
    """The windows and concurrency one channel's calls go through.

    ``async with limits:`` takes one request; ``async with limits.requests(n):`` takes n, for a
    call that makes n HTTP requests (e.g. creating a Teams conversation, then posting to it).
    """

    def __init__(self, windows: list[SlidingWindow], concurrency: int) -> None:
        self.windows = windows
        self.concurrency = asyncio.Semaphore(concurrency)

    def requests(self, count: int) -> "_Slot":
        return _Slot(self, count)

    async def __aenter__(self):
        await self._take(1)
        return self

    async def __aexit__(self, *exc):
        for window in self.windows:
            window.release(1)
        self.concurrency.release()

    async def _take(self, count: int) -> None:
        await self.concurrency.acquire()
        try:
            for window in self.windows:
                await window.acquire(count)
        except BaseException:
            self.concurrency.release()
            raise

    def pause(self, seconds: float) -> None:
        for window in self.windows:
            window.pause(seconds)


class _Slot:
    def __init__(self, limits: ChannelLimits, count: int) -> None:
        self.limits, self.count = limits, count
        self._done = True

    async def __aenter__(self):
        await self.limits._take(self.count)
        self._done = False
        return self

    def done(self) -> None:
        """The call has been answered: give back the concurrency, start the windows' clock."""
        if not self._done:
            self._done = True
            for window in self.limits.windows:
                window.release(self.count)
            self.limits.concurrency.release()

    async def __aexit__(self, *exc):
        self.done()
