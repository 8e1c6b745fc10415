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

    def wait_time(self) -> float:
        now = self._clock()
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()
        wait = max(0.0, self._paused_until - now)
        if len(self._starts) >= self.limit:
            wait = max(wait, self._starts[0] + self.window - now)
        return wait

    async def acquire(self) -> None:
        async with self._lock:
            while (wait := self.wait_time()) > 0:
                await self._sleep(wait)
            self._starts.append(self._clock())


class ChannelLimits:
    """The windows and concurrency one channel's calls go through."""

    def __init__(self, windows: list[SlidingWindow], concurrency: int) -> None:
        self.windows = windows
        self.concurrency = asyncio.Semaphore(concurrency)

    async def __aenter__(self):
        await self.concurrency.acquire()
        try:
            for window in self.windows:
                await window.acquire()
        except BaseException:
            self.concurrency.release()
            raise
        return self

    async def __aexit__(self, *exc):
        self.concurrency.release()

    def pause(self, seconds: float) -> None:
        for window in self.windows:
            window.pause(seconds)
