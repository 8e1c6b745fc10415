"""A card action as Teams delivers it (an ``adaptiveCard/action`` invoke, Action.Execute), read
strictly before any verb acts on it.

The invoke's ``value`` must be an object whose ``action`` is an Action.Execute with a text
``verb`` and an object ``data``; anything else is refused (400) with a Danish answer. An id in
the data is a whole number a row can have (``request_input.json_id``); any other value (true,
1.0, "12", -1, 2**63, a list) is read as an id no row has, so the verb asks the access policy
about it and answers exactly as for an id that does not exist - the same answer and the same
statements. A text in the data (a reason, a comment, a colleague) must be text that can be
stored and is not too long; otherwise the field is named (400). Nothing is written on a refusal.
"""
from __future__ import annotations

from dataclasses import dataclass

from handleplaner.access import NOWHERE
from handleplaner.commitments.service import NOTE_MAX
from handleplaner.plans.service import NOTES_MAX

from .request_input import BAD_TEXT, json_id, unstorable

REFRESH = "opdater"
ACKNOWLEDGE = "kvitter"
COMMITMENT_VERBS = ("bekraeft", "afvis", "videregiv", "startet", "udfoert", "blokeret")
DECISION_VERBS = ("godkend", "afvis", "kommentar")
VERBS = (REFRESH, ACKNOWLEDGE, *COMMITMENT_VERBS, "godkend", "kommentar")

# What a card action answers for an id that does not exist - and, the same, for one of an
# incident the person may not see (handleplaner/access.py decides), or one that is no id.
CARD_MISSING = "Kortet findes ikke længere."
ALERT_MISSING = "Varslet findes ikke."
COMMITMENT_MISSING = "Opgaven eller handlingen findes ikke."
VERSION_MISSING = "Planens version findes ikke."
UNREADABLE = "Kortets handling kan ikke læses."
UNKNOWN_PERSON = "Du findes ikke i SSP Beredskabs organisationsoversigt."

# The card's text fields and what the card calls them (templates/teams/*.json.j2).
REASON = ("Begrundelse", NOTE_MAX)
COMMENT = ("Kommentar", NOTES_MAX)
HAND_TO = ("Videregiv til", 64)  # a person id (directory_person.id is at most 64 characters)


class CardRefused(Exception):
    """The card action cannot be carried out as sent: the status and the Danish answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class CardAction:
    verb: str
    data: dict

    def id(self, name: str) -> int | None:
        """The id in the data: None if the field is absent or null, ``NOWHERE`` (an id no row
        has) if it is not an id a row can have."""
        value = self.data.get(name)
        if value is None:
            return None
        found = json_id(value)
        return NOWHERE if found is None else found

    def text(self, names: tuple[str, ...], field: tuple[str, int]) -> str:
        """The first of ``names`` given in the data, as text ("" if none is); a value that is
        not text, cannot be stored or is too long is refused, naming the field."""
        label, longest = field
        for name in names:
            value = self.data.get(name)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise CardRefused(400, f"Feltet '{label}' skal være tekst.")
            if unstorable(value) is not None:
                raise CardRefused(400, f"Feltet '{label}' {BAD_TEXT}.")
            if len(value) > longest:
                raise CardRefused(400, f"Feltet '{label}' er for langt (højst {longest} tegn).")
            return value
        return ""


def card_action(value: object) -> CardAction:
    """The Action.Execute in an invoke's value, or ``CardRefused``."""
    action = value.get("action") if isinstance(value, dict) else None
    if not isinstance(action, dict) or action.get("type") != "Action.Execute":
        raise CardRefused(400, UNREADABLE)
    verb, data = action.get("verb"), action.get("data")
    if not isinstance(verb, str) or not verb:
        raise CardRefused(400, "Kortets handling har intet navn.")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CardRefused(400, UNREADABLE)
    if verb not in VERBS:
        raise CardRefused(400, f"Ukendt handling: {verb[:40]}")
    return CardAction(verb, data)
