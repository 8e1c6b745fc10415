"""The incident's lifecycle as a table and a pure function (domain.md, 'Lifecycles')."""
from __future__ import annotations

STATE_LABELS: dict[str, str] = {
    "aktiveret": "Aktiveret",
    "moede_indkaldt": "Møde indkaldt",
    "handleplan_udkast": "Handleplan i udkast",
    "handleplan_sendt": "Handleplan sendt",
    "aktiv": "Aktiv",
    "forlaenget": "Forlænget",
    "evaluering": "Evaluering",
    "afsluttet": "Afsluttet",
}

# (state, event) -> next state
TRANSITIONS: dict[tuple[str | None, str], str] = {
    (None, "aktiver"): "aktiveret",
    ("aktiveret", "indkald_moede"): "moede_indkaldt",
    ("aktiveret", "udkast_handleplan"): "handleplan_udkast",
    ("moede_indkaldt", "udkast_handleplan"): "handleplan_udkast",
    ("handleplan_udkast", "send_handleplan"): "handleplan_sendt",
    ("handleplan_sendt", "godkend_handleplan"): "aktiv",
    ("handleplan_sendt", "udkast_handleplan"): "handleplan_udkast",
    ("aktiv", "udkast_handleplan"): "handleplan_udkast",
    ("aktiv", "forlaeng"): "forlaenget",
    ("forlaenget", "forlaeng"): "forlaenget",
    ("aktiv", "periode_udloebet"): "evaluering",
    ("forlaenget", "periode_udloebet"): "evaluering",
    # the period runs out whether or not the plan was approved in time
    ("handleplan_udkast", "periode_udloebet"): "evaluering",
    ("handleplan_sendt", "periode_udloebet"): "evaluering",
    ("evaluering", "afslut"): "afsluttet",
}
for _state in ("aktiveret", "moede_indkaldt", "handleplan_udkast", "handleplan_sendt", "aktiv",
               "forlaenget"):
    TRANSITIONS[(_state, "afslut")] = "afsluttet"


class TransitionRefused(Exception):
    def __init__(self, state: str | None, event: str):
        label = STATE_LABELS.get(state or "", "ny")
        super().__init__(f"'{event}' er ikke muligt, når hændelsen er '{label}'")
        self.state, self.event = state, event


def transition(state: str | None, event: str) -> str:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise TransitionRefused(state, event) from None
