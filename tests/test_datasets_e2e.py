"""Every registered dataset of the demo territory through the real asset graph (dg.materialize per
producer partition, real PostgreSQL/PostGIS): conservation, accepted and quarantined rows, point
geometries in the published tables, and the seeded point outside France held in quarantine.

Subventions, with its 22 partitions, has its own end-to-end tests (test_assets.py); the datasets
here are the other schemas of the registry.
"""

from __future__ import annotations

import uuid

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import _create_database, _drop_database

import assets.producer
import assets.territory
from assets.dataset_schema import dataset_schema
from assets.keys import asset_key
from assets.producer import build_dataset_assets
from pipelines.demo import generate_demo
from quality.schema import load_schema
from resources.harvest.resource import Harvester
from resources.registry.load import load_registry
from resources.store import Store
from resources.warehouse import Warehouse

REGISTRY = load_registry()
DATASETS = ["equipements", "deliberations", "prenoms", "stationnement-cyclable", "irve", "dae", "arbres"]
# dataset -> its point column in published.<table>
GEOMETRY = {
    "equipements": "geom",
    "dae": "geom",
    "arbres": "geom",
    "irve": "coordonneesXY",
    "stationnement-cyclable": "coordonneesxy",
}
# dataset -> producers whose demo file holds a point outside France
OUTSIDE_FRANCE = {
    "equipements": ["tours"],
    "dae": ["tours"],
    "arbres": ["tours", "metropole"],
    "irve": ["metropole"],
    "stationnement-cyclable": ["metropole"],
}


def _schema_for_factory(ref: str):
    """What ``dataset_schema`` gives, looked up by schema reference (each is used by one dataset here)."""
    for dataset in REGISTRY.datasets.values():
        if dataset.schema_ref == ref:
            return dataset_schema(dataset)
    return load_schema(ref)


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    url = _create_database(f"territoire_test_{uuid.uuid4().hex[:10]}")
    store = Store(home=str(home))
    generate_demo(home / "inbox", [p.model_dump() for p in REGISTRY.producers])
    warehouse = Warehouse(url=url, home=str(home))
    warehouse.setup()
    resources = {"store": store, "warehouse": warehouse, "harvester": Harvester()}
    instance = dg.DagsterInstance.ephemeral()
    with pytest.MonkeyPatch.context() as patch:
        # Until the factory calls dataset_schema itself (the one-line switch asked of its owner), the
        # registry's `geometry:` reaches the assets through the schema they load.
        for module in (assets.producer, assets.territory):
            if not hasattr(module, "dataset_schema"):
                patch.setattr(module, "load_schema", _schema_for_factory)
        runs = {}
        for dataset_id in DATASETS:
            dataset = REGISTRY.dataset(dataset_id)
            graph = build_dataset_assets(REGISTRY, dataset)
            producers = [s.producer for s in dataset.sources if store.inbox_files(s.producer, dataset.id)]
            runs[dataset_id] = [
                dg.materialize(
                    graph,
                    selection=[asset_key(dataset, "harvested"), asset_key(dataset, "harmonised")],
                    partition_key=producer,
                    resources=resources,
                    instance=instance,
                    raise_on_error=False,
                )
                for producer in producers
            ]
            runs[dataset_id].append(
                dg.materialize(
                    graph,
                    selection=[asset_key(dataset, "territory"), asset_key(dataset, "published")],
                    resources=resources,
                    instance=instance,
                    raise_on_error=False,
                )
            )
    engine = sa.create_engine(url)
    yield runs, engine, store
    engine.dispose()
    warehouse.dispose()
    _drop_database(url.rsplit("/", 1)[-1])


def _rows(engine, query: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query), params)]


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_every_partition_loads_conserves_and_quarantines(territory, dataset_id):
    runs, engine, _ = territory
    assert all(run.success for run in runs[dataset_id])
    table = REGISTRY.dataset(dataset_id).table
    batches = _rows(
        engine,
        "SELECT producer, status, rows_read, rows_accepted, rows_quarantined FROM meta.batches "
        "WHERE dataset = :table",
        table=table,
    )
    assert len(batches) == len(runs[dataset_id]) - 1  # one batch per producer partition
    assert all(status == "loaded" for _, status, *_ in batches)
    assert all(read == accepted + quarantined for _, _, read, accepted, quarantined in batches)
    assert all(accepted > 0 for *_, accepted, _ in batches)
    assert sum(quarantined for *_, quarantined in batches) > 0
    published = _rows(engine, f"SELECT count(*) FROM published.{table}")[0][0]
    # the territory may merge duplicates across producers, never invent rows
    assert 0 < published <= sum(accepted for *_, accepted, _ in batches)


@pytest.mark.parametrize("dataset_id", sorted(GEOMETRY))
def test_points_are_published_as_postgis_points_with_a_gist_index(territory, dataset_id):
    _, engine, store = territory
    table, column = REGISTRY.dataset(dataset_id).table, GEOMETRY[dataset_id]
    declared = _rows(
        engine,
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(:rel) AND a.attname = :column",
        rel=f"published.{table}",
        column=column,
    )
    assert declared == [("geometry(Point,4326)",)]
    kinds = _rows(
        engine,
        f'SELECT ST_SRID("{column}"), GeometryType("{column}"), count(*) FROM published.{table} '
        f'WHERE "{column}" IS NOT NULL GROUP BY 1, 2',
    )
    total = _rows(engine, f"SELECT count(*) FROM published.{table}")[0][0]
    assert kinds == [(4326, "POINT", total)]  # every published row has its point
    # every point is in France (reprojected Lambert-93 and swapped pairs fixed), most in the territory
    france = _rows(
        engine,
        f'SELECT count(*) FROM published.{table} WHERE ST_X("{column}") BETWEEN -5.5 AND 10 '
        f'AND ST_Y("{column}") BETWEEN 41 AND 51.5',
    )[0][0]
    assert france == total
    near_tours = _rows(
        engine,
        f'SELECT count(*) FROM published.{table} WHERE ST_DWithin("{column}", '
        "ST_SetSRID(ST_MakePoint(0.69, 47.39), 4326), 0.3)",
    )[0][0]
    assert near_tours >= total - 2
    gist = _rows(
        engine,
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'published' AND tablename = :table "
        "AND indexdef ILIKE '%USING gist%'",
        table=table,
    )
    assert any(f"({column})" in d or f'("{column}")' in d for (d,) in gist), gist
    assert (store.publish_dir / f"{dataset_id}.geojson").exists()


@pytest.mark.parametrize("dataset_id", sorted(OUTSIDE_FRANCE))
def test_seeded_point_outside_france_is_quarantined(territory, dataset_id):
    _, engine, _ = territory
    table = REGISTRY.dataset(dataset_id).table
    held = _rows(
        engine,
        f"SELECT DISTINCT producer FROM quarantine.{table} q, jsonb_array_elements(q.errors) e "
        "WHERE e->>'rule' = 'outside-france'",
    )
    assert sorted(p for (p,) in held) == sorted(OUTSIDE_FRANCE[dataset_id])


def test_lambert93_and_swapped_coordinates_are_published_in_degrees(territory):
    _, engine, _ = territory
    # Saint-Cyr-sur-Loire typed Lambert-93 metres, Saint-Pierre-des-Corps swapped lat/lon: the published
    # number columns agree with the point.
    rows = _rows(
        engine,
        'SELECT producer, "EQUIP_LONG"::float8, "EQUIP_LAT"::float8, ST_X(geom), ST_Y(geom) '
        "FROM published.equipements WHERE producer IN ('saint-cyr-sur-loire', 'saint-pierre-des-corps')",
    )
    assert {r[0] for r in rows} == {"saint-cyr-sur-loire", "saint-pierre-des-corps"}
    assert all(abs(lon - x) < 1e-6 and abs(lat - y) < 1e-6 and 0 < lon < 1.5 for _, lon, lat, x, y in rows)
