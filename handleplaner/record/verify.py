"""The incident record checked against its signed anchors (``anchors``): what the hash chain
alone cannot show.

Someone with the database can delete the last entries and move the head back, rewrite an entry
and recompute every hash after it, or wipe an incident's record: the chain is whole again. An
anchor signed earlier, kept outside the database, still says how many entries there were and what
the hash at a given position was. Every anchor of the incident is compared, not only the newest:

- **mangler**: fewer entries than an anchor counted (the positions that are gone are named), or an
  anchored incident that is no longer in the database;
- **omskrevet**: the entry at an anchored position has another hash than the one signed; the
  rewritten entry lies after the last anchor that still holds and at or before the first that
  does not (both named).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from sqlmodel import Session, select

from ..clock import dansk
from .models import RecordEntry

if TYPE_CHECKING:  # the anchors module imports this one
    from .anchors import Anchor

MISSING = "mangler"
REWRITTEN = "omskrevet"
ANCHOR = "anker"


@dataclass(frozen=True)
class Finding:
    kind: str  # MISSING, REWRITTEN or ANCHOR (an anchor that cannot be trusted)
    text: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass
class AnchorCheck:
    """One incident's record against its anchors."""

    incident_id: int
    entries: int  # how many entries the database holds now
    latest: "Anchor | None" = None  # the newest signed anchor
    findings: list[Finding] = field(default_factory=list)

    @property
    def unanchored(self) -> tuple[int, int] | None:
        """(first, last) entry added after the newest anchor, or None."""
        done = self.latest.seq if self.latest else 0
        return (done + 1, self.entries) if self.entries > done else None


def spans(numbers: Iterable[int]) -> str:
    """'post 4', 'post 10–12', 'post 2, 5–7' (en dash between the ends of a run)."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[index], ordered[end]
        parts.append(str(first) if first == last else f"{first}–{last}")
        index = end + 1
    return "post " + ", ".join(parts)


def age_text(age: timedelta) -> str:
    """'under 1 min', '12 min', '2 t 5 min', '3 d 4 t'."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "under 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} t"
    if hours:
        return f"{hours} t {minutes} min"
    return f"{minutes} min"


def latest(anchors: Iterable["Anchor"]) -> "Anchor | None":
    """The last signed anchor (by the time it was signed, then by position)."""
    return max(anchors, key=lambda a: (a.at, a.seq), default=None)


def compare_hashes(incident_id: int, hashes: dict[int, str],
                   anchors: list["Anchor"]) -> AnchorCheck:
    """The entries (position -> hash) against the incident's anchors, all of them."""
    check = AnchorCheck(incident_id, len(hashes), latest(anchors))
    if not anchors:
        return check
    widest = max(anchors, key=lambda a: (a.entries, a.at))
    gone = [seq for seq in range(1, widest.entries + 1) if seq not in hashes]
    if gone:
        what = (f"alle {widest.entries} poster (loggen er tom)" if not hashes
                else f"{spans(gone)} af {widest.entries}")
        check.findings.append(Finding(MISSING, f"{what}: ankeret fra {dansk(widest.at)} har "
                                               f"{widest.entries} poster, loggen har nu "
                                               f"{len(hashes)}"))
    holding = [a for a in anchors if hashes.get(a.seq) == a.head]
    broken = sorted((a for a in anchors if a.seq in hashes and hashes[a.seq] != a.head),
                    key=lambda a: a.seq)
    if broken:
        first = broken[0]
        before = max((a.seq for a in holding if a.seq < first.seq), default=0)
        where = (f"post {first.seq}" if before + 1 == first.seq
                 else f"en af posterne {before + 1}–{first.seq}")
        check.findings.append(Finding(REWRITTEN, (
            f"{where} er ændret efter ankeret fra {dansk(first.at)}: post {first.seq} havde "
            f"hash {first.head[:12]}…, nu {hashes[first.seq][:12]}…"
            + (f" (post {before} stemmer stadig med et anker)" if before else ""))))
    return check


def compare(session: Session, incident_id: int, anchors: list["Anchor"]) -> AnchorCheck:
    """The incident's entries in the database against its anchors."""
    rows = session.exec(select(RecordEntry.seq, RecordEntry.hash)
                        .where(RecordEntry.incident_id == incident_id))
    return compare_hashes(incident_id, {seq: digest for seq, digest in rows}, anchors)


def vanished(anchors: Iterable["Anchor"], present: set[int]) -> list[tuple["Anchor", Finding]]:
    """Anchored incidents that the database no longer holds: (their newest anchor, finding)."""
    by_incident: dict[int, list["Anchor"]] = {}
    for anchor in anchors:
        if anchor.incident_id not in present:
            by_incident.setdefault(anchor.incident_id, []).append(anchor)
    found = []
    for incident_id in sorted(by_incident):
        newest = latest(by_incident[incident_id])
        found.append((newest, Finding(MISSING, (
            f"hændelsen {newest.reference} (id {incident_id}) findes ikke i databasen, men blev "
            f"ankret {dansk(newest.at)} med {newest.entries} poster"))))
    return found


def age(anchor: "Anchor", now: datetime) -> str:
    return age_text(now - anchor.at)
