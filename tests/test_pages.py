"""The portal's French pages over real HTTP: ``territoire serve`` on a territory published through the
real pipeline (tests/portal_territory.py), each page checked against the warehouse itself.

The territory: ``subventions`` in two versions (saint-avertin joins in v2) and ``dae`` (a point
geometry) in two versions too (v2: Tours' file sent again without its last five defibrillators).
"""

from __future__ import annotations

import csv
import json
import re
import time
import uuid
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from conftest import _create_database, _drop_database
from pipeline_runs import pipeline_runs
from portal_territory import DAE_PRODUCERS, SUBVENTIONS_PRODUCERS, build_territory, serving

pytestmark = pytest.mark.slow

DAE_REMOVED = 5


def build_pages_territory(home: Path, url: str) -> dict[str, object]:
    """The API tests' territory, plus a second version of ``dae``."""
    facts = build_territory(home, url)
    source = next((home / "demo-inbox" / "tours" / "dae").iterdir())
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    shorter = home / "dae-v2" / source.name
    shorter.parent.mkdir()
    shorter.write_text("".join(lines[:-DAE_REMOVED]), encoding="utf-8")
    time.sleep(1.1)  # versions a second apart, as the API's territory has them
    runs = pipeline_runs(home, url, "dae")
    runs.store.drop("tours", "dae", shorter)
    runs.ingest("tours", raise_on_error=True)
    runs.publish()
    runs.warehouse.dispose()
    return facts


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    home = tmp_path_factory.mktemp("pages-home")
    name = f"territoire_test_{uuid.uuid4().hex[:10]}"
    url = _create_database(name)
    facts = build_pages_territory(home, url)
    with serving(home, url) as base:
        yield {"home": home, "url": url, "base": base, **facts}
    _drop_database(name)


@pytest.fixture(scope="module")
def web(territory):
    with httpx.Client(base_url=territory["base"], timeout=60) as client:
        yield client


def _sql(territory, query: str, params=()) -> list[tuple]:
    url = sa.make_url(territory["url"]).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


class Outline(HTMLParser):
    """Headings, table header cells, elements by id, and every resource the page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.resources: list[str] = []
        self.links: list[str] = []
        self._heading: str | None = None
        self._text: list[str] = []
        self.html_lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if a.get("id"):
            self.ids.add(a["id"])
        if tag in ("script", "img") and a.get("src"):
            self.resources.append(a["src"])
        if tag == "link" and a.get("href"):
            self.resources.append(a["href"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._text = tag, []

    def handle_data(self, data):
        if self._heading:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == self._heading:
            self.headings.append((tag, " ".join("".join(self._text).split())))
            self._heading = None


def _outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def _page(web: httpx.Client, path: str, status: int = 200) -> tuple[httpx.Response, Outline]:
    response = web.get(path)
    assert response.status_code == status, (path, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    outline = _outline(response.text)
    assert outline.html_lang == "fr"
    assert [h for h in outline.headings if h[0] == "h1"], path
    # Every script, style sheet, icon and image from the portal itself.
    assert all(r.startswith("/") and not r.startswith("//") for r in outline.resources), outline.resources
    assert "<style" not in response.text and " style=" not in response.text
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.text) is None  # no inline script
    return response, outline


def _preview(html: str) -> list[list[str]]:
    table = re.search(r'<table id="apercu">(.*?)</table>', html, re.S).group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in rows]


def _preview_columns(html: str) -> list[str]:
    return re.findall(r'<th scope="col" data-champ="([^"]+)"', html)


def _current(territory) -> dict[str, tuple[int, int]]:
    return {
        r[0]: (r[1], r[2])
        for r in _sql(
            territory,
            "SELECT DISTINCT ON (dataset) dataset, version, rows FROM meta.publications "
            "WHERE published_at IS NOT NULL ORDER BY dataset, version DESC",
        )
    }


def _fr(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


# -- / -----------------------------------------------------------------------------------------------


def test_home_lists_the_published_datasets_with_their_rows(territory, web):
    response, outline = _page(web, "/")
    current = _current(territory)
    assert set(current) == {"subventions", "dae"}
    for dataset, (version, rows) in current.items():
        card = re.search(rf'href="/jeux-de-donnees/{dataset}">(.*?)</li>', _cards(response.text), re.S)
        assert card, dataset
        assert f"(v{version})" in card.group(1)
        assert re.search(rf"<dt>Lignes</dt><dd>{re.escape(_fr(rows))}</dd>", card.group(1)), dataset
        assert re.search(r"<dt>Qualité</dt><dd>\d+/100</dd>", card.group(1))
    assert ("h2", "Qui publie quoi") in outline.headings
    for producer in SUBVENTIONS_PRODUCERS:
        assert f'href="/producteurs/{producer}"' in response.text
    assert 'role="search"' in response.text and '<label for="q">' in response.text


def _cards(html: str) -> str:
    return re.search(r'id="titre-jeux">.*?</section>', html, re.S).group(0)


def test_home_search_folds_accents_over_titles_and_keywords(territory, web):
    response, _ = _page(web, "/?q=defibrillateur")
    assert 'href="/jeux-de-donnees/dae"' in _cards(response.text)
    assert 'href="/jeux-de-donnees/subventions"' not in _cards(response.text)
    response, _ = _page(web, "/?q=SUBVENTION")
    assert 'href="/jeux-de-donnees/subventions"' in _cards(response.text)
    assert 'href="/jeux-de-donnees/dae"' not in _cards(response.text)
    nothing, _ = _page(web, "/?q=zzzz-introuvable")
    assert "Aucun jeu ne correspond" in nothing.text


# -- /jeux-de-donnees/{id} ---------------------------------------------------------------------------


def test_dataset_page_shows_fields_quality_producers_preview_charts_and_downloads(territory, web):
    response, outline = _page(web, "/jeux-de-donnees/subventions")
    html = response.text
    assert {"apercu", "graphique", "titre-qualite", "titre-producteurs", "titre-schema"} <= outline.ids
    assert "carte" not in outline.ids  # no geometry, no map
    # the schema's fields
    for field in ("montant", "dateConvention", "nomBeneficiaire", "idAttribuant"):
        assert f"<code>{field}</code>" in html
    assert "scdl-subventions" in html
    # quality: data.gouv.fr's nine criteria and the share of valid rows
    quality = re.search(r'id="titre-qualite">.*?</section>', html, re.S).group(0)
    assert re.search(r"Score : <strong>\d+/100</strong>", quality)
    assert quality.count("<li ") == 9 and "de lignes valides" in quality
    # the producers with their rows in this version, as the warehouse has them
    counts = dict(_sql(territory, "SELECT producer, count(*) FROM published.subventions GROUP BY 1"))
    producers = re.search(r'id="titre-producteurs">.*?</section>', html, re.S).group(0)
    for producer, rows in counts.items():
        row = re.search(rf'href="/producteurs/{producer}">[^<]*</a></th>\s*<td>([^<]*)</td>', producers)
        assert row and row.group(1) == _fr(rows), producer
    # preview: the API's first page, in file order
    rows = _preview(html)
    assert len(rows) == 20
    columns = _preview_columns(html)
    assert "producer" in columns and "montant" in columns
    first = httpx.get(f"{territory['base']}/api/datasets/subventions/records").json()["data"][0]
    assert rows[0][columns.index("montant")] == str(first["montant"])
    # charts: inline SVG drawn on the server, each with its numbers as a table
    charts = re.search(r'<div id="graphique".*?</section>', html, re.S).group(0)
    assert charts.count("<figure") >= 3 and charts.count("<svg") == charts.count("<figure")
    assert "Lignes publiées par producteur" in charts and "Lignes au fil des versions" in charts
    assert "Total de « " in charts and "Répartition de « " in charts
    # downloads and the API examples
    for fmt in ("csv", "json", "parquet"):
        assert f'href="/api/datasets/subventions/export.{fmt}"' in html
    assert "export.geojson" not in html
    assert f"curl '{territory['base']}/api/datasets/subventions/records?page_size=5'" in html
    # the version selector lists every published version, the current one selected
    options = re.findall(r'<option value="(\d+)"( selected)?>v\d+ du', html)
    assert options == [("2", " selected"), ("1", "")]


def test_dataset_page_at_an_earlier_version(territory, web):
    (v1_rows,) = _sql(
        territory, "SELECT rows FROM meta.publications WHERE dataset = 'subventions' AND version = 1"
    )[0]
    response, outline = _page(web, "/jeux-de-donnees/subventions?version=1")
    html = response.text
    assert "version-ancienne" in outline.ids and "Vous consultez la version 1" in html
    assert re.search(rf"<dt>Lignes</dt><dd>{re.escape(_fr(v1_rows))}</dd>", html)
    assert re.search(r'<option value="1" selected>', html)
    # saint-avertin joined in v2: no rows of it in v1, and the preview reads v1
    producers = re.search(r'id="titre-producteurs">.*?</section>', html, re.S).group(0)
    row = re.search(r'href="/producteurs/saint-avertin">[^<]*</a></th>\s*<td>([^<]*)</td>', producers)
    assert row is None or row.group(1) == "0"
    columns = _preview_columns(html)
    assert all(r[columns.index("producer")] != "saint-avertin" for r in _preview(html))
    assert 'href="/api/datasets/subventions/export.csv?version=1"' in html
    assert "records?page_size=5&amp;version=1'" in html
    assert 'data-version="1"' in html
    missing, _ = _page(web, "/jeux-de-donnees/subventions?version=99", status=404)
    assert "n'a de version n° 99" in unescape(missing.text)


def test_preview_filter_and_sort_without_script_go_through_the_api_grammar(territory, web):
    response, _ = _page(
        web, "/jeux-de-donnees/subventions?champ=producer&operateur=exact&valeur=tours&tri=-montant"
    )
    rows, columns = _preview(response.text), _preview_columns(response.text)
    assert rows and all(r[columns.index("producer")] == "tours" for r in rows)
    amounts = [float(r[columns.index("montant")]) for r in rows if r[columns.index("montant")]]
    assert amounts == sorted(amounts, reverse=True)
    top = _sql(territory, "SELECT max(montant) FROM published.subventions WHERE producer = 'tours'")[0][0]
    assert amounts[0] == float(top)
    wrong, _ = _page(web, "/jeux-de-donnees/subventions?champ=montant&operateur=greater&valeur=beaucoup")
    status = re.search(r'<p id="apercu-etat"[^>]*>(.*?)</p>', wrong.text, re.S).group(1)
    assert "montant" in status and _preview(wrong.text) == []


def test_geo_dataset_page_has_the_map_fed_by_the_portal_tiles(territory, web):
    response, outline = _page(web, "/jeux-de-donnees/dae")
    html = response.text
    assert "carte" in outline.ids
    carte = re.search(r'<div id="carte"[^>]*>', html).group(0)
    assert 'data-contour="/carte/territoire.geojson"' in carte and 'data-couches="dae"' in carte
    assert 'href="/api/datasets/dae/export.geojson"' in html
    assert "/static/maplibre/maplibre-gl-csp.js" in outline.resources
    assert "/static/portail/carte.js" in outline.resources
    for asset in (
        "/static/maplibre/maplibre-gl-csp.js",
        "/static/maplibre/maplibre-gl-csp-worker.js",
        "/static/maplibre/maplibre-gl.css",
        "/static/portail/carte.js",
        "/static/portail/apercu.js",
        "/static/portail/portail.css",
    ):
        assert web.get(asset).status_code == 200, asset
    outline_geojson = web.get("/carte/territoire.geojson")
    assert outline_geojson.status_code == 200 and len(outline_geojson.json()["features"]) == 22
    assert web.get("/tiles/dae/0/0/0.pbf?version=1").status_code == 200
    (rows,) = _sql(territory, "SELECT rows FROM meta.publications WHERE dataset = 'dae' AND version = 1")[0]
    (now,) = _sql(territory, "SELECT count(*) FROM published.dae")[0]
    assert now < rows  # Tours' second file lacks its last defibrillators


# -- /producteurs/{id} -------------------------------------------------------------------------------


def _private_cells(territory) -> set[str]:
    """Cells of the rejected rows as sent (the reports' own copy), but for values some accepted row
    holds too (public anyway) and short ones (« 12 » is on every page)."""
    cells = set()
    for path in (Path(territory["home"]) / "reports").glob("*/*/*.json"):
        report = json.loads(path.read_text(encoding="utf-8"))
        for row in report.get("rejected_rows") or []:
            cells |= {str(v) for v in row["cells"].values() if len(str(v).strip()) >= 6}
    published = set()
    for table in ("subventions", "dae"):
        for (line,) in _sql(territory, f"SELECT row_to_json(t)::text FROM published.{table} t"):
            published |= {str(v) for v in json.loads(line).values()}
    return cells - published


def _shown_cells(html: str, cells: set[str]) -> set[str]:
    """The cells a page shows as an element's whole text (a table cell, a list item)."""
    return {c for c in cells if f">{escape(c, quote=False)}<" in html}


def test_producer_page_validity_freshness_map_and_no_quarantined_cell(territory, web):
    response, outline = _page(web, "/producteurs/tours")
    html = response.text
    assert outline.headings[0] == ("h1", "Ville de Tours")
    assert "carte" in outline.ids and 'data-commune="37261"' in html and 'data-producteur="tours"' in html
    published = re.search(r'id="titre-publie">.*?</section>', html, re.S).group(0)
    counts = {
        "subventions": _sql(territory, "SELECT count(*) FROM published.subventions WHERE producer = 'tours'"),
        "dae": _sql(territory, "SELECT count(*) FROM published.dae WHERE producer = 'tours'"),
    }
    for dataset, ((rows,),) in counts.items():
        row = re.search(rf'href="/jeux-de-donnees/{dataset}">[^<]*</a></th>\s*<td>([^<]*)</td>', published)
        assert row and row.group(1) == _fr(rows), dataset
    assert "%" in published and "à jour" in published
    # reports: a batch with quarantined rows stays with the producer and the data team
    reports = Path(territory["home"]) / "reports" / "tours"
    for path in reports.glob("*/*.json"):
        report = json.loads(path.read_text(encoding="utf-8"))
        link = f"/rapports/tours/{report['dataset']}/{report['batch_id']}.html"
        answer = web.get(link)
        if report["rows_quarantined"]:
            assert link not in html and answer.status_code == 404
        else:
            assert (
                answer.status_code == 200
                and "default-src 'self'" in answer.headers["content-security-policy"]
            )
    assert "réservé au producteur et à l'équipe données" in html
    assert "Sa tendance" in html
    assert _shown_cells(html, _private_cells(territory)) == set()


def test_no_public_page_shows_a_quarantined_cell(territory, web):
    private = _private_cells(territory)
    assert private, "the territory has rejected rows to look for"
    pages = ["/", "/jeux-de-donnees/subventions", "/jeux-de-donnees/subventions?version=1"]
    pages += ["/jeux-de-donnees/dae", "/jeux-de-donnees/dae?version=1"]
    pages += [f"/producteurs/{p}" for p in sorted({*SUBVENTIONS_PRODUCERS, *DAE_PRODUCERS})]
    for path in pages:
        assert _shown_cells(web.get(path).text, private) == set(), path
    # the same test finds a cell when a page does show it
    sample = next(iter(private))
    assert _shown_cells(f"<td>{escape(sample, quote=False)}</td>", private) == {sample}


def test_unknown_pages_answer_404_in_french(territory, web):
    for path, words in (
        ("/jeux-de-donnees/inconnu", "Aucun jeu de données « inconnu »"),
        ("/producteurs/inconnu", "Aucun producteur « inconnu »"),
        ("/jeux-de-donnees/dae?version=abc", "n'est pas un numéro de version"),
        ("/rapports/tours/dae/../../secret.html", ""),
    ):
        response = web.get(path)
        assert response.status_code == 404, path
        assert words in unescape(response.text)


def test_pages_render_quickly(territory, web):
    """Each page gathered and rendered in well under a second once warm (Server-Timing says how long)."""
    timings = {}
    for path in ("/", "/jeux-de-donnees/subventions", "/jeux-de-donnees/dae", "/producteurs/tours"):
        web.get(path)
        durations = []
        for _ in range(5):
            response = web.get(path)
            durations.append(float(response.headers["server-timing"].split("dur=")[1]))
        timings[path] = sorted(durations)[2]
    print("median render ms:", timings)
    assert all(ms < 1000 for ms in timings.values()), timings


def test_published_files_stay_for_portals_that_harvest_files(territory):
    publish = Path(territory["home"]) / "publish"
    manifest = json.loads((publish / "manifest.json").read_text(encoding="utf-8"))
    assert {"subventions", "dae"} <= set(manifest)
    with (publish / "dae.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.reader(handle)) - 1 == _current(territory)["dae"][1]
