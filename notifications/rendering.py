"""Turning an alert into what each channel shows: an Adaptive Card, an HTML email, a text line.

The texts live in Jinja2 templates under ``templates/`` (package data, see
``beredskab_templates``) so the secretariat can change the wording.
A template that does not render, or renders a card that is not JSON, raises ``TemplateProblem``
naming the template and the line; nothing is sent half-rendered.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jinja2 import (Environment, FileSystemLoader, StrictUndefined, TemplateError,
                    TemplateSyntaxError, select_autoescape)

from beredskab_templates import folder as templates_folder
from handleplaner.clock import dansk
from handleplaner.incidents.kinds import SEVERITIES, TYPE_LABELS

TEMPLATES = templates_folder()


class TemplateProblem(Exception):
    """A template that cannot be used; the message names the file and line."""


def environment(directory: Path = TEMPLATES) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dansk"] = dansk
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    return env


_ENV = environment()


def render(name: str, env: Environment | None = None, **context) -> str:
    env = env or _ENV
    try:
        return env.get_template(name).render(**context)
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"{error.filename or name}, linje {error.lineno}: {error.message}") from error
    except TemplateError as error:
        raise TemplateProblem(f"{name}: {error}") from error


def render_json(name: str, env: Environment | None = None, **context) -> dict:
    text = render(name, env, **context)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TemplateProblem(f"{name}: giver ikke gyldig JSON (linje {error.lineno}, "
                              f"kolonne {error.colno}: {error.msg})") from error


@dataclass(frozen=True)
class AlertFacts:
    """What an alert about an incident says: no names of young people, only the incident's facts."""

    reference: str
    incident_type: str
    severity: str
    exercise: bool
    confidential: bool
    title: str
    # The incident's description only as it may leave the service: chosen by the sender for
    # this alert and the incident not confidential (``outgoing_description``); "" otherwise.
    description: str
    areas: tuple[str, ...]
    whole_city: bool
    occurred_at: object
    activated_at: object
    activated_by: str
    link: str
    # The alert itself: its kind, its text (the sender's, or for an activation the template's
    # text with the incident's facts), acknowledgement.
    kind: str = "aktivering"
    text: str = ""
    alert_id: int = 0
    requires_ack: bool = False
    ack_url: str = ""
    acknowledged: str = ""  # "Kvitteret af … kl. …" once the reader has acknowledged
    notice: str = ""  # a banner on an earlier card that a follow-up has replaced

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.incident_type, self.incident_type)

    @property
    def severity_label(self) -> str:
        return SEVERITIES.get(self.severity, self.severity)

    @property
    def area_label(self) -> str:
        return "Hele byen" if self.whole_city else ", ".join(self.areas)

    @property
    def heading(self) -> str:
        return {
            "aktivering": f"Beredskab aktiveret – {self.severity_label}",
            "besked": f"Varsel – {self.severity_label}",
            "opdatering": f"Opdatering – {self.severity_label}",
            "normaldrift": "Normaldrift – beredskabet er afsluttet",
        }.get(self.kind, self.severity_label)

    @property
    def subject(self) -> str:
        prefix = "ØVELSE – " if self.exercise else ""
        if self.kind == "aktivering":
            return (f"{prefix}Beredskab aktiveret ({self.severity_label}): {self.type_label}, "
                    f"{self.area_label} [{self.reference}]")
        label = {"besked": "Varsel", "opdatering": "Opdatering", "normaldrift": "Normaldrift"}.get(
            self.kind, "Varsel")
        return f"{prefix}{label} ({self.severity_label}): {self.title} [{self.reference}]"

    @property
    def description_sent(self) -> str:
        """The description as the channels show it: never a confidential incident's, whatever
        the caller passed."""
        return "" if self.confidential else self.description

    @property
    def main_text(self) -> str:
        """What the reader should know: the alert's text. Never the description, which is shown
        apart, and only when chosen (``description``)."""
        return self.text

    def fact_list(self) -> list[tuple[str, str]]:
        return [
            ("Hændelse", self.type_label),
            ("Alvor", self.severity_label),
            ("Område", self.area_label),
            ("Sket", dansk(self.occurred_at)),
            ("Aktiveret", f"{dansk(self.activated_at)} af {self.activated_by}"),
            ("Reference", self.reference),
        ]


def alert_texts(facts: AlertFacts, env: Environment | None = None) -> dict:
    """Subject, plain text, HTML and Adaptive Card for an alert (activation or later kinds)."""
    context = {"f": facts, "facts": facts.fact_list()}
    return {
        "subject": facts.subject,
        "text": render("email/alert.txt.j2", env, **context).strip(),
        "html": render("email/alert.html.j2", env, **context),
        "card": render_json("teams/alert.json.j2", env, **context),
    }
