"""Web pages for the handleplan: draft from a template, edit measures, send, decide, extend."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime

from aiohttp import web
from sqlmodel import Session

from handleplaner.access import version_in
from handleplaner.clock import dansk, local
from handleplaner.directory import queries as directory
from handleplaner.plans import service as plans
from handleplaner.plans.measures import MEASURE_TYPES
from handleplaner.plans.models import (APPROVAL_RULES, DECISIONS, MEASURE_STATUSES, PLAN_STATES,
                                       VERSION_STATES)
from handleplaner.plans.templates import PlanTemplateError, load_plan_templates
from handleplaner.privacy.parties import sees_full
from handleplaner.storage import transaction
from notifications.plan_alerts import request_approval, send_tasks

from . import access
from .form_errors import blank_means_missing
from .keys import SERVICES
from .pages import _form, engine, page
from .request_input import MOMENT_ERROR, parse_moment, whole_id


def measure_values(m) -> dict:
    """A measure as its edit form's fields."""
    return {"title": m.title, "measure_type": m.measure_type, "authority": m.authority_code,
            "responsible": m.responsible_id or "", "starts_at": local(m.starts_at).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": local(m.ends_at).strftime("%Y-%m-%dT%H:%M"), "status": m.status,
            "notes": m.notes, "description": m.description,
            "confidential": "ja" if m.confidential else ""}


def _view(request, session, person, incident, *, errors=None, values=None, status=200,
          failed="", failed_key=""):
    """The plan page. After a rejected form, ``failed`` names the form (its "handling", and
    ``failed_key`` the measure) that shows ``values`` as entered and ``errors`` by its fields."""
    plan = plans.plan_of_incident(session, incident.id)
    context = dict(person=person, incident=incident, plan=plan, errors=errors or {}, template_error="",
                   values=values or {}, failed=failed, failed_key=failed_key,
                   measure_values=measure_values, may_edit=access.caller(request).secretariat,
                   in_styregruppe=person.id in {p.id for p in plans.styregruppe(session)},
                   MEASURE_TYPES=MEASURE_TYPES, MEASURE_STATUSES=MEASURE_STATUSES,
                   PLAN_STATES=PLAN_STATES, VERSION_STATES=VERSION_STATES,
                   APPROVAL_RULES=APPROVAL_RULES, DECISIONS=DECISIONS, dansk=dansk,
                   lokal=lambda m: local(m).strftime("%Y-%m-%dT%H:%M"),
                   authorities=directory.authorities(session),
                   default_rule=request.app[SERVICES].settings.approval_rule)
    if plan is None:
        try:
            found = load_plan_templates()
            context["templates"] = sorted(found.values(), key=lambda t: (
                incident.incident_type not in t.incident_types, t.plan_kind != "handleplan", t.code))
        except PlanTemplateError as error:
            context["templates"], context["template_error"] = [], str(error)
    else:
        rows = plans.measures(session, plan.id)
        people = {p.id: p for p in directory.list_people(session)}
        context.update(measures=rows, people=people, communication=plans.communication(session, plan.id))
        history = []
        previous = None
        for version in plans.versions(session, plan.id):
            snap = json.loads(version.snapshot)
            history.append((version, plans.diff(previous, snap) if previous else []))
            previous = snap
        context["history"] = list(reversed(history))
    return page(request, "plan.html.j2", status=status, **context)


def _shareable(request, session, person, incident):
    """The plan for a person outside the SSP parties (``sees_full``): the newest sent version
    as Team Sikker By gets it, if the personal-data check lets it through."""
    from handleplaner.plans.documents import sikkerby_version
    from handleplaner.privacy.sharing import check_sikkerby

    plan = plans.plan_of_incident(session, incident.id)
    sent = plans.versions(session, plan.id) if plan is not None else []
    shared, missing = None, "Der er ikke sendt en version af planen endnu."
    if sent:
        snap = plans.version_snapshot(session, sent[-1])
        if check_sikkerby(session, snap).stops:
            missing = ("Versionen uden personoplysninger kan ikke vises: den indeholder "
                       "personoplysninger. SSP Sekretariatet retter den.")
        else:
            shared = sikkerby_version(snap)
            shared.setdefault("plan_id", plan.id)
    return page(request, "plan_shareable.html.j2", person=person, incident=incident,
                shared=shared, missing=missing,
                when=lambda moment: dansk(datetime.fromisoformat(moment)) if moment else "")


@access.rule(access.incident())
async def plan_page(request: web.Request) -> web.Response:
    person, incident = access.caller(request).person, access.named_incident(request)
    with Session(engine(request)) as session:
        if not sees_full(session, person, incident):
            return _shareable(request, session, person, incident)
        return _view(request, session, person, incident)


ACTIONS = {}
MEASURE_REQUIRED = ("title", "measure_type", "authority", "starts_at", "ends_at")
REQUIRED = {"tilfoej": MEASURE_REQUIRED, "ret": MEASURE_REQUIRED, "forlaeng": ("new_end", "reason")}


def action(name):
    def register(function):
        ACTIONS[name] = function
        return function
    return register


def _whole(form, name: str, message: str) -> int | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    number = whole_id(text)
    if number is None:
        raise plans.PlanInvalid({name: message})
    return number


@action("udarbejd")
def _draft(session, person, incident, form):
    plans.draft_plan(session, incident_id=incident.id, actor_id=person.id,
                     template_code=form.get("template", ""),
                     period_days=_whole(form, "period_days", "skal være et helt antal dage"))


def _measure_data(form) -> dict:
    data = {name: form.get(name, "") for name in ("title", "measure_type", "authority",
                                                  "starts_at", "ends_at", "status", "notes",
                                                  "description")}
    data["responsible"] = form.get("responsible") or None
    data["confidential"] = form.get("confidential") == "ja"
    return data


@action("tilfoej")
def _add(session, person, incident, form):
    plan = plans.plan_of_incident(session, incident.id)
    plans.add_measure(session, plan_id=plan.id, actor_id=person.id, data=_measure_data(form))


@action("ret")
def _update(session, person, incident, form):
    plan = plans.plan_of_incident(session, incident.id)
    plans.update_measure(session, plan_id=plan.id, key=form.get("key", ""), actor_id=person.id,
                         data=_measure_data(form))


@action("ret-egen")
def _update_own(session, person, incident, form):
    plan = plans.plan_of_incident(session, incident.id)
    plans.update_measure(session, plan_id=plan.id, key=form.get("key", ""), actor_id=person.id,
                         data={"status": form.get("status", ""), "notes": form.get("notes", "")})


@action("fjern")
def _remove(session, person, incident, form):
    plan = plans.plan_of_incident(session, incident.id)
    plans.remove_measure(session, plan_id=plan.id, key=form.get("key", ""), actor_id=person.id)


@action("send")
def _send(session, person, incident, form):
    plan = plans.plan_of_incident(session, incident.id)
    version = plans.send_plan(session, plan_id=plan.id, actor_id=person.id,
                              rule=form.get("rule", "formand"))
    request_approval(session, version=version, actor_id=person.id)
    send_tasks(session, version=version, actor_id=person.id)


@action("forlaeng")
def _extend(session, person, incident, form):
    plan = plans.plan_of_incident(session, incident.id)
    new_end = parse_moment(form.get("new_end", ""))
    if new_end is None:
        raise plans.PlanInvalid({"new_end": MOMENT_ERROR})
    plans.extend_plan(session, plan_id=plan.id, actor_id=person.id, new_end=new_end,
                      reason=form.get("reason", ""))


@action("beslut")
def _decide(session, person, incident, form):
    version_id = whole_id(form.get("version_id"))
    if version_id is None or version_in(session, incident.id, version_id) is None:
        raise plans.PlanInvalid({"version": "versionen findes ikke"})
    plans.decide(session, version_id=version_id, person_id=person.id,
                 decision=form.get("decision", ""), comment=form.get("comment", ""))


@access.rule(access.incident())
async def plan_submit(request: web.Request) -> web.Response:
    form = await _form(request)
    services = request.app[SERVICES]
    work = ACTIONS.get(form.get("handling", ""))
    if work is None:
        raise web.HTTPBadRequest(text="Ukendt handling.")
    person, incident = access.caller(request).person, access.named_incident(request)

    def run():
        with transaction(services.engine) as session:
            work(session, person, incident, form)

    try:
        await asyncio.to_thread(run)
    except (plans.PlanInvalid, plans.PlanRefused, PlanTemplateError, ValueError) as error:
        errors = blank_means_missing(getattr(error, "errors", None) or {"_": str(error)}, form,
                                     REQUIRED.get(form.get("handling", ""), ()))
        with Session(services.engine) as session:
            return _view(request, session, person, incident, errors=errors, values=dict(form),
                         failed=form.get("handling", ""), failed_key=form.get("key", ""),
                         status=403 if isinstance(error, plans.PlanRefused) else 422)
    services.worker.wakeup.set()
    raise web.HTTPSeeOther(f"/haendelser/{incident.id}/plan")


def routes() -> list[web.RouteDef]:
    return [web.get("/haendelser/{incident_id}/plan", plan_page),
            web.post("/haendelser/{incident_id}/plan", plan_submit)]



