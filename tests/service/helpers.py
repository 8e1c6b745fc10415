"""Small helpers for tests of the running service."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from handleplaner.clock import local, utcnow
from handleplaner.directory import queries as directory

DEMO = "X-Demo-Person"


def noerrebro(engine) -> list[str]:
    with Session(engine) as session:
        return [a.code for a in directory.all_areas(session) if "Nørrebro" in a.name]


def secretariat_member(engine):
    with Session(engine) as session:
        return directory.secretariat_members(session)[0]


def non_activator(engine):
    """Someone in a group (e.g. a lokaludvalg) who may not activate beredskab."""
    with Session(engine) as session:
        return next(p for p in directory.list_people(session)
                    if not directory.may_activate(session, p.id) and directory.groups_of(session, p.id))


def shooting(areas: list[str], **changes) -> dict:
    data = {
        "incident_type": "skyderi",
        "title": "Skud ved boligområde",
        "description": "Skud affyret mod en gruppe unge. Ingen tilskadekomne.",
        "severity": "akut",
        "occurred_at": local(utcnow() - timedelta(minutes=30)).replace(tzinfo=None)
        .isoformat(timespec="minutes"),
        "areas": areas,
        "whole_city": False,
        "exercise": False,
        "confidential": False,
    }
    data.update(changes)
    return data


async def demo_sign_in(client, person_id: str, **kwargs):
    """Sign in as the person through the demo's sign-in page, as a browser does: the form's
    CSRF token from the page (and its cookie), then the person picked. The POST's response."""
    page = await (await client.get("/log-ind")).text()
    token = page.split('name="csrf" value="')[1].split('"')[0]
    return await client.post("/log-ind", data={"csrf": token, "person": person_id}, **kwargs)
