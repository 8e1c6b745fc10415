"""An incident with everything a case file holds, and a young person's (fictional) name and CPR
numbers written into the free text where people write them."""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import timedelta

from pypdf import PdfReader
from sqlmodel import Session, select

from bot.activation import activate_beredskab
from handleplaner.clock import utcnow
from handleplaner.commitments import service as commitments
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.meetings import service as meetings
from handleplaner.plans import service as plans
from handleplaner.plans.timebox import evaluate, start_evaluation
from handleplaner.storage import transaction
from notifications.plan_alerts import request_approval, send_tasks
from tests.service.helpers import noerrebro, secretariat_member, shooting

YOUNG = "Bertil Skovfryd"  # fictional
CPR1, CPR2 = "010203-1234", "2512051234"
CPR_FORMS = ("010203-1234", "0102031234", "01.02.03-1234", "251205-1234", "2512051234")


@dataclass
class Case:
    incident_id: int
    reference: str
    editor_id: str
    editor_name: str
    protected_id: str  # responsible for the confidential measure
    protected_name: str
    plan_id: int


def build_case(engine) -> Case:
    editor = secretariat_member(engine)
    now = utcnow()
    incident = activate_beredskab(engine, actor_id=editor.id, data=shooting(
        noerrebro(engine),
        description=f"Skud mod en gruppe unge; en af dem er {YOUNG} (cpr {CPR1}), kendt af SOF."),
    ).incident
    with Session(engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
    with transaction(engine) as session:
        meeting = meetings.call_meeting(
            session, incident_id=incident.id, actor_id=editor.id, organizer="ssp@kk.example",
            data={"externals": [{"person_id": external.id,
                                 "reason": f"Kender familien til {YOUNG} fra boligområdet"}]})
        invitee = meetings.invitees(session, meeting.id)[0]
        meetings.record_response(session, meeting_id=meeting.id, person_id=invitee.person_id,
                                 response="accepted", actor_id=invitee.person_id)
        start = meeting.starts_at + timedelta(hours=2)
        meetings.add_decision(
            session, meeting_id=meeting.id, agenda_position=2, actor_id=editor.id,
            text=f"SOF aflægger hjemmebesøg hos familien til {YOUNG} ({CPR2}) samme aften",
            measure={"measure_type": "hjemmebesoeg", "authority": "SOF",
                     "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()})
        meetings.add_decision(session, meeting_id=meeting.id, agenda_position=5,
                              actor_id=editor.id, text="Næste møde om to dage")
        meetings.minutes_to_plan(session, meeting_id=meeting.id, actor_id=editor.id)
    with transaction(engine) as session:
        plan = plans.plan_of_incident(session, incident.id)
        rows = plans.measures(session, plan.id)
        noted = next(m for m in rows if m.authority_code == "BUF")
        plans.update_measure(session, plan_id=plan.id, key=noted.key, actor_id=editor.id,
                             data={"notes": f"Skolen kender {YOUNG}, cpr {CPR1}; mor ønsker et møde",
                                   # not a marked field: the CPR number is caught in free text
                                   "description": "Opfølgning på eleven (cpr 01.02.03-1234)"})
        secret = next(m for m in rows if m.authority_code == "POL" and m.responsible_id
                      and m.responsible_id != editor.id)
        plans.update_measure(session, plan_id=plan.id, key=secret.key, actor_id=editor.id,
                             data={"confidential": True})
        protected = directory.get_person(session, secret.responsible_id)
        version = plans.send_plan(session, plan_id=plan.id, actor_id=editor.id, rule="formand",
                                  now=now)
        request_approval(session, version=version, actor_id=editor.id)
        send_tasks(session, version=version, actor_id=editor.id)
    with transaction(engine) as session:
        chair = plans.styregruppe_chair(session)
        plans.decide(session, version_id=version.id, person_id=chair, decision="godkend",
                     comment=f"Godkendt. Husk opfølgning på {YOUNG} ({CPR2}) i skolen.")
        task = session.exec(select(Commitment).where(Commitment.plan_id == plan.id,
                                                     Commitment.authority_code == "BUF")).first()
        commitments.press(session, commitment_id=task.id, version_id=None,
                          person_id=task.responsible_id, action="bekraeft",
                          note=f"Klubben tager sig af {YOUNG} i weekenden")
        plan = plans.get_plan(session, plan.id)
        plans.extend_plan(session, plan_id=plan.id, actor_id=editor.id,
                          new_end=plan.period_end + timedelta(days=7),
                          reason=f"Uroen omkring {YOUNG} fortsætter")
    with transaction(engine) as session:
        plan = plans.get_plan(session, plan.id)
        start_evaluation(session, plan, utcnow())
        evaluate(session, plan_id=plan.id, person_id=editor.id,
                 text=f"Samtalen med {YOUNG} og familien virkede efter tre dage.", now=utcnow())
    return Case(incident_id=incident.id, reference=incident.reference, editor_id=editor.id,
                editor_name=editor.name, protected_id=protected.id, protected_name=protected.name,
                plan_id=plan.id)


def texts(data: bytes) -> dict[str, str]:
    """Every file in the zip as text; a PDF as the text of its pages and its metadata."""
    found = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            content = archive.read(name)
            if name.endswith(".pdf"):
                reader = PdfReader(io.BytesIO(content))
                pages = [page.extract_text() or "" for page in reader.pages]
                meta = " ".join(str(v) for v in (reader.metadata or {}).values())
                found[name] = "\n".join(pages) + "\n" + meta
            else:
                found[name] = content.decode("utf-8")
    return found


DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


def squeeze(text: str) -> str:
    """Without whitespace: a value broken over lines in a PDF is still found."""
    return re.sub(r"\s+", "", text)
