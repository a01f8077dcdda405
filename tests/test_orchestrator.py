"""The orchestrator's path equals the CLI's: a file dropped in the inbox is harmonised by the inbox
sensor's run and published by declarative automation, while 21 communes never sent anything.

The sensor and the automation are evaluated the way the daemon does (``build_sensor_context`` and
``evaluate_automation_conditions``) on a real, persistent DagsterInstance (SQLite under a temporary
DAGSTER_HOME), and the runs they request are executed on that instance with the code location's own
resources, configured from the environment as under ``dagster dev``.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import SHARED_SCHEMAS

from assets.keys import asset_key
from assets.outputs import OUTPUT_KEYS
from pipelines.definitions import build_definitions
from resources.registry.load import load_registry
from resources.store import Store

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"


@pytest.fixture()
def location(home: Path, tmp_path: Path, fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", fresh_pg_url)
    registry = load_registry()
    # One dataset keeps the evaluation small; its 23 producer partitions are the real ones.
    registry = registry.model_copy(update={"datasets": {"subventions": registry.dataset("subventions")}})
    defs = build_definitions(registry)
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield defs, registry.dataset("subventions"), instance, Store(home=str(home))


def _run_sensor(defs: dg.Definitions, instance: dg.DagsterInstance, store: Store) -> list[dg.RunRequest]:
    sensor = defs.get_sensor_def("inbox_sensor")
    context = dg.build_sensor_context(instance=instance, resources={"store": store})
    return list(sensor(context) or [])


def _automation(defs: dg.Definitions, instance: dg.DagsterInstance, cursor=None):
    return dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)


@pytest.mark.slow
def test_dropped_file_is_harmonised_by_the_sensor_and_published_by_automation(location, fresh_pg_url):
    defs, dataset, instance, store = location
    territory, published = asset_key(dataset, "territory"), asset_key(dataset, "published")

    # Nothing delivered yet: automation publishes nothing (no empty dataset for portals).
    first = _automation(defs, instance)
    assert first.total_requested == 0

    store.drop("tours", "subventions", VALID)
    (request,) = _run_sensor(defs, instance, store)
    assert request.partition_key == "tours" and request.job_name == "subventions_ingest"
    job = defs.resolve_job_def(request.job_name)
    assert job.execute_in_process(partition_key="tours", instance=instance, tags=request.tags).success

    ticked = _automation(defs, instance, first.cursor)
    # The territory-wide catalogue and scoreboard follow the dataset's publication in the same tick.
    chain = [territory, published, *OUTPUT_KEYS]
    requested = {key for key in chain if ticked.get_num_requested(key)}
    assert requested == set(chain) and ticked.total_requested == 4
    # The daemon launches the requested assets as one run of the implicit asset job.
    implicit = defs.resolve_implicit_global_asset_job_def()
    result = implicit.execute_in_process(asset_selection=chain, instance=instance)
    assert result.success
    assert (store.publish_dir / "catalog.ttl").exists() and (store.publish_dir / "index.html").exists()

    engine = sa.create_engine(fresh_pg_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select producer, count(*) from published.subventions group by 1")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("tours", 29)]
    assert (store.publish_dir / "subventions.csv").exists()
    # The instance records what ran, as the UI shows it.
    assert instance.get_latest_materialization_event(published) is not None
    assert instance.get_latest_materialization_event(territory) is not None

    # Next tick: nothing new, nothing requested; the inbox is empty, so the sensor asks for nothing.
    assert _automation(defs, instance, ticked.cursor).total_requested == 0
    assert _run_sensor(defs, instance, store) == []
