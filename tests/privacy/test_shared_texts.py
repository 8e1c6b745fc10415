"""The check on everything that is shared, with the database: the Team Sikker By version, the
title at activation and alert texts. CPR numbers (every shape, every invisible character),
registered people (upper, lower, genitive, nickname) and directory people stop; an unregistered
common Danish name warns and passes only with a reason, which is recorded without the name."""
from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.activation import activate_beredskab
from handleplaner import involved, record
from handleplaner.incidents import ActivationInvalid
from handleplaner.plans import service as plans
from handleplaner.privacy.check import CPR, DIREKTORIET, MULIGT_NAVN, NAVN
from handleplaner.privacy.sharing import OVERRIDDEN, check_sikkerby
from handleplaner.storage import transaction
from notifications.compose import AlertInvalid, compose_alert
from tests.plans.test_plan_documents import make_snapshot
from tests.service.helpers import non_activator, noerrebro, secretariat_member, shooting

REGISTERED = {"name": "Kasper Fiktivsen", "nicknames": ["Kappe"], "age": 16, "role": "ung"}

CPR_SHAPES = ["01-02-03-1234", "01/02/03-1234", "010203/1234", "010203.1234", "010203_1234",
              "0102 031234", "010203-1234", "0102031234",
              "010203\u00a01234", "010203\u2009-\u20091234", "0102\u200b03\u200b1234",
              "010203\u00ad1234", "010203\uff0d1234"]
CPR_IDS = ["bindestreger", "skråstreger", "skråstreg", "punktum", "understreg", "mellemrum",
           "klassisk", "uden", "nbsp", "tynd-mellemrum", "zwsp", "blød-bindestreg",
           "fuldbredde-bindestreg"]
NAME_CASES = [("Samtale med KASPER FIKTIVSEN i klubben", NAVN, "store"),
              ("Samtale med kasper fiktivsen i klubben", NAVN, "små"),
              ("Samtale med Kasper Fiktivsens mor", NAVN, "genitiv-s"),
              ("Samtale med Kasper Fiktivsen's mor", NAVN, "genitiv-apostrof"),
              ("Samtale med Kappe i klubben", NAVN, "kaldenavn"),
              ("Samtale med Mads og hans mor i klubben", MULIGT_NAVN, "uregistreret")]


def cases(directory_name: str):
    yield from ((f"Samtale ved klubben, {shape}", CPR) for shape in CPR_SHAPES)
    yield from ((text, kind) for text, kind, _ in NAME_CASES)
    yield f"Samtale med {directory_name} i klubben", DIREKTORIET


ALL_IDS = CPR_IDS + [i for *_, i in NAME_CASES] + ["direktoriet"]


@pytest.fixture
def directory_name(engine) -> str:
    """Someone from the organisation who is on no plan: a lokaludvalg member."""
    return non_activator(engine).name


@pytest.fixture
def incident_id(engine) -> int:
    actor = secretariat_member(engine)
    incident = activate_beredskab(engine, actor_id=actor.id,
                                  data=shooting(noerrebro(engine))).incident
    with transaction(engine) as session:
        involved.register(session, incident_id=incident.id, actor_id=actor.id, data=REGISTERED)
    return incident.id


def case(index: int, directory_name: str) -> tuple[str, str]:
    return list(cases(directory_name))[index]


INDEXES = list(range(len(ALL_IDS)))


@pytest.mark.parametrize("index", INDEXES, ids=ALL_IDS)
def test_sikkerby_version(engine, incident_id, directory_name, index):
    text, kind = case(index, directory_name)
    with transaction(engine) as session:
        plan = plans.draft_plan(session, incident_id=incident_id,
                                actor_id=secretariat_member(engine).id, template_code="skyderi")
        plan_id = plan.id
    snapshot = make_snapshot(purpose=text)
    snapshot["plan_id"] = plan_id
    with Session(engine) as session:
        found = check_sikkerby(session, snapshot)
    assert [f.kind for f in found.findings] == [kind]
    assert found.findings[0].place == "formål"
    assert bool(found.stops) == (kind != MULIGT_NAVN)


@pytest.mark.parametrize("index", INDEXES, ids=ALL_IDS)
def test_title_at_activation(engine, directory_name, index):
    text, kind = case(index, directory_name)
    actor = secretariat_member(engine)
    data = shooting(noerrebro(engine), title=text, involved=[REGISTERED])
    with pytest.raises(ActivationInvalid) as refused:
        activate_beredskab(engine, actor_id=actor.id, data=data)
    assert set(refused.value.errors) == ({"title"} if kind != MULIGT_NAVN
                                         else {"title", "names_reason"})
    if kind == MULIGT_NAVN:
        assert "ser ud til at indeholde navne" in refused.value.errors["title"]
        assert "Mads" not in refused.value.errors["title"]
        data["names_reason"] = "Aftalt med politiet, at fornavnet må nævnes"
        incident = activate_beredskab(engine, actor_id=actor.id, data=data).incident
        with Session(engine) as session:
            entries = record.entries(session, incident.id)
            overridden = [e for e in entries if e.action == OVERRIDDEN]
            assert len(overridden) == 1
            assert "Aftalt med politiet" in record.readable(session, overridden[0])
            assert "Aftalt med politiet" not in overridden[0].summary + str(overridden[0].detail)
            assert "Mads" not in record.readable(session, overridden[0]) + str(overridden[0].data)
            assert involved.names_of(session, incident.id) == ["Kasper Fiktivsen", "Kappe"]
    else:
        assert "indeholder personoplysninger" in refused.value.errors["title"]
        data["names_reason"] = "Vi vil sende det alligevel"  # a reason never lets these through
        with pytest.raises(ActivationInvalid):
            activate_beredskab(engine, actor_id=actor.id, data=data)


@pytest.mark.parametrize("index", INDEXES, ids=ALL_IDS)
def test_alert_text(engine, incident_id, directory_name, index):
    text, kind = case(index, directory_name)
    actor = secretariat_member(engine)
    data = {"kind": "besked", "severity": "orientering", "text": text,
            "audience": {"groups": ["styregruppe"]}}
    with Session(engine) as session:
        before = record.count(session, incident_id)
    with pytest.raises(AlertInvalid) as refused, transaction(engine) as session:
        compose_alert(session, incident_id=incident_id, actor_id=actor.id, data=data)
    assert "text" in refused.value.errors
    with Session(engine) as session:
        assert record.count(session, incident_id) == before  # nothing written
    data["names_reason"] = "Navnet er nødvendigt for indsatsen"
    if kind == MULIGT_NAVN:
        with transaction(engine) as session:
            compose_alert(session, incident_id=incident_id, actor_id=actor.id, data=data)
        with Session(engine) as session:
            last = record.entries(session, incident_id)[-1]
            assert last.action == OVERRIDDEN and "nødvendigt" in record.readable(session, last)
    else:
        with pytest.raises(AlertInvalid), transaction(engine) as session:
            compose_alert(session, incident_id=incident_id, actor_id=actor.id, data=data)
