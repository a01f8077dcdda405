"""Crashes, restarts and concurrent runs, against the real warehouse, processes and PostgreSQL server.

Mid-load moments are reached deterministically where possible: a test session holding
``LOCK meta.batches IN SHARE MODE`` lets a load run through its DELETE and COPYs and stops it at
its last statement (the INSERT of its ``meta.batches`` row), uncommitted — the worst moment to die.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa
from conftest import REPO, SHARED_SCHEMAS
from pipeline_runs import pipeline_runs
from typer.testing import CliRunner

from assets.producer import load_batch
from pipelines.cli import app
from quality.schema import load_schema
from resources import postgres_server
from resources.registry.load import load_registry
from resources.store import Store
from resources.warehouse import Warehouse

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
PYTHON = str(REPO / ".venv" / "bin" / "python")


def _conninfo(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _wait_for(predicate: Callable[[], object], timeout: float = 60, step: float = 0.01) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition never met")


def _scalar(url: str, query: str, *params: object) -> object:
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        return conn.execute(query, params or None).fetchone()[0]


def _backends(url: str, where: str) -> int:
    return _scalar(
        url,
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        f"AND pid <> pg_backend_pid() AND {where}",
    )


def _shorter(tmp_path: Path, rows: int, name: str = "subventions-v2.csv") -> Path:
    lines = VALID.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / name
    path.write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return path


def _env(home: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TERRITOIRE_HOME": str(home),
        "TERRITOIRE_WAREHOUSE_URL": url,
        "DAGSTER_HOME": str(home / "dagster"),
    }


@pytest.mark.timeout(120)
def test_sigkill_during_copy_leaves_the_previous_version(fresh_pg_url: str) -> None:
    from fault_scripts.load_big import big_frames

    Warehouse(url=fresh_pg_url).setup()
    schema = load_schema("scdl-subventions@2.1.1")
    warehouse = Warehouse(url=fresh_pg_url)
    warehouse.ensure_dataset("subventions", schema)
    from datetime import UTC, datetime

    from resources.warehouse import BatchRecord

    accepted, quarantined = big_frames(1)
    previous = BatchRecord("previous", "tours", "subventions", "v1.csv", "v1", datetime.now(UTC), 29, 29, 0)
    warehouse.replace_partition(schema, "subventions", previous, accepted, quarantined.iloc[0:0])
    warehouse.dispose()

    child = subprocess.Popen(
        [PYTHON, str(REPO / "tests" / "fault_scripts" / "load_big.py"), fresh_pg_url, "tours", "5000", "big"],
        env=_env(REPO, fresh_pg_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: _backends(fresh_pg_url, "state = 'active' AND query ILIKE 'COPY%'"), step=0.005)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    # The server notices the dead client and rolls its transaction back.
    _wait_for(lambda: _backends(fresh_pg_url, "query ILIKE 'COPY%' AND state <> 'idle'") == 0, step=0.1)

    assert _scalar(fresh_pg_url, "SELECT count(*) FROM harmonised.subventions") == 29
    assert _scalar(fresh_pg_url, "SELECT array_agg(DISTINCT batch_id) FROM harmonised.subventions") == [
        "previous"
    ]
    assert _scalar(fresh_pg_url, "SELECT array_agg(batch_id) FROM meta.batches") == ["previous"]
    # The partition's advisory lock died with the session: the next load is not blocked.
    big = BatchRecord("after", "tours", "subventions", "v2.csv", "v2", datetime.now(UTC), 29, 29, 0)
    warehouse.replace_partition(schema, "subventions", big, accepted, quarantined.iloc[0:0])
    assert _scalar(fresh_pg_url, "SELECT count(*) FROM harmonised.subventions WHERE batch_id = 'after'") == 29
    warehouse.dispose()


@pytest.mark.timeout(150)
def test_killed_territoire_run_keeps_the_inbox_file_and_the_next_run_completes(
    home: Path, fresh_pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    ingest, store = _platform(home, fresh_pg_url)
    runner = CliRunner()
    assert runner.invoke(app, ["drop", "tours", "subventions", str(VALID)]).exit_code == 0
    assert ingest("tours").success
    assert _scalar(fresh_pg_url, "SELECT count(*) FROM harmonised.subventions WHERE producer = 'tours'") == 29

    v2 = _shorter(tmp_path, 10)
    assert runner.invoke(app, ["drop", "tours", "subventions", str(v2)]).exit_code == 0
    with (
        psycopg.connect(_conninfo(fresh_pg_url), autocommit=True) as gate,
        psycopg.connect(_conninfo(fresh_pg_url)) as blocker,
    ):
        # Hold the partition so the run stops inside its load transaction, past setup; then stop it
        # again at its last statement once it has replaced the partition (uncommitted).
        gate.execute("SELECT pg_advisory_lock(hashtext('subventions'), hashtext('tours'))")
        child = subprocess.Popen(
            [
                str(REPO / ".venv" / "bin" / "territoire"),
                "run",
                "--dataset",
                "subventions",
                "--producer",
                "tours",
            ],
            env=_env(home, fresh_pg_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(lambda: _backends(fresh_pg_url, "wait_event = 'advisory'"), timeout=90, step=0.05)
            blocker.execute("LOCK TABLE meta.batches IN SHARE MODE")
            gate.execute("SELECT pg_advisory_unlock_all()")
            _wait_for(
                lambda: _backends(
                    fresh_pg_url, "wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO meta.batches%'"
                ),
                timeout=30,
                step=0.02,
            )
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(30)
        blocker.rollback()
    assert child.returncode == -signal.SIGKILL
    _wait_for(lambda: _backends(fresh_pg_url, "query ILIKE 'INSERT INTO meta.batches%'") == 0, step=0.1)

    assert _scalar(fresh_pg_url, "SELECT count(*) FROM harmonised.subventions WHERE producer = 'tours'") == 29
    assert _scalar(fresh_pg_url, "SELECT count(*) FROM meta.batches") == 1
    assert [p.name for p in store.inbox_files("tours", "subventions")] == [v2.name]

    assert ingest("tours").success  # the next run of the partition
    assert _scalar(fresh_pg_url, "SELECT count(*) FROM harmonised.subventions WHERE producer = 'tours'") == 10
    assert _scalar(fresh_pg_url, "SELECT count(*) FROM meta.batches") == 2
    assert store.inbox_files("tours", "subventions") == []


def _platform(home: Path, url: str) -> tuple[Callable[[str], dg.ExecuteInProcessResult], Store]:
    """The ingest assets of ``subventions`` materialised per partition, as tests/test_assets.py does."""
    runs = pipeline_runs(home, url)
    return runs.ingest, runs.store


@pytest.mark.timeout(150)
def test_postgres_restart_mid_run_fails_cleanly_and_a_retry_succeeds(home: Path) -> None:
    # Not under pytest's tmp_path: concurrent pytest sessions prune old basetemp folders under a
    # running cluster.
    server_home = Path(tempfile.mkdtemp(prefix="territoire-restart-"))
    url = postgres_server.ensure_server(server_home)
    password = sa.make_url(url).password
    try:
        ingest, store = _platform(home, url)
        Warehouse(url=url).ensure_dataset("subventions", load_schema("scdl-subventions@2.1.1"))
        store.drop("tours", "subventions", VALID)
        outcome: list[dg.ExecuteInProcessResult] = []
        gate = psycopg.connect(_conninfo(url), autocommit=True)
        blocker = psycopg.connect(_conninfo(url))
        gate.execute("SELECT pg_advisory_lock(hashtext('subventions'), hashtext('tours'))")
        thread = threading.Thread(target=lambda: outcome.append(ingest("tours")))
        thread.start()
        _wait_for(lambda: _backends(url, "wait_event = 'advisory'"), step=0.05)
        blocker.execute("LOCK TABLE meta.batches IN SHARE MODE")
        gate.execute("SELECT pg_advisory_unlock_all()")
        _wait_for(
            lambda: _backends(url, "wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO meta.batches%'"),
            step=0.02,
        )
        data = server_home / "postgres" / "data"
        # -l: without a log file the restarted server would keep pg_ctl's captured stdout open forever.
        # -m immediate: a fast shutdown ends the backends one by one, and the blocker may go first,
        # letting the waiting INSERT commit before its own turn (seen on a loaded CI machine);
        # an immediate stop is a crash, and the batch's transaction is lost whole, as in production.
        log = server_home / "postgres" / "server.log"
        postgres_server._run(
            [postgres_server._bin_dir() / "pg_ctl", "restart", "-w", "-m", "immediate", "-D", data, "-l", log]
        )
        thread.join(60)
        blocker.close()
        gate.close()

        failed = outcome[0]
        assert not failed.success
        message = "\n".join(
            str(e.event_specific_data.error.to_string()) for e in failed.get_step_failure_events()
        )
        assert "connection" in message.lower() or "connexion" in message.lower()
        assert password not in message
        assert _scalar(url, "SELECT count(*) FROM meta.batches") == 0
        assert _scalar(url, "SELECT count(*) FROM harmonised.subventions") == 0
        assert len(store.inbox_files("tours", "subventions")) == 1

        retry = ingest("tours")
        assert retry.success
        assert _scalar(url, "SELECT count(*) FROM harmonised.subventions WHERE producer = 'tours'") == 29
        assert store.inbox_files("tours", "subventions") == []
    finally:
        postgres_server.stop_server(server_home)
        shutil.rmtree(server_home, ignore_errors=True)


def _loader(home: Path, url: str):
    registry = load_registry()
    dataset = registry.dataset("subventions")
    schema = load_schema(dataset.schema_ref)
    store = Store(home=str(home))
    Warehouse(url=url).setup()
    Warehouse(url=url).ensure_dataset("subventions", schema)
    errors: list[BaseException] = []

    def load(producer: str, path: Path) -> threading.Thread:
        archived = store.archive_file(producer, "subventions", path)

        def work() -> None:
            warehouse = Warehouse(url=url)  # one pool per run, as two processes would have
            try:
                load_batch(registry, dataset, schema, store, warehouse, archived)
            except BaseException as exc:  # surfaced by the test below
                errors.append(exc)
            finally:
                warehouse.dispose()

        thread = threading.Thread(target=work)
        thread.start()
        return thread

    return load, errors


@pytest.mark.timeout(90)
def test_two_runs_of_one_partition_are_serialised_and_never_duplicate(
    home: Path, fresh_pg_url: str, tmp_path: Path
) -> None:
    load, errors = _loader(home, fresh_pg_url)
    with psycopg.connect(_conninfo(fresh_pg_url)) as blocker:
        blocker.execute("LOCK TABLE meta.batches IN SHARE MODE")
        first = load("tours", VALID)
        second = load("tours", _shorter(tmp_path, 10))
        # One run holds the partition and waits to record its batch; the other waits for the partition.
        _wait_for(
            lambda: (
                _backends(fresh_pg_url, "wait_event = 'advisory'") == 1
                and _backends(fresh_pg_url, "wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO meta%'")
                == 1
            ),
            step=0.05,
        )
        blocker.rollback()
    first.join(60)
    second.join(60)
    assert not errors, errors
    rows = _scalar(fresh_pg_url, "SELECT count(*) FROM harmonised.subventions WHERE producer = 'tours'")
    last = _scalar(
        fresh_pg_url, "SELECT rows_accepted FROM meta.batches ORDER BY recorded_at DESC, batch_id LIMIT 1"
    )
    assert rows in (29, 10) and rows == last
    assert _scalar(fresh_pg_url, "SELECT count(DISTINCT batch_id) FROM harmonised.subventions") == 1
    assert _scalar(fresh_pg_url, "SELECT count(*) FROM meta.batches") == 2


@pytest.mark.timeout(90)
def test_runs_of_different_producers_overlap(home: Path, fresh_pg_url: str, tmp_path: Path) -> None:
    load, errors = _loader(home, fresh_pg_url)
    with psycopg.connect(_conninfo(fresh_pg_url)) as blocker:
        blocker.execute("LOCK TABLE meta.batches IN SHARE MODE")
        threads = [load("tours", VALID), load("fondettes", _shorter(tmp_path, 10))]
        # Both partitions are replaced, uncommitted, at the same moment: neither waited for the other.
        _wait_for(
            lambda: (
                _backends(fresh_pg_url, "wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO meta%'") == 2
            ),
            step=0.05,
        )
        held = _scalar(
            fresh_pg_url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        assert held == 2
        blocker.rollback()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    counts = dict(
        psycopg.connect(_conninfo(fresh_pg_url), autocommit=True)
        .execute("SELECT producer, count(*) FROM harmonised.subventions GROUP BY producer")
        .fetchall()
    )
    assert counts == {"tours": 29, "fondettes": 10}
