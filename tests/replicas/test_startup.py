"""Two replicas starting at once on an empty PostgreSQL database: one brings the schema up and
imports the demo organisation, the other waits its turn (an advisory lock) and finds it done."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, func, select

from bot.services import demo_settings, prepare_database
from handleplaner.directory.models import Person
from handleplaner.storage import make_engine, normalise_url

from tests.conftest import TEST_DATABASE_URL

from .common import needs_postgresql


@needs_postgresql
def test_two_replicas_starting_at_once_prepare_the_database_once():
    schema = f"opstart_{uuid.uuid4().hex[:8]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(normalise_url(TEST_DATABASE_URL)).update_query_dict(
        {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        settings = demo_settings("http://127.0.0.1:9", database_url=url)
        with ThreadPoolExecutor(2) as pool:
            engines = list(pool.map(prepare_database, [settings, settings]))
        with Session(engines[0]) as session:
            people = session.exec(select(func.count()).select_from(Person)).one()
        for engine in engines:
            engine.dispose()
        assert 400 <= people <= 420  # the demo organisation, imported once
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
