"""Horizontal bar charts as plain geometry for an inline SVG (templates/web/charts.html.j2).

Each bar has its label above it and its value written after it, so the chart reads without
colour; the page shows the same numbers in a table next to it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

WIDTH = 440
LABEL_HEIGHT = 16  # the label line above a bar
BAR_HEIGHT = 16
ROW_GAP = 10
VALUE_ROOM = 90  # room right of the longest bar for its value


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown
    label_y: int  # baseline of the label
    bar_y: int
    length: float

    @property
    def text_x(self) -> float:
        return self.length + 6

    @property
    def text_y(self) -> int:
        return self.bar_y + BAR_HEIGHT - 3


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    bar_height: int = BAR_HEIGHT

    @property
    def description(self) -> str:
        """The chart's data in words (its SVG <desc>)."""
        return "; ".join(f"{b.label}: {b.text}" for b in self.bars) + "."


def bar_chart(rows: Iterable[tuple[str, float | None, str]], *, width: int = WIDTH) -> BarChart:
    """``rows`` are (label, value, value as text); a value of None draws no bar."""
    rows = list(rows)
    largest = max((v for _, v, _ in rows if v), default=0) or 1
    room = width - VALUE_ROOM
    bars, y = [], 0
    for label, value, text in rows:
        length = round(room * (value or 0) / largest, 1)
        bars.append(Bar(label=label, value=value or 0, text=text, label_y=y + LABEL_HEIGHT - 4,
                        bar_y=y + LABEL_HEIGHT, length=max(length, 1.0) if value else 0.0))
        y += LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP
    return BarChart(bars=tuple(bars), width=width, height=max(y - ROW_GAP, 1))
