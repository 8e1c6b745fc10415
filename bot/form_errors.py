"""Errors as the web forms show them: a required field left empty says "skal udfyldes",
whatever check it failed first (an empty title is "for kort" to the API, but a person who left
it out should be told to fill it in)."""
from __future__ import annotations

from typing import Iterable, Mapping

MISSING = "skal udfyldes"


def blank_means_missing(errors: Mapping[str, str], values: Mapping,
                        required: Iterable[str]) -> dict[str, str]:
    required = set(required)
    return {name: (MISSING if name in required and not str(values.get(name) or "").strip()
                   else message)
            for name, message in errors.items()}
