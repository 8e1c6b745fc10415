"""The confirmation step before an alert goes to many people.

On the web, an activation or a composed alert whose audience is larger than the setting
``alert_confirm_above`` (50) is not sent on the first submit: the sender sees the count per
authority and confirms ("Bekræft og send"); the form's values ride along in hidden fields and
nothing is written before the confirmation. The JSON API has no such step.
"""
from __future__ import annotations

from collections import Counter

from aiohttp import web
from sqlmodel import Session

from handleplaner.directory import queries as directory
from notifications.outbox import channels_of

from .keys import SERVICES

CONFIRM = "bekraeft"  # the button on the confirmation step
BACK = "ret"  # back to the form, everything kept
NOT_CARRIED = {"csrf", "handling", "antal"}


def threshold(request: web.Request) -> int:
    return request.app[SERVICES].settings.alert_confirm_above


def needs_confirmation(request: web.Request, form, count: int) -> tuple[bool, str]:
    """Whether to show the step (again), and why again: the audience changed since it was
    confirmed."""
    if count <= threshold(request):
        return False, ""
    if form.get("handling") != CONFIRM:
        return True, ""
    if str(form.get("antal", "")) != str(count):
        return True, (f"Antallet af modtagere er ændret, siden du bekræftede "
                      f"({form.get('antal') or 'ukendt'} → {count}). Bekræft igen.")
    return False, ""


def carried(form) -> list[tuple[str, str]]:
    """Every entered value, repeated fields (checkboxes, multi-selects) included."""
    return [(name, str(value)) for name, value in form.items() if name not in NOT_CARRIED]


def context(request: web.Request, session: Session, form, people: list, *, action: str,
            what: str, exercise: bool = False, notice: str = "") -> dict:
    return dict(count=len(people), people=people, threshold=threshold(request),
                by_authority=dict(sorted(Counter(p.authority_code for p in people).items())),
                authority_names={a.code: a.name for a in directory.authorities(session)},
                unreachable=[p for p in people if not channels_of(p)], carried=carried(form),
                action=action, what=what, exercise=exercise, notice=notice)
