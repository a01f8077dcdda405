"""The embedded PostgreSQL cluster, for real: initialise, start, connect, restart, stop."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from resources import postgres_server
from resources.postgres_server import PostgresNotAvailable, ensure_server, stop_server
from resources.warehouse import Warehouse


def test_embedded_server_lifecycle(home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TERRITOIRE_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    try:
        warehouse = Warehouse()  # no URL anywhere: the embedded cluster under TERRITOIRE_HOME
        warehouse.setup()
        url = warehouse.resolved_url()
        assert sa.make_url(url).database == "territoire"
        assert sa.make_url(url).password not in warehouse.masked_url
        with warehouse.transaction() as conn:
            assert conn.execute("SELECT postgis_version()").fetchone()[0].startswith("3")
            assert conn.execute("SELECT current_user").fetchone()[0] == "territoire_owner"
        warehouse.dispose()
        assert ensure_server(home) == url  # already running: same port, same password
        assert (home / "postgres" / "password").stat().st_mode & 0o077 == 0

        stop_server(home)
        engine = sa.create_engine(url)
        with pytest.raises(sa.exc.OperationalError):
            engine.connect()
        engine.dispose()

        assert ensure_server(home) == url  # restarted on the remembered port
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM meta.batches")).scalar() == 0
        engine.dispose()
    finally:
        stop_server(home)


def test_missing_postgresql_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(postgres_server, "PG_ROOT", tmp_path / "nowhere")
    monkeypatch.delenv("TERRITOIRE_PG_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PostgresNotAvailable, match="postgresql-15-postgis-3") as caught:
        ensure_server(tmp_path / "home")
    assert "n'est pas installé" in str(caught.value)


def test_a_cluster_found_running_is_not_asked_again_until_it_stops(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    calls: list[list[str]] = []
    real_run = postgres_server._run

    def counting_run(args, check=True):
        calls.append([str(a) for a in args])
        return real_run(args, check)

    monkeypatch.setattr(postgres_server, "_run", counting_run)
    try:
        postgres_server.init_cluster(home)  # initdb only: nothing started
        assert (home / "postgres" / "data" / "PG_VERSION").exists()
        assert not (home / "postgres" / "data" / "postmaster.pid").exists()
        url = ensure_server(home)
        calls.clear()
        assert ensure_server(home) == url
        assert calls == []  # the second time: no pg_ctl
        stop_server(home)
        calls.clear()
        assert ensure_server(home) == url  # stopped: started again
        assert any("start" in c for c in calls)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        engine.dispose()
    finally:
        stop_server(home)
