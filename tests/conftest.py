"""Shared fixtures: a real PostgreSQL/PostGIS database per test session.

Tests talk to a real server, never a mock. ``TERRITOIRE_TEST_ADMIN_URL`` names the server to create
test databases on; unset, the machine's PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres) is
used when it answers, and otherwise the platform's own embedded cluster, started under
``var/test-postgres`` — so ``make test`` works on a machine with no server running.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"
SHARED_SCHEMAS = SHARED / "schemas"

SYSTEM_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> str:
    if os.environ.get("TERRITOIRE_TEST_ADMIN_URL"):
        return os.environ["TERRITOIRE_TEST_ADMIN_URL"]
    try:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3):
            return SYSTEM_ADMIN_URL
    except psycopg.OperationalError:
        from resources.postgres_server import ensure_server

        url = sa.make_url(ensure_server(REPO / "var" / "test-postgres"))
        return url.set(database="postgres").render_as_string(hide_password=False)


ADMIN_URL = _admin_url()


def _create_database(name: str) -> str:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.make_url(ADMIN_URL).set(database=name)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


def _drop_database(name: str) -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database with PostGIS for the whole session, dropped afterwards."""
    name = f"territoire_test_{uuid.uuid4().hex[:10]}"
    url = _create_database(name)
    yield url
    _drop_database(name)


@pytest.fixture()
def fresh_pg_url() -> Iterator[str]:
    """A fresh database with PostGIS for one test, for tests that need an empty warehouse."""
    name = f"territoire_test_{uuid.uuid4().hex[:10]}"
    url = _create_database(name)
    yield url
    _drop_database(name)


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    """A TERRITOIRE_HOME of its own for one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture()
def env(home: Path, monkeypatch: pytest.MonkeyPatch, fresh_pg_url: str) -> Path:
    """The command line's environment on that home, a fresh warehouse and a Dagster home inside it."""
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", fresh_pg_url)
    return home
