"""The incident's timeline: one chronological list of the steps taken — activation, meeting,
plan drafted and versions sent, approvals, alerts with how many got and acknowledged them,
commitments, reminders and escalations, extension, evaluation, closing.

Built from the incident record (the append-only log, in its order) and the alerts' deliveries.
Routine entries that only repeat what an alert's counts already say (one per delivery, one per
acknowledgement, one per meeting answer, each plan edit) are left to the full record.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from handleplaner import record
from handleplaner.clock import dansk, iso_utc
from handleplaner.directory import queries as directory

from .models import ALERT_KINDS, Alert
from .progress import AlertProgress, incident_progress

# record action -> (kind code shown as a CSS class, Danish label of the step)
STEPS = {
    "beredskab.aktiveret": ("aktivering", "Beredskab aktiveret"),
    "beredskab.afsluttet": ("afslutning", "Beredskab afsluttet"),
    "beredskabsplan.forberedt": ("plan", "Beredskabsplan forberedt"),
    "moede.indkaldt": ("moede", "Møde indkaldt"),
    "moede.aendret": ("moede", "Møde flyttet"),
    "moede.aflyst": ("moede", "Møde aflyst"),
    "moede.beslutning": ("moede", "Beslutning i referatet"),
    "moede.referat": ("moede", "Møde holdt, referat godkendt"),
    "handleplan.udkast": ("plan", "Handleplan udarbejdet"),
    "handleplan.sendt": ("plan", "Version sendt til godkendelse"),
    "handleplan.godkendelse": ("godkendelse", "Godkendelse"),
    "handleplan.afvisning": ("afvisning", "Afvisning"),
    "handleplan.kommentar": ("godkendelse", "Kommentar til version"),
    "handleplan.godkendt": ("godkendelse", "Handleplan godkendt"),
    "handleplan.afvist": ("afvisning", "Handleplan afvist"),
    "handleplan.forlaenget": ("plan", "Periode forlænget"),
    "handleplan.paamindelse": ("paamindelse", "Påmindelse om evaluering"),
    "handleplan.evaluering": ("evaluering", "Evaluering"),
    "handleplan.evaluering_modtaget": ("evaluering", "Evaluering modtaget"),
    "opgave.bekraeftet": ("opgave", "Opgave bekræftet"),
    "opgave.afvist": ("opgave", "Opgave afvist"),
    "opgave.videregivet": ("opgave", "Opgave videregivet"),
    "opgave.i_gang": ("opgave", "Opgave i gang"),
    "opgave.udfoert": ("opgave", "Opgave udført"),
    "opgave.blokeret": ("opgave", "Opgave blokeret"),
    "varsel.accepteret": ("varsel", "Varsel sendt"),
    "varsel.kvorum": ("varsel", "Varsel kvitteret af nok"),
    "varsel.eskaleret": ("eskalering", "Eskalering"),
    "varsel.eskalering_opbrugt": ("eskalering", "Eskalering opbrugt"),
    "varsel.sendt_igen": ("varsel", "Sendt igen via anden kanal"),
    "varsel.naeste_kanal": ("varsel", "Teams blokeret: sendt med e-mail"),
    "sag.eksporteret": ("sag", "Sagsakt hentet"),
    "retention.anonymiseret": ("sag", "Personoplysninger anonymiseret"),
}
# Entries that are in the full record but would drown the timeline.
ROUTINE = {"varsel.leveret", "varsel.forsinket", "varsel.fejlet", "varsel.kanal_postet",
           "varsel.anden_rute", "varsel.kvitteret", "moede.svar", "handleplan.aendret",
           "opgave.tryk_afvist"}
SYSTEM_NAME = "SSP Beredskab (automatisk)"


@dataclass(frozen=True)
class AlertCounts:
    recipients: int  # people it was sent to (escalations not counted)
    delivered: int  # of those, people it reached on at least one channel
    acknowledged: int
    requires_ack: bool

    def text(self) -> str:
        parts = [f"{self.recipients} {'modtager' if self.recipients == 1 else 'modtagere'}",
                 f"{self.delivered} leveret"]
        if self.requires_ack:
            parts.append(f"{self.acknowledged} kvitteret")
        return " · ".join(parts)


@dataclass(frozen=True)
class Step:
    seq: int
    at: datetime
    kind: str
    label: str
    who: str
    summary: str
    counts: AlertCounts | None = None

    @property
    def when(self) -> str:
        return dansk(self.at)

    @property
    def iso(self) -> str:
        return iso_utc(self.at)


def _alert_label(alert: Alert | None) -> tuple[str, str]:
    """Kind and label for an accepted alert: reminders and escalations of commitments and the
    plan's time box are named as such."""
    if alert is None:
        return "varsel", "Varsel sendt"
    key = alert.dedupe_key
    if key.startswith("opgave:"):
        if key.endswith(":forfalden"):
            return "eskalering", "Opgave forfalden"
        if key.endswith(":trin:1"):
            return "paamindelse", "Påmindelse om opgave"
        return "eskalering", "Opgave eskaleret"
    if key.startswith("tidsramme:"):
        return "paamindelse", "Påmindelse om handleplanens periode"
    if alert.kind == "aktivering":
        return "varsel", "Aktiveringsvarsel sendt"
    return "varsel", f"{ALERT_KINDS.get(alert.kind, 'Varsel')} sendt"


def timeline(session: Session, incident_id: int, *,
             progress: list[AlertProgress] | None = None) -> list[Step]:
    """The incident's steps, oldest first (the record's order). ``progress``: the incident's
    ``incident_progress`` if the caller has it already."""
    names = {p.id: p.name for p in directory.list_people(session, include_inactive=True)}
    progress = incident_progress(session, incident_id) if progress is None else progress
    alerts = {p.alert.id: p.alert for p in progress}
    counts = {p.alert.id: AlertCounts(recipients=p.recipients, delivered=p.delivered_people,
                                      acknowledged=p.acknowledged_people,
                                      requires_ack=p.alert.requires_ack) for p in progress}
    steps = []
    for entry in record.entries(session, incident_id):
        if entry.action in ROUTINE:
            continue
        kind, label = STEPS.get(entry.action, ("andet", "Andet"))
        found = None
        if entry.action == "varsel.accepteret":
            try:
                alert_id = json.loads(entry.data or "{}").get("alert_id")
            except ValueError:
                alert_id = None
            alert = alerts.get(alert_id)
            kind, label = _alert_label(alert)
            found = counts.get(alert_id)
            text = record.readable(session, entry)
            summary = f"{alert.title}. {text}" if alert else text
        else:
            summary = record.readable(session, entry)
        who = SYSTEM_NAME if entry.actor_id == record.SYSTEM else names.get(entry.actor_id,
                                                                            entry.actor_id)
        steps.append(Step(seq=entry.seq, at=entry.at, kind=kind, label=label, who=who,
                          summary=summary, counts=found))
    return steps
