"""Operators' feeds in the running platform: plain HTTP, CKAN, GTFS, WFS, OpenDataSoft and SQL sources
harvested over loopback by dg.materialize, per producer partition, into a real PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import REFERENCE

from assets.factory import build_dataset_assets
from assets.keys import asset_key
from assets.read import RefusedFile
from assets.read.gtfs import read_gtfs_stops
from pipelines.definitions import build_ingest_jobs
from pipelines.demo import generate_demo
from pipelines.feeds import CKAN_CSV, DAE_FILE, FEEDS_URL_VAR, OPERATOR_DB_VAR, start_demo_feeds
from pipelines.registry import load_registry
from pipelines.schedules import build_schedules, harvest_pool, schedule_name, source_host
from pipelines.sensors import ingest_job_name
from resources.harvest import HarvestError
from resources.harvest.resource import Harvester, expand_settings
from resources.store import Store
from resources.warehouse import Warehouse

STOPS = "arrets-transport"
BIKES = "stationnement-cyclable"
FOUNTAINS = "fontaines-eau"
DAE = "dae"
FACILITIES = "equipements"
# (dataset, producer, rows read, rows accepted) of the demo feeds.
PARTITIONS = [
    (STOPS, "mobilites-touraine", 9, 9),
    (BIKES, "mobilites-touraine", 8, 8),
    (BIKES, "tourisme-tours", 12, 11),
    (FOUNTAINS, "eau-metropole", 12, 11),
    (DAE, "chu-tours", 10, 8),
    (FACILITIES, "universite-tours", 8, 7),
]


@pytest.fixture()
def platform(home: Path, fresh_pg_url: str):
    registry = load_registry()
    store = Store(home=str(home))
    warehouse = Warehouse(url=fresh_pg_url, home=str(home))
    warehouse.setup()
    # No retries: a feed that is down must fail its run at once, not after a backoff.
    resources = {
        "store": store,
        "warehouse": warehouse,
        "harvester": Harvester(retries=0, backoff=0.0, timeout=10.0),
    }
    instance = dg.DagsterInstance.ephemeral()
    assets = {
        d: build_dataset_assets(registry, registry.dataset(d))
        for d in (STOPS, BIKES, FOUNTAINS, DAE, FACILITIES)
    }

    def ingest(dataset_id: str, producer: str) -> dg.ExecuteInProcessResult:
        dataset = registry.dataset(dataset_id)
        return dg.materialize(
            assets[dataset_id],
            selection=[asset_key(dataset, "harvested"), asset_key(dataset, "harmonised")],
            partition_key=producer,
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )

    def publish(dataset_id: str) -> dg.ExecuteInProcessResult:
        dataset = registry.dataset(dataset_id)
        return dg.materialize(
            assets[dataset_id],
            selection=[asset_key(dataset, "territory"), asset_key(dataset, "published")],
            resources=resources,
            instance=instance,
        )

    engine = sa.create_engine(fresh_pg_url)
    with start_demo_feeds(home) as feeds:
        yield feeds, ingest, publish, engine
    engine.dispose()
    warehouse.dispose()


def _rows(engine, query: str, **params) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(query), params))


def _failure(result: dg.ExecuteInProcessResult) -> str:
    """The failed step's error with its causes (Dagster wraps the asset's exception)."""
    failures = [e for e in result.all_events if e.is_step_failure]
    messages, error = [], failures[0].step_failure_data.error if failures else None
    while error is not None:
        messages.append(error.message)
        error = error.cause
    return "\n".join(messages)


def test_each_operator_partition_is_harvested_loaded_once_and_traced(platform):
    feeds, ingest, publish, engine = platform
    for dataset, producer, _, _ in PARTITIONS:
        result = ingest(dataset, producer)
        assert result.success, f"{dataset}/{producer}: {_failure(result)}"

    batches = {
        (b.dataset, b.producer): b
        for b in _rows(
            engine,
            "select dataset, producer, status, rows_read, rows_accepted, rows_quarantined, source_url, "
            "http_etag, http_last_modified from meta.batches",
        )
    }
    assert len(batches) == len(PARTITIONS)
    for dataset, producer, read, accepted in PARTITIONS:
        batch = batches[(dataset.replace("-", "_"), producer)]
        assert (batch.status, batch.rows_read, batch.rows_accepted) == ("loaded", read, accepted)
        assert batch.rows_read == batch.rows_accepted + batch.rows_quarantined
    # Lineage: where each batch came from, with the validators the next request sends back.
    gtfs = batches[("arrets_transport", "mobilites-touraine")]
    assert gtfs.source_url == f"{feeds.base_url}/gtfs/mobilites-touraine.zip"
    assert gtfs.http_etag and gtfs.http_last_modified
    ods = batches[("stationnement_cyclable", "tourisme-tours")]
    assert ods.source_url.startswith(f"{feeds.base_url}/ods/") and ods.http_etag
    wfs = batches[("stationnement_cyclable", "mobilites-touraine")]
    assert wfs.source_url == f"{feeds.base_url}/wfs/mobilites"
    assert batches[("fontaines_eau", "eau-metropole")].source_url.startswith("sqlite:///")
    http = batches[("dae", "chu-tours")]
    assert http.source_url == f"{feeds.base_url}{DAE_FILE}"
    assert http.http_etag and http.http_last_modified
    # CKAN: the batch traces the resource file the package pointed at, not the API document.
    ckan = batches[("equipements", "universite-tours")]
    assert ckan.source_url == f"{feeds.base_url}{CKAN_CSV}"
    assert ckan.http_etag and ckan.http_last_modified

    # Nothing changed at the operators: HTTP answers 304, WFS and SQL give the same bytes — no batch.
    before = {
        path: len(feeds.server.requests_to(path)) for path in ("/gtfs/mobilites-touraine.zip", DAE_FILE)
    }
    for dataset, producer, _, _ in PARTITIONS:
        assert ingest(dataset, producer).success
    assert _rows(engine, "select count(*) from meta.batches")[0][0] == len(PARTITIONS)
    for path, batch in (("/gtfs/mobilites-touraine.zip", gtfs), (DAE_FILE, http)):
        again = feeds.server.requests_to(path)[before[path] :]
        assert again and again[-1].headers.get("if-none-match") == batch.http_etag
    resource = feeds.server.requests_to(CKAN_CSV)
    assert len(resource) == 2 and resource[-1].headers.get("if-none-match") == ckan.http_etag

    # The Lambert-93 GML arrived as points in Tours; the quarantined rows say why.
    lon, lat = _rows(
        engine,
        "select avg(st_x(coordonneesxy)), avg(st_y(coordonneesxy)) from harmonised.stationnement_cyclable "
        "where producer = 'mobilites-touraine'",
    )[0]
    assert 0.6 < lon < 0.75 and 47.3 < lat < 47.45
    errors = _rows(engine, "select errors from quarantine.fontaines_eau where producer = 'eau-metropole'")
    assert [e["rule"] for e in errors[0][0]] == ["enum"] and errors[0][0][0]["field"] == "type_fontaine"
    errors = _rows(engine, "select errors from quarantine.equipements where producer = 'universite-tours'")
    assert [(e["field"], e["rule"]) for e in errors[0][0]] == [("EQUIP_THEME", "enum")]
    # The university's buildings are in Tours; the hospital's swapped coordinates were put right.
    for table, producer, column in (
        ("equipements", "universite-tours", "geom"),
        ("dae", "chu-tours", "geom"),
    ):
        outside = _rows(
            engine,
            f"select count(*) from harmonised.{table} where producer = :producer "
            f"and not (st_x({column}) between 0.6 and 0.8 and st_y({column}) between 47.3 and 47.45)",
            producer=producer,
        )[0][0]
        assert outside == 0, (table, producer)


def test_the_hospital_publishes_its_file_instead_of_dropping_it(platform, tmp_path: Path):
    feeds, _, _, _ = platform
    producers = [p.model_dump() for p in load_registry().producers]
    drops = generate_demo(tmp_path, producers)
    assert not (tmp_path / "chu-tours").exists()
    assert any(p.parent.name == "dae" for p in drops)  # the communes still drop theirs
    served = Path(feeds.home) / "feeds" / "chu-tours" / "dae" / "defibrillateurs-chu-tours.csv"
    rows = list(csv.DictReader(io.StringIO(served.read_text(encoding="utf-8"))))
    assert len(rows) == 10 and {r["expt_rais"] for r in rows} == {"CHRU de Tours"}
    # The CKAN package names the CSV resource first among others, with the portal's link to it.
    package = json.loads((Path(feeds.home) / "feeds" / "universite-tours-package_show.json").read_text())
    assert package["success"] and [r["format"] for r in package["result"]["resources"]] == ["CSV", "PDF"]


def test_gtfs_stops_become_a_published_geo_dataset(platform):
    feeds, ingest, publish, engine = platform
    assert ingest(STOPS, "mobilites-touraine").success
    assert publish(STOPS).success
    stops = _rows(
        engine,
        "select stop_id, stop_name, routes, geometrytype(position) as kind, st_x(position) as lon, "
        "st_y(position) as lat from published.arrets_transport order by stop_id",
    )
    assert len(stops) == 9
    frioul = next(s for s in stops if s.stop_id == "S14944")
    # The feed is Marseille's Frioul shuttle, standing in for Fil Bleu: points outside the territory,
    # published (they are in France) with a warning in the batch report.
    assert (frioul.stop_name, frioul.routes, frioul.kind) == ("Frioul", "1", "POINT")
    assert frioul.lon == pytest.approx(5.3070491, abs=1e-6) and frioul.lat == pytest.approx(
        43.28013, abs=1e-4
    )
    assert (Path(feeds.home) / "publish" / f"{STOPS}.geojson").exists()


def test_a_feed_down_fails_its_own_partition_and_keeps_the_last_good_version(platform):
    feeds, ingest, publish, engine = platform
    assert ingest(BIKES, "tourisme-tours").success and ingest(BIKES, "mobilites-touraine").success
    # The portal's next export changes, but its server is down when the harvest comes.
    export = Path(feeds.home) / "feeds" / "stationnements-velo-loire-a-velo.csv"
    export.write_text("\n".join(export.read_text(encoding="utf-8").splitlines()[:4]) + "\n", encoding="utf-8")
    feeds.take_down(BIKES, "tourisme-tours")

    down = ingest(BIKES, "tourisme-tours")
    assert not down.success
    message = _failure(down)
    assert f"{feeds.base_url}/ods/" in message and "503" in message
    assert ingest(BIKES, "mobilites-touraine").success  # the other operator's run is unaffected
    assert ingest(FOUNTAINS, "eau-metropole").success
    counts = dict(
        _rows(engine, "select producer, count(*) from harmonised.stationnement_cyclable group by producer")
    )
    assert counts == {"tourisme-tours": 11, "mobilites-touraine": 8}

    feeds.restore(BIKES, "tourisme-tours")
    assert ingest(BIKES, "tourisme-tours").success
    counts = dict(
        _rows(engine, "select producer, count(*) from harmonised.stationnement_cyclable group by producer")
    )
    assert counts["tourisme-tours"] == 3


def test_gtfs_reader_refuses_a_broken_feed_and_warns_on_broken_references(tmp_path):
    feed = REFERENCE / "gtfs" / "frioul-if-express-marseille-gtfs.zip"
    with zipfile.ZipFile(feed) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}

    def zipped(files: dict[str, bytes]) -> Path:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        path = tmp_path / "reseau.zip"
        path.write_bytes(out.getvalue())
        return path

    broken = {k: v for k, v in members.items() if k != "stop_times.txt"}
    with pytest.raises(RefusedFile) as caught:
        read_gtfs_stops(zipped(broken))
    assert caught.value.reason == "missing-file"
    assert str(caught.value).startswith("Le fichier « reseau.zip » est refusé : flux GTFS")
    assert "stop_times.txt" in str(caught.value) and str(caught.value).count("reseau.zip") == 1

    dangling = dict(members)
    dangling["stop_times.txt"] = members["stop_times.txt"] + b"9999,08:00:00,08:00:00,NOWHERE,99\n"
    staged = read_gtfs_stops(zipped(dangling))
    assert list(staged.frame.index) == list(range(2, 11))  # rows of stops.txt
    assert {"stop_lat", "stop_lon"}.isdisjoint(staged.frame.columns)
    assert staged.frame.loc[2, "position"] == "5.3070491308, 43.2801358236"
    assert any("stop_times.txt ligne" in w and "« NOWHERE »" in w for w in staged.warnings)


def test_settings_expand_environment_variables_only_in_the_braced_form():
    entry = {"url": "${FEEDS}/x.zip", "query": "select '$FEEDS'", "params": {"k": ["${FEEDS}"]}}
    assert expand_settings(entry, {"FEEDS": "http://127.0.0.1:9"}) == {
        "url": "http://127.0.0.1:9/x.zip",
        "query": "select '$FEEDS'",
        "params": {"k": ["http://127.0.0.1:9"]},
    }
    with pytest.raises(HarvestError, match="TERRITOIRE_NOWHERE"):
        Harvester(retries=0).fetch({"kind": "gtfs", "url": "${TERRITOIRE_NOWHERE}/a.zip"}, None)


def test_schedules_target_each_harvested_partition(home: Path, monkeypatch: pytest.MonkeyPatch):
    registry = load_registry()
    monkeypatch.setenv(FEEDS_URL_VAR, "http://127.0.0.1:8765")
    monkeypatch.setenv(OPERATOR_DB_VAR, f"sqlite:///{home}/eau.sqlite")
    schedules = build_schedules(registry)
    harvested = [(d, s) for d in registry.datasets.values() for s in d.sources if s.schedule]
    assert len(schedules) == len(harvested) >= len(PARTITIONS)
    defs = dg.Definitions(
        assets=[a for d in registry.datasets.values() for a in build_dataset_assets(registry, d)],
        jobs=build_ingest_jobs(registry),
        schedules=schedules,
        resources={
            "store": Store(home=str(home)),
            "warehouse": Warehouse(home=str(home)),
            "harvester": Harvester(),
        },
    )
    dataset = registry.dataset(BIKES)
    source = dataset.source_for("tourisme-tours")
    schedule = defs.resolve_schedule_def(schedule_name(dataset, source))
    assert schedule.cron_schedule == "30 6 * * 1" and schedule.job_name == ingest_job_name(
        "stationnement_cyclable"
    )
    tick = datetime(2025, 3, 3, 5, 30, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        request = schedule(context)
    assert request.partition_key == "tourisme-tours"
    assert request.tags["territoire/host"] == "127.0.0.1_8765"
    assert source_host(registry.dataset(FOUNTAINS).sources[0]) == "sqlite"
    assert harvest_pool(registry.dataset(STOPS)) == "host-127.0.0.1_8765"
    assert harvest_pool(registry.dataset("subventions")) is None
