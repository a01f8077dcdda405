"""assets/read/geo.py on real WFS/GeoJSON extracts and on Shapefile/GeoPackage files written here."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import REFERENCE
from shapely.geometry import Point, Polygon

from assets.read import read_table
from assets.read.geo import read_geo

WFS = REFERENCE / "wfs"


def _coords(ewkt: str) -> shapely.Geometry:
    srid, wkt = ewkt.split(";", 1)
    assert srid == "SRID=4326"
    return shapely.from_wkt(wkt)


def test_wfs_gml_in_lambert93_is_reprojected_and_leaves_no_sidecar() -> None:
    before = sorted(p.name for p in WFS.iterdir())
    staged = read_table(WFS / "geobretagne-wfs200-getfeature-INFO_PCT.gml")
    assert staged.format == "gml" and len(staged.frame) == 3
    assert list(staged.frame.index) == [1, 2, 3]
    first = staged.frame.loc[1]
    assert first["LIBELLE"] == "Site archéologique" and first["INSEE"] == "56118"
    lon, lat = shapely.get_coordinates(_coords(first["geometry"]))[0]
    assert -3.4 < lon < -3.2 and 47.7 < lat < 47.8  # Lorient, not metres
    surfaces = read_geo(WFS / "geobretagne-wfs200-getfeature-PRESCRIPTION_SURF.gml")
    assert (
        len(surfaces.frame) == 30
        and surfaces.frame["geometry"].str.contains(r"^SRID=4326;(MULTI)?POLYGON").all()
    )
    assert surfaces.geometries_repaired == 1  # one self-intersecting ring in the real file
    assert all(_coords(g).is_valid for g in surfaces.frame["geometry"])
    assert sorted(p.name for p in WFS.iterdir()) == before  # GDAL wrote no .gfs into the archive


def test_opendatasoft_geojson() -> None:
    staged = read_table(REFERENCE / "opendatasoft-api" / "exports" / "festivals-du-finistere.geojson")
    frame = staged.frame
    assert staged.format == "geojson" and len(frame) == 55 and frame.index[0] == 1
    assert frame.loc[1, "nom_departement"] == "Finistère" and frame.loc[1, "departement"] == "29"
    assert frame.loc[1, "dept_sk"] == "29"  # float 29.0 back to text as written
    assert frame.loc[1, "coordonnees_insee"].startswith("[48.4")
    assert frame.loc[1, "geometry"] == "SRID=4326;POINT (-4.50279079 48.40049978)"
    assert all(dtype is np.dtype(object) for dtype in frame.dtypes)


@pytest.mark.parametrize(
    "name", ["communes-37-indre-et-loire.geojson", "departement-37-indre-et-loire.geojson"]
)
def test_cog_geojson(name: str) -> None:
    staged = read_table(REFERENCE / "cog-37-communes-geojson" / name)
    frame = staged.frame
    assert frame["geometry"].str.startswith("SRID=4326;").all()
    if name.startswith("communes"):
        assert len(frame) == 272 and frame.loc[1, "nom"] == "Amboise" and frame.loc[1, "code"] == "37003"
    minx, miny, maxx, maxy = _coords(frame["geometry"].iloc[0]).bounds
    assert -1 < minx < maxx < 2 and 46 < miny < maxy < 48


def _frame_l93() -> gpd.GeoDataFrame:
    bowtie = Polygon([(525000, 6700000), (526000, 6701000), (526000, 6700000), (525000, 6701000)])
    return gpd.GeoDataFrame(
        {"insee": ["37261", "37195"], "nom": ["Tours", "Saint-Cyr"], "pop": [136000.0, 16000.0]},
        geometry=[Point(525600, 6702500).buffer(100), bowtie],
    )


def test_zipped_shapefile_without_prj_is_taken_as_lambert93(tmp_path: Path) -> None:
    frame = _frame_l93()
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "communes.shp")  # no CRS: no .prj
    archive = tmp_path / "communes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, f"donnees/{part.name}")
    staged = read_table(archive)
    assert staged.format == "shapefile" and list(staged.frame.index) == [1, 2]
    assert any("Lambert-93" in w for w in staged.warnings)
    assert staged.frame.loc[1, "insee"] == "37261" and staged.frame.loc[1, "pop"] == "136000"
    lon, lat = shapely.get_coordinates(_coords(staged.frame.loc[1, "geometry"]).centroid)[0]
    assert 0.6 < lon < 0.75 and 47.35 < lat < 47.45  # Tours
    assert staged.geometries_repaired == 1 and _coords(staged.frame.loc[2, "geometry"]).is_valid


def test_geopackage_with_crs(tmp_path: Path) -> None:
    frame = _frame_l93().set_crs(2154)
    frame.to_file(tmp_path / "c.gpkg", layer="communes", driver="GPKG")
    staged = read_table(tmp_path / "c.gpkg")
    assert staged.format == "gpkg" and not any("Lambert" in w for w in staged.warnings)
    assert staged.frame.loc[2, "nom"] == "Saint-Cyr"
    assert staged.frame.loc[1, "geometry"].startswith("SRID=4326;POLYGON ((0.6")


def test_geojson_with_unknown_projection_leaves_geometry_empty(tmp_path: Path) -> None:
    path = tmp_path / "x.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":"1"},'
        '"geometry":{"type":"Point","coordinates":[9000000,9000000]}}]}'
    )
    staged = read_table(path)
    assert staged.frame.loc[1, "geometry"] == "" and staged.frame.loc[1, "a"] == "1"
    assert any("inconnu" in w for w in staged.warnings)
