"""DCAT-AP 2.1.1 catalogue: SHACL conformance, udata's harvesting needs, paging, serialisations."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyshacl
import pytest
import shapely
from conftest import REFERENCE
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, RDF, SH
from rdflib.namespace import DCTERMS as DCT

from assets.publish.catalog import build_catalog, write_catalog
from assets.publish.catalog_meta import (
    CatalogMeta,
    DatasetMeta,
    Distribution,
    dataset_identifier,
    territory_polygon,
)
from assets.publish.dcat_terms import (
    GEOJSON_LITERAL,
    HYDRA,
    LICENCE_OUVERTE_2_0,
    LOCN,
    ODBL_1_0,
    SPDX,
    frequency,
    theme,
)
from assets.publish.files import PublishedFile, write_publication

SHACL_DIR = REFERENCE / "dcat-ap-shacl" / "2.1.1"
EXAMPLES = REFERENCE / "dcat-examples"
BASE = "https://data.tours-metropole.fr"


def _shapes(*names: str) -> Graph:
    """The official DCAT-AP 2.1.1 shapes, as published: nothing removed, nothing relaxed."""
    shapes = Graph()
    for name in names:
        shapes.parse(SHACL_DIR / f"dcat-ap_2.1.1_shacl_{name}.ttl")
    return shapes


FULL = ("shapes", "shapes_recommended", "range", "mdr-vocabularies.shape", "deprecateduris")


def _validate(data: Graph, shapes: Graph) -> tuple[bool, Graph, str, float]:
    start = time.perf_counter()
    conforms, report, text = pyshacl.validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    return conforms, report, text, time.perf_counter() - start


def _violations(report: Graph) -> list:
    # top-level results only: a Warning's sh:detail carries nested "Violation" results of its sub-shapes
    return [r for r in report.objects(None, SH.result) if report.value(r, SH.resultSeverity) == SH.Violation]


@pytest.fixture(scope="module")
def territory() -> str:
    codes = pd.read_csv(REFERENCE / "tmvl-communes" / "tmvl-communes.csv", dtype=str)["code_insee"]
    return territory_polygon(
        REFERENCE / "cog-37-communes-geojson" / "communes-37-indre-et-loire.geojson", codes
    )


@pytest.fixture(scope="module")
def catalog_meta(territory: str) -> CatalogMeta:
    return CatalogMeta(
        title="Données ouvertes de Tours Métropole Val de Loire",
        description="Jeux de données harmonisés des 22 communes et des opérateurs de la métropole.",
        base_url=BASE,
        spatial=territory,
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[PublishedFile]]:
    publish_dir = tmp_path_factory.mktemp("publish")
    subventions = pd.DataFrame({"nomBeneficiaire": ["Association A", "=cmd"], "montant": [1500.0, -20.0]})
    equipements = pd.DataFrame({"nom": ["Piscine"], "geom": ["SRID=4326;POINT(0.68 47.39)"]})
    return {
        "subventions": write_publication(subventions, "subventions", publish_dir),
        "equipements": write_publication(equipements, "equipements", publish_dir, geometry_column="geom"),
    }


def _dataset(catalog: CatalogMeta, name: str, files: list[PublishedFile], **extra) -> DatasetMeta:
    fields = dict(
        identifier=dataset_identifier(catalog.base_url, name),
        title=f"Jeu {name}",
        description=f"Données {name} harmonisées du territoire.",
        issued=datetime(2024, 1, 15, 8, 0, tzinfo=UTC),
        modified=datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        themes=[theme("GOVE")],
        licence=LICENCE_OUVERTE_2_0,
        accrual_periodicity=frequency("ANNUAL"),
        temporal_start=date(2024, 1, 1),
        temporal_end=date(2024, 12, 31),
        conforms_to="https://schema.data.gouv.fr/scdl/subventions/2.1.1/schema.json",
        keywords=["subventions", "associations"],
        contributors=["Ville de Tours", "Ville de Joué-lès-Tours"],
        distributions=[Distribution(f, catalog.download_url(f)) for f in files],
    )
    fields.update(extra)
    return DatasetMeta(**fields)


@pytest.fixture(scope="module")
def small_catalog(catalog_meta: CatalogMeta, published) -> list[Graph]:
    datasets = [
        _dataset(catalog_meta, "subventions", published["subventions"]),
        _dataset(
            catalog_meta,
            "equipements",
            published["equipements"],
            themes=[theme("SOCI"), theme("REGI")],
            licence=ODBL_1_0,
            accrual_periodicity=frequency("MONTHLY"),
            temporal_end=None,
        ),
    ]
    return build_catalog(catalog_meta, datasets)


def test_catalogue_conforms_to_dcat_ap_2_1_1(small_catalog: list[Graph]) -> None:
    assert len(small_catalog) == 1
    conforms, report, text, seconds = _validate(small_catalog[0], _shapes(*FULL))
    print(f"pyshacl full DCAT-AP 2.1.1 shapes: {seconds:.2f} s, {len(small_catalog[0])} triples")
    assert conforms and not _violations(report), text
    # the same setup rejects a broken copy: no description, integer byte size
    broken = Graph()
    for triple in small_catalog[0]:
        broken.add(triple)
    node = URIRef(dataset_identifier(BASE, "subventions"))
    broken.remove((node, DCT.description, None))
    dist = next(broken.objects(node, DCAT.distribution))
    broken.set((dist, DCAT.byteSize, Literal(12)))
    conforms, report, _, _ = _validate(broken, _shapes(*FULL))
    assert not conforms
    assert {report.value(r, SH.resultPath) for r in _violations(report)} == {DCT.description, DCAT.byteSize}


def test_checksums_are_sha1_as_2_1_1_pins_them(small_catalog: list[Graph], published) -> None:
    graph = small_catalog[0]
    # the shapes used above are the unmodified ones: they pin the algorithm to SHA-1
    assert len(list(_shapes("shapes").triples((None, SH.hasValue, SPDX.checksumAlgorithm_sha1)))) == 1
    files = {f.path.name: f for files in published.values() for f in files}
    distributions = list(graph.subjects(RDF.type, DCAT.Distribution))
    assert len(distributions) == len(files) == 5
    for dist in distributions:
        checksums = list(graph.objects(dist, SPDX.checksum))
        assert len(checksums) == 1
        assert graph.value(checksums[0], SPDX.algorithm) == SPDX.checksumAlgorithm_sha1
        file = files[str(graph.value(dist, DCAT.downloadURL)).rsplit("/", 1)[-1]]
        value = str(graph.value(checksums[0], SPDX.checksumValue)).lower()
        assert value == hashlib.sha1(file.path.read_bytes()).hexdigest()
    # the shapes do reject the SHA-256 checksum the catalogue used to carry
    sha256 = Graph()
    for triple in graph:
        sha256.add(triple)
    for checksum in list(sha256.subjects(RDF.type, SPDX.Checksum)):
        sha256.set((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    _, report, _, _ = _validate(sha256, _shapes("shapes"))
    assert {report.value(r, SH.resultPath) for r in _violations(report)} == {SPDX.algorithm}
    assert len(_violations(report)) == 5


def test_sha1_given_or_read_from_the_file(published, tmp_path: Path) -> None:
    file = published["subventions"][0]
    assert Distribution(file, "u").checksum_sha1() == hashlib.sha1(file.path.read_bytes()).hexdigest()
    assert Distribution(file, "u", sha1="AB" * 20).checksum_sha1() == "ab" * 20
    with pytest.raises(ValueError, match="SHA-1"):
        Distribution(file, "u", sha1=file.sha256).checksum_sha1()
    gone = PublishedFile(tmp_path / "absent.csv", "CSV", "text/csv", 1, "0" * 64)
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        Distribution(gone, "u").checksum_sha1()


def test_validation_is_real_udata_export_passes_opendatasoft_fails() -> None:
    core = _shapes("shapes")
    udata = Graph().parse(EXAMPLES / "udata.xml", format="xml")
    conforms, report, text, _ = _validate(udata, core)
    assert conforms, text
    ods = Graph().parse(EXAMPLES / "ods-data.economie.gouv.fr-catalog-exports-EXCERPT.rdf", format="xml")
    conforms, report, text, _ = _validate(ods, core)
    assert not conforms
    # its publishers are foaf:Agent with an rdfs:label but no foaf:name (mandatory)
    paths = {report.value(result, SH.resultPath) for result in _violations(report)}
    assert URIRef("http://xmlns.com/foaf/0.1/name") in paths
    # data.gouv.fr's own export writes media types and formats as plain literals: it passes the
    # mandatory shapes but not the range ones, which our catalogue passes (test above).
    _, report, _, _ = _validate(udata, _shapes(*FULL))
    assert {report.value(r, SH.resultPath) for r in _violations(report)} >= {DCAT.mediaType, DCT.format}


def test_udata_requirements(small_catalog: list[Graph], published) -> None:
    graph = small_catalog[0]
    node = URIRef(dataset_identifier(BASE, "subventions"))
    assert graph.value(node, DCT.identifier) == Literal(str(node))
    period = graph.value(node, DCT.temporal)
    assert isinstance(period, BNode)
    assert (period, RDF.type, DCT.PeriodOfTime) in graph
    assert graph.value(period, DCAT.startDate).toPython() == date(2024, 1, 1)
    assert graph.value(period, DCAT.endDate).toPython() == date(2024, 12, 31)
    location = graph.value(node, DCT.spatial)
    assert (location, RDF.type, DCT.Location) in graph
    geometry = graph.value(location, LOCN.geometry)
    assert geometry.datatype == GEOJSON_LITERAL
    polygon = shapely.geometry.shape(json.loads(str(geometry)))
    assert polygon.geom_type in {"Polygon", "MultiPolygon"}
    assert polygon.contains(shapely.Point(0.6848, 47.3941))  # Tours town hall
    publisher = graph.value(node, DCT.publisher)
    assert (
        str(graph.value(publisher, URIRef("http://xmlns.com/foaf/0.1/name")))
        == "Tours Métropole Val de Loire"
    )
    contributors = {
        str(graph.value(a, URIRef("http://xmlns.com/foaf/0.1/name")))
        for a in graph.objects(node, DCT.contributor)
    }
    assert contributors == {"Ville de Tours", "Ville de Joué-lès-Tours"}
    distributions = list(graph.objects(node, DCAT.distribution))
    files = {f.path.name: f for f in published["subventions"]}
    assert len(distributions) == len(files) == 2
    for dist in distributions:
        url = graph.value(dist, DCAT.downloadURL)
        file = files[str(url).rsplit("/", 1)[-1]]
        assert str(url) == f"{BASE}/{file.path.name}"
        assert graph.value(dist, DCAT.accessURL) == url
        assert (
            str(graph.value(dist, DCAT.mediaType))
            == "https://www.iana.org/assignments/media-types/" + file.media_type
        )
        assert str(graph.value(dist, DCT.format)).startswith(
            "http://publications.europa.eu/resource/authority/file-type/"
        )
        assert int(graph.value(dist, DCAT.byteSize).toPython()) == file.byte_size == file.path.stat().st_size
        checksum = graph.value(dist, SPDX.checksum)
        assert graph.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha1
        value = graph.value(checksum, SPDX.checksumValue)
        assert str(value).lower() == hashlib.sha1(file.path.read_bytes()).hexdigest()
        assert graph.value(dist, DCT.license) == URIRef(LICENCE_OUVERTE_2_0)


def test_spatial_must_be_a_polygon(catalog_meta: CatalogMeta) -> None:
    point = CatalogMeta(title="t", description="d", base_url=BASE, spatial="POINT(0.68 47.39)")
    with pytest.raises(ValueError, match="polygone"):
        build_catalog(point, [])
    geojson = CatalogMeta(
        title="t",
        description="d",
        base_url=BASE,
        spatial=json.dumps(shapely.geometry.mapping(shapely.from_wkt(catalog_meta.spatial))),
    )
    assert len(build_catalog(geojson, [])) == 1


def test_identifiers_stable_across_builds(catalog_meta: CatalogMeta, published) -> None:
    first = [_dataset(catalog_meta, n, published[n]) for n in ("subventions", "equipements")]
    again = [_dataset(catalog_meta, n, published[n]) for n in ("equipements", "subventions")]
    a, b = build_catalog(catalog_meta, first)[0], build_catalog(catalog_meta, again)[0]
    assert isomorphic(a, b)
    ids = lambda g: sorted(str(o) for o in g.objects(None, DCT.identifier))  # noqa: E731
    assert ids(a) == ids(b)
    assert dataset_identifier(BASE, "subventions") in ids(a)


def test_serialisations_parse_back_to_the_same_graph(small_catalog: list[Graph], tmp_path: Path) -> None:
    paths = write_catalog(small_catalog, tmp_path)
    assert sorted(p.name for p in paths) == ["catalog.jsonld", "catalog.rdf", "catalog.ttl"]
    for path, syntax in (
        (tmp_path / "catalog.ttl", "turtle"),
        (tmp_path / "catalog.jsonld", "json-ld"),
        (tmp_path / "catalog.rdf", "xml"),
    ):
        back = Graph().parse(path, format=syntax)
        assert isomorphic(back, small_catalog[0]), path.name


def _many(catalog: CatalogMeta, count: int) -> list[DatasetMeta]:
    datasets = []
    for i in range(count):
        name = f"jeu-{i:03d}"
        files = [
            PublishedFile(
                Path(f"{name}.{ext}"),
                fmt,
                media,
                100 + i,
                hashlib.sha256(f"{name}.{ext}".encode()).hexdigest(),
            )
            for ext, fmt, media in (
                ("csv", "CSV", "text/csv"),
                ("parquet", "Parquet", "application/vnd.apache.parquet"),
            )
        ]
        # these files were never written: their SHA-1 is given, as a caller holding it would
        distributions = [
            Distribution(f, catalog.download_url(f), sha1=hashlib.sha1(f.path.name.encode()).hexdigest())
            for f in files
        ]
        datasets.append(_dataset(catalog, name, files, distributions=distributions))
    return datasets


def test_paging_250_datasets(catalog_meta: CatalogMeta) -> None:
    pages = build_catalog(catalog_meta, _many(catalog_meta, 250), page_size=100)
    assert len(pages) == 3
    catalog_node = URIRef(f"{BASE}/catalog")
    seen = []
    for number, page in enumerate(pages, start=1):
        datasets = set(page.objects(catalog_node, DCAT.dataset))
        assert set(page.subjects(RDF.type, DCAT.Dataset)) == datasets
        assert len(datasets) == (100 if number < 3 else 50)
        seen += datasets
        # every distribution on the page belongs to a dataset of this page, and all of them are here
        for dist in page.subjects(RDF.type, DCAT.Distribution):
            assert set(page.subjects(DCAT.distribution, dist)) <= datasets
        assert all(len(list(page.objects(d, DCAT.distribution))) == 2 for d in datasets)
        assert len(list(page.subjects(RDF.type, DCAT.Distribution))) == 2 * len(datasets)
        assert page.value(catalog_node, HYDRA.totalItems).toPython() == 250
        view = page.value(catalog_node, HYDRA.view)
        assert (view, RDF.type, HYDRA.PartialCollectionView) in page
        assert str(view) == f"{BASE}/catalog?page={number}"
        assert str(page.value(view, HYDRA.first)) == f"{BASE}/catalog?page=1"
        assert str(page.value(view, HYDRA.last)) == f"{BASE}/catalog?page=3"
        following = page.value(view, HYDRA.next)
        assert (str(following) if following else None) == (
            f"{BASE}/catalog?page={number + 1}" if number < 3 else None
        )
        previous = page.value(view, HYDRA.previous)
        assert (str(previous) if previous else None) == (
            f"{BASE}/catalog?page={number - 1}" if number > 1 else None
        )
    assert len(seen) == len(set(seen)) == 250


def test_written_pages_link_within_their_syntax(catalog_meta: CatalogMeta, tmp_path: Path) -> None:
    pages = build_catalog(catalog_meta, _many(catalog_meta, 250), page_size=100)
    written = write_catalog(pages, tmp_path)
    assert len(written) == 9
    for extension, syntax in (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")):
        url, followed = f"{BASE}/catalog.{extension}", []
        while url:  # walk the pages as udata does: parse, find the view, follow hydra:next
            name = url.removeprefix(BASE + "/")
            page = Graph().parse(tmp_path / name, format=syntax)
            followed.append(name)
            view = page.value(predicate=RDF.type, object=HYDRA.PartialCollectionView)
            assert str(view) == url
            url = str(page.value(view, HYDRA.next) or "") or None
        assert followed == [
            f"catalog.{extension}",
            f"catalog-page-2.{extension}",
            f"catalog-page-3.{extension}",
        ]
    # a shorter catalogue removes the page files it no longer has
    write_catalog(build_catalog(catalog_meta, _many(catalog_meta, 5)), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.jsonld", "catalog.rdf", "catalog.ttl"]
