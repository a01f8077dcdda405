"""What a portal harvests after `territoire demo && territoire run` is what the catalogue promises.

The demo territory is written and run once for the module, through the command line as a user runs
it (real PostgreSQL, operators' feeds on loopback). Then every published CSV is validated by
frictionless against the schema the catalogue names, as Validata does (``Detector(schema_sync=True)``),
the catalogue's ``conformsTo``, ``dct:modified`` and temporal coverage are checked against the
warehouse, the Parquet and GeoJSON files against the CSV, and every link of the public scoreboard
against the reports it points at.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import frictionless
import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from frictionless import Detector
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS
from typer.testing import CliRunner

from assets.publish.portal import schema_url
from pipelines.cli import app
from quality.schema import frictionless_descriptor, load_schema

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    """The demo territory, generated and run once through the CLI against a fresh database."""
    from conftest import _create_database, _drop_database

    home = tmp_path_factory.mktemp("demo-home")
    # A unique name: pytest's temporary folder names repeat across sessions and machines' runs.
    url = _create_database(f"territoire_test_{uuid.uuid4().hex[:10]}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TERRITOIRE_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        patch.setenv("TERRITOIRE_WAREHOUSE_URL", url)
        patch.delenv("TERRITOIRE_FEEDS_URL", raising=False)
        runner = CliRunner()
        generated = runner.invoke(app, ["demo"])
        assert generated.exit_code == 0, generated.output
        ran = runner.invoke(app, ["run"])
        assert ran.exit_code == 0, ran.output
    yield home, url
    _drop_database(url.rsplit("/", 1)[-1])


def _manifest(home: Path) -> dict[str, dict]:
    return json.loads((home / "publish" / "manifest.json").read_text(encoding="utf-8"))


def test_every_published_csv_passes_frictionless_as_validata(demo):
    home, _ = demo
    manifest = _manifest(home)
    assert len(manifest) >= 10
    failures = {}
    for dataset, info in manifest.items():
        schema = load_schema(info["schema"])
        resource = frictionless.Resource(
            path=f"{dataset}.csv",
            basepath=str(home / "publish"),
            schema=frictionless.Schema.from_descriptor(frictionless_descriptor(schema.descriptor)),
            detector=Detector(schema_sync=True),
        )
        report = resource.validate()
        errors = [e for task in report.tasks for e in task.errors]
        if errors:
            failures[dataset] = sorted(
                {(e.type, getattr(e, "field_name", None), e.note[:80]) for e in errors}
            )
        assert report.tasks[0].stats["rows"] == info["rows"], dataset
    assert failures == {}


def test_catalogue_names_the_schema_version_and_the_published_version(demo):
    home, url = demo
    graph = Graph().parse(home / "publish" / "catalog.ttl")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        versions = {
            r.dataset: r.published_at
            for r in conn.execute(
                sa.text(
                    "select distinct on (dataset) dataset, published_at from meta.publications "
                    "where status in ('published', 'approved') order by dataset, version desc"
                )
            )
        }
    engine.dispose()
    today = datetime.now(UTC).date()
    for dataset, info in _manifest(home).items():
        schema = load_schema(info["schema"])
        node = next(s for s in graph.subjects(DCAT.distribution, None) if str(s).endswith(f"/{dataset}"))
        (conforms,) = list(graph.objects(node, DCTERMS.conformsTo))
        assert str(conforms) == schema_url(schema)
        assert re.search(rf"/v?{re.escape(schema.version.removeprefix('v'))}/", str(conforms)), conforms
        published_at = versions[dataset.replace("-", "_")]
        assert datetime.fromisoformat(info["published_at"]) == published_at.replace(microsecond=0)
        (modified,) = list(graph.objects(node, DCTERMS.modified))
        stamp = modified.toPython()
        assert stamp.replace(tzinfo=stamp.tzinfo or UTC) == datetime.fromisoformat(info["published_at"])
        start, end = info["temporal"]
        for bound in (start, end):
            if bound:
                assert date(1900, 1, 1) <= date.fromisoformat(bound) <= today + timedelta(days=366), dataset
    own = home / "publish" / "schemas" / "territoire-arrets" / "0.1.0" / "schema.json"
    assert json.loads(own.read_text(encoding="utf-8"))["name"] == "territoire-arrets"


def test_parquet_and_geojson_hold_the_csv_rows_with_typed_values(demo):
    home, _ = demo
    publish = home / "publish"
    for dataset, info in _manifest(home).items():
        schema = load_schema(info["schema"])
        csv = pd.read_csv(publish / f"{dataset}.csv", dtype=str, keep_default_na=False)
        formats = {f["format"] for f in info["files"]}
        if "GeoJSON" in formats:
            parquet = gpd.read_parquet(publish / f"{dataset}.parquet")
            document = json.loads((publish / f"{dataset}.geojson").read_text(encoding="utf-8"))
            assert len(document["features"]) == len(csv), dataset
            first = document["features"][0]["properties"]
        else:
            parquet = pd.read_parquet(publish / f"{dataset}.parquet")
            first = None
        assert len(parquet) == len(csv) == info["rows"], dataset
        for field in schema.fields:
            if field.name not in parquet.columns:
                continue
            kind = str(parquet[field.name].dtype).lower()
            if field.type == "integer":
                assert "int" in kind, (dataset, field.name, kind)
            elif field.type == "boolean":
                assert "bool" in kind, (dataset, field.name, kind)
            if first is not None and field.name in first and first[field.name] is not None:
                value = first[field.name]
                if field.type == "integer":
                    assert isinstance(value, int) and not isinstance(value, bool), (dataset, field.name)
                elif field.type == "boolean":
                    assert isinstance(value, bool), (dataset, field.name)


def test_the_public_scoreboard_links_no_report_holding_quarantined_cells(demo):
    home, _ = demo
    index = home / "publish" / "index.html"
    html = index.read_text(encoding="utf-8")
    links = [unquote(h) for h in re.findall(r'href="([^"#]+\.html)"', html)]
    reports = [(index.parent / link).resolve() for link in links if "reports/" in link]
    assert reports, "no report linked at all"
    for report in reports:
        data = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
        assert data["rows_quarantined"] == 0 and data["rejected_rows"] == [], report
    holding = [
        p.with_suffix(".html").name
        for p in (home / "reports").rglob("*.json")
        if json.loads(p.read_text(encoding="utf-8")).get("rejected_rows")
    ]
    assert holding, "the demo seeds invalid rows"
    for name in holding:
        assert name not in html
    published = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (home / "publish").rglob("*")
        if p.is_file() and p.suffix in (".html", ".ttl", ".jsonld", ".rdf", ".json")
    )
    assert "rejets.csv" not in published


def test_the_real_world_corpus_publishes_a_conforming_csv(home, fresh_pg_url):
    """Six real grant files (départements, a town), each dropped by one commune, published together."""
    from conftest import REFERENCE
    from pipeline_runs import pipeline_runs

    runs = pipeline_runs(home, fresh_pg_url, "subventions")
    files = sorted((REFERENCE / "real-world-subventions").glob("*.csv"))
    communes = [
        "tours",
        "joue-les-tours",
        "saint-cyr-sur-loire",
        "saint-pierre-des-corps",
        "fondettes",
        "luynes",
    ]
    try:
        for producer, path in zip(communes, files, strict=False):
            runs.store.drop(producer, "subventions", path)
            assert runs.ingest(producer).success, path.name
        runs.publish()
        info = json.loads((runs.store.publish_dir / "manifest.json").read_text(encoding="utf-8"))[
            "subventions"
        ]
        assert info["rows"] > 0
        schema = load_schema(info["schema"])
        resource = frictionless.Resource(
            path="subventions.csv",
            basepath=str(runs.store.publish_dir),
            schema=frictionless.Schema.from_descriptor(frictionless_descriptor(schema.descriptor)),
            detector=Detector(schema_sync=True),
        )
        report = resource.validate()
        assert (
            sorted({(e.type, getattr(e, "field_name", None)) for t in report.tasks for e in t.errors}) == []
        )
        assert report.tasks[0].stats["rows"] == info["rows"]
    finally:
        runs.warehouse.dispose()
