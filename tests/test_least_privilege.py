"""Least privilege: the platform works as a non-superuser owner role, analysts only read ``published``,
and a database password never shows in logs, Dagster's event log, reports or error messages."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa
from conftest import ADMIN_URL, SHARED_SCHEMAS

from assets.keys import asset_key
from assets.producer import build_dataset_assets
from resources.harvest.resource import Harvester
from resources.registry.load import load_registry
from resources.store import Store
from resources.warehouse import ANALYST_ROLE, OWNER_ROLE, Warehouse

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"


def _psycopg(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture()
def login_role(fresh_pg_url: str):
    """A login role with a password (never a superuser), dropped afterwards."""
    name = f"territoire_app_{uuid.uuid4().hex[:8]}"
    password = "Pw-" + secrets.token_urlsafe(16)
    with psycopg.connect(_psycopg(ADMIN_URL), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN NOSUPERUSER PASSWORD '{password}'")
    yield name, password
    with psycopg.connect(_psycopg(fresh_pg_url), autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {name}")
    with psycopg.connect(_psycopg(ADMIN_URL), autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {name}")


def test_platform_runs_as_non_superuser_owner_and_analysts_only_read_published(
    fresh_pg_url: str, home: Path, login_role: tuple[str, str]
) -> None:
    Warehouse(url=fresh_pg_url).setup()  # roles and schemas created once by an administrator
    name, password = login_role
    with psycopg.connect(_psycopg(fresh_pg_url), autocommit=True) as admin:
        admin.execute(f"GRANT {OWNER_ROLE} TO {name}")
    url = (
        sa.make_url(fresh_pg_url).set(username=name, password=password).render_as_string(hide_password=False)
    )
    registry = load_registry()
    dataset = registry.dataset("subventions")
    store = Store(home=str(home))
    warehouse = Warehouse(url=url, home=str(home))
    warehouse.setup()  # idempotent, and allowed to a member of the owner role
    with warehouse.transaction() as conn:
        user, superuser = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        session_super = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = session_user").fetchone()[
            0
        ]
        owners = {
            r[0]
            for r in conn.execute(
                "SELECT nspowner::regrole::text FROM pg_namespace "
                "WHERE nspname IN ('harmonised', 'quarantine', 'published', 'meta')"
            ).fetchall()
        }
    assert (user, superuser, session_super) == (OWNER_ROLE, False, False)
    assert owners == {OWNER_ROLE}

    store.drop("tours", "subventions", VALID)
    assets = build_dataset_assets(registry, dataset)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets,
            selection=[asset_key(dataset, "harvested"), asset_key(dataset, "harmonised")],
            partition_key="tours",
            resources={"store": store, "warehouse": warehouse, "harvester": Harvester()},
            instance=instance,
        )
        assert result.success
        events = instance.all_logs(result.run_id)
        logged = "\n".join(dg.serialize_value(e) for e in events)
        run = dg.serialize_value(instance.get_run_by_id(result.run_id))
    assert password not in logged and password not in run
    for path in home.rglob("*"):
        if path.is_file() and "postgres" not in path.parts:
            assert password.encode() not in path.read_bytes(), path
    assert password not in repr(warehouse) and password not in str(warehouse)
    with warehouse.transaction() as conn:
        conn.execute("INSERT INTO published.subventions SELECT * FROM harmonised.subventions")
    warehouse.dispose()

    # An analyst reads published and nothing else, and writes nowhere.
    with psycopg.connect(_psycopg(fresh_pg_url), autocommit=True) as conn:
        conn.execute(f"SET ROLE {ANALYST_ROLE}")
        assert conn.execute("SELECT count(*) FROM published.subventions").fetchone()[0] == 29
        for statement in (
            "SELECT count(*) FROM harmonised.subventions",
            "SELECT count(*) FROM quarantine.subventions",
            "SELECT count(*) FROM meta.batches",
            "DELETE FROM published.subventions",
            "CREATE TABLE published.x (a int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_connection_errors_never_show_the_password(fresh_pg_url: str) -> None:
    password = "Pw-" + secrets.token_urlsafe(16)
    for url in (
        f"postgresql+psycopg://territoire:{password}@127.0.0.1:1/territoire",  # nothing listens
        sa.make_url(fresh_pg_url)
        .set(username="nobody_here", password=password)
        .render_as_string(hide_password=False),
    ):
        warehouse = Warehouse(url=url)
        with pytest.raises(ConnectionError) as caught:
            warehouse.setup()
        assert password not in str(caught.value) and password not in repr(caught.value)
        assert "***" in str(caught.value) and "Connexion" in str(caught.value)
        assert password not in warehouse.masked_url and password not in repr(warehouse)


def test_setup_as_a_member_of_the_owner_role(fresh_pg_url: str, login_role: tuple[str, str]) -> None:
    Warehouse(url=fresh_pg_url).setup()
    name, password = login_role
    with psycopg.connect(_psycopg(fresh_pg_url), autocommit=True) as admin:
        admin.execute(f"GRANT {OWNER_ROLE} TO {name}")
    url = (
        sa.make_url(fresh_pg_url).set(username=name, password=password).render_as_string(hide_password=False)
    )
    Warehouse(url=url).setup()
