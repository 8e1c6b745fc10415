"""Everything the database holds about one incident, read once for the case file.

Reads only; the rows are the domain's own (nothing is copied or changed here).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, SQLModel, select

from .. import record
from ..directory import queries as directory
from ..directory.models import Area, Person
from ..incidents import incident_areas
from ..incidents.models import Incident
from ..meetings.models import AgendaItem, Meeting, MeetingInvitee, MinuteDecision
from ..commitments.models import Commitment
from ..plans import service as plans
from ..plans.models import (ApprovalDecision, Plan, PlanCommunication, PlanEvaluation,
                            PlanExtension, PlanMeasure, PlanVersion)
from ..involved.models import InvolvedPerson
from ..privacy.parties import FullSharing
from ..record.models import RecordEntry


@dataclass
class PlanMaterial:
    plan: Plan
    measures: list[PlanMeasure]
    communication: list[PlanCommunication]
    versions: list[PlanVersion]
    snapshots: dict[int, dict]  # version id -> the frozen snapshot with its decisions so far
    decisions: list[ApprovalDecision]
    extensions: list[PlanExtension]
    evaluations: list[PlanEvaluation]


@dataclass
class MeetingMaterial:
    meeting: Meeting
    invitees: list[MeetingInvitee]
    agenda: list[AgendaItem]
    decisions: list[MinuteDecision]


@dataclass
class Material:
    incident: Incident
    areas: list[Area]
    plans: list[PlanMaterial]
    meetings: list[MeetingMaterial]
    commitments: list[Commitment]
    entries: list[RecordEntry]
    chain_break: Any  # None when the record's hash chain is whole
    authorities: dict[str, str]
    people: dict[str, Person | None] = field(default_factory=dict)
    involved: list[InvolvedPerson] = field(default_factory=list)  # whom the incident concerns
    full_sharing: list[FullSharing] = field(default_factory=list)  # § 115 reasons per party

    def person(self, session: Session, person_id: str | None) -> Person | None:
        if not person_id:
            return None
        if person_id not in self.people:
            self.people[person_id] = directory.get_person(session, person_id)
        return self.people[person_id]

    def marked_rows(self) -> list[SQLModel]:
        """Every row of a model with fields marked as personal data (``info=PERSONAL``)."""
        rows: list[SQLModel] = [self.incident]
        for p in self.plans:
            rows += [p.plan, *p.measures, *p.decisions, *p.extensions, *p.evaluations]
        for m in self.meetings:
            rows += [*m.invitees, *m.decisions]
        rows += self.commitments
        rows += self.involved + self.full_sharing
        return rows

    def commitment_history(self, commitment_id: int) -> list[RecordEntry]:
        return [e for e in self.entries if e.action.startswith("opgave.")
                and json.loads(e.data or "{}").get("commitment_id") == commitment_id]


def _all(session: Session, query) -> list:
    return list(session.exec(query))


def gather(session: Session, incident: Incident) -> Material:
    area_codes = set(incident_areas(session, incident.id))
    areas = [a for a in directory.all_areas(session, include_inactive=True) if a.code in area_codes]
    found_plans = []
    for plan in _all(session, select(Plan).where(Plan.incident_id == incident.id).order_by(Plan.id)):
        versions = plans.versions(session, plan.id)
        version_ids = [v.id for v in versions]
        found_plans.append(PlanMaterial(
            plan=plan,
            measures=plans.measures(session, plan.id),
            communication=plans.communication(session, plan.id),
            versions=versions,
            snapshots={v.id: plans.version_snapshot(session, v) for v in versions},
            decisions=_all(session, select(ApprovalDecision)
                           .where(ApprovalDecision.version_id.in_(version_ids))
                           .order_by(ApprovalDecision.at, ApprovalDecision.id)) if version_ids else [],
            extensions=_all(session, select(PlanExtension).where(PlanExtension.plan_id == plan.id)
                            .order_by(PlanExtension.at, PlanExtension.id)),
            evaluations=_all(session, select(PlanEvaluation).where(PlanEvaluation.plan_id == plan.id)
                             .order_by(PlanEvaluation.at, PlanEvaluation.id)),
        ))
    found_meetings = []
    for meeting in _all(session, select(Meeting).where(Meeting.incident_id == incident.id)
                        .order_by(Meeting.starts_at, Meeting.id)):
        found_meetings.append(MeetingMaterial(
            meeting=meeting,
            invitees=_all(session, select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting.id)
                          .order_by(MeetingInvitee.authority_code, MeetingInvitee.id)),
            agenda=_all(session, select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
                        .order_by(AgendaItem.position)),
            decisions=_all(session, select(MinuteDecision).where(MinuteDecision.meeting_id == meeting.id)
                           .order_by(MinuteDecision.at, MinuteDecision.id)),
        ))
    return Material(
        incident=incident,
        areas=areas,
        plans=found_plans,
        meetings=found_meetings,
        commitments=_all(session, select(Commitment).where(Commitment.incident_id == incident.id)
                         .order_by(Commitment.authority_code, Commitment.starts_at, Commitment.id)),
        entries=record.entries(session, incident.id),
        chain_break=record.verify_chain(session, incident.id),
        authorities={a.code: a.name for a in directory.authorities(session, include_inactive=True)},
        involved=_all(session, select(InvolvedPerson).where(
            InvolvedPerson.incident_id == incident.id).order_by(InvolvedPerson.id)),
        full_sharing=_all(session, select(FullSharing).where(
            FullSharing.incident_id == incident.id).order_by(FullSharing.id)),
    )
