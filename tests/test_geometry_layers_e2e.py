"""Polygons and lines through the real pipeline: the national ZFE consolidation (27 real perimeters,
polygons and multipolygons) dropped by the Métropole, and a zipped Shapefile of lines, end in PostGIS
as valid geometries of their own type in EPSG:4326, and are published as GeoJSON, GeoParquet and a CSV
that frictionless accepts against the shipped ZFE schema."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import frictionless
import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
import sqlalchemy as sa
from conftest import REFERENCE
from pipeline_runs import pipeline_runs

from quality.schema import frictionless_descriptor, load_schema

ZFE = REFERENCE / "real-world" / "etalab-zfe" / "ZFE_aires_consolidation-nationale_2023.geojson"

pytestmark = pytest.mark.slow


def _drop(home: Path, producer: str, dataset: str, source: Path) -> None:
    inbox = home / "inbox" / producer / dataset
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, inbox / source.name)


def _rows(url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def test_real_zfe_perimeters_land_as_valid_polygons_and_are_published(home, fresh_pg_url):
    features = json.loads(ZFE.read_text(encoding="utf-8"))["features"]
    _drop(home, "metropole", "zfe", ZFE)
    runs = pipeline_runs(home, fresh_pg_url, "zfe")
    assert runs.ingest("metropole").success
    [batch] = _rows(
        fresh_pg_url,
        "SELECT status, rows_read, rows_accepted, rows_quarantined FROM meta.batches WHERE dataset = 'zfe'",
    )
    assert batch[0] == "loaded" and batch[1] == len(features) == batch[2] + batch[3]
    assert batch[2] > 0
    kinds = dict(
        _rows(
            fresh_pg_url,
            "SELECT GeometryType(geometry), count(*) FROM harmonised.zfe "
            "WHERE ST_SRID(geometry) = 4326 AND ST_IsValid(geometry) GROUP BY 1",
        )
    )
    given = {f["geometry"]["type"].upper() for f in features}
    assert set(kinds) <= given and sum(kinds.values()) == batch[2]
    # Each accepted row keeps its own perimeter: same area as the file's feature, to the square metre.
    areas = dict(_rows(fresh_pg_url, "SELECT source_row, ST_Area(geometry::geography) FROM harmonised.zfe"))
    for row, area in areas.items():
        expected = shapely.make_valid(shapely.geometry.shape(features[row - 1]["geometry"]))
        ref = gpd.GeoSeries([expected], crs=4326).to_crs(3035).area[0]  # equal-area (LAEA Europe)
        assert area == pytest.approx(ref, rel=0.005)

    runs.publish()
    publish = home / "publish"
    layer = gpd.read_file(publish / "zfe.geojson")
    assert len(layer) == batch[2] and set(layer.geom_type.str.upper()) <= given
    parquet = pq.read_schema(publish / "zfe.parquet")
    assert b"geo" in (parquet.metadata or {})  # GeoParquet metadata
    assert len(gpd.read_parquet(publish / "zfe.parquet")) == batch[2]
    # Lineage columns (producer, source row…) follow the schema's fields: columns are matched by name,
    # as Validata does, and every row of the schema's columns must be valid.
    report = frictionless.validate(
        frictionless.Resource(
            path=str(publish / "zfe.csv"),
            schema=frictionless.Schema.from_descriptor(
                frictionless_descriptor(load_schema("etalab-zfe").descriptor)
            ),
            detector=frictionless.Detector(schema_sync=True),
        )
    )
    row_errors = [e for e in report.flatten(["rowNumber", "fieldName", "type", "note"]) if e[0]]
    assert report.stats["tasks"] == 1 and row_errors == []
    published = pd.read_csv(publish / "zfe.csv", dtype=str, keep_default_na=False)
    assert len(published) == batch[2]
    assert all(json.loads(g)["type"].upper() in given for g in published["geometry"])


def test_zipped_shapefile_of_lines_is_stored_as_lines(home, fresh_pg_url, tmp_path):
    lines = (
        gpd.GeoDataFrame(
            {
                "id": ["237000000-ZFE-001", "237000000-ZFE-002"],
                "date_debut": ["2025-01-01", "2025-07-01"],
                "vp_critair": ["V4", "V3"],
            },
            geometry=[
                shapely.LineString([(0.68, 47.39), (0.70, 47.40)]),
                shapely.MultiLineString([[(0.66, 47.38), (0.67, 47.385)], [(0.671, 47.386), (0.69, 47.39)]]),
            ],
            crs=2154,
        )
        .set_crs(4326, allow_override=True)
        .to_crs(2154)
    )  # stored in Lambert-93, as IGN layers are
    shp = tmp_path / "voies.shp"
    lines.to_file(shp, engine="pyogrio")
    archive = tmp_path / "voies-zfe.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("voies.*"):
            zf.write(part, part.name)
    _drop(home, "metropole", "zfe", archive)
    runs = pipeline_runs(home, fresh_pg_url, "zfe")
    assert runs.ingest("metropole").success
    stored = _rows(
        fresh_pg_url,
        "SELECT GeometryType(geometry), ST_SRID(geometry), ST_X(ST_StartPoint(ST_GeometryN(geometry, 1))) "
        "FROM harmonised.zfe ORDER BY source_row",
    )
    assert [s[:2] for s in stored] == [("LINESTRING", 4326), ("MULTILINESTRING", 4326)]
    assert stored[0][2] == pytest.approx(0.68, abs=1e-7)  # reprojected back from Lambert-93


def test_invalid_polygon_is_repaired_counted_and_written_as_geojson(tmp_path):
    from assets.harmonise.ingest import ingest_file

    bowtie = {
        "type": "Polygon",
        "coordinates": [[[0.68, 47.39], [0.70, 47.41], [0.70, 47.39], [0.68, 47.41], [0.68, 47.39]]],
    }
    square = {
        "type": "Polygon",
        "coordinates": [[[0.6, 47.3], [0.7, 47.3], [0.7, 47.4], [0.6, 47.4], [0.6, 47.3]]],
    }
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "237000000-ZFE-001", "date_debut": "2025-01-01"},
                "geometry": g,
            }
            for g in (bowtie, square)
        ],
    }
    path = tmp_path / "zfe.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    assert not shapely.geometry.shape(bowtie).is_valid
    ingested = ingest_file(path, load_schema("etalab-zfe"), context={"file_name": path.name})
    report = ingested.report
    assert report["normalisations"]["geometry-repaired"] == 1
    assert report["normalisations"]["geometry-geojson"] == 2
    assert report["rows_accepted"] == 2
    repaired = shapely.from_geojson(ingested.accepted.loc[0, "geometry"])
    # make_valid keeps both lobes of the bow tie: two triangles of base 0.02° and height 0.01°.
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(2 * 0.5 * 0.02 * 0.01)
