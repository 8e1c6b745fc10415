"""Drafting, editing, sending and approving the fælles handleplan.

Keyword-only functions on an explicit session, no network I/O; the caller commits. Every change
is written to the incident's record. A sent version is frozen as a snapshot: later edits change
the draft only, and the next send makes a new version (with a diff against the previous one).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, select

from .. import record
from ..clock import dansk, iso_utc, to_utc, utcnow
from ..directory import queries as directory
from ..directory.models import Authority, Person
from ..incidents import SEVERITIES, TYPE_LABELS, get_incident, incident_areas, lock_incident
from ..incidents.service import _danish_errors
from ..incidents.states import TransitionRefused, transition
from .measures import MEASURE_TYPES
from .models import (APPROVAL_RULES, DECISIONS, MEASURE_STATUSES, PLAN_STATES, VERSION_STATES,
                     ApprovalDecision, Plan, PlanCommunication, PlanExtension, PlanMeasure,
                     PlanVersion)
from .templates import load_plan_templates, render_plan_template

KIND_LABELS = {"handleplan": "Handleplan", "beredskabsplan": "Beredskabsplan"}
NOTES_MAX = 2000


class PlanRefused(Exception):
    """Not allowed, or not possible in the plan's state; nothing was written."""


class PlanInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# Who may do what --------------------------------------------------------------------------
def may_edit(session: Session, person_id: str) -> bool:
    """The SSP Sekretariat drafts, edits and sends plans."""
    return directory.is_secretariat(session, person_id)


def styregruppe(session: Session) -> list[Person]:
    return [p for g in directory.list_groups(session, kind="styregruppe")
            for p in directory.group_members(session, g.code)]


def styregruppe_chair(session: Session) -> str | None:
    for group in directory.list_groups(session, kind="styregruppe"):
        if group.chair_id:
            return group.chair_id
    return None


def _require_editor(session: Session, actor_id: str) -> None:
    if not may_edit(session, actor_id):
        raise PlanRefused("Kun SSP Sekretariatet kan udarbejde og ændre handleplaner.")


def _move_incident(session: Session, incident_id: int, event: str) -> None:
    incident = get_incident(session, incident_id)
    try:
        incident.state = transition(incident.state, event)
    except TransitionRefused:
        return  # e.g. a new draft while the plan is in force: the incident keeps its state
    session.add(incident)


# Drafting ---------------------------------------------------------------------------------
def incident_facts(session: Session, incident, period_days: int) -> dict[str, Any]:
    names = {a.code: a.name for a in directory.all_areas(session, include_inactive=True)}
    areas = [names.get(c, c) for c in incident_areas(session, incident.id)]
    return {"reference": incident.reference, "type_label": TYPE_LABELS[incident.incident_type],
            "severity_label": SEVERITIES[incident.severity], "areas": areas,
            "area_label": "hele byen" if incident.whole_city else ", ".join(areas),
            "occurred": dansk(incident.occurred_at), "title": incident.title,
            "exercise": incident.exercise, "period_days": period_days}


def get_plan(session: Session, plan_id: int) -> Plan | None:
    return session.get(Plan, plan_id)


def plan_of_incident(session: Session, incident_id: int) -> Plan | None:
    return session.exec(select(Plan).where(Plan.incident_id == incident_id)
                        .order_by(Plan.id.desc())).first()


def draft_plan(session: Session, *, incident_id: int, actor_id: str, template_code: str,
               period_days: int | None = None, start: datetime | None = None,
               templates: Mapping | None = None, now: datetime | None = None) -> Plan:
    """A draft from a template: purpose, background, measures with their usual owners and time
    windows, the communication plan and the evaluation point, for the period chosen now."""
    moment = now or utcnow()
    _require_editor(session, actor_id)
    incident = lock_incident(session, incident_id)
    if incident is None:
        raise PlanInvalid({"incident": "hændelsen findes ikke"})
    if plan_of_incident(session, incident_id) is not None:
        raise PlanRefused("Hændelsen har allerede en handleplan; ret den i stedet.")
    templates = templates if templates is not None else load_plan_templates()
    template = templates.get(template_code)
    if template is None:
        raise PlanInvalid({"template": f"ukendt skabelon: {template_code}"})
    days = period_days or template.default_period_days
    if not 1 <= days <= 365:
        raise PlanInvalid({"period_days": "perioden skal være mellem 1 og 365 dage"})
    rendered = render_plan_template(template, incident_facts(session, incident, days))
    begin = to_utc(start) if start else moment
    plan = Plan(incident_id=incident_id, kind=rendered.plan_kind, template_code=template.code,
                title=f"Fælles {KIND_LABELS[rendered.plan_kind].lower()}: {incident.title}",
                purpose=rendered.purpose, background=rendered.background,
                evaluation_text=rendered.evaluation, period_start=begin,
                period_end=begin + timedelta(days=days),
                evaluation_at=begin + timedelta(days=min(rendered.evaluation_offset_days, days)),
                created_at=moment, created_by=actor_id)
    session.add(plan)
    session.flush()
    for position, m in enumerate(rendered.measures):
        starts = begin + timedelta(hours=m.start_offset_hours)
        ends = min(starts + timedelta(hours=m.duration_hours), plan.period_end)
        session.add(PlanMeasure(plan_id=plan.id, key=m.key, title=m.title,
                                measure_type=m.measure_type, authority_code=m.authority,
                                responsible_id=usual_responsible(session, incident_id, m.authority),
                                starts_at=starts, ends_at=ends, description=m.description,
                                position=position))
    for position, c in enumerate(rendered.communication):
        session.add(PlanCommunication(plan_id=plan.id, audience=c.audience, what=c.what,
                                      when_at=min(begin + timedelta(hours=c.when_offset_hours),
                                                  plan.period_end),
                                      confidentiality=c.confidentiality, position=position))
    _move_incident(session, incident_id, "udkast_handleplan")
    record.append(session, incident_id=incident_id, actor_id=actor_id,
                  action="handleplan.udkast", at=moment,
                  summary=(f"{KIND_LABELS[plan.kind]} udarbejdet fra skabelonen '{template.name}' "
                           f"for {days} dage ({dansk(plan.period_start)} – {dansk(plan.period_end)})"),
                  data={"plan_id": plan.id, "template": template.code, "period_days": days,
                        "measures": len(rendered.measures)})
    return plan


def usual_responsible(session: Session, incident_id: int, authority: str) -> str | None:
    """The authority's SSP leader in a ledergruppe covering the incident's areas, if any."""
    areas = incident_areas(session, incident_id)
    for person in directory.ledergruppe_leaders_for_areas(session, areas):
        if person.authority_code == authority:
            return person.id
    return None


# Editing ----------------------------------------------------------------------------------
class MeasureInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    measure_type: str
    authority: str
    responsible: str | None = None
    starts_at: datetime
    ends_at: datetime
    status: str = "planlagt"
    description: str = Field(default="", max_length=NOTES_MAX)
    notes: str = Field(default="", max_length=NOTES_MAX)
    confidential: bool = False

    @field_validator("measure_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in MEASURE_TYPES:
            raise ValueError("ukendt indsatstype")
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in MEASURE_STATUSES:
            raise ValueError("ukendt status")
        return value


# What the leader responsible for a measure may change on it without being the secretariat.
RESPONSIBLE_MAY_CHANGE = frozenset({"status", "notes"})


def _editable(session: Session, plan_id: int, actor_id: str, *, editor: bool = True) -> Plan:
    if editor:
        _require_editor(session, actor_id)
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanInvalid({"plan": "planen findes ikke"})
    if plan.state in ("evaluering", "afsluttet"):
        raise PlanRefused(f"Planen kan ikke ændres, når den er '{PLAN_STATES[plan.state]}'.")
    lock_incident(session, plan.incident_id)
    return plan


def _check_measure(session: Session, plan: Plan, data: Mapping) -> MeasureInput:
    try:
        measure = MeasureInput.model_validate(dict(data))
    except ValidationError as error:
        raise PlanInvalid(_danish_errors(error)) from None
    errors = {}
    if session.get(Authority, measure.authority) is None:
        errors["authority"] = f"ukendt myndighed: {measure.authority}"
    if measure.responsible:
        person = directory.get_person(session, measure.responsible)
        if person is None or not person.active:
            errors["responsible"] = "ukendt eller inaktiv person"
        elif person.authority_code != measure.authority:
            errors["responsible"] = f"den ansvarlige skal være fra {measure.authority}"
    starts, ends = to_utc(measure.starts_at), to_utc(measure.ends_at)
    if ends <= starts:
        errors["ends_at"] = "slut skal ligge efter start"
    elif starts < plan.period_start or ends > plan.period_end:
        errors["starts_at" if starts < plan.period_start else "ends_at"] = (
            f"indsatsen ligger uden for planens periode ({dansk(plan.period_start)} – "
            f"{dansk(plan.period_end)})")
    if errors:
        raise PlanInvalid(errors)
    return measure


def _changed(plan: Plan) -> None:
    if plan.state in ("sendt", "godkendt", "afvist"):
        plan.state = "udkast"  # the frozen versions stay as they were; the next send is new


def add_measure(session: Session, *, plan_id: int, actor_id: str, data: Mapping,
                now: datetime | None = None) -> PlanMeasure:
    moment = now or utcnow()
    plan = _editable(session, plan_id, actor_id)
    m = _check_measure(session, plan, data)
    position = len(list(session.exec(select(PlanMeasure.id).where(PlanMeasure.plan_id == plan.id))))
    measure = PlanMeasure(plan_id=plan.id, key=f"m-{uuid.uuid4().hex[:8]}", title=m.title,
                          measure_type=m.measure_type, authority_code=m.authority,
                          responsible_id=m.responsible, starts_at=to_utc(m.starts_at),
                          ends_at=to_utc(m.ends_at), status=m.status, description=m.description,
                          notes=m.notes, confidential=m.confidential, position=position)
    session.add(measure)
    _changed(plan)
    session.add(plan)
    session.flush()
    record.append(session, incident_id=plan.incident_id, actor_id=actor_id,
                  action="handleplan.aendret", at=moment,
                  summary=f"Indsats tilføjet: {{titel}} ({m.authority})",
                  data={"plan_id": plan.id, "measure": measure.key, "change": "tilføjet"},
                  detail={"titel": m.title})
    return measure


def _measure(session: Session, plan: Plan, key: str) -> PlanMeasure:
    measure = session.exec(select(PlanMeasure).where(PlanMeasure.plan_id == plan.id,
                                                     PlanMeasure.key == key)).first()
    if measure is None:
        raise PlanInvalid({"measure": "indsatsen findes ikke"})
    return measure


def update_measure(session: Session, *, plan_id: int, key: str, actor_id: str, data: Mapping,
                   now: datetime | None = None) -> PlanMeasure:
    """Change a measure: reassign, re-time, status, notes. Fields left out keep their value.

    The secretariat may change everything; the leader responsible for the measure may change
    its status and notes."""
    moment = now or utcnow()
    editor = may_edit(session, actor_id)
    plan = _editable(session, plan_id, actor_id, editor=editor)
    measure = _measure(session, plan, key)
    if not editor:
        if measure.responsible_id != actor_id:
            raise PlanRefused("Kun SSP Sekretariatet og den ansvarlige for indsatsen kan ændre den.")
        beyond = sorted(set(data) - RESPONSIBLE_MAY_CHANGE)
        if beyond:
            raise PlanRefused("Som ansvarlig kan du ændre status og noter for din egen indsats; "
                              f"resten ændrer SSP Sekretariatet ({', '.join(beyond)}).")
    current = {"title": measure.title, "measure_type": measure.measure_type,
               "authority": measure.authority_code, "responsible": measure.responsible_id,
               "starts_at": measure.starts_at, "ends_at": measure.ends_at,
               "status": measure.status, "description": measure.description,
               "notes": measure.notes, "confidential": measure.confidential}
    merged = {**current, **dict(data)}
    m = _check_measure(session, plan, merged)
    before = dict(current)
    measure.title, measure.measure_type, measure.authority_code = m.title, m.measure_type, m.authority
    measure.responsible_id, measure.status = m.responsible, m.status
    measure.starts_at, measure.ends_at = to_utc(m.starts_at), to_utc(m.ends_at)
    measure.description, measure.notes, measure.confidential = m.description, m.notes, m.confidential
    session.add(measure)
    _changed(plan)
    session.add(plan)
    what = [name for name in ("title", "authority", "responsible", "starts_at", "ends_at",
                              "status", "notes", "description", "confidential")
            if before[name] != getattr(m, name) and not (
                name in ("starts_at", "ends_at") and to_utc(getattr(m, name)) == before[name])]
    record.append(session, incident_id=plan.incident_id, actor_id=actor_id,
                  action="handleplan.aendret", at=moment,
                  summary=f"Indsats ændret: {{titel}} ({', '.join(what) or 'ingen ændring'})",
                  data={"plan_id": plan.id, "measure": key, "change": "ændret", "fields": what},
                  detail={"titel": m.title})
    return measure


def remove_measure(session: Session, *, plan_id: int, key: str, actor_id: str,
                   now: datetime | None = None) -> None:
    moment = now or utcnow()
    plan = _editable(session, plan_id, actor_id)
    measure = _measure(session, plan, key)
    session.delete(measure)
    _changed(plan)
    session.add(plan)
    record.append(session, incident_id=plan.incident_id, actor_id=actor_id,
                  action="handleplan.aendret", at=moment,
                  summary=f"Indsats fjernet: {{titel}} ({measure.authority_code})",
                  data={"plan_id": plan.id, "measure": key, "change": "fjernet"},
                  detail={"titel": measure.title})


def measures(session: Session, plan_id: int) -> list[PlanMeasure]:
    return list(session.exec(select(PlanMeasure).where(PlanMeasure.plan_id == plan_id)
                             .order_by(PlanMeasure.authority_code, PlanMeasure.starts_at,
                                       PlanMeasure.position)))


def communication(session: Session, plan_id: int) -> list[PlanCommunication]:
    return list(session.exec(select(PlanCommunication).where(PlanCommunication.plan_id == plan_id)
                             .order_by(PlanCommunication.position)))


# Versions ---------------------------------------------------------------------------------
def snapshot(session: Session, plan: Plan, *, number: int, frozen_by: str, frozen_at: datetime,
             rule: str, state: str = "afventer", decisions: list | None = None) -> dict:
    """The frozen content of a version, in the shape the documents render."""
    incident = get_incident(session, plan.incident_id)
    facts = incident_facts(session, incident, 0)
    authorities = {a.code: a.name for a in directory.authorities(session, include_inactive=True)}
    people: dict[str, Person] = {}

    def person(pid):
        if pid and pid not in people:
            people[pid] = directory.get_person(session, pid)
        return people.get(pid) if pid else None

    extensions = session.exec(select(PlanExtension).where(PlanExtension.plan_id == plan.id)
                              .order_by(PlanExtension.at))
    frozen_person = person(frozen_by)
    return {
        "plan_id": plan.id, "version": number, "kind": plan.kind, "kind_label": KIND_LABELS[plan.kind],
        "title": plan.title, "template": plan.template_code,
        "incident": {"reference": incident.reference, "type_label": facts["type_label"],
                     "severity_label": facts["severity_label"], "areas": facts["areas"],
                     "occurred_at": iso_utc(incident.occurred_at), "exercise": incident.exercise,
                     "confidential": incident.confidential},
        "period": {"start": iso_utc(plan.period_start), "end": iso_utc(plan.period_end),
                   "extended": [{"reason": e.reason, "new_end": iso_utc(e.new_end),
                                 "by": person(e.by).name, "at": iso_utc(e.at)} for e in extensions]},
        "purpose": plan.purpose, "background": plan.background,
        "measures": [{
            "key": m.key, "title": m.title, "measure_type": m.measure_type,
            "measure_label": MEASURE_TYPES.get(m.measure_type, m.measure_type),
            "authority": m.authority_code, "authority_name": authorities.get(m.authority_code, ""),
            "responsible": ({"id": m.responsible_id, "name": person(m.responsible_id).name,
                             "title": person(m.responsible_id).title}
                            if m.responsible_id else None),
            "starts_at": iso_utc(m.starts_at), "ends_at": iso_utc(m.ends_at), "status": m.status,
            "status_label": MEASURE_STATUSES[m.status], "description": m.description,
            "notes": m.notes, "confidential": m.confidential} for m in measures(session, plan.id)],
        "communication": [{"audience": c.audience, "what": c.what, "when": iso_utc(c.when_at),
                           "confidentiality": c.confidentiality}
                          for c in communication(session, plan.id)],
        "evaluation": {"at": iso_utc(plan.evaluation_at), "text": plan.evaluation_text},
        "approval": {"state": state, "state_label": VERSION_STATES[state], "rule": rule,
                     "rule_label": APPROVAL_RULES[rule], "decisions": decisions or []},
        "frozen_at": iso_utc(frozen_at), "frozen_by": frozen_person.name if frozen_person else "",
        "confidential_people": sorted({p.name for p in people.values() if p is not None}),
    }


def versions(session: Session, plan_id: int) -> list[PlanVersion]:
    return list(session.exec(select(PlanVersion).where(PlanVersion.plan_id == plan_id)
                             .order_by(PlanVersion.number)))


def version_snapshot(session: Session, version: PlanVersion) -> dict:
    """The frozen snapshot with the approval as it stands now (decisions are added later)."""
    data = json.loads(version.snapshot)
    rows = session.exec(select(ApprovalDecision, Person)
                        .join(Person, Person.id == ApprovalDecision.person_id)
                        .where(ApprovalDecision.version_id == version.id)
                        .order_by(ApprovalDecision.at, ApprovalDecision.id))
    data["approval"].update(state=version.state, state_label=VERSION_STATES[version.state],
                            decisions=[{"person": p.name, "decision": d.decision,
                                        "decision_label": DECISIONS[d.decision],
                                        "comment": d.comment, "at": iso_utc(d.at)}
                                       for d, p in rows])
    return data


def send_plan(session: Session, *, plan_id: int, actor_id: str, rule: str = "formand",
              now: datetime | None = None) -> PlanVersion:
    """Freeze the draft as the next version and send it to the styregruppe."""
    moment = now or utcnow()
    plan = _editable(session, plan_id, actor_id)
    if rule not in APPROVAL_RULES:
        raise PlanInvalid({"rule": f"ukendt godkendelsesregel: {rule}"})
    if plan.state in ("sendt", "godkendt", "afvist"):
        raise PlanRefused("Planen er ikke ændret siden sidste version.")
    if not measures(session, plan.id):
        raise PlanInvalid({"measures": "planen har ingen indsatser"})
    for earlier in versions(session, plan.id):
        if earlier.state in ("afventer", "godkendt"):
            earlier.state = "erstattet"
            session.add(earlier)
    plan.versions += 1
    plan.state = "sendt"
    session.add(plan)
    content = snapshot(session, plan, number=plan.versions, frozen_by=actor_id, frozen_at=moment,
                       rule=rule)
    version = PlanVersion(plan_id=plan.id, number=plan.versions, approval_rule=rule,
                          snapshot=json.dumps(content, ensure_ascii=False), frozen_at=moment,
                          frozen_by=actor_id)
    session.add(version)
    session.flush()
    _move_incident(session, plan.incident_id, "send_handleplan")
    previous = versions(session, plan.id)[-2:-1]
    changes = diff(json.loads(previous[0].snapshot), content) if previous else []
    record.append(session, incident_id=plan.incident_id, actor_id=actor_id,
                  action="handleplan.sendt", at=moment,
                  summary=(f"{KIND_LABELS[plan.kind]} version {version.number} sendt til "
                           f"styregruppen ({APPROVAL_RULES[rule].lower()})"
                           + (f"; {len(changes)} ændringer" if previous else "")),
                  data={"plan_id": plan.id, "version_id": version.id, "version": version.number,
                        "rule": rule},
                  # the changes quote titles and texts: the personal part
                  detail={"changes": [c.text for c in changes]} if changes else None)
    return version


# Approval ---------------------------------------------------------------------------------
@dataclass
class Decided:
    version: PlanVersion
    decision: ApprovalDecision
    outcome_now: str | None  # "godkendt" / "afvist" if this decision settled the version


def _outcome(session: Session, version: PlanVersion) -> str | None:
    decisions = list(session.exec(select(ApprovalDecision).where(
        ApprovalDecision.version_id == version.id).order_by(ApprovalDecision.at,
                                                            ApprovalDecision.id)))
    latest: dict[str, str] = {}
    for d in decisions:
        if d.decision in ("godkend", "afvis"):
            latest[d.person_id] = d.decision
    if version.approval_rule == "formand":
        chair = styregruppe_chair(session)
        vote = latest.get(chair) if chair else None
        return {"godkend": "godkendt", "afvis": "afvist"}.get(vote)
    if version.approval_rule == "et-medlem":
        for d in decisions:
            if d.decision in ("godkend", "afvis"):
                return {"godkend": "godkendt", "afvis": "afvist"}[d.decision]
        return None
    members = {p.id for p in styregruppe(session)}
    votes = [v for pid, v in latest.items() if pid in members]
    if votes.count("godkend") * 2 > len(members):
        return "godkendt"
    if votes.count("afvis") * 2 >= len(members) and members:
        return "afvist"
    return None


def decide(session: Session, *, version_id: int, person_id: str, decision: str,
           comment: str = "", via: str = "web", now: datetime | None = None) -> Decided:
    """A styregruppe member approves, rejects or comments on a sent version."""
    moment = now or utcnow()
    if decision not in DECISIONS:
        raise PlanInvalid({"decision": "ukendt beslutning"})
    if len(comment) > NOTES_MAX:
        raise PlanInvalid({"comment": f"kommentaren er for lang (højst {NOTES_MAX} tegn)"})
    if decision == "kommentar" and not comment.strip():
        raise PlanInvalid({"comment": "skriv en kommentar"})
    version = session.get(PlanVersion, version_id)
    if version is None:
        raise PlanInvalid({"version": "versionen findes ikke"})
    plan = session.get(Plan, version.plan_id)
    lock_incident(session, plan.incident_id)
    if person_id not in {p.id for p in styregruppe(session)}:
        raise PlanRefused("Kun styregruppens medlemmer kan godkende eller afvise handleplaner.")
    if version.state != "afventer" and decision != "kommentar":
        raise PlanRefused(f"Version {version.number} er {VERSION_STATES[version.state].lower()} "
                          "og kan ikke længere godkendes eller afvises.")
    row = ApprovalDecision(version_id=version.id, person_id=person_id, decision=decision,
                           comment=comment.strip(), via=via, at=moment)
    session.add(row)
    session.flush()
    person = directory.get_person(session, person_id)
    record.append(session, incident_id=plan.incident_id, actor_id=person_id,
                  action=f"handleplan.{ {'godkend': 'godkendelse', 'afvis': 'afvisning', 'kommentar': 'kommentar'}[decision]}",
                  at=moment,
                  summary=(f"{person.name}: {DECISIONS[decision].lower()} version {version.number}"
                           # the comment is personal data, kept on the decision only
                           + (" med kommentar" if comment.strip() else "")),
                  data={"plan_id": plan.id, "version_id": version.id, "decision": decision,
                        "via": via})
    outcome = _outcome(session, version) if version.state == "afventer" else None
    if outcome:
        version.state, version.decided_at = outcome, moment
        plan.state = outcome if plan.state == "sendt" else plan.state
        session.add(version)
        session.add(plan)
        if outcome == "godkendt":
            _move_incident(session, plan.incident_id, "godkend_handleplan")
        record.append(session, incident_id=plan.incident_id, actor_id=record.SYSTEM,
                      action=f"handleplan.{outcome}", at=moment,
                      summary=(f"Version {version.number} er {outcome} "
                               f"({APPROVAL_RULES[version.approval_rule].lower()})"),
                      data={"plan_id": plan.id, "version_id": version.id})
    return Decided(version=version, decision=row, outcome_now=outcome)


# Period -----------------------------------------------------------------------------------
def extend_plan(session: Session, *, plan_id: int, actor_id: str, new_end: datetime,
                reason: str, now: datetime | None = None) -> PlanExtension:
    moment = now or utcnow()
    plan = _editable(session, plan_id, actor_id)
    errors = {}
    if not reason or len(reason.strip()) < 3:
        errors["reason"] = "en forlængelse kræver en begrundelse"
    end = to_utc(new_end)
    if end <= plan.period_end:
        errors["new_end"] = f"den nye slutdato skal ligge efter {dansk(plan.period_end)}"
    if errors:
        raise PlanInvalid(errors)
    extension = PlanExtension(plan_id=plan.id, reason=reason.strip(), old_end=plan.period_end,
                              new_end=end, by=actor_id, at=moment)
    plan.period_end = end
    _changed(plan)
    session.add(extension)
    session.add(plan)
    _move_incident(session, plan.incident_id, "forlaeng")
    record.append(session, incident_id=plan.incident_id, actor_id=actor_id,
                  action="handleplan.forlaenget", at=moment,
                  summary=f"Perioden forlænget til {dansk(end)} (begrundelse angivet)",
                  data={"plan_id": plan.id, "old_end": iso_utc(extension.old_end),
                        "new_end": iso_utc(end)})
    return extension


# Diff -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    kind: str  # tilføjet | fjernet | omplanlagt | overdraget | ændret | periode
    key: str
    text: str


def _when(value: str) -> str:
    return dansk(datetime.fromisoformat(value))


def diff(old: dict, new: dict) -> list[Change]:
    """What changed between two versions, readable: added, removed, re-timed, reassigned."""
    changes: list[Change] = []
    if old["period"]["end"] != new["period"]["end"] or old["period"]["start"] != new["period"]["start"]:
        changes.append(Change("periode", "", (
            f"Perioden ændret fra {_when(old['period']['start'])} – {_when(old['period']['end'])} "
            f"til {_when(new['period']['start'])} – {_when(new['period']['end'])}")))
    before = {m["key"]: m for m in old["measures"]}
    after = {m["key"]: m for m in new["measures"]}
    for key, m in after.items():
        if key not in before:
            changes.append(Change("tilføjet", key, f"Tilføjet: {m['title']} ({m['authority']}, "
                                                   f"{_when(m['starts_at'])} – {_when(m['ends_at'])})"))
    for key, m in before.items():
        if key not in after:
            changes.append(Change("fjernet", key, f"Fjernet: {m['title']} ({m['authority']})"))
    for key in before.keys() & after.keys():
        a, b = before[key], after[key]
        if (a["starts_at"], a["ends_at"]) != (b["starts_at"], b["ends_at"]):
            changes.append(Change("omplanlagt", key, (
                f"Omplanlagt: {b['title']} fra {_when(a['starts_at'])} – {_when(a['ends_at'])} "
                f"til {_when(b['starts_at'])} – {_when(b['ends_at'])}")))
        who_a = (a["authority"], (a["responsible"] or {}).get("name"))
        who_b = (b["authority"], (b["responsible"] or {}).get("name"))
        if who_a != who_b:
            changes.append(Change("overdraget", key, (
                f"Overdraget: {b['title']} fra {who_a[0]}{' (' + who_a[1] + ')' if who_a[1] else ''} "
                f"til {who_b[0]}{' (' + who_b[1] + ')' if who_b[1] else ''}")))
        for name, label in (("title", "titel"), ("status", "status"), ("notes", "noter"),
                            ("description", "beskrivelse")):
            if a.get(name) != b.get(name):
                changes.append(Change("ændret", key, f"Ændret {label}: {b['title']}"))
    return changes
