from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from handleplaner.directory import DEMO_ORGANISATION, import_directory_file, load_directory
from handleplaner.directory import models  # noqa: F401  (registers the tables)
from handleplaner.storage import make_engine, normalise_url

from tests.conftest import TEST_DATABASE_URL

# A small but complete organisation; tests edit copies of it. Line numbers matter to the tests
# that check where a problem is reported, so keep the layout when changing it.
SMALL = """\
authorities:
  - {code: BUF, name: Børne- og Ungdomsforvaltningen, fixed_party: true}
  - {code: SOF, name: Socialforvaltningen, fixed_party: true}
  - {code: SSP, name: SSP Sekretariatet, fixed_party: true}
  - {code: KRIM, name: Kriminalforsorgen Øst}
areas:
  - {code: indre-noerrebro, name: Indre Nørrebro, bydel: Nørrebro}
  - {code: bispebjerg, name: Bispebjerg, bydel: Bispebjerg}
groups:
  - code: sekretariat
    kind: sekretariat
    name: SSP Sekretariatet
    chair: s1
    members:
      - {person: s1, role: formand}
      - {person: s2}
  - code: ledergruppe-1
    kind: ledergruppe
    name: SSP-ledergruppe 1
    areas: [indre-noerrebro]
    members:
      - {person: b1, role: ssp-leder}
      - {person: b2}
      - {person: k1, role: ssp-leder}
      - {person: s2, role: sekretær}
  - code: lokaludvalg-bispebjerg
    kind: lokaludvalg
    name: SSP-lokaludvalg Bispebjerg
    areas: [bispebjerg]
    members:
      - {person: m1}
people:
  - id: s1
    name: Fiktiv Chef
    role: sekretariatschef
    authority: SSP
    email: fiktiv.chef@ssp.kk.example
    teams_user_id: 00000000-0000-4000-8000-000000000001
    deputy: s2
  - id: s2
    name: Fiktiv Konsulent
    role: sekretariat
    authority: SSP
    email: fiktiv.konsulent@ssp.kk.example
    deputy: s1
    channels: [email]
  - id: b1
    name: Fiktiv Skoleleder
    role: ssp-leder
    authority: BUF
    email: fiktiv.skoleleder@buf.kk.example
    teams_user_id: 00000000-0000-4000-8000-000000000003
    deputy: b2
    channels: [teams, email]
  - id: b2
    name: Fiktiv Fritidsleder
    role: leder
    authority: BUF
    email: fiktiv.fritidsleder@buf.kk.example
    deputy: b1
  - id: k1
    name: Fiktiv Kriminalforsorger
    role: ssp-leder
    authority: KRIM
    email: fiktiv.kriminalforsorger@krim.kk.example
  - id: m1
    name: Fiktiv Medarbejder
    title: Lærer
    role: medarbejder
    authority: SOF
    email: fiktiv.medarbejder@sof.kk.example
    phone: "+45 00 00 00 01"
    channels: [email, sms]
"""


# When the suite runs on PostgreSQL (BEREDSKAB_TEST_DATABASE_URL), these tests run there too, in a
# schema of their own: the suite's tables in the public schema stay as its fixtures left them.
POSTGRESQL_URL = TEST_DATABASE_URL if TEST_DATABASE_URL.startswith("postgres") else None


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRESQL_URL else []))
def engine(request):
    if request.param == "sqlite":
        engine = make_engine("sqlite://")
        SQLModel.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    schema = f"katalog_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRESQL_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(normalise_url(POSTGRESQL_URL)).update_query_dict(
        {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        SQLModel.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture(scope="session")
def demo():
    return load_directory(DEMO_ORGANISATION)


@pytest.fixture
def demo_engine(engine):
    import_directory_file(engine, DEMO_ORGANISATION)
    return engine
