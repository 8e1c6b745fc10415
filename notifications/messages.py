"""One alert rendered for the channels: the facts of its incident, its own text, its
acknowledgement state. Used by the delivery worker and by the bot when it redraws a card."""
from __future__ import annotations

from sqlmodel import Session, select

from handleplaner.directory.models import Area, Person
from handleplaner.incidents import Incident, incident_areas

from .channels.base import AlertMessage
from .models import Alert
from .rendering import AlertFacts, alert_texts


def alert_facts(session: Session, alert: Alert, link_base: str, *, acknowledged: str = "",
                notice: str = "") -> AlertFacts:
    incident = session.get(Incident, alert.incident_id)
    codes = incident_areas(session, incident.id)
    names = {a.code: a.name for a in session.exec(select(Area).where(Area.code.in_(codes)))}
    activator = session.get(Person, incident.activated_by)
    base = link_base.rstrip("/")
    return AlertFacts(
        reference=incident.reference, incident_type=incident.incident_type,
        severity=alert.severity, exercise=alert.exercise, confidential=incident.confidential,
        title=incident.title, description=incident.description,
        areas=tuple(names.get(c, c) for c in codes), whole_city=incident.whole_city,
        occurred_at=incident.occurred_at, activated_at=incident.activated_at,
        activated_by=activator.name if activator else incident.activated_by,
        link=f"{base}/haendelser/{incident.id}", kind=alert.kind,
        text="" if alert.kind == "aktivering" else alert.body, alert_id=alert.id,
        requires_ack=alert.requires_ack, ack_url=f"{base}/kvitter/{alert.id}",
        acknowledged=acknowledged, notice=notice)


def alert_message(session: Session, alert: Alert, link_base: str, **kwargs) -> AlertMessage:
    if alert.kind == "godkendelse":
        return approval_message(session, alert, link_base)
    if alert.kind == "sikkerby":
        return sikkerby_message(session, alert, link_base)
    if alert.kind == "opgaver":
        return commitments_message(session, alert, link_base)
    if alert.kind == "moede":
        from .meeting_invites import meeting_message

        return meeting_message(session, alert, link_base)
    facts = alert_facts(session, alert, link_base, **kwargs)
    texts = alert_texts(facts)
    return AlertMessage(alert_id=alert.id, incident_id=alert.incident_id, subject=texts["subject"],
                        text=texts["text"], facts=tuple(facts.fact_list()),
                        severity=alert.severity, exercise=alert.exercise, link=facts.link,
                        card=texts["card"], html=texts["html"])


def approval_message(session: Session, alert: Alert, link_base: str, *,
                     outcome: str = "", with_pdf: bool = True) -> AlertMessage:
    """The plan version sent to the styregruppe: a card with Godkend / Afvis / Kommentér and an
    email with the plan as PDF."""
    from handleplaner.clock import dansk
    from handleplaner.plans.documents import render_plan_pdf
    from handleplaner.plans.models import PlanVersion
    from handleplaner.plans.service import version_snapshot
    from datetime import datetime

    from .rendering import render, render_json

    version = session.get(PlanVersion, alert.plan_version_id)
    snap = version_snapshot(session, version)
    base = link_base.rstrip("/")
    link = f"{base}/planer/{version.plan_id}/versioner/{version.number}"
    prefix = "ØVELSE – " if alert.exercise else ""
    subject = (f"{prefix}Til godkendelse: {snap['kind_label']} version {version.number} – "
               f"{snap['incident']['reference']}")
    per_authority: dict[str, int] = {}
    for m in snap["measures"]:
        per_authority[m["authority"]] = per_authority.get(m["authority"], 0) + 1
    facts = [("Hændelse", f"{snap['incident']['reference']}: {snap['incident']['type_label']}"),
             ("Område", ", ".join(snap["incident"]["areas"])),
             ("Periode", f"{dansk(datetime.fromisoformat(snap['period']['start']))} – "
                         f"{dansk(datetime.fromisoformat(snap['period']['end']))}"),
             ("Indsatser", ", ".join(f"{a}: {n}" for a, n in sorted(per_authority.items()))),
             ("Version", str(version.number)),
             ("Godkendelse", snap["approval"]["rule_label"])]
    context = {"subject": subject, "heading": f"{snap['kind_label']} til godkendelse",
               "plan": snap, "facts": facts, "link": link, "version_id": version.id,
               "exercise": alert.exercise, "outcome": outcome}
    attachments = ((f"handleplan-v{version.number}.pdf", "application/pdf",
                    render_plan_pdf(snap)),) if with_pdf else ()
    return AlertMessage(
        alert_id=alert.id, incident_id=alert.incident_id, subject=subject,
        text=f"{subject}\n{link}", facts=tuple(facts), severity=alert.severity,
        exercise=alert.exercise, link=link, card=render_json("teams/approval.json.j2", **context),
        html=render("email/approval.html.j2", **context),
        attachments=attachments)


def sikkerby_message(session: Session, alert: Alert, link_base: str) -> AlertMessage:
    """The plan without personal data for Team Sikker By: the document itself, and as PDF."""
    from handleplaner.plans.documents import render_plan_html, render_plan_pdf
    from handleplaner.plans.models import PlanVersion
    from handleplaner.plans.privacy import assert_shareable
    from handleplaner.plans.service import version_snapshot

    version = session.get(PlanVersion, alert.plan_version_id)
    snap = version_snapshot(session, version)
    assert_shareable(snap)  # checked again at sending: the guard is not only in the UI
    prefix = "ØVELSE – " if alert.exercise else ""
    subject = (f"{prefix}{snap['kind_label']} for {', '.join(snap['incident']['areas'])} "
               f"({snap['incident']['reference']}) – version uden personoplysninger")
    card = {"type": "AdaptiveCard", "version": "1.5",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "body": [{"type": "TextBlock", "text": subject, "wrap": True, "weight": "Bolder"},
                     {"type": "TextBlock", "text": "Planen er sendt som e-mail med PDF.",
                      "wrap": True}]}
    return AlertMessage(
        alert_id=alert.id, incident_id=alert.incident_id, subject=subject, text=subject,
        facts=(), severity=alert.severity, exercise=alert.exercise, link="", card=card,
        html=render_plan_html(snap, variant="sikkerby"),
        attachments=((f"handleplan-v{version.number}-sikkerby.pdf", "application/pdf",
                      render_plan_pdf(snap, variant="sikkerby")),))


def commitments_message(session: Session, alert: Alert, link_base: str, *,
                        notice: str = "") -> AlertMessage:
    """An authority's measures in a version of the plan, with Bekræft / Afvis / Videregiv."""
    import json as _json

    from handleplaner.clock import dansk
    from handleplaner.commitments.models import COMMITMENT_STATES
    from handleplaner.commitments.service import of_authority
    from handleplaner.directory import queries as directory
    from handleplaner.plans.models import Plan, PlanVersion

    from .rendering import render_json

    authority = _json.loads(alert.audience or "{}").get("authority", "")
    version = session.get(PlanVersion, alert.plan_version_id)
    plan = session.get(Plan, version.plan_id)
    current = max((v.id for v in session.exec(select(PlanVersion).where(
        PlanVersion.plan_id == plan.id))), default=version.id)
    rows = []
    for c in of_authority(session, plan.id, authority):
        leader = directory.get_person(session, c.responsible_id) if c.responsible_id else None
        colleagues = []
        if leader is not None:
            deputy = directory.deputy_of(session, leader.id)
            pool = ([deputy] if deputy else []) + [p for g in directory.groups_of(session, leader.id)
                                                   if g.kind == "ledergruppe"
                                                   for p in directory.group_members(session, g.code)
                                                   if p.authority_code == leader.authority_code]
            seen = {}
            for p in pool:
                if p.id != leader.id:
                    seen.setdefault(p.id, f"{p.name}{' (suppleant)' if deputy and p.id == deputy.id else ''}")
            colleagues = list(seen.items())[:15]
        rows.append({"id": c.id, "title": c.title, "state": c.state,
                     "state_label": COMMITMENT_STATES[c.state],
                     "when": f"{dansk(c.starts_at)} – {dansk(c.ends_at)}",
                     "leader": leader.name if leader else "ikke udpeget", "colleagues": colleagues,
                     "version_id": None})
    prefix = "ØVELSE – " if alert.exercise else ""
    subject = f"{prefix}Jeres opgaver i handleplanen ({authority}): {plan.title}"
    link = f"{link_base.rstrip('/')}/haendelser/{plan.incident_id}/plan"
    refresh_users = sorted({p.teams_user_id for c in of_authority(session, plan.id, authority)
                            if c.responsible_id
                            for p in [directory.get_person(session, c.responsible_id)]
                            if p is not None and p.teams_user_id})[:60]
    context = {"subject": subject, "heading": f"Opgaver for {authority}",
               "refresh_users": refresh_users, "alert_id": alert.id,
               "intro": f"{plan.title}, version {version.number}. Bekræft, afvis eller videregiv hver indsats.",
               "commitments": rows, "version_id": current, "link": link,
               "exercise": alert.exercise, "notice": notice}
    text = "\n".join([subject, *(f"- {r['title']} ({r['when']}): {r['state_label']}" for r in rows),
                      link])
    html = ("<p>" + subject + "</p><ul>" + "".join(
        f"<li>{r['title']} ({r['when']}): {r['state_label']}</li>" for r in rows)
        + f"</ul><p><a href=\"{link}\">Åbn handleplanen</a></p>")
    return AlertMessage(alert_id=alert.id, incident_id=alert.incident_id, subject=subject,
                        text=text, facts=(), severity=alert.severity, exercise=alert.exercise,
                        link=link, card=render_json("teams/commitments.json.j2", **context),
                        html=html)


def my_tasks_card(session: Session, person, link_base: str) -> dict | None:
    """'Mine opgaver': the person's open commitments across plans, with their actions."""
    from handleplaner.clock import dansk
    from handleplaner.commitments.models import COMMITMENT_STATES
    from handleplaner.commitments.service import of_person
    from handleplaner.plans.models import PlanVersion

    from .rendering import render_json

    rows = []
    for c in of_person(session, person.id):
        if c.state == "udfoert":
            continue
        current = session.exec(select(PlanVersion.id).where(PlanVersion.plan_id == c.plan_id)
                               .order_by(PlanVersion.number.desc())).first()
        rows.append({"id": c.id, "title": f"{c.title} ({c.authority_code})", "state": c.state,
                     "state_label": COMMITMENT_STATES[c.state], "leader": person.name,
                     "when": f"{dansk(c.starts_at)} – {dansk(c.ends_at)}", "colleagues": [],
                     "version_id": current})
    if not rows:
        return None
    return render_json("teams/commitments.json.j2", subject="Mine opgaver", heading="Mine opgaver",
                       refresh_users=[], alert_id=0,
                       intro=f"{len(rows)} åbne opgaver. Meld status eller bekræft her.",
                       commitments=rows, version_id=0, exercise=False, notice="",
                       link=f"{link_base.rstrip('/')}/")
