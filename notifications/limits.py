"""Staying inside Microsoft's published limits on our side (microsoft365.md).

``SlidingWindow`` lets at most ``limit`` calls start in any ``window`` seconds; ``pause`` holds
everyone back after a 429 until the provider's Retry-After has passed.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque


class SlidingWindow:
    def __init__(self, limit: int, window: float, *, clock=time.monotonic, sleep=asyncio.sleep):
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit, self.window = limit, window
        self._clock, self._sleep = clock, sleep
        self._starts: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    def wait_time(self, count: int = 1) -> float:
        now = self._clock()
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()
        wait = max(0.0, self._paused_until - now)
        excess = len(self._starts) + count - self.limit
        if excess > 0:
            wait = max(wait, self._starts[excess - 1] + self.window - now)
        return wait

    async def acquire(self, count: int = 1) -> None:
        """Wait until ``count`` more calls may start, then take them."""
        count = min(count, self.limit)
        async with self._lock:
            while (wait := self.wait_time(count)) > 0:
                await self._sleep(wait)
            now = self._clock()
            self._starts.extend([now] * count)


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

    async def __aenter__(self):
        await self.limits._take(self.count)
        return self.limits

    async def __aexit__(self, *exc):
        self.limits.concurrency.release()
