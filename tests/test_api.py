"""The portal's API over real HTTP: ``territoire serve`` as a subprocess on a territory published
through the real pipeline (tests/portal_territory.py), answers checked against the warehouse itself."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from conftest import _create_database, _drop_database
from portal_territory import SUBVENTIONS_PRODUCERS, build_territory, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    home = tmp_path_factory.mktemp("portal-home")
    name = f"territoire_test_{uuid.uuid4().hex[:10]}"
    url = _create_database(name)
    facts = build_territory(home, url)
    with serving(home, url) as base:
        yield {"home": home, "url": url, "base": base, **facts}
    _drop_database(name)


@pytest.fixture(scope="module")
def api(territory):
    with httpx.Client(base_url=territory["base"], timeout=60) as client:
        yield client


def _sql(territory, query: str, params=()) -> list[tuple]:
    url = sa.make_url(territory["url"]).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _all_pages(api: httpx.Client, path: str, params: dict) -> list[dict]:
    rows, url, seen = [], path, 0
    response = api.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        seen += 1
        if body["next"] is None:
            return rows
        response = api.get(body["next"])


# -- 1. serve, connected as the read-only role -------------------------------------------------------


def test_serve_connects_as_the_portal_role_which_cannot_write(territory, api):
    assert api.get("/api/datasets").status_code == 200
    database = sa.make_url(territory["url"]).database
    users = {
        r[0] for r in _sql(territory, "SELECT usename FROM pg_stat_activity WHERE datname = %s", (database,))
    }
    assert "territoire_portal" in users
    portal = (
        sa.make_url(territory["url"])
        .set(drivername="postgresql", username="territoire_portal")
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(portal) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (
            False,
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM meta.batches")
    with psycopg.connect(portal) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM published.subventions")
    with psycopg.connect(portal) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] != "0"


# -- 2. datasets -------------------------------------------------------------------------------------


def test_datasets_list_the_published_ones_with_their_current_version(territory, api):
    body = api.get("/api/datasets").json()
    published = {
        r[0]: r[1:]
        for r in _sql(
            territory,
            "SELECT DISTINCT ON (dataset) dataset, version, rows FROM meta.publications "
            "WHERE status IN ('published', 'approved') ORDER BY dataset, version DESC",
        )
    }
    assert {d["id"].replace("-", "_"): (d["version"], d["rows"]) for d in body["data"]} == published
    subventions = next(d for d in body["data"] if d["id"] == "subventions")
    assert subventions["schema"]["name"] == "scdl-subventions"
    assert subventions["licence"] == "etalab-2.0"
    assert subventions["links"]["records"].endswith("/api/datasets/subventions/records")


def test_one_dataset_gives_its_fields_from_the_schema_and_its_versions(territory, api):
    body = api.get("/api/datasets/subventions").json()
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["montant"]["type"] == "number" and fields["montant"]["description"]
    assert fields["dateConvention"]["type"] == "date"
    assert [v["version"] for v in body["versions"]] == [1, 2]
    dae = api.get("/api/datasets/dae").json()
    assert dae["geometry"] == "geom" and "ogc" in dae["links"]
    missing = api.get("/api/datasets/inconnu")
    assert missing.status_code == 404 and missing.json()["parametre"] == "id"


# -- records -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "where", "values"),
    [
        ({"producer__exact": "tours"}, "producer = %s", ("tours",)),
        ({"producer__differs": "tours"}, "producer IS DISTINCT FROM %s", ("tours",)),
        ({"objet__contains": "quartier"}, "objet ILIKE %s", ("%quartier%",)),
        ({"producer__in": "tours,saint-avertin"}, "producer = ANY(%s)", (["tours", "saint-avertin"],)),
        ({"montant__less": "1000"}, "montant <= %s", (1000,)),
        ({"montant__greater": "20000"}, "montant >= %s", (20000,)),
        ({"montant__strictly_greater": "20000"}, "montant > %s", (20000,)),
        ({"rnaBeneficiaire__isnull": ""}, '"rnaBeneficiaire" IS NULL', ()),
        ({"rnaBeneficiaire__isnotnull": ""}, '"rnaBeneficiaire" IS NOT NULL', ()),
        ({"dateConvention__greater": "2023-06-01"}, '"dateConvention" >= %s', ("2023-06-01",)),
        ({"notificationUE__exact": "false"}, '"notificationUE" = %s', (False,)),
    ],
)
def test_filters_answer_what_the_warehouse_holds(territory, api, params, where, values):
    expected = _sql(territory, f"SELECT count(*) FROM published.subventions WHERE {where}", values)[0][0]
    body = api.get(
        "/api/datasets/subventions/records", params={**params, "count": "true", "page_size": 5}
    ).json()
    assert body["meta"]["total"] == expected
    assert len(body["data"]) == min(5, expected)


def test_sort_columns_and_page_size(territory, api):
    body = api.get(
        "/api/datasets/subventions/records",
        params={"sort": "-montant", "columns": "montant,producer", "page_size": 3},
    ).json()
    top = _sql(
        territory,
        "SELECT montant::float8 FROM published.subventions ORDER BY montant DESC NULLS LAST LIMIT 3",
    )
    assert [r["montant"] for r in body["data"]] == [t[0] for t in top]
    assert all(set(r) == {"montant", "producer"} for r in body["data"])
    too_big = api.get("/api/datasets/subventions/records", params={"page_size": 1001})
    assert too_big.status_code == 400 and too_big.json()["parametre"] == "page_size"


def test_keyset_pages_cover_every_row_once_in_sort_order(territory, api):
    rows = _all_pages(
        api,
        "/api/datasets/subventions/records",
        {"sort": "dateConvention", "page_size": 1000, "columns": "dateConvention,producer,source_row"},
    )
    keys = [(r["producer"], r["source_row"]) for r in rows]
    expected = _sql(territory, "SELECT producer, source_row FROM published.subventions")
    assert sorted(keys) == sorted(expected) and len(set(keys)) == len(keys)
    dates = [r["dateConvention"] for r in rows if r["dateConvention"] is not None]
    assert dates == sorted(dates)
    # NULLS LAST: once a null date shows, only nulls follow
    first_null = next((i for i, r in enumerate(rows) if r["dateConvention"] is None), len(rows))
    assert all(r["dateConvention"] is None for r in rows[first_null:])


def test_bbox_keeps_points_inside_the_box(territory, api):
    box = "0.60,47.30,0.70,47.40"
    body = api.get(
        "/api/datasets/dae/records", params={"bbox": box, "count": "true", "page_size": 1000}
    ).json()
    expected = _sql(
        territory,
        "SELECT count(*) FROM published.dae WHERE geom && ST_MakeEnvelope(0.60, 47.30, 0.70, 47.40, 4326)",
    )[0][0]
    assert body["meta"]["total"] == expected == len(body["data"]) > 0
    for row in body["data"]:
        lon, lat = row["geom"]["coordinates"]
        assert 0.60 <= lon <= 0.70 and 47.30 <= lat <= 47.40
    not_geo = api.get("/api/datasets/subventions/records", params={"bbox": box})
    assert not_geo.status_code == 400 and not_geo.json()["parametre"] == "bbox"


def test_any_version_by_number_or_date(territory, api):
    counts = dict(
        _sql(territory, "SELECT version, rows FROM meta.publications WHERE dataset = 'subventions'")
    )
    for version, rows in counts.items():
        body = api.get(
            "/api/datasets/subventions/records", params={"version": version, "count": "true"}
        ).json()
        assert (body["meta"]["version"], body["meta"]["total"]) == (version, rows)
    between = datetime.fromtimestamp(territory["between_versions"], UTC).isoformat()
    body = api.get("/api/datasets/subventions/records", params={"as_of": between, "count": "true"}).json()
    assert (body["meta"]["version"], body["meta"]["total"]) == (1, counts[1])
    producers = {
        r["producer"]
        for r in _all_pages(
            api, "/api/datasets/subventions/records", {"version": 1, "page_size": 1000, "columns": "producer"}
        )
    }
    assert producers == set(SUBVENTIONS_PRODUCERS[:2])
    assert api.get("/api/datasets/subventions/records", params={"version": 99}).status_code == 404
    assert api.get("/api/datasets/subventions/records", params={"as_of": "1999-01-01"}).status_code == 404


# -- exports -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["subventions", "dae"])
def test_csv_export_is_the_published_csv_byte_for_byte(territory, api, dataset):
    response = api.get(f"/api/datasets/{dataset}/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content == (territory["home"] / "publish" / f"{dataset}.csv").read_bytes()


def test_exports_stream_the_filtered_result_in_every_format(territory, api):
    expected = _sql(territory, "SELECT count(*) FROM published.dae WHERE producer = 'tours'")[0][0]
    params = {"producer__exact": "tours"}
    text = api.get("/api/datasets/dae/export.csv", params=params).text
    assert len(list(csv.DictReader(io.StringIO(text)))) == expected
    assert len(api.get("/api/datasets/dae/export.json", params=params).json()) == expected
    features = api.get("/api/datasets/dae/export.geojson", params=params).json()
    assert features["type"] == "FeatureCollection" and len(features["features"]) == expected
    assert features["features"][0]["geometry"]["type"] == "Point"
    table = pq.read_table(io.BytesIO(api.get("/api/datasets/dae/export.parquet", params=params).content))
    assert table.num_rows == expected
    assert json.loads(table.schema.metadata[b"geo"])["primary_column"] == "geom"
    old = api.get("/api/datasets/subventions/export.csv", params={"version": 1}).text
    v1 = _sql(territory, "SELECT rows FROM meta.publications WHERE dataset = 'subventions' AND version = 1")[
        0
    ][0]
    assert len(list(csv.DictReader(io.StringIO(old)))) == v1
    assert api.get("/api/datasets/subventions/export.geojson").status_code == 400


def test_formula_cells_are_neutralised_in_csv_exports(territory, api):
    rows = list(csv.DictReader(io.StringIO(api.get("/api/datasets/subventions/export.csv").text)))
    risky = [v for r in rows for k, v in r.items() if k != "montant" and v[:1] in ("=", "+", "@")]
    assert all(v.startswith("'") for v in risky)


# -- a good citizen ----------------------------------------------------------------------------------


def test_unknown_field_or_operator_is_a_french_400_naming_the_parameter(api):
    for params, parameter in [
        ({"inconnu__exact": "1"}, "inconnu__exact"),
        ({"montant__environ": "1"}, "montant__environ"),
        ({"montant__exact": "beaucoup"}, "montant__exact"),
        ({"sort": "inconnu"}, "sort"),
        ({"columns": "montant,inconnu"}, "columns"),
        ({"cursor": "pas-un-curseur"}, "cursor"),
        ({"as_of": "hier"}, "as_of"),
    ]:
        response = api.get("/api/datasets/subventions/records", params=params)
        assert response.status_code == 400, params
        body = response.json()
        assert body["parametre"] == parameter and body["erreur"]


def test_only_reading_methods_and_cors_for_get(api):
    assert api.post("/api/datasets").status_code == 405
    assert api.delete("/api/datasets/subventions").status_code == 405
    head = api.head("/api/datasets/subventions")
    assert head.status_code == 200 and head.content == b""
    head = api.head("/api/datasets/subventions/export.csv")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"].startswith("text/csv")
    options = api.options("/api/datasets")
    assert options.status_code == 204 and "GET" in options.headers["allow"]
    preflight = api.options(
        "/api/datasets", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert (
        api.get("/api/datasets", headers={"Origin": "https://app.example"}).headers[
            "access-control-allow-origin"
        ]
        == "*"
    )


def test_etag_and_last_modified_give_304(api):
    first = api.get("/api/datasets/subventions/records", params={"page_size": 2})
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = api.get(
        "/api/datasets/subventions/records", params={"page_size": 2}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    since = api.get(
        "/api/datasets/subventions/records", params={"page_size": 2}, headers={"If-Modified-Since": modified}
    )
    assert since.status_code == 304
    other = api.get(
        "/api/datasets/subventions/records", params={"page_size": 3}, headers={"If-None-Match": etag}
    )
    assert other.status_code == 200


def test_openapi_and_docs_served_locally(api):
    spec = api.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/datasets/{id}/records" in spec["paths"]
    page = api.get("/api/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    assert api.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_schemathesis_finds_no_server_error(territory):
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if schemathesis is None:
        pytest.skip("schemathesis n'est pas installé (extra dev)")
    result = subprocess.run(
        [
            schemathesis,
            "run",
            f"{territory['base']}/openapi.json",
            "--checks",
            "not_a_server_error",
            "-n",
            "30",
            "--phases",
            "coverage,fuzzing",
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout[-3000:]


# -- OGC API – Features and vector tiles -------------------------------------------------------------


def test_ogc_landing_conformance_and_collections_as_qgis_reads_them(territory, api):
    landing = api.get("/ogc").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conformance = api.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    collections = api.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in collections] == ["dae"]  # subventions has no geometry
    extent = _sql(
        territory,
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) e FROM published.dae) s",
    )[0]
    assert collections[0]["extent"]["spatial"]["bbox"][0] == pytest.approx(list(extent))
    assert api.get("/ogc/collections/subventions").status_code == 404
    assert api.get("/ogc", params={"f": "html"}).headers["content-type"].startswith("text/html")


def test_ogc_items_page_with_next_links_and_bbox(territory, api):
    box = "0.60,47.30,0.70,47.40"
    expected = _sql(
        territory,
        "SELECT count(*) FROM published.dae WHERE geom && ST_MakeEnvelope(0.60, 47.30, 0.70, 47.40, 4326)",
    )[0][0]
    assert expected > 3
    url, ids = "/ogc/collections/dae/items", []
    response = api.get(url, params={"bbox": box, "limit": 3})
    while True:
        body = response.json()
        assert body["type"] == "FeatureCollection" and body["numberReturned"] == len(body["features"]) <= 3
        ids += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            break
        response = api.get(nxt[0])
    assert len(ids) == len(set(ids)) == expected
    one = api.get(f"/ogc/collections/dae/items/{ids[0]}").json()
    assert one["id"] == ids[0] and one["geometry"]["type"] == "Point"
    assert api.get("/ogc/collections/dae/items/inconnu.1").status_code == 404
    assert api.get(url, params={"f": "html", "limit": 2}).headers["content-type"].startswith("text/html")
    assert api.get(url, params={"limit": "beaucoup"}).json()["parametre"] == "limit"


def test_vector_tiles_hold_the_points_of_their_tile(territory, api):
    import math

    import mapbox_vector_tile

    lon, lat = _sql(
        territory, "SELECT ST_X(geom), ST_Y(geom) FROM published.dae WHERE geom IS NOT NULL LIMIT 1"
    )[0]
    z = 12
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    expected = _sql(
        territory,
        "SELECT count(*) FROM published.dae "
        "WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s))",
        (z, x, y),
    )[0][0]
    response = api.get(f"/tiles/dae/{z}/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(response.content)["dae"]
    assert len(layer["features"]) == expected > 0
    assert "nom" in layer["features"][0]["properties"]
    assert api.get(f"/tiles/dae/{z}/{2**z}/0.pbf").status_code == 400
    assert api.get("/tiles/subventions/0/0/0.pbf").status_code == 404


# -- last: a publication while a client pages through ------------------------------------------------


def test_a_cursor_stays_on_its_version_while_a_new_one_is_published(territory, api):
    current = api.get("/api/datasets/subventions").json()["version"]
    expected = _sql(
        territory,
        "SELECT producer, source_row FROM published.subventions_history "
        "WHERE version_from <= %s AND (version_to IS NULL OR version_to > %s)",
        (current, current),
    )
    page = api.get(
        "/api/datasets/subventions/records", params={"page_size": 500, "columns": "producer,source_row"}
    ).json()
    rows = page["data"]
    from pipeline_runs import pipeline_runs

    runs = pipeline_runs(territory["home"], territory["url"], "subventions")
    demo = territory["home"] / "demo-inbox" / "saint-cyr-sur-loire" / "subventions"
    for path in demo.iterdir():
        runs.store.drop("saint-cyr-sur-loire", "subventions", path)
    runs.ingest("saint-cyr-sur-loire", raise_on_error=True)
    runs.publish()
    runs.warehouse.dispose()
    assert api.get("/api/datasets/subventions").json()["version"] == current + 1
    next_url = page["next"]
    while next_url:
        body = api.get(next_url).json()
        assert body["meta"]["version"] == current
        rows += body["data"]
        next_url = body["next"]
    keys = [(r["producer"], r["source_row"]) for r in rows]
    assert len(keys) == len(set(keys)) and sorted(keys) == sorted(expected)
