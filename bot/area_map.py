"""The schematic map of SSP København's local areas for the overview page.

One tile per area, placed on a grid roughly as the areas lie in the city (north up): a tile map,
not a survey map. The positions are data keyed by the directory's area code; an area the table
does not know (the directory can change) is placed in a row of its own below the city, so it is
still shown. Areas touched by active incidents are marked, by texture and a count as well as by
colour. The template (templates/web/area_map.html.j2) draws the SVG from this.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

# (column, row) of each local area on the tile grid; Frederiksberg (a municipality of its own,
# no SSP København area) is the hole at (1, 2).
POSITIONS: dict[str, tuple[int, int]] = {
    "tingbjerg-husum": (0, 0), "broenshoej-bellahoej": (1, 0), "bispebjerg": (2, 0),
    "oesterbro": (3, 0),
    "vanloese": (0, 1), "nordvest": (1, 1), "ydre-noerrebro": (2, 1), "indre-noerrebro": (3, 1),
    "valby": (0, 2), "vesterbro": (2, 2), "indre-by-og-christianshavn": (3, 2),
    "amager-nordoest": (4, 2),
    "sydhavnen": (2, 3), "islands-brygge-og-sundbyvester": (3, 3), "amager-sydoest": (4, 3),
}
# Drawn for orientation only (dashed, not an area).
LANDMARKS: dict[tuple[int, int], str] = {(1, 2): "Frederiksberg"}

COLUMNS = 5
TILE_WIDTH, TILE_HEIGHT, GAP = 120, 84, 4
LINE_CHARS = 12  # a name is wrapped to lines of about this many characters
LINE_HEIGHT = 16


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    bydel: str
    x: int
    y: int
    lines: tuple[str, ...]
    references: tuple[str, ...] = ()  # the active incidents touching the area

    @property
    def affected(self) -> bool:
        return bool(self.references)

    @property
    def count_text(self) -> str:
        n = len(self.references)
        return f"{n} aktiv" if n == 1 else f"{n} aktive"

    @property
    def label(self) -> str:
        """What a screen reader and the tooltip say about the tile."""
        place = f"{self.name} ({self.bydel})" if self.bydel else self.name
        if not self.references:
            return f"{place}: ingen aktive hændelser"
        n = len(self.references)
        return (f"{place}: {n} aktiv{'e' if n > 1 else ''} hændelse{'r' if n > 1 else ''} "
                f"({', '.join(self.references)})")

    def text_y(self, index: int) -> int:
        """The baseline of the tile's line ``index`` (name lines, then the count), centred."""
        total = len(self.lines) + (1 if self.affected else 0)
        top = self.y + (TILE_HEIGHT - total * LINE_HEIGHT) // 2
        return top + (index + 1) * LINE_HEIGHT - 3


@dataclass(frozen=True)
class Landmark:
    name: str
    x: int
    y: int


@dataclass(frozen=True)
class AreaMap:
    tiles: tuple[Tile, ...]
    landmarks: tuple[Landmark, ...]
    width: int
    height: int
    tile_width: int = TILE_WIDTH
    tile_height: int = TILE_HEIGHT
    affected: tuple[Tile, ...] = field(default=())

    @property
    def summary(self) -> str:
        """The text alternative: which areas have active incidents."""
        if not self.affected:
            return "Ingen områder har aktive hændelser."
        if len(self.affected) == len(self.tiles):
            return f"Aktive hændelser i alle {len(self.tiles)} områder."
        names = ", ".join(t.name for t in self.affected)
        return (f"Aktive hændelser i {len(self.affected)} af {len(self.tiles)} områder: "
                f"{names}.")


def wrap(name: str, width: int = LINE_CHARS) -> tuple[str, ...]:
    """Split a name into short lines at spaces and after slashes."""
    words = name.replace("/", "/ ").split()
    lines: list[str] = []
    for word in words:
        joiner = "" if lines and lines[-1].endswith("/") else " "
        if lines and len(lines[-1]) + len(joiner) + len(word) <= width:
            lines[-1] = lines[-1] + joiner + word
        else:
            lines.append(word)
    return tuple(lines) or (name,)


def _xy(column: int, row: int) -> tuple[int, int]:
    return column * (TILE_WIDTH + GAP), row * (TILE_HEIGHT + GAP)


def place(codes: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Grid cells for ``codes``: the known positions, and for the others a fallback grid below."""
    codes = list(codes)
    cells = {code: POSITIONS[code] for code in codes if code in POSITIONS}
    first_free_row = max((row for _, row in POSITIONS.values()), default=-1) + 1
    for index, code in enumerate(c for c in codes if c not in POSITIONS):
        cells[code] = (index % COLUMNS, first_free_row + index // COLUMNS)
    return cells


def area_map(areas: Iterable, touched: Mapping[str, Iterable[str]]) -> AreaMap:
    """The map of ``areas`` (directory Area rows, in the order unknown ones should be placed),
    with ``touched`` mapping an area code to the references of the active incidents there."""
    areas = list(areas)
    cells = place(a.code for a in areas)
    tiles = []
    for area in areas:
        x, y = _xy(*cells[area.code])
        tiles.append(Tile(code=area.code, name=area.name, bydel=area.bydel or "", x=x, y=y,
                          lines=wrap(area.name),
                          references=tuple(sorted(set(touched.get(area.code, ()))))))
    used = set(cells.values())
    landmarks = tuple(Landmark(name, *_xy(*cell)) for cell, name in LANDMARKS.items()
                      if cell not in used and used)
    columns = max((c for c, _ in used), default=0) + 1
    rows = max((r for _, r in used), default=0) + 1
    tiles.sort(key=lambda t: (t.y, t.x))
    return AreaMap(tiles=tuple(tiles), landmarks=landmarks,
                   width=columns * (TILE_WIDTH + GAP) - GAP,
                   height=rows * (TILE_HEIGHT + GAP) - GAP,
                   affected=tuple(sorted((t for t in tiles if t.affected), key=lambda t: t.name)))
