"""One alert rendered for the channels: the facts of its incident, its own text, its
acknowledgement state. Used by the delivery worker and by the bot when it redraws a card."""
from __future__ import annotations

import functools
from dataclasses import replace

from sqlalchemy import func
from sqlmodel import Session, select

from handleplaner.directory.models import Area, Person
from handleplaner.directory.queries import people_by_id
from handleplaner.incidents import Incident, incident_areas
from handleplaner.incidents.outgoing import outgoing_description

from .channels.base import AlertMessage
from .conversations import teams_ids
from .models import Alert
from .rendering import AlertFacts, alert_texts, render
from .shareable import recipients_see_full, shareable

# Teams gives at most 60 users a user specific view of a card (refresh.userIds).
MAX_REFRESH_USERS = 60


def alert_facts(session: Session, alert: Alert, link_base: str, *, acknowledged: str = "",
                notice: str = "", incident: Incident | None = None) -> AlertFacts:
    """The facts an alert may carry: the incident's facts, the alert's text (for an activation
    the template's text, alerts/aktivering.txt.j2), and the description only if the sender chose
    it and the incident is not confidential. A caller that holds the incident already (the
    door resolved it) passes it as ``incident``."""
    if incident is None or incident.id != alert.incident_id:
        incident = session.get(Incident, alert.incident_id)
    codes = incident_areas(session, incident.id)
    names = {a.code: a.name for a in session.exec(select(Area).where(Area.code.in_(codes)))}
    activator = session.get(Person, incident.activated_by)
    base = link_base.rstrip("/")
    facts = AlertFacts(
        reference=incident.reference, incident_type=incident.incident_type,
        severity=alert.severity, exercise=alert.exercise, confidential=incident.confidential,
        title=incident.title,
        description=outgoing_description(incident, alert.with_description),
        areas=tuple(names.get(c, c) for c in codes), whole_city=incident.whole_city,
        occurred_at=incident.occurred_at, activated_at=incident.activated_at,
        activated_by=activator.name if activator else incident.activated_by,
        link=f"{base}/haendelser/{incident.id}", kind=alert.kind,
        text="" if alert.kind == "aktivering" else alert.body, alert_id=alert.id,
        requires_ack=alert.requires_ack, ack_url=f"{base}/kvitter/{alert.id}",
        acknowledged=acknowledged, notice=notice)
    if alert.kind == "aktivering":
        facts = replace(facts, text=render("alerts/aktivering.txt.j2", f=facts).strip())
    return facts


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
    variant = "fuld"
    if not recipients_see_full(session, alert):  # a party outside the SSP parties among them
        document, variant = snap, "sikkerby"
        snap = shareable(session, snap, "Versionen til godkendelse")
        link += "/sikkerby"
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
               "alert_id": alert.id,
               "exercise": alert.exercise, "outcome": outcome}
    attachments = ((f"handleplan-v{version.number}.pdf", "application/pdf",
                    render_plan_pdf(snap if variant == "fuld" else document, variant=variant)),
                   ) if with_pdf else ()
    return AlertMessage(
        alert_id=alert.id, incident_id=alert.incident_id, subject=subject,
        text=render("email/approval.txt.j2", **context).strip(), facts=tuple(facts),
        severity=alert.severity,
        exercise=alert.exercise, link=link, card=render_json("teams/approval.json.j2", **context),
        html=render("email/approval.html.j2", **context),
        attachments=attachments)


def sikkerby_message(session: Session, alert: Alert, link_base: str) -> AlertMessage:
    """The plan without personal data for Team Sikker By: the document itself, and as PDF."""
    from handleplaner.plans.documents import render_plan_html, render_plan_pdf
    from handleplaner.plans.models import PlanVersion
    from handleplaner.plans.service import version_snapshot
    from handleplaner.privacy.check import PersonalDataFound
    from handleplaner.privacy.sharing import check_sikkerby

    version = session.get(PlanVersion, alert.plan_version_id)
    snap = version_snapshot(session, version)
    stops = check_sikkerby(session, snap).stops  # checked again at sending, not only in the UI
    if stops:  # (likely names were decided on, with a recorded reason, when it was shared)
        raise PersonalDataFound(stops, "Versionen til Team Sikker By")
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
    from handleplaner.plans.models import Plan, PlanVersion

    from .rendering import render_json

    authority = _json.loads(alert.audience or "{}").get("authority", "")
    version, plan = session.exec(select(PlanVersion, Plan).join(Plan, Plan.id == PlanVersion.plan_id)
                                 .where(PlanVersion.id == alert.plan_version_id)).one()
    current = session.exec(select(func.max(PlanVersion.id)).where(
        PlanVersion.plan_id == plan.id)).one() or version.id
    commitments = of_authority(session, plan.id, authority)
    if not recipients_see_full(session, alert):  # only the measures the shareable plan has
        from handleplaner.plans.service import version_snapshot

        keys = {m.get("key") for m in shareable(session, version_snapshot(session, version),
                                                "Opgaverne")["measures"]}
        commitments = [c for c in commitments if c.measure_key in keys]
    leaders = people_by_id(session, {c.responsible_id for c in commitments})
    choices = hand_over_choices(session, list(leaders.values()))
    rows = []
    for c in commitments:
        leader = leaders.get(c.responsible_id)
        rows.append({"id": c.id, "title": c.title, "state": c.state,
                     "state_label": COMMITMENT_STATES[c.state],
                     "when": f"{dansk(c.starts_at)} – {dansk(c.ends_at)}",
                     "leader": leader.name if leader else "ikke udpeget",
                     "colleagues": choices.get(c.responsible_id, []), "version_id": None})
    prefix = "ØVELSE – " if alert.exercise else ""
    subject = f"{prefix}Jeres opgaver i handleplanen ({authority}): {plan.title}"
    link = f"{link_base.rstrip('/')}/haendelser/{plan.incident_id}/plan"
    refresh_users = card_refresh_users(session, leaders.values())
    context = {"subject": subject, "heading": f"Opgaver for {authority}",
               "refresh_users": refresh_users, "alert_id": alert.id,
               "intro": f"{plan.title}, version {version.number}. Bekræft, afvis eller videregiv hver indsats.",
               "commitments": rows, "version_id": current, "link": link,
               "exercise": alert.exercise, "notice": notice}
    return AlertMessage(alert_id=alert.id, incident_id=alert.incident_id, subject=subject,
                        text=render("email/commitments.txt.j2", **context).strip(), facts=(),
                        severity=alert.severity, exercise=alert.exercise,
                        link=link, card=render_json("teams/commitments.json.j2", **context),
                        html=render("email/commitments.html.j2", **context))


def card_refresh_users(session: Session, people) -> list[str]:
    """`refresh.userIds` for a card to these people: their Teams ids (MRIs, "29:..."), which is
    what Teams matches, never Entra object ids.

    Teams refreshes a card by itself only for the users listed, and, with no list, for every
    member of a conversation of at most 60 members (each personal chat). So the list is given
    only when every person's Teams id is known and there are at most 60 of them; otherwise it is
    left out: each person still gets the automatic refresh in their personal chat, and in a
    larger chat or channel the card's manual Refresh (message options) stays. A partial list
    would take the automatic refresh from those left off it."""
    wanted = {p.id for p in people if p.teams_user_id}
    if not wanted or len(wanted) > MAX_REFRESH_USERS:
        return []
    known = teams_ids(session, wanted)
    if set(known) != wanted:
        return []
    return sorted(known.values())


def hand_over_choices(session: Session, leaders: list[Person]) -> dict[str, list[tuple[str, str]]]:
    """Whom each leader may hand a commitment to, as (person id, label): the deputy first, then
    the colleagues of the same authority in the leader's ledergrupper (by group, then name); at
    most 15. Two queries for all the leaders of a card together."""
    if not leaders:
        return {}
    deputies = people_by_id(session, {p.deputy_id for p in leaders if p.deputy_id})
    colleagues: dict[str, list[tuple[str, str]]] = {}
    for leader_id, person_id, name in session.exec(
            _colleagues_query(), params={"leaders": [p.id for p in leaders]}):
        colleagues.setdefault(leader_id, []).append((person_id, name))
    choices = {}
    for p in leaders:
        deputy = deputies.get(p.deputy_id) if p.deputy_id else None
        deputy = deputy if deputy is not None and deputy.active else None
        seen: dict[str, str] = {}
        if deputy is not None and deputy.id != p.id:
            seen[deputy.id] = f"{deputy.name} (suppleant)"
        for person_id, name in colleagues.get(p.id, []):
            if person_id != p.id:
                seen.setdefault(person_id, name)
        choices[p.id] = list(seen.items())[:15]
    return choices


@functools.cache
def _colleagues_query():
    """(leader id, colleague id, name) for the colleagues of the same authority in the leaders'
    ledergrupper; built once (building it costs more than running it)."""
    from sqlalchemy import bindparam
    from sqlalchemy.orm import aliased

    from handleplaner.directory.models import Group, Membership

    mine, theirs, leader = aliased(Membership), aliased(Membership), aliased(Person)
    return (select(mine.person_id, Person.id, Person.name)
            .join(Group, Group.code == mine.group_code)
            .join(theirs, theirs.group_code == Group.code)
            .join(Person, Person.id == theirs.person_id)
            .join(leader, leader.id == mine.person_id)
            .where(mine.person_id.in_(bindparam("leaders", expanding=True)),
                   Group.kind == "ledergruppe", Group.active == True,  # noqa: E712
                   Person.active == True,  # noqa: E712
                   Person.authority_code == leader.authority_code)
            .order_by(mine.person_id, Group.code, Person.name, Person.id))


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
