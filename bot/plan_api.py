"""JSON API and documents for the fælles handleplan."""
from __future__ import annotations

import asyncio
import json

from aiohttp import web
from sqlmodel import Session, select

from handleplaner.clock import iso_utc
from handleplaner.plans import service as plans
from handleplaner.plans.documents import render_plan_html, render_plan_pdf, sikkerby_version
from handleplaner.plans.models import PLAN_STATES, Plan, PlanVersion
from handleplaner.privacy.check import LikelyNames, PersonalDataFound, warning_text
from handleplaner.privacy.parties import sees_full
from handleplaner.privacy.sharing import assert_shareable, check_sikkerby, record_override
from handleplaner.plans.templates import PlanTemplateError, load_plan_templates
from notifications.plan_alerts import request_approval, send_tasks, share_with_sikker_by

from . import access
from .api import in_transaction, named_row, ok, problem
from .keys import SERVICES
from .request_input import MOMENT_ERROR, Fields, json_object, not_found, path_id
from .security_headers import document_policy


def plan_json(session: Session, plan: Plan) -> dict:
    return {
        "id": plan.id, "incident_id": plan.incident_id, "kind": plan.kind,
        "template": plan.template_code, "title": plan.title, "purpose": plan.purpose,
        "background": plan.background, "state": plan.state, "state_label": PLAN_STATES[plan.state],
        "period": {"start": iso_utc(plan.period_start), "end": iso_utc(plan.period_end)},
        "evaluation": {"at": iso_utc(plan.evaluation_at), "text": plan.evaluation_text},
        "measures": [{"key": m.key, "title": m.title, "measure_type": m.measure_type,
                      "authority": m.authority_code, "responsible": m.responsible_id,
                      "starts_at": iso_utc(m.starts_at), "ends_at": iso_utc(m.ends_at),
                      "status": m.status, "description": m.description, "notes": m.notes,
                      "confidential": m.confidential} for m in plans.measures(session, plan.id)],
        "communication": [{"audience": c.audience, "what": c.what, "when": iso_utc(c.when_at),
                           "confidentiality": c.confidentiality}
                          for c in plans.communication(session, plan.id)],
        "versions": [{"id": v.id, "number": v.number, "state": v.state,
                      "frozen_at": iso_utc(v.frozen_at), "rule": v.approval_rule}
                     for v in plans.versions(session, plan.id)],
    }


def _errors(error: Exception) -> web.Response:
    if isinstance(error, plans.PlanRefused):
        return problem(403, str(error))
    if isinstance(error, plans.PlanInvalid):
        return problem(422, "Handleplanen er ikke ændret: forespørgslen har fejl.", error.errors)
    if isinstance(error, PlanTemplateError):
        return problem(422, "Skabelonen kan ikke bruges; ingen plan er lavet.",
                       {"template": str(error)})
    raise error


def _plan_or_404(request: web.Request, session: Session) -> Plan:
    """The plan the path names; the guard has resolved its incident and let the caller in."""
    plan = session.get(Plan, path_id(request, "plan_id", "Planen findes ikke."))
    return named_row(request, plan, "Planen findes ikke.")


async def _change(request: web.Request, work, status: int = 200):
    """Run ``work(session, person)`` in a transaction; map refusals to JSON errors."""
    try:
        result = await in_transaction(request, work)
    except (plans.PlanRefused, plans.PlanInvalid, PlanTemplateError) as error:
        return _errors(error)
    request.app[SERVICES].worker.wakeup.set()
    return ok(result, status=status)


@access.rule(access.SIGNED_IN)
async def templates(request: web.Request) -> web.Response:
    try:
        found = load_plan_templates()
    except PlanTemplateError as error:
        return problem(500, f"Skabelonerne kan ikke indlæses:\n{error}")
    wanted = request.query.get("incident_type")
    return ok([{"code": t.code, "name": t.name, "kind": t.plan_kind,
                "incident_types": list(t.incident_types),
                "default_period_days": t.default_period_days}
               for t in found.values() if not wanted or wanted in t.incident_types])


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def draft(request: web.Request) -> web.Response:
    fields = Fields(await json_object(request))
    template_code = fields.text("template", longest=100)
    period_days = fields.whole("period_days", 1, 365)
    fields.check()

    def work(session, person):
        incident = access.named_incident(request)
        plan = plans.draft_plan(session, incident_id=incident.id, actor_id=person.id,
                                template_code=template_code, period_days=period_days)
        return plan_json(session, plan)

    return await _change(request, work, status=201)


@access.rule(access.incident())
async def get_plan(request: web.Request) -> web.Response:
    incident = access.named_incident(request)
    with Session(request.app[SERVICES].engine) as session:
        plan = plans.plan_of_incident(session, incident.id)
        if plan is None:
            return problem(404, "Hændelsen har ingen handleplan endnu.")
        if not sees_full(session, access.caller(request).person, incident):
            return problem(403, "Den fulde handleplan deles kun med SSP-parterne. Hent versionen "
                                "uden personoplysninger under /api/plans/{id}/versions/{nummer}.")
        return ok(plan_json(session, plan))


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def add_measure(request: web.Request) -> web.Response:
    data = await json_object(request)

    def work(session, person):
        plan = _plan_or_404(request, session)
        measure = plans.add_measure(session, plan_id=plan.id, actor_id=person.id, data=data)
        return {"key": measure.key}

    return await _change(request, work, status=201)


@access.rule(access.incident())
async def update_measure(request: web.Request) -> web.Response:
    data = await json_object(request)

    def work(session, person):
        plan = _plan_or_404(request, session)
        plans.update_measure(session, plan_id=plan.id, key=request.match_info["key"],
                             actor_id=person.id, data=data)
        return plan_json(session, plan)

    return await _change(request, work)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def remove_measure(request: web.Request) -> web.Response:
    def work(session, person):
        plan = _plan_or_404(request, session)
        plans.remove_measure(session, plan_id=plan.id, key=request.match_info["key"],
                             actor_id=person.id)
        return plan_json(session, plan)

    return await _change(request, work)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def send(request: web.Request) -> web.Response:
    fields = Fields(await json_object(request))
    rule = fields.text("rule", longest=20) or request.app[SERVICES].settings.approval_rule
    fields.check()

    def work(session, person):
        plan = _plan_or_404(request, session)
        version = plans.send_plan(session, plan_id=plan.id, actor_id=person.id, rule=rule)
        accepted = request_approval(session, version=version, actor_id=person.id)
        tasks = send_tasks(session, version=version, actor_id=person.id)
        return {"version_id": version.id, "number": version.number, "state": version.state,
                "alert_id": accepted.alert.id, "task_alerts": [t.alert.id for t in tasks]}

    return await _change(request, work, status=201)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def extend(request: web.Request) -> web.Response:
    fields = Fields(await json_object(request))
    new_end, reason = fields.moment("new_end"), fields.text("reason")
    if new_end is None:
        fields.errors.setdefault("new_end", MOMENT_ERROR)
    fields.check()

    def work(session, person):
        plan = _plan_or_404(request, session)
        plans.extend_plan(session, plan_id=plan.id, actor_id=person.id, new_end=new_end,
                          reason=reason)
        return plan_json(session, plan)

    return await _change(request, work)


@access.rule(access.incident())
async def decide(request: web.Request) -> web.Response:
    fields = Fields(await json_object(request))
    decision, comment = fields.text("decision", longest=20), fields.text("comment")
    fields.check()
    version_id = path_id(request, "version_id", "Versionen findes ikke.")

    def work(session, person):
        version = session.get(PlanVersion, version_id)
        if version is None:
            raise plans.PlanInvalid({"version": "versionen findes ikke"})
        done = plans.decide(session, version_id=version.id, person_id=person.id,
                            decision=decision, comment=comment)
        return {"version_id": version.id, "state": done.version.state,
                "settled": done.outcome_now}

    return await _change(request, work)


def _version(request: web.Request, session: Session) -> PlanVersion:
    plan = _plan_or_404(request, session)
    number = path_id(request, "number", "Versionen findes ikke.")
    version = session.exec(select(PlanVersion).where(
        PlanVersion.plan_id == plan.id, PlanVersion.number == number)).first()
    if version is None:
        raise not_found(request, "Versionen findes ikke.")
    return version


@access.rule(access.incident())
async def version_json(request: web.Request) -> web.Response:
    with Session(request.app[SERVICES].engine) as session:
        version = _version(request, session)
        snap = plans.version_snapshot(session, version)
        if not sees_full(session, access.caller(request).person, access.named_incident(request)):
            if check_sikkerby(session, snap).stops:
                return problem(409, "Versionen uden personoplysninger kan ikke vises: den "
                                    "indeholder personoplysninger.")
            return ok({"snapshot": sikkerby_version(snap), "changes": []})
        previous = [v for v in plans.versions(session, version.plan_id) if v.number < version.number]
        changes = plans.diff(json.loads(previous[-1].snapshot), snap) if previous else []
        return ok({"snapshot": snap, "changes": [c.__dict__ for c in changes]})


@access.rule(access.incident())
async def document(request: web.Request) -> web.Response:
    """The version as HTML or PDF, full or for Team Sikker By (guarded)."""
    variant = request.match_info.get("variant", "fuld")
    fmt = request.match_info.get("fmt", "html")
    with Session(request.app[SERVICES].engine) as session:
        version = _version(request, session)
        snap = plans.version_snapshot(session, version)
        if not sees_full(session, access.caller(request).person, access.named_incident(request)):
            variant = "sikkerby"  # a party outside the SSP parties: the shareable version
    if variant == "sikkerby":
        with Session(request.app[SERVICES].engine) as session:
            stops = check_sikkerby(session, snap).stops
        if stops:  # likely names only warn: they are decided on when the version is shared
            return web.Response(status=409, text=str(PersonalDataFound(stops)),
                                content_type="text/plain")
    if fmt == "pdf":
        body = await asyncio.to_thread(render_plan_pdf, snap, variant=variant)
        name = f"handleplan-v{version.number}{'-sikkerby' if variant == 'sikkerby' else ''}.pdf"
        return web.Response(body=body, content_type="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="{name}"'})
    html = render_plan_html(snap, variant=variant)
    return web.Response(text=html, content_type="text/html",
                        headers={"Content-Security-Policy": document_policy(html)})


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def share(request: web.Request) -> web.Response:
    """Send the version without personal data to Team Sikker By, if the check finds none: CPR
    numbers and registered or directory people refuse it; likely names refuse it unless the
    body's ``names_reason`` says why it may be shared anyway (recorded)."""
    body = await json_object(request) if request.can_read_body else {}
    reason = body.get("names_reason")
    if reason is not None and not isinstance(reason, str):
        return problem(422, "Versionen er ikke sendt: forespørgslen har fejl.",
                       {"names_reason": "skal være tekst"})
    reason = (reason or "").strip()[:500]

    def work(session, person):
        version = _version(request, session)
        snap = plans.version_snapshot(session, version)
        try:
            overridden = assert_shareable(session, snap, reason=reason)
        except PersonalDataFound as found:
            raise plans.PlanRefused(str(found)) from None
        except LikelyNames as found:
            raise plans.PlanInvalid({"names_reason": warning_text(found.findings)}) from None
        plan = session.get(Plan, version.plan_id)
        record_override(session, incident_id=plan.incident_id, actor_id=person.id,
                        reason=reason, findings=overridden,
                        what=f"version {version.number} til Team Sikker By")
        accepted = share_with_sikker_by(session, version=version, actor_id=person.id)
        return {"alert_id": accepted.alert.id, "recipients": len(
            {d.person_id for d in accepted.deliveries})}

    return await _change(request, work, status=201)


@access.rule(access.SECRETARIAT)
async def planned(request: web.Request) -> web.Response:
    """Prepare a planned event's beredskabsplan ahead of time."""
    from handleplaner.plans.planned import prepare_planned

    fields = Fields(await json_object(request))
    template_code, title = fields.text("template", longest=100), fields.text("title", longest=200)
    event_at, areas = fields.moment("event_at"), fields.texts("areas")
    whole_city, days_before = fields.flag("whole_city"), fields.whole("days_before", 0, 60, 4)
    if event_at is None:
        fields.errors.setdefault("event_at", MOMENT_ERROR)
    fields.check()

    def work(session, person):
        plan = prepare_planned(session, actor_id=person.id, template_code=template_code,
                               title=title, event_at=event_at, areas=areas,
                               whole_city=whole_city, days_before=days_before)
        return plan_json(session, plan)

    return await _change(request, work, status=201)


@access.rule(access.incident())
async def evaluation(request: web.Request) -> web.Response:
    from handleplaner.clock import utcnow
    from handleplaner.plans.timebox import evaluate

    fields = Fields(await json_object(request))
    text = fields.text("text")
    fields.check()

    def work(session, person):
        plan = _plan_or_404(request, session)
        row = evaluate(session, plan_id=plan.id, person_id=person.id, text=text, now=utcnow())
        return {"id": row.id, "authority": row.authority_code}

    return await _change(request, work, status=201)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/plan-templates", templates),
        web.post("/api/incidents/{incident_id}/plan", draft),
        web.get("/api/incidents/{incident_id}/plan", get_plan),
        web.post("/api/plans/{plan_id}/measures", add_measure),
        web.patch("/api/plans/{plan_id}/measures/{key}", update_measure),
        web.delete("/api/plans/{plan_id}/measures/{key}", remove_measure),
        web.post("/api/plans/{plan_id}/send", send),
        web.post("/api/plans/{plan_id}/extend", extend),
        web.get("/api/plans/{plan_id}/versions/{number}", version_json),
        web.post("/api/plans/{plan_id}/versions/{number}/sikkerby", share),
        web.post("/api/plan-versions/{version_id}/decisions", decide),
        web.post("/api/planned-events", planned),
        web.post("/api/plans/{plan_id}/evaluations", evaluation),
        web.get("/planer/{plan_id}/versioner/{number:[0-9]+}", document),
        web.get("/planer/{plan_id}/versioner/{number:[0-9]+}.{fmt:pdf|html}", document),
        web.get("/planer/{plan_id}/versioner/{number:[0-9]+}/{variant:sikkerby}", document),
        web.get("/planer/{plan_id}/versioner/{number:[0-9]+}/{variant:sikkerby}.{fmt:pdf|html}", document),
    ]
