"""Planned beredskabsplaner: an event known in advance (last school day, New Year's Eve, a
demonstration) is prepared ahead of time as an incident of the planned type with a
beredskabsplan drafted from its template. No alert goes out; the secretariat is reminded when
drafting is due (the template's ``drafting_lead_days`` before the event)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

from sqlmodel import Session

from .. import record
from ..clock import dansk, to_utc, utcnow
from ..directory import queries as directory
from ..incidents import PLANNED_TYPE, Incident, IncidentArea
from ..incidents.service import next_reference
from .models import Plan
from .service import PlanInvalid, _require_editor, draft_plan
from .templates import load_plan_templates


def prepare_planned(session: Session, *, actor_id: str, template_code: str, title: str,
                    event_at: datetime, areas: list[str], whole_city: bool = False,
                    days_before: int = 4, templates: Mapping | None = None,
                    now: datetime | None = None) -> Plan:
    moment = now or utcnow()
    _require_editor(session, actor_id)
    templates = templates if templates is not None else load_plan_templates()
    template = templates.get(template_code)
    errors = {}
    if template is None or template.plan_kind != "beredskabsplan":
        errors["template"] = f"ukendt beredskabsplan-skabelon: {template_code}"
    if not title or not 3 <= len(title.strip()) <= 120:
        errors["title"] = "skriv en overskrift (3–120 tegn)"
    event = to_utc(event_at)
    if event <= moment:
        errors["event_at"] = "begivenheden skal ligge i fremtiden"
    known = directory.area_codes(session)
    if unknown := [a for a in areas if a not in known]:
        errors["areas"] = "ukendt område: " + ", ".join(unknown)
    if not whole_city and not areas:
        errors.setdefault("areas", "vælg mindst ét område eller 'hele byen'")
    if not 0 <= days_before <= 60:
        errors["days_before"] = "skal være mellem 0 og 60 dage"
    if errors:
        raise PlanInvalid(errors)
    incident = Incident(reference=next_reference(session, event, "B"), incident_type=PLANNED_TYPE,
                        title=title.strip(), description=f"Planlagt begivenhed: {template.name}",
                        severity="orientering", occurred_at=event, activated_at=moment,
                        activated_by=actor_id, state="aktiveret")
    session.add(incident)
    session.flush()
    codes = sorted(known) if whole_city else sorted(set(areas))
    for code in codes:
        session.add(IncidentArea(incident_id=incident.id, area_code=code))
    incident.whole_city = whole_city
    record.append(session, incident_id=incident.id, actor_id=actor_id,
                  action="beredskabsplan.forberedt", at=moment,
                  summary=f"Planlagt begivenhed forberedt: {template.name} {dansk(event)}",
                  data={"template": template_code, "event_at": event.isoformat(), "areas": codes})
    start = (event - timedelta(days=days_before)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    plan = draft_plan(session, incident_id=incident.id, actor_id=actor_id,
                      template_code=template_code, start=start, templates=templates, now=moment)
    plan.event_at = event
    session.add(plan)
    return plan
