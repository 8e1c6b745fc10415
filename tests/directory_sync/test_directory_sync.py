"""`beredskab directory sync` against the emulator serving the demo organisation's Entra groups:
members read page by page through msgraph-sdk; the diff (added, removed, moved, changed) for a
changed membership; a dry run changes nothing; --apply changes exactly that and records it;
owners of open work are kept and named (and removed only with --force-remove); the nightly job
alerts the secretariat once; Graph's 403, limited information, 404 and 429 are explained; and the
command end to end."""
from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import Session, select

from bot.activation import activate_beredskab
from bot.cli import main
from bot.directory_sync import NIGHTLY, nightly, report, run_sync
from bot.entra_groups import GraphReadError, graph_for, read_group_members
from bot.services import demo_settings
from handleplaner.commitments import service as commitments
from handleplaner.commitments.models import Commitment
from handleplaner.directory.entra_demo import DEMO_MAPPING, entra_group_id
from handleplaner.directory.models import DirectorySync, Membership, Person
from handleplaner.directory.queries import secretariat_members
from handleplaner.directory.sync import SyncRefused, describe
from handleplaner.plans import service as plans
from handleplaner.storage import transaction
from m365emulator.faults import Faults
from notifications.models import Alert, Delivery
from tests.service.helpers import noerrebro, secretariat_member, shooting

from .entra import DEMO, DemoEntra, directory_state, only_in

VALBY = "lokaludvalg-valby"
VANLOESE = "lokaludvalg-vanloese"


@pytest.fixture
def database(demo_database, database_template):
    yield demo_database
    # On PostgreSQL the directory tables are kept between tests: have the next one reload them.
    database_template["directory_loaded"] = False


@pytest.fixture
def entra(emulator) -> DemoEntra:
    return DemoEntra(emulator, page_size=100)


@pytest.fixture
def settings(emulator, database):
    return demo_settings(emulator.base_url, database_url=database[0],
                         directory_sync_mapping=DEMO_MAPPING, directory_sync_at="02:30")


def change_entra(entra: DemoEntra) -> dict:
    """One of each: a newcomer, someone gone, someone moved, someone's details changed."""
    gone, moved, changed = only_in(VALBY, 4)[0], only_in(VALBY, 4)[1], only_in(VALBY, 4)[3]
    newcomer = entra.newcomer(VALBY, name="Fiktiv Nykommer", email="fiktiv.nykommer@sof.kk.example",
                              department="Socialforvaltningen")
    entra.remove_everywhere(gone)
    entra.move(moved, VALBY, VANLOESE)
    entra.update(changed, jobTitle="Gadeplansmedarbejder", mobilePhone="+45 00 11 22 33")
    return {"gone": gone, "moved": moved, "changed": changed, "newcomer": newcomer,
            "deputy_gone": [p.id for p in DEMO.people if p.deputy == gone]}


async def test_unchanged_entra_gives_no_changes_read_in_pages(entra, settings, database):
    entra.emulator.config.members_page_size = 7
    outcome = await run_sync(database[1], settings, DEMO_MAPPING, apply=False)
    plan = outcome.plan
    assert plan.counts == {"added": 0, "removed": 0, "moved": 0, "changed": 0, "kept": 0}
    assert not plan.has_changes and plan.warnings == []
    users = {u.id for users in outcome.read.members.values() for u in users}
    assert len(users) == len(DEMO.people)
    assert len(outcome.read.members) == len(entra.directory.groups)
    # at most 7 members a page: more pages than groups, the rest reached by @odata.nextLink
    assert outcome.read.pages > len(outcome.read.members)
    reads = [r for r in entra.emulator.log.select("graph") if r["path"].endswith("/members")]
    assert len(reads) == outcome.read.pages
    assert all(r["status"] == 200 for r in reads)
    followed = [r for r in reads if "skiptoken" in (r["query"] or "")]
    assert len(followed) == outcome.read.pages - len(outcome.read.members)
    assert all("select=" in r["query"] and "top=999" in r["query"] for r in reads)
    assert "Ingen ændringer" in "\n".join(report(outcome))


async def test_the_diff_names_added_removed_moved_and_changed_and_a_dry_run_changes_nothing(
        entra, settings, database):
    who = change_entra(entra)
    before = directory_state(database[1])
    outcome = await run_sync(database[1], settings, DEMO_MAPPING, apply=False)
    plan = outcome.plan
    assert directory_state(database[1]) == before

    assert [(p["id"], p["name"], p["authority"], p["role"], p["groups"]) for p in plan.added] == [
        ("p0409", "Fiktiv Nykommer", "SOF", "medarbejder", [{"group": VALBY, "role": "medlem"}])]
    assert [p["id"] for p in plan.removed] == [who["gone"]]
    assert plan.removed[0]["groups"] == [VALBY] and plan.removed[0]["open_work"] == []
    assert plan.moved == [{"id": who["moved"], "name": DEMO.person(who["moved"]).name,
                           "joined": [{"group": VANLOESE, "role": "medlem"}], "left": [VALBY],
                           "role_changes": [], "authority": None,
                           "areas": [["valby"], ["vanloese"]]}]
    changed = {p["id"]: p["fields"] for p in plan.changed}
    assert changed[who["changed"]]["title"][1] == "Gadeplansmedarbejder"
    assert changed[who["changed"]]["phone"] == [None, "+45 00 11 22 33"]
    for person_id in who["deputy_gone"]:  # their deputy left: no deputy now
        assert changed[person_id] == {"deputy": [who["gone"], None]}
    assert set(changed) == {who["changed"], *who["deputy_gone"]}
    assert plan.kept == [] and plan.structure == []

    text = "\n".join(report(outcome))
    assert "Prøvekørsel" in text and "intet er ændret" in text and "--apply" in text
    assert "+ Fiktiv Nykommer <fiktiv.nykommer@sof.kk.example> (p0409) – SOF, medarbejder" in text
    assert f"ud af {VALBY}; ind i {VANLOESE} (medlem); områder valby → vanloese" in text
    assert 'titel "' in text and '→ "Gadeplansmedarbejder"' in text


async def test_apply_changes_exactly_that_and_records_it(entra, settings, database):
    engine = database[1]
    who = change_entra(entra)
    before = directory_state(engine)
    dry = (await run_sync(engine, settings, DEMO_MAPPING, apply=False)).plan
    outcome = await run_sync(engine, settings, DEMO_MAPPING, apply=True, run_by="test")
    assert outcome.applied and outcome.plan.counts == dry.counts
    after = directory_state(engine)

    people_before = {p[0]: p for p in before["people"]}
    people_after = {p[0]: p for p in after["people"]}
    differing = {pid for pid in people_after if people_before.get(pid) != people_after[pid]}
    assert differing == {"p0409", who["gone"], who["changed"], *who["deputy_gone"]}
    assert people_after[who["gone"]][-1] is False  # inactive, not deleted
    assert people_after["p0409"][1:8] == ("Fiktiv Nykommer", "Pædagog", "fiktiv.nykommer@sof.kk.example",
                                          "+45 00 99 99 99", "medarbejder", "SOF",
                                          who["newcomer"])  # Teams knows them by their Entra id
    seats_before, seats_after = set(before["memberships"]), set(after["memberships"])
    assert seats_before - seats_after == {(VALBY, who["gone"], "medlem"), (VALBY, who["moved"], "medlem")}
    assert seats_after - seats_before == {(VALBY, "p0409", "medlem"), (VANLOESE, who["moved"], "medlem")}
    assert after["groups"] == before["groups"] and after["areas"] == before["areas"]

    with Session(engine) as session:
        [entry] = session.exec(select(DirectorySync)).all()
    assert (entry.run_by, entry.added, entry.removed, entry.moved, entry.changed, entry.kept) == (
        "test", 1, 1, 1, 1 + len(who["deputy_gone"]), 0)
    assert entry.mapping_file == str(DEMO_MAPPING) and entry.finished_at >= entry.started_at
    diff = json.loads(entry.diff)
    assert [p["id"] for p in diff["removed"]] == [who["gone"]]
    assert diff["moved"][0]["left"] == [VALBY]
    assert "gennemført (nr. 1)" in "\n".join(report(outcome))

    again = await run_sync(engine, settings, DEMO_MAPPING, apply=False)
    assert not again.plan.has_changes  # the directory now matches Entra ID


def open_commitments(engine) -> tuple[int, str]:
    """An incident in Nørrebro with its plan sent: commitments owned by the SSP-ledere."""
    editor = secretariat_member(engine)
    incident_id = activate_beredskab(engine, actor_id=editor.id,
                                     data=shooting(noerrebro(engine))).incident.id
    with transaction(engine) as session:
        plan = plans.draft_plan(session, incident_id=incident_id, actor_id=editor.id,
                                template_code="skyderi")
        version = plans.send_plan(session, plan_id=plan.id, actor_id=editor.id)
        commitments.sync_with_version(session, version)
    with Session(engine) as session:
        owner = session.exec(select(Commitment.responsible_id).where(
            Commitment.incident_id == incident_id, Commitment.responsible_id.is_not(None))).first()
    return incident_id, owner


async def test_owners_of_open_work_are_kept_and_named_unless_forced(entra, settings, database):
    engine = database[1]
    incident_id, owner = open_commitments(engine)
    plain = only_in(VALBY, 1)[0]
    entra.remove_everywhere(owner)
    entra.remove_everywhere(plain)
    with Session(engine) as session:
        titles = sorted(c.title for c in session.exec(select(Commitment).where(
            Commitment.responsible_id == owner)))
        seats = sorted((m.group_code, m.role_in_group) for m in session.exec(
            select(Membership).where(Membership.person_id == owner)))

    outcome = await run_sync(engine, settings, DEMO_MAPPING, apply=True)
    plan = outcome.plan
    assert [p["id"] for p in plan.removed] == [plain]
    [kept] = plan.kept
    assert kept["id"] == owner and kept["incidents"] == [incident_id]
    assert sorted(w.split('"')[1] for w in kept["open_work"]) == titles
    text = "\n".join(describe(plan))
    assert "Bevares aktive" in text and f"({owner}): opgave \"" in text
    with Session(engine) as session:
        person = session.get(Person, owner)
        assert person.active  # kept, with their seats as they were
        assert sorted((m.group_code, m.role_in_group) for m in session.exec(
            select(Membership).where(Membership.person_id == owner))) == seats
        assert session.get(Person, plain).active is False
        assert session.exec(select(DirectorySync)).one().kept == 1

    forced = await run_sync(engine, settings, DEMO_MAPPING, apply=True, force_remove=True)
    assert [p["id"] for p in forced.plan.removed] == [owner] and forced.plan.kept == []
    assert forced.plan.forced[0]["open_work"] == kept["open_work"]
    assert "FJERNES TRODS ÅBENT ARBEJDE" in "\n".join(describe(forced.plan))
    with Session(engine) as session:
        assert session.get(Person, owner).active is False
        assert session.exec(select(DirectorySync).order_by(DirectorySync.id.desc())).first().forced


async def test_the_nightly_sync_applies_the_rest_and_alerts_the_secretariat_once(
        entra, settings, database):
    engine = database[1]
    incident_id, owner = open_commitments(engine)
    plain = only_in(VALBY, 1)[0]
    entra.remove_everywhere(owner)
    entra.remove_everywhere(plain)
    woken = []
    outcome = await nightly(engine, settings, wake=lambda: woken.append(1))
    assert outcome.applied and [p["id"] for p in outcome.plan.kept] == [owner]
    with Session(engine) as session:
        assert session.get(Person, owner).active and not session.get(Person, plain).active
        alert = session.exec(select(Alert).where(Alert.dedupe_key == f"katalog:{owner}:{incident_id}")).one()
        assert alert.incident_id == incident_id and "ejer" in alert.body
        recipients = {d.person_id for d in session.exec(select(Delivery).where(Delivery.alert_id == alert.id))}
        assert recipients == {p.id for p in secretariat_members(session)}
        assert session.exec(select(DirectorySync)).one().run_by == NIGHTLY
    assert woken == [1]

    await nightly(engine, settings, wake=lambda: woken.append(1))
    with Session(engine) as session:
        assert len(session.exec(select(Alert).where(Alert.dedupe_key.startswith("katalog:"))).all()) == 1
        assert len(session.exec(select(DirectorySync)).all()) == 2
    assert woken == [1]


async def test_missing_permission_and_limited_information_are_explained(entra, settings, database):
    before = directory_state(database[1])
    entra.emulator.config.graph_permissions = ["Mail.Send", "User.Read.All"]
    with pytest.raises(GraphReadError) as refused:
        await run_sync(database[1], settings, DEMO_MAPPING, apply=True)
    assert "(403)" in str(refused.value) and "GroupMember.Read.All" in str(refused.value)

    entra.emulator.config.graph_permissions = ["GroupMember.Read.All"]
    with pytest.raises(GraphReadError) as limited:
        await run_sync(database[1], settings, DEMO_MAPPING, apply=True)
    assert "User.Read.All" in str(limited.value) and "uden navn og e-mail" in str(limited.value)
    assert directory_state(database[1]) == before


async def test_an_unknown_group_is_named(entra, settings, database, tmp_path):
    wrong = "0badc0de-0000-4000-8000-000000000000"
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(DEMO_MAPPING.read_text(encoding="utf-8").replace(
        entra_group_id(VALBY), wrong), encoding="utf-8")
    with pytest.raises(GraphReadError) as missing:
        await run_sync(database[1], settings, mapping, apply=False)
    assert f"Entra-gruppen {wrong} findes ikke (404)" in str(missing.value)


async def test_throttling_is_waited_out_and_a_lasting_one_explained(entra, settings, database):
    emulator = entra.emulator
    emulator.set_faults(Faults(throttle_rate=1.0, retry_after=1, apis=frozenset({"graph"}),
                               remaining=1))
    outcome = await run_sync(database[1], settings, DEMO_MAPPING, apply=True)
    assert not outcome.plan.has_changes
    first, second = [r for r in emulator.log.select("graph")][:2]
    assert (first["status"], first["fault"], first["retry_after"]) == (429, "throttle", 1)
    assert (second["status"], second["path"]) == (200, first["path"])

    emulator.set_faults(Faults(throttle_rate=1.0, retry_after=1, apis=frozenset({"graph"})))
    async with graph_for(settings, retries=1) as client:
        with pytest.raises(GraphReadError) as throttled:
            await read_group_members(client, [entra_group_id(VALBY)])
    assert "(429), også efter nye forsøg" in str(throttled.value)
    assert [r["status"] for r in emulator.log.select("graph")][-2:] == [429, 429]
    emulator.clear_faults()


async def test_the_command_end_to_end(entra, settings, database, monkeypatch, capsys, tmp_path):
    url, engine = database
    entra.emulator.config.members_page_size = 7
    for name in ("tenant_id", "bot_app_id", "bot_app_secret", "token_url", "graph_base_url"):
        monkeypatch.setenv(f"BEREDSKAB_{name.upper()}", str(getattr(settings, name)))
    who = change_entra(entra)
    before = directory_state(engine)
    command = ["directory", "sync", "--mapping", str(DEMO_MAPPING), "--database-url", url]

    assert await asyncio.to_thread(main, command) == 0
    out = capsys.readouterr().out
    assert "Prøvekørsel" in out and "Fiktiv Nykommer" in out and who["gone"] in out
    assert "I alt: 1 nye, 1 fjernet, 1 flyttet" in out
    assert directory_state(engine) == before

    assert await asyncio.to_thread(main, command + ["--apply"]) == 0
    out = capsys.readouterr().out
    assert "Synkronisering med Entra ID gennemført (nr. 1)" in out
    with Session(engine) as session:
        assert session.get(Person, who["gone"]).active is False
        assert session.exec(select(DirectorySync)).one().run_by.startswith("kommandolinje")

    bad = tmp_path / "mapping.yaml"
    bad.write_text(DEMO_MAPPING.read_text(encoding="utf-8").replace("kind: lokaludvalg", "kind: udvalg", 1),
                   encoding="utf-8")
    assert await asyncio.to_thread(main, ["directory", "sync", "--mapping", str(bad),
                                          "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert "Mappingfilen kan ikke bruges; intet er ændret" in err
    assert "groups[" in err and ".kind: ukendt gruppetype" in err and "linje " in err

    entra.emulator.config.graph_permissions = ["Mail.Send"]
    assert await asyncio.to_thread(main, command) == 1
    assert "Entra ID kunne ikke læses; intet er ændret" in capsys.readouterr().err


async def test_entra_groups_without_members_remove_no_one(entra, settings, database, caplog):
    for group in entra.directory.groups.values():
        group["members"].clear()
    before = directory_state(database[1])
    with pytest.raises(SyncRefused) as refused:
        await run_sync(database[1], settings, DEMO_MAPPING, apply=True)
    assert "ville fjerne alle" in str(refused.value)
    assert await nightly(database[1], settings) is None  # logged, and the scheduler goes on
    assert "natlig synkronisering af organisationen mislykkedes" in caplog.text
    assert directory_state(database[1]) == before


async def test_the_nightly_job_is_scheduled_only_when_configured(service):
    from bot.services import escalation_scheduler

    services = service.services
    assert services.settings.directory_sync_time is None
    assert escalation_scheduler(services).get_job("katalogsynkronisering") is None
    services.settings = services.settings.model_copy(update={
        "directory_sync_mapping": DEMO_MAPPING, "directory_sync_at": "02:30"})
    job = escalation_scheduler(services).get_job("katalogsynkronisering")
    assert str(job.trigger) == "cron[hour='2', minute='30']"
    assert str(job.trigger.timezone) == "Europe/Copenhagen"


async def test_a_nested_group_is_named_or_read_through_with_transitive(entra, settings, database,
                                                                        tmp_path):
    entra.directory.add_member(entra_group_id(VALBY), entra_group_id(VANLOESE))
    plain = await run_sync(database[1], settings, DEMO_MAPPING, apply=False)
    assert not plain.plan.has_changes
    assert any("indeholder gruppen \"SSP-lokaludvalg Vanløse\"" in w for w in plain.plan.warnings)

    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(DEMO_MAPPING.read_text(encoding="utf-8").replace(
        f"      - group: {entra_group_id(VALBY)}  # SSP-lokaludvalg Valby\n",
        f"      - group: {entra_group_id(VALBY)}  # SSP-lokaludvalg Valby\n        transitive: true\n"),
        encoding="utf-8")
    nested = await run_sync(database[1], settings, mapping, apply=False)
    newcomers = ({m.person for m in DEMO.group(VANLOESE).members}
                 - {m.person for m in DEMO.group(VALBY).members})
    assert {p["id"] for p in nested.plan.moved} == newcomers
    assert all(p["joined"][0]["group"] == VALBY for p in nested.plan.moved)
    assert any("transitiveMembers" in r["path"] for r in entra.emulator.log.select("graph"))
