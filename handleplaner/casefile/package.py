"""The case file as a ZIP in memory: the files, their manifest, the README and the record entry."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlmodel import Session, select

from .. import record
from ..clock import dansk, iso_utc, local, utcnow
from ..commitments.models import COMMITMENT_STATES
from ..incidents import SEVERITIES, TYPE_LABELS, lock_incident
from ..incidents.models import Incident
from ..incidents.states import STATE_LABELS
from ..meetings.models import MEETING_STATES, RESPONSES
from ..plans.documents import DocumentProblem, render_plan_html, render_plan_pdf
from ..plans.models import DECISIONS, PLAN_STATES, VERSION_STATES
from .material import Material, MeetingMaterial, PlanMaterial, gather
from .redaction import Keep, Redact, leftovers, removed_lines

SAGSAKT = "sagsakt"
AKTINDSIGT = "aktindsigt"
VARIANTS = {SAGSAKT: "Sagsakt til journalisering", AKTINDSIGT: "Aktindsigtskopi"}
FORMAT = "ssp-beredskab-sagsakt/1"
ACTION = "sag.eksporteret"


class IncidentNotFound(LookupError):
    """No incident with that id or reference."""


class CaseFileProblem(Exception):
    """The case file cannot be made (a plan document's template is broken); the message says why."""


class PersonalDataLeft(CaseFileProblem):
    """The aktindsigt copy still holds a CPR number or a protected person's name after
    redaction: it is not handed out (fail closed). The message names the files, never the
    values."""


@dataclass(frozen=True)
class Part:
    """A part of the case file another layer provides (the alerts come from ``notifications``):
    a JSON file at ``path``, described by ``description`` in the README."""

    path: str
    content: Any
    description: str


@dataclass(frozen=True)
class CaseFile:
    reference: str
    variant: str
    filename: str
    data: bytes
    files: tuple[str, ...]  # every file in the zip, sagsakt.json and README.txt included
    removed: dict[str, int]  # aktindsigt: how many places had what removed, by kind


def find_incident(session: Session, key: str | int) -> Incident | None:
    """The incident by id (digits) or reference (H-2026-0001, any case)."""
    text = str(key).strip()
    if text.isdigit():
        return session.get(Incident, int(text)) if int(text) < 2**63 else None
    return session.exec(select(Incident).where(Incident.reference == text.upper())).first()


def _default(value):
    if isinstance(value, datetime):
        return iso_utc(value)
    raise TypeError(f"{type(value).__name__} kan ikke skrives som JSON")


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, default=_default) + "\n").encode("utf-8")


class _Builder:
    def __init__(self, session: Session, material: Material, redactor: Keep):
        self.session, self.material, self.r = session, material, redactor
        self.files: dict[str, bytes] = {}
        self.descriptions: dict[str, str] = {}

    def add(self, path: str, content: bytes, description: str) -> str:
        self.files[path] = content
        self.descriptions[path] = description
        return path

    def who(self, person_id: str | None) -> dict | None:
        if not person_id:
            return None
        if person_id == record.SYSTEM:
            return {"id": record.SYSTEM, "navn": "systemet"}
        person = self.material.person(self.session, person_id)
        if person is None:
            return self.r.json({"id": person_id})
        return self.r.json({"id": person.id, "navn": person.name, "titel": person.title,
                            "myndighed": person.authority_code})

    # -- the record --------------------------------------------------------------------------
    def record(self) -> dict[int, dict]:
        entries = {}
        for entry in self.material.entries:
            data = self.r.json(record.as_dict(entry, self.session))
            if self.r.aktindsigt:  # the ciphertext of the personal part is of no use there
                data.pop("detail", None)
            data["hvem"] = self.who(entry.actor_id)
            entries[entry.seq] = data
        self.add("haendelseslog.jsonl",
                 "".join(json.dumps(e, ensure_ascii=False, default=_default) + "\n"
                         for e in entries.values()).encode("utf-8"),
                 "hændelsesloggen (notatpligt), én post pr. linje med tid, hvem, hvad og hash-kæden")
        return entries

    def chain(self, now: datetime) -> dict:
        found = self.material.chain_break
        result = {
            "kontrolleret": iso_utc(now), "poster": len(self.material.entries),
            "hel": found is None,
            "brud": None if found is None else {
                "post": found.seq, "aarsag": getattr(found, "reason", "indholdet er ændret")},
            "metode": "Hver posts SHA-256 dækker posten og den foregående posts hash; "
                      "hændelsens seneste hash er gemt på hændelsen.",
        }
        self.add("haendelseslog-kontrol.json", _json(result),
                 "kontrollen af hændelsesloggens hash-kæde ved eksporten")
        return result

    # -- the plan ----------------------------------------------------------------------------
    def plan(self, found: PlanMaterial, folder: str) -> None:
        r, versions = self.r, []
        numbers = {v.id: v.number for v in found.versions}
        for version in found.versions:
            snapshot = r.snapshot(found.snapshots[version.id])
            base = f"{folder}/version-{version.number}"
            try:
                html = render_plan_html(snapshot)
                pdf = render_plan_pdf(snapshot)
            except DocumentProblem as problem:
                raise CaseFileProblem(f"Version {version.number} kan ikke dannes: {problem}") from None
            files = [
                self.add(f"{base}.pdf", pdf, f"version {version.number} af planen som PDF"),
                self.add(f"{base}.html", html.encode("utf-8"),
                         f"version {version.number} af planen som HTML"),
                self.add(f"{base}.json", _json(snapshot),
                         f"version {version.number} præcis som den blev frosset og sendt (JSON)"),
            ]
            versions.append({"nummer": version.number, "tilstand": version.state,
                             "tilstand_tekst": VERSION_STATES.get(version.state, version.state),
                             "godkendelsesregel": version.approval_rule,
                             "frosset": version.frozen_at, "frosset_af": self.who(version.frozen_by),
                             "afgjort": version.decided_at, "filer": files})
        plan = r.row(found.plan)
        plan["state_label"] = PLAN_STATES.get(found.plan.state, found.plan.state)
        measures = []
        for measure in found.measures:
            row = r.row(measure)
            row["ansvarlig"] = self.who(measure.responsible_id)
            measures.append(row)
        self.add(f"{folder}/plan.json", _json({
            "plan": plan, "indsatser": measures,
            "kommunikation": [r.row(c) for c in found.communication], "versioner": versions}),
            "planen som den står nu (også et udkast, der ikke er sendt), med indsatser og versioner")
        decisions = []
        for decision in found.decisions:
            row = r.row(decision)
            row.update(version=numbers.get(decision.version_id), person=self.who(decision.person_id),
                       beslutning_tekst=DECISIONS.get(decision.decision, decision.decision))
            decisions.append(row)
        self.add(f"{folder}/godkendelser.json", _json(decisions),
                 "styregruppens beslutninger (godkend, afvis, kommentar) pr. version")
        extensions = []
        for extension in found.extensions:
            row = r.row(extension)
            row["af"] = self.who(extension.by)
            extensions.append(row)
        self.add(f"{folder}/forlaengelser.json", _json(extensions),
                 "forlængelser af planens periode med begrundelse")
        evaluations = []
        for evaluation in found.evaluations:
            row = r.row(evaluation)
            row["person"] = self.who(evaluation.person_id)
            evaluations.append(row)
        self.add(f"{folder}/evalueringer.json", _json(evaluations), "parternes evalueringer")

    # -- meetings ----------------------------------------------------------------------------
    def meeting(self, found: MeetingMaterial, number: int) -> None:
        r = self.r
        meeting = r.row(found.meeting)
        meeting["state_label"] = MEETING_STATES.get(found.meeting.state, found.meeting.state)
        invitees = []
        for invitee in found.invitees:
            row = r.row(invitee)
            row.update(person=self.who(invitee.person_id),
                       svar_tekst=RESPONSES.get(invitee.response, invitee.response))
            invitees.append(row)
        agenda = []
        for item in found.agenda:
            row = r.row(item)
            row["beslutninger"] = []
            for decision in found.decisions:
                if decision.agenda_item_id == item.id:
                    entry = r.row(decision)
                    entry["af"] = self.who(decision.created_by)
                    row["beslutninger"].append(entry)
            agenda.append(row)
        content = {"moede": meeting, "indkaldt_af": self.who(found.meeting.created_by),
                   "inviterede": invitees, "dagsorden": agenda}
        base = f"moeder/moede-{number}"
        self.add(f"{base}.json", _json(content),
                 f"beredskabsmøde {number}: tid, sted, inviterede og deres svar, dagsorden, beslutninger")
        self.add(f"{base}-beslutningsreferat.txt", _minutes(self.material, content).encode("utf-8"),
                 f"beredskabsmøde {number}: beslutningsreferatet som tekst")

    # -- commitments -------------------------------------------------------------------------
    def commitments(self, entries: dict[int, dict]) -> None:
        rows = []
        for commitment in self.material.commitments:
            row = self.r.row(commitment)
            row.update(state_label=COMMITMENT_STATES.get(commitment.state, commitment.state),
                       ansvarlig=self.who(commitment.responsible_id),
                       tildelt=self.who(commitment.assigned_id),
                       historik=[entries[e.seq] for e in
                                 self.material.commitment_history(commitment.id)])
            rows.append(row)
        self.add("opgaver.json", _json(rows),
                 "myndighedernes opgaver (forpligtelser) med tilstand og historik fra hændelsesloggen")


def _minutes(material: Material, content: dict) -> str:
    """The beslutningsreferat as plain text, from the (already redacted) meeting content."""
    meeting = content["moede"]

    def name(who: dict | None) -> str:
        return (who or {}).get("navn") or (who or {}).get("id") or "ukendt"

    lines = [f"Beslutningsreferat – beredskabsmøde {dansk(meeting['starts_at'])}",
             f"Hændelse: {material.incident.reference}",
             f"Sted: {meeting['location'] or ('Online' if meeting['online'] else '')}",
             f"Tilstand: {meeting['state_label']}", "", "Inviterede og svar:"]
    for invitee in content["inviterede"]:
        lines.append(f"  - {name(invitee['person'])} ({invitee['authority_code']}): "
                     f"{invitee['svar_tekst']}" + (" – ekstern part" if invitee["external"] else ""))
    lines += ["", "Dagsorden og beslutninger:"]
    for item in content["dagsorden"]:
        lines.append(f"{item['position']}. {item['title']}")
        for decision in item["beslutninger"]:
            lines.append(f"   - {decision['text']} ({dansk(decision['at'])}, {name(decision['af'])})")
        if not item["beslutninger"]:
            lines.append("   (ingen beslutninger)")
    return "\n".join(lines) + "\n"


def _readme(material: Material, variant: str, exporter: dict | None, now: datetime,
            builder: _Builder, chain: dict, title: str) -> str:
    incident = material.incident
    who = "systemet (kommandolinjen)"
    if exporter and exporter.get("id") != record.SYSTEM:
        who = ", ".join(p for p in (exporter.get("navn"), exporter.get("titel"),
                                    exporter.get("myndighed")) if p) + f" [{exporter.get('id')}]"
    lines = [f"{VARIANTS[variant].upper()} – SSP Beredskab", "",
             f"Hændelse: {incident.reference} – {title}"]
    if incident.exercise:
        lines.append("ØVELSE – ikke en rigtig hændelse.")
    if incident.confidential:
        lines.append("Hændelsen er markeret §115 – fortroligt.")
    lines += [f"Eksporteret: {dansk(now)} (dansk tid; {iso_utc(now)})", f"Eksporteret af: {who}", ""]
    if variant == SAGSAKT:
        lines += ["Formål: journalisering i kommunens dokumentsystem (offentlighedslovens § 15). ",
                  "Sagsakten er fuldstændig og indeholder personoplysninger (retsplejelovens § 115): ",
                  "den må ikke udleveres som den er; brug aktindsigtskopien ved aktindsigt.", ""]
    else:
        lines += ["AKTINDSIGTSKOPI – personoplysninger om tredjemand er fjernet og erstattet med",
                  "'[fjernet: personoplysninger]' (hele feltet) eller '[fjernet]' (i anden tekst).",
                  "Fjernet (antal steder):"]
        lines += [f"  {line}" for line in removed_lines(builder.r.counts)]
        lines += ["",
                  "Reglen: alle felter markeret som personoplysninger fjernes (også oplysninger om",
                  "den, der har bedt om aktindsigt – sagsbehandleren vurderer ud fra sagsakten, hvad",
                  "der kan udleveres derudover), og det samme gør kopier af dem i anden tekst, alle",
                  "CPR-numre og navnene på fortrolige personer. Myndighedernes medarbejdere står med",
                  "navn, når de handler i tjenesten, undtagen den ansvarlige for en fortrolig indsats.",
                  "Hashværdierne i haendelseslog.jsonl er de oprindelige; da teksten er redigeret, kan",
                  "de ikke genberegnes ud fra denne kopi. Kæden er kontrolleret på den fulde log.", ""]
    lines.append("Hændelsesloggen: " + (
        f"{chain['poster']} poster, hash-kæden er hel." if chain["hel"] else
        f"{chain['poster']} poster, hash-kæden er BRUDT ved post {chain['brud']['post']}: "
        f"{chain['brud']['aarsag']}."))
    lines += ["", "Indhold:",
              "  sagsakt.json – hændelsen, områder, tilstand, reference og en liste over alle",
              "    andre filer med størrelse og SHA-256 (til kontrol af, at intet er ændret)",
              "  README.txt – denne fil"]
    for path, description in builder.descriptions.items():
        lines.append(f"  {path} – {description}")
    if not material.plans:
        lines.append("  (ingen handleplan)")
    if not material.meetings:
        lines.append("  (intet beredskabsmøde)")
    return "\n".join(lines) + "\n"


def _zip(files: dict[str, bytes], now: datetime) -> bytes:
    buffer = io.BytesIO()
    stamp = local(now).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def build_casefile(session: Session, incident_id: int, *, variant: str = SAGSAKT,
                   exported_by: str = record.SYSTEM, parts: Iterable[Part] = (),
                   now: datetime | None = None) -> CaseFile:
    """The case file for one incident as a ZIP, in memory. Reads only."""
    if variant not in VARIANTS:
        raise ValueError(f"Ukendt variant {variant!r}; vælg 'sagsakt' eller 'aktindsigt'.")
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"Hændelsen {incident_id} findes ikke.")
    now = now or utcnow()
    material = gather(session, incident)
    redactor = Redact(session, material) if variant == AKTINDSIGT else Keep()
    builder = _Builder(session, material, redactor)

    summary = redactor.row(incident)
    summary.update(type_label=TYPE_LABELS.get(incident.incident_type, incident.incident_type),
                   severity_label=SEVERITIES.get(incident.severity, incident.severity),
                   state_label=STATE_LABELS.get(incident.state, incident.state))
    exporter = builder.who(exported_by)
    entries = builder.record()
    chain = builder.chain(now)
    for index, found in enumerate(material.plans, start=1):
        builder.plan(found, "handleplan" if len(material.plans) == 1 else f"handleplan-{index}")
    for number, found in enumerate(material.meetings, start=1):
        builder.meeting(found, number)
    builder.commitments(entries)
    if material.involved or material.full_sharing:
        builder.add("involverede.json", _json({
            "involverede": [redactor.row(p) for p in material.involved],
            "fuld_deling": [redactor.row(s) for s in material.full_sharing]}),
            "de personer, hændelsen angår, og begrundelser for fuld deling med eksterne parter")
    for part in parts:
        builder.add(part.path, _json(redactor.json(part.content)), part.description)

    readme = _readme(material, variant, exporter, now, builder, chain, summary["title"])
    files = {"README.txt": readme.encode("utf-8"), **builder.files}
    manifest = [{"navn": path, "bytes": len(content),
                 "sha256": hashlib.sha256(content).hexdigest(),
                 "indhold": builder.descriptions.get(path, "hvad sagsakten indeholder, og hvordan")}
                for path, content in files.items()]
    casefile = {
        "format": FORMAT, "variant": variant, "variant_tekst": VARIANTS[variant],
        "reference": incident.reference, "eksporteret": now, "eksporteret_af": exporter,
        "haendelse": summary,
        "omraader": [{"code": a.code, "name": a.name} for a in material.areas],
        "tilstand": {"kode": incident.state, "tekst": summary["state_label"]},
        "haendelseslog": chain,
        "fjernet": dict(redactor.counts) if redactor.aktindsigt else None,
        "filer": manifest,
    }
    files = {"sagsakt.json": _json(casefile), **files}
    if variant == AKTINDSIGT:
        found = leftovers(files, redactor.names)
        if found:
            raise PersonalDataLeft("Aktindsigtskopien udleveres ikke: den indeholder stadig "
                                   "personoplysninger om tredjemand efter redigeringen ("
                                   + "; ".join(found) + "). Ret teksterne, eller udlevér "
                                   "manuelt fra sagsakten.")
    return CaseFile(reference=incident.reference, variant=variant,
                    filename=f"{incident.reference}-{variant}.zip", data=_zip(files, now),
                    files=tuple(files), removed=dict(redactor.counts))


def export_casefile(session: Session, incident_id: int, *, variant: str = SAGSAKT,
                    exported_by: str = record.SYSTEM, parts: Iterable[Part] = (),
                    now: datetime | None = None) -> CaseFile:
    """Build the case file and record the export (notatpligt) in the caller's transaction."""
    now = now or utcnow()
    if lock_incident(session, incident_id) is None:
        raise IncidentNotFound(f"Hændelsen {incident_id} findes ikke.")
    casefile = build_casefile(session, incident_id, variant=variant, exported_by=exported_by,
                              parts=parts, now=now)
    record.append(session, incident_id=incident_id, actor_id=exported_by, action=ACTION, at=now,
                  summary=(f"{VARIANTS[variant]} eksporteret ({len(casefile.files)} filer)"
                           + ("; personoplysninger om tredjemand fjernet"
                              if variant == AKTINDSIGT else "")),
                  data={"variant": variant, "files": len(casefile.files), "by": exported_by})
    return casefile
