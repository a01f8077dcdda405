"""Publication files: CSV (RFC 4180, formula-safe), GeoJSON (RFC 7946), (Geo)Parquet, atomic writes."""

from __future__ import annotations

import csv
import hashlib
import json
import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from shapely.geometry import Point, Polygon

from assets.publish.files import neutralise_formulas, write_publication


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "nom": [
                '=HYPERLINK("http://x","y")',
                "-2+3+cmd|' /C calc'!A0",
                "-12.5",
                'Café "Loire", quai\nnord',
                None,
            ],
            "commentaire": ["@SUM(1)", "\tTab", "\rCR", "+33 6", "normal"],
            "montant": [-1.5, 2.0, -3.25, 4.0, None],
            "effectif": pd.array([1, -2, None, 4, 5], dtype="Int64"),
            "actif": [True, False, True, False, True],
            "geom": [
                "SRID=4326;POINT(0.6848 47.3941)",
                "SRID=4326;POINT(0.7 47.4)",
                "",
                None,
                "SRID=4326;POINT(0.69 47.38)",
            ],
        },
        index=[2, 3, 5, 6, 7],  # source row numbers, as staged frames carry them
    )
    return frame


def _read_csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_csv_neutralises_formulas_in_text_columns_only(tmp_path: Path) -> None:
    write_publication(_frame(), "demo", tmp_path, geometry_column="geom")
    header, *rows = _read_csv_rows(tmp_path / "demo.csv")
    cells = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    assert cells["nom"][:3] == ['\'=HYPERLINK("http://x","y")', "'-2+3+cmd|' /C calc'!A0", "-12.5"]
    assert cells["commentaire"] == ["'@SUM(1)", "'\tTab", "'\rCR", "'+33 6", "normal"]
    # numeric columns keep their negative numbers as numbers
    assert cells["montant"][:3] == ["-1.5", "2", "-3.25"]  # shortest form, as a number
    assert cells["effectif"] == ["1", "-2", "", "4", "5"]
    assert cells["actif"] == ["true", "false", "true", "false", "true"]


def test_neutralise_formulas_leaves_input_untouched() -> None:
    frame = pd.DataFrame({"t": ["=1+1", "ok"], "n": [-1.0, 2.0]})
    out = neutralise_formulas(frame)
    assert frame["t"].tolist() == ["=1+1", "ok"]
    assert out["t"].tolist() == ["'=1+1", "ok"]
    assert out["n"].tolist() == [-1.0, 2.0]


def test_csv_is_rfc4180_utf8_without_bom_and_round_trips(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "libellé": ['dit "le Cher"', "a,b", "ligne1\nligne2", "Œuvre d’art — été", ""],
            "code": ["37261", "37122", "37214", "37233", "37018"],
        }
    )
    write_publication(frame, "rfc", tmp_path)
    raw = (tmp_path / "rfc.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.startswith("libellé,code\r\n".encode())
    assert b'"dit ""le Cher"""' in raw
    assert raw.count(b"\r\n") == 6  # header + 5 records; the in-cell \n is not a record end
    header, *rows = _read_csv_rows(tmp_path / "rfc.csv")
    assert header == ["libellé", "code"]
    assert rows == frame.values.tolist()


def test_geojson_is_rfc7946(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "nom": ["Hôtel de ville", "Parc", "sans lieu"],
            # EPSG:2154 (Lambert-93) on purpose: the file must come out in WGS84 lon/lat
            "geom": ["SRID=2154;POINT(525700 6701900)", "SRID=2154;POINT(526000 6702000)", ""],
        }
    )
    files = write_publication(frame, "lieux", tmp_path, geometry_column="geom")
    assert [f.format for f in files] == ["CSV", "GeoJSON", "Parquet"]
    document = json.loads((tmp_path / "lieux.geojson").read_text(encoding="utf-8"))
    assert document["type"] == "FeatureCollection"
    assert "crs" not in document
    lon, lat = document["features"][0]["geometry"]["coordinates"]
    assert 0.5 < lon < 0.9 and 47.2 < lat < 47.6  # Tours: longitude first
    assert document["features"][2]["geometry"] is None
    assert document["features"][0]["properties"] == {"nom": "Hôtel de ville"}


def test_geojson_polygons_follow_right_hand_rule(tmp_path: Path) -> None:
    clockwise = Polygon([(0.6, 47.3), (0.6, 47.4), (0.7, 47.4), (0.7, 47.3)])
    assert not clockwise.exterior.is_ccw
    frame = pd.DataFrame({"nom": ["zone"], "geom": [clockwise]})
    write_publication(frame, "zones", tmp_path, geometry_column="geom")
    document = json.loads((tmp_path / "zones.geojson").read_text(encoding="utf-8"))
    ring = document["features"][0]["geometry"]["coordinates"][0]
    assert shapely.LinearRing(ring).is_ccw


def test_geoparquet_and_parquet_are_readable(tmp_path: Path) -> None:
    write_publication(_frame(), "demo", tmp_path, geometry_column="geom")
    geo = gpd.read_parquet(tmp_path / "demo.parquet")
    assert geo.crs.to_epsg() == 4326
    assert geo.geometry.name == "geom"
    assert geo.geometry.iloc[0].equals(Point(0.6848, 47.3941))
    assert geo.geometry.iloc[2] is None
    assert geo["montant"].tolist()[:3] == [-1.5, 2.0, -3.25]
    assert geo["nom"].iloc[0] == '=HYPERLINK("http://x","y")'  # typed formats are not neutralised

    plain = pd.DataFrame({"code": ["37261"], "n": pd.array([3], dtype="Int64"), "x": [-0.5]})
    files = write_publication(plain, "plain", tmp_path)
    assert [f.format for f in files] == ["CSV", "Parquet"]
    back = pd.read_parquet(tmp_path / "plain.parquet")
    assert str(back["n"].dtype) == "Int64"
    assert back["x"].tolist() == [-0.5]


def test_size_sha256_and_media_types(tmp_path: Path) -> None:
    files = write_publication(_frame(), "demo", tmp_path, geometry_column="geom")
    media = {f.format: f.media_type for f in files}
    assert media == {
        "CSV": "text/csv",
        "GeoJSON": "application/geo+json",
        "Parquet": "application/vnd.apache.parquet",
    }
    for published in files:
        data = published.path.read_bytes()
        assert published.byte_size == len(data) > 0
        assert published.sha256 == hashlib.sha256(data).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.csv", "demo.geojson", "demo.parquet"]


def test_failed_publication_leaves_previous_files_and_no_temp(tmp_path: Path) -> None:
    good = write_publication(pd.DataFrame({"a": ["1"], "b": [1.0]}), "ds", tmp_path)
    before = {f.path: f.path.read_bytes() for f in good}
    # pyarrow refuses a column mixing integers, text and dicts: the Parquet step fails after the CSV
    broken = pd.DataFrame({"a": ["2", "3", "4"], "b": [1, "x", {"k": 1}]})
    with pytest.raises(pa.lib.ArrowException):
        write_publication(broken, "ds", tmp_path)
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds.csv", "ds.parquet"]


def test_reader_during_rewrite_sees_old_or_new_never_half(tmp_path: Path) -> None:
    rows = 150_000
    old = write_publication(pd.DataFrame({"v": ["ancien"] * rows}), "big", tmp_path)[0]
    seen: set[str] = set()
    stop = threading.Event()

    def read_repeatedly() -> None:
        while not stop.is_set():
            seen.add(hashlib.sha256((tmp_path / "big.csv").read_bytes()).hexdigest())

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        new = write_publication(pd.DataFrame({"v": ["nouveau"] * rows}), "big", tmp_path)[0]
    finally:
        stop.set()
        reader.join()
    seen.add(hashlib.sha256((tmp_path / "big.csv").read_bytes()).hexdigest())
    assert new.sha256 in seen
    assert seen <= {old.sha256, new.sha256}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_geojson_keeps_every_character_or_refuses(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"nom": ["a\u0000b", "tab\there", "é\u2028x"], "geom": ["SRID=4326;POINT(0.7 47.4)"] * 3}
    )
    write_publication(frame, "nul", tmp_path, geometry_column="geom")
    document = json.loads((tmp_path / "nul.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["nom"] for f in document["features"]] == frame["nom"].tolist()
    assert _read_csv_rows(tmp_path / "nul.csv")[1][0] == "a\u0000b"
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    lone = pd.DataFrame({"nom": ["\ud800"], "geom": ["SRID=4326;POINT(0.7 47.4)"]}, dtype=object)
    with pytest.raises((ValueError, UnicodeError)):
        write_publication(lone, "nul", tmp_path, geometry_column="geom")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_with_its_schema_the_csv_is_in_lexical_form_and_parquet_typed(tmp_path: Path) -> None:
    from quality.schema import load_schema

    schema = load_schema("scdl-subventions")
    frame = pd.DataFrame(
        {
            "objet": ["-12 cotisation", "=1+1"],
            "montant": [0.1, 40000.0],
            "notificationUE": [False, None],
            "pourcentageSubvention": [1.0, 0.25],
        }
    )
    write_publication(frame, "sub", tmp_path, schema=schema)
    header, *rows = _read_csv_rows(tmp_path / "sub.csv")
    assert rows == [["'-12 cotisation", "0.1", "non", "1"], ["'=1+1", "40000", "", "0.25"]]
    back = pd.read_parquet(tmp_path / "sub.parquet")
    assert str(back["notificationUE"].dtype) == "boolean" and back["montant"].tolist() == [0.1, 40000.0]
