"""`territoire run` with nothing new: decided before Dagster is imported, and nothing is lost.

The run looks at the inboxes, the archive, the warehouse's batch log, the published files and asks
each feed whether it changed (``pipelines/pending.py``); only when something waits does it import
Dagster and run. These tests check the behaviour (which path, what is said, what is loaded), never
the time it takes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import SHARED_SCHEMAS
from typer.testing import CliRunner

import pipelines.runner
from pipelines.cli import app
from pipelines.feeds import DAE_FILE, start_demo_feeds
from pipelines.schedules import build_schedules, schedule_name
from resources.registry.load import load_registry

runner = CliRunner()
SUBVENTIONS = SHARED_SCHEMAS / "scdl-subventions"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def env(home: Path, fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", fresh_pg_url)
    monkeypatch.setenv("TERRITOIRE_HARVEST_RETRIES", "0")
    return home


@pytest.fixture()
def runs(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every call of the Dagster runner, recorded (the real one still runs)."""
    calls: list[dict] = []
    real = pipelines.runner.run_pending

    def recorded(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipelines.runner, "run_pending", recorded)
    return calls


def _batches(url: str) -> list[tuple[str, str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select dataset, producer, status from meta.batches order by recorded_at")
        )
        found = [tuple(r) for r in rows]
    engine.dispose()
    return found


def test_unchanged_feed_makes_no_run_and_a_drop_after_it_is_loaded(env: Path, fresh_pg_url: str, runs):
    with start_demo_feeds(env) as feeds:
        first = runner.invoke(app, ["run", "--dataset", "dae"])
        assert first.exit_code == 0, first.output
        assert _batches(fresh_pg_url) == [("dae", "chu-tours", "loaded")]
        assert len(runs) == 1 and (env / "publish" / "dae.csv").exists()

        # Nothing new: the hospital's feed is asked once, answers 304, and no Dagster run starts.
        asked = len(feeds.server.requests_to(DAE_FILE))
        again = runner.invoke(app, ["run", "--dataset", "dae"])
        assert again.exit_code == 0, again.output
        assert len(runs) == 1, "a run with nothing new went through Dagster"
        assert "Rien de nouveau : aucun lot créé" in again.output
        assert "1 flux interrogé(s) : 1 inchangé(s)" in again.output
        assert "publication(s) à jour" in again.output and "Entrepôt :" in again.output
        conditional = feeds.server.requests_to(DAE_FILE)[asked:]
        assert len(conditional) == 1 and "if-none-match" in {k.lower() for k in conditional[0].headers}
        assert _batches(fresh_pg_url) == [("dae", "chu-tours", "loaded")]

        # A file dropped after the quiet run is found and loaded by the next one.
        dropped = env / "defibrillateurs-tours.csv"
        dropped.write_bytes(
            (env / "feeds" / "chu-tours" / "dae" / "defibrillateurs-chu-tours.csv").read_bytes()
        )
        assert runner.invoke(app, ["drop", "tours", "dae", str(dropped)]).exit_code == 0
        loaded = runner.invoke(app, ["run", "--dataset", "dae"])
        assert loaded.exit_code == 0, loaded.output
        assert len(runs) == 2 and "Rien de nouveau" not in loaded.output
        # The feed was asked once in that run too: its answer went to the run, not asked again.
        assert len(feeds.server.requests_to(DAE_FILE)) == asked + 2
        assert _batches(fresh_pg_url)[-1][:2] == ("dae", "tours")
        assert not list((env / "inbox" / "tours" / "dae").iterdir())

        # The orchestrator decides the same way: the feed's schedule skips its tick while the feed is
        # unchanged, and requests the partition's run once it changed.
        registry = load_registry()
        dataset = registry.dataset("dae")
        schedule = next(
            s
            for s in build_schedules(registry)
            if s.name == schedule_name(dataset, dataset.source_for("chu-tours"))
        )
        with dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 12, 7, 6, tzinfo=UTC)
        ) as context:
            assert isinstance(schedule(context), dg.SkipReason)

        # A feed whose bytes changed is a run, and its batch.
        feed_file = env / "feeds" / "chu-tours" / "dae" / "defibrillateurs-chu-tours.csv"
        lines = feed_file.read_text(encoding="utf-8").splitlines(keepends=True)
        feed_file.write_text("".join(lines[:-1]), encoding="utf-8")
        os.utime(feed_file, (2_000_000_000, 2_000_000_000))
        with dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 12, 7, 6, tzinfo=UTC)
        ) as context:
            request = schedule(context)
        assert isinstance(request, dg.RunRequest) and request.partition_key == "chu-tours"
        changed = runner.invoke(app, ["run", "--dataset", "dae"])
        assert changed.exit_code == 0, changed.output
        assert len(runs) == 3 and [b for b in _batches(fresh_pg_url) if b[1] == "chu-tours"] == [
            ("dae", "chu-tours", "loaded"),
            ("dae", "chu-tours", "loaded"),
        ]


def test_repairs_and_untaken_receipts_are_work(env: Path, fresh_pg_url: str, runs):
    assert (
        runner.invoke(
            app, ["drop", "tours", "subventions", str(SUBVENTIONS / "exemple-valide.csv")]
        ).exit_code
        == 0
    )
    assert runner.invoke(app, ["run", "--dataset", "subventions"]).exit_code == 0
    assert "Rien de nouveau" in runner.invoke(app, ["run", "--dataset", "subventions"]).output
    assert len(runs) == 1

    # A published file lost (a disk full after the commit): the quiet check sees it, the run repairs it.
    (env / "publish" / "subventions.csv").unlink()
    repaired = runner.invoke(app, ["run", "--dataset", "subventions"])
    assert len(runs) == 2 and "réparé" in repaired.output and (env / "publish" / "subventions.csv").exists()

    # A batch report lost: the same.
    report = next((env / "reports" / "tours" / "subventions").glob("*.json"))
    report.unlink()
    assert "réparé" in runner.invoke(app, ["run", "--dataset", "subventions"]).output and report.exists()
    assert len(runs) == 3

    # A receipt archived but never taken (a run cut short between the archive and the load).
    receipts = env / "archive" / "tours" / "subventions" / "receipts"
    taken = next(receipts.glob("*.json"))
    record = json.loads(taken.read_text(encoding="utf-8"))
    record["sequence"] = 999
    (receipts / f"{999:012d}.json").write_text(json.dumps(record), encoding="utf-8")
    resumed = runner.invoke(app, ["run", "--dataset", "subventions"])
    assert len(runs) == 4 and "Rien de nouveau" not in resumed.output
    assert len(_batches(fresh_pg_url)) == 2
    assert "Rien de nouveau" in runner.invoke(app, ["run", "--dataset", "subventions"]).output
    assert len(runs) == 4


def test_a_held_change_shows_in_the_quiet_summary_and_history_still_runs(
    env: Path, fresh_pg_url: str, runs, tmp_path: Path
):
    valid = SUBVENTIONS / "exemple-valide.csv"
    runner.invoke(app, ["drop", "tours", "subventions", str(valid)])
    assert runner.invoke(app, ["run", "--dataset", "subventions"]).exit_code == 0
    truncated = tmp_path / "subventions-tours.csv"
    truncated.write_text(
        "".join(valid.read_text(encoding="utf-8").splitlines(keepends=True)[:4]), encoding="utf-8"
    )
    runner.invoke(app, ["drop", "tours", "subventions", str(truncated)])
    assert runner.invoke(app, ["run", "--dataset", "subventions"]).exit_code == 0
    assert len(runs) == 2

    quiet = runner.invoke(app, ["run", "--dataset", "subventions"])
    assert quiet.exit_code == 0 and len(runs) == 2
    assert "Rien de nouveau" in quiet.output
    assert "En attente d'approbation" in quiet.output and "territoire approve subventions 2" in quiet.output

    # --history records every run in Dagster's instance, as before: it always goes through Dagster.
    history = runner.invoke(app, ["run", "--dataset", "subventions", "--history"])
    assert history.exit_code == 0 and len(runs) == 3 and runs[-1]["history"] is True
    assert "En attente d'approbation" in history.output


def test_nothing_new_imports_neither_dagster_nor_pandas(env: Path):
    runner.invoke(app, ["drop", "tours", "subventions", str(SUBVENTIONS / "exemple-valide.csv")])
    assert runner.invoke(app, ["run", "--dataset", "subventions"]).exit_code == 0
    script = (
        "import sys\n"
        "from pipelines.cli import app\n"
        "try:\n"
        "    app(['run', '--dataset', 'subventions'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = {'dagster', 'pandas', 'sqlalchemy', 'geopandas'}\n"
        "    print('HEAVY', sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Rien de nouveau" in done.stdout and "HEAVY []" in done.stdout, done.stdout + done.stderr
