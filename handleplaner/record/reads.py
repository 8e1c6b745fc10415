"""Who read an incident's personal data, and when (retsplejelovens § 115: shared with no more
people than relevant, and it can be shown afterwards who saw what).

Kept apart from the incident record: reads are many and routine, the record holds the steps
taken. Retention removes old reads (``retention_read_log_months``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from ..clock import utcnow
from ..storage import transaction


class PersonalDataRead(SQLModel, table=True):
    __tablename__ = "personal_data_read"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    person_id: str = Field(max_length=32, index=True)
    at: datetime
    what: str = Field(max_length=200)  # the page, API call or export that was read


def log_read(engine: Engine, *, incident_id: int, person_id: str, what: str,
             at: datetime | None = None) -> None:
    with transaction(engine) as session:
        session.add(PersonalDataRead(incident_id=incident_id, person_id=person_id,
                                     at=at or utcnow(), what=what[:200]))


def reads(session: Session, incident_id: int) -> list[PersonalDataRead]:
    return list(session.exec(select(PersonalDataRead)
                             .where(PersonalDataRead.incident_id == incident_id)
                             .order_by(PersonalDataRead.at, PersonalDataRead.id)))
