"""The asset graph through dg.materialize, per producer partition, against a real PostgreSQL."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import REFERENCE, SHARED_SCHEMAS
from pipeline_runs import pipeline_runs

from assets.outputs import OUTPUT_KEYS, build_output_assets
from pipelines.definitions import build_definitions
from resources.store import Store

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
INVALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-invalide-erreurs-cellules.csv"
LOT = REFERENCE / "real-world-subventions" / "DEP_Lot_Subventions_2017_DONNEES.xlsx_pour_exemple.csv"


@pytest.fixture()
def platform(home: Path, fresh_pg_url: str):
    runs = pipeline_runs(home, fresh_pg_url)
    engine = sa.create_engine(fresh_pg_url)

    def publish() -> dg.ExecuteInProcessResult:
        """The dataset's publication, then the territory's catalogue and scoreboard, as a run does."""
        result = runs.publish()
        outputs = dg.materialize(
            build_output_assets(runs.registry),
            selection=list(OUTPUT_KEYS),
            resources=runs.resources,
            instance=runs.instance,
        )
        assert outputs.success
        return result

    yield runs.store, runs.ingest, publish, engine
    engine.dispose()
    runs.warehouse.dispose()


def _scalar(engine, query: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).scalar()


def test_definitions_load_with_one_partition_per_producer():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey(["subventions", "harmonised"])
    partitions = graph.get(key).partitions_def.get_partition_keys()
    assert "tours" in partitions and "berthenay" in partitions and len(partitions) == 23
    assert {c.name for c in graph.get(key).check_keys} >= {"conservation", "structure", "part_lignes_valides"}
    assert defs.resolve_sensor_def("inbox_sensor") is not None
    # The territory-wide outputs follow every dataset's publication.
    published = {k for k in graph.get_all_asset_keys() if k.path[-1] == "published"}
    assert len(published) == 17
    for key in OUTPUT_KEYS:
        assert graph.get(key).parent_keys == published


def test_partition_run_loads_conserves_and_checks(platform):
    store, ingest, publish, engine = platform
    store.drop("tours", "subventions", VALID)
    store.drop("fondettes", "subventions", INVALID)

    tours = ingest("tours")
    fondettes = ingest("fondettes")
    assert tours.success and fondettes.success

    checks = {e.check_name: e.passed for e in fondettes.get_asset_check_evaluations()}
    assert checks["conservation"] is True
    assert checks["part_lignes_valides"] is False  # every row of the invalid example has an error

    batches = _scalar(
        engine, "select count(*) from meta.batches where rows_read = rows_accepted + rows_quarantined"
    )
    assert batches == 2
    assert _scalar(engine, "select count(*) from harmonised.subventions where producer = 'tours'") == 29
    assert _scalar(engine, "select count(*) from quarantine.subventions where producer = 'fondettes'") == 29
    # Every quarantined row says why, with the field, the rule and a French message.
    errors = _scalar(
        engine,
        "select errors from quarantine.subventions where producer = 'fondettes' order by source_row limit 1",
    )
    assert errors and {"field", "rule", "value", "message"} <= set(errors[0])
    # The inbox is emptied only once the batch is committed.
    assert store.inbox_files("tours", "subventions") == []

    publish()
    assert _scalar(engine, "select count(*) from published.subventions") == 29
    assert (store.publish_dir / "subventions.csv").exists()
    assert (store.publish_dir / "catalog.ttl").exists() and (store.publish_dir / "index.html").exists()


def test_same_file_is_not_processed_twice_and_new_drop_replaces(platform, tmp_path):
    store, ingest, publish, engine = platform
    store.drop("tours", "subventions", VALID)
    ingest("tours")
    assert ingest("tours").success  # nothing dropped since: no batch
    assert _scalar(engine, "select count(*) from meta.batches") == 1
    # Every drop is accounted for: the same file dropped again is a batch of its own, same rows.
    store.drop("tours", "subventions", VALID)
    again = ingest("tours")
    assert again.success
    assert _scalar(engine, "select count(*) from meta.batches") == 2
    assert _scalar(engine, "select count(*) from harmonised.subventions where producer = 'tours'") == 29

    shorter = tmp_path / "subventions-tours-v2.csv"
    lines = VALID.read_text(encoding="utf-8").splitlines(keepends=True)
    shorter.write_text("".join(lines[:11]), encoding="utf-8")
    store.drop("tours", "subventions", shorter)
    ingest("tours")
    assert _scalar(engine, "select count(*) from harmonised.subventions where producer = 'tours'") == 10
    assert _scalar(engine, "select count(*) from meta.batches") == 3


def test_refused_file_is_recorded_and_other_producers_unaffected(platform, tmp_path):
    store, ingest, publish, engine = platform
    binary = tmp_path / "export.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 200)
    store.drop("luynes", "subventions", binary)
    store.drop("tours", "subventions", VALID)

    luynes = ingest("luynes")
    tours = ingest("tours")
    assert luynes.success and tours.success
    row = None
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("select status, message, rows_read from meta.batches where producer = 'luynes'")
        ).one()
    assert row.status == "refused" and "export.csv" in row.message and row.rows_read == 0
    archived = store.archived("luynes", "subventions")
    assert Path(archived[0].path).read_bytes() == binary.read_bytes()  # the bytes are kept
    assert _scalar(engine, "select count(*) from harmonised.subventions where producer = 'tours'") == 29


def test_real_extract_goes_through(platform):
    store, ingest, publish, engine = platform
    target = store.inbox("joue-les-tours", "subventions")
    target.mkdir(parents=True)
    shutil.copy(LOT, target / LOT.name)
    assert ingest("joue-les-tours").success
    read, accepted, quarantined = (
        _scalar(engine, f"select {c} from meta.batches")
        for c in ("rows_read", "rows_accepted", "rows_quarantined")
    )
    assert read == accepted + quarantined and read > 0
    # The decimal comma with thousands spaces (« 40 000,00 ») arrived as a number.
    assert _scalar(engine, "select max(montant) from harmonised.subventions") >= 40000


def test_inbox_sensor_requests_the_partitions_that_received_files(home, fresh_pg_url):
    defs = build_definitions()
    store = Store(home=str(home))
    store.drop("saint-avertin", "subventions", VALID)
    (store.root / "inbox" / "unknown-producer" / "subventions").mkdir(parents=True)
    (store.root / "inbox" / "unknown-producer" / "subventions" / "x.csv").write_text("a\n1\n")
    sensor = defs.resolve_sensor_def("inbox_sensor")
    with dg.build_sensor_context(resources={"store": store}) as context:
        requests = list(sensor(context))
    assert [(r.partition_key, r.job_name) for r in requests] == [("saint-avertin", "subventions_ingest")]
