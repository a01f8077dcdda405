"""The DCAT-AP 2.1.1 catalogue of the territory's publications, as data.gouv.fr (udata) harvests it.

Pure functions over rdflib graphs, no Dagster. What udata's DCAT harvester needs, and why the graph
is shaped so:

- every dataset carries a ``dct:identifier`` equal to its IRI, both derived from the dataset name
  only, so a dataset keeps its identity (and its page on the portal) from one publication to the next;
- ``dct:temporal`` is a BLANK ``dct:PeriodOfTime`` with ``dcat:startDate``/``dcat:endDate``: udata
  dereferences a temporal IRI over HTTP instead of reading it;
- ``dct:spatial`` is a ``dct:Location`` whose ``locn:geometry`` is the territory's polygon as a
  GeoJSON literal typed with the IANA media type (the datatype udata reads; it drops points), and
  whose ``dcat:bbox`` is a GeoSPARQL WKT envelope for other harvesters;
- every distribution carries stable ``dcat:downloadURL``/``dcat:accessURL``, an IANA
  ``dcat:mediaType``, an EU file-type ``dct:format``, ``dcat:byteSize`` (``xsd:decimal`` as the 2.1.1
  shapes require), ONE ``spdx:checksum`` in SHA-1 (the 2.1.1 shapes pin the algorithm to
  ``spdx:checksumAlgorithm_sha1`` and allow a single checksum per distribution, so the publication's
  SHA-256 stays out of the catalogue; udata reads SHA-1 checksums as well) and its ``dct:license``;
- beyond ``page_size`` datasets the catalogue is split into pages linked by a
  ``hydra:PartialCollectionView``; udata parses each page on its own, so a dataset and ALL its
  distributions always sit on the same page.

Controlled-vocabulary terms (EU themes, frequencies, file types, language; IANA media types; the
licence) are described in the graph with their class and concept scheme, as the DCAT-AP range and
vocabulary shapes expect, so the catalogue validates without fetching the EU vocabularies.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import shapely
import shapely.geometry
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD, Namespace

from assets.publish import PublishedFile, write_bytes_atomically

DCT = DCTERMS
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
GEOJSON_LITERAL = URIRef(IANA + "application/vnd.geo+json")

LICENCE_OUVERTE_2_0 = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
ODBL_1_0 = "https://opendatacommons.org/licenses/odbl/1-0/"
LICENCE_TITLES = {
    LICENCE_OUVERTE_2_0: "Licence Ouverte / Open Licence version 2.0",
    ODBL_1_0: "Open Data Commons Open Database License (ODbL)",
}

# EU data themes with their French labels (Publications Office "data-theme" authority table).
THEMES = {
    "AGRI": "Agriculture, pêche, sylviculture et alimentation",
    "ECON": "Économie et finances",
    "EDUC": "Éducation, culture et sport",
    "ENER": "Énergie",
    "ENVI": "Environnement",
    "GOVE": "Gouvernement et secteur public",
    "HEAL": "Santé",
    "INTR": "Questions internationales",
    "JUST": "Justice, système juridique et sécurité publique",
    "REGI": "Régions et villes",
    "SOCI": "Population et société",
    "TECH": "Science et technologie",
    "TRAN": "Transports",
}
FREQUENCIES = {"ANNUAL", "ANNUAL_2", "QUARTERLY", "MONTHLY", "WEEKLY", "DAILY", "CONT", "IRREG", "NEVER"}
LANGUAGES = {"fr": "FRA", "en": "ENG"}
FILE_TYPES = {"CSV": "CSV", "GeoJSON": "GEOJSON", "Parquet": "PARQUET"}

TMVL_NAME = "Tours Métropole Val de Loire"
TMVL_SIREN = "243700754"

_FORMATS = (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml"))
_PAGE_IRI = re.compile(r"^(?P<base>.*)/catalog\?page=(?P<page>\d+)$")


def theme(code: str) -> str:
    """EU data-theme IRI, e.g. ``theme("GOVE")``."""
    if code not in THEMES:
        raise ValueError(f"thème européen inconnu : {code}")
    return f"{EU}data-theme/{code}"


def frequency(code: str) -> str:
    """EU frequency IRI, e.g. ``frequency("ANNUAL")``."""
    if code not in FREQUENCIES:
        raise ValueError(f"fréquence européenne inconnue : {code}")
    return f"{EU}frequency/{code}"


def territory_polygon(
    communes_geojson: Path, insee_codes: Sequence[str], *, tolerance: float = 0.0005
) -> str:
    """The territory's outline as WKT: union of its communes, simplified (~50 m) to keep pages light."""
    import geopandas as gpd

    communes = gpd.read_file(communes_geojson).to_crs("EPSG:4326")
    chosen = communes[communes["code"].isin(list(insee_codes))]
    missing = set(insee_codes) - set(chosen["code"])
    if missing:
        raise ValueError(f"communes absentes du fichier {communes_geojson}: {sorted(missing)}")
    outline = shapely.simplify(chosen.geometry.union_all(), tolerance, preserve_topology=True)
    return shapely.to_wkt(outline, rounding_precision=5)


def dataset_identifier(base_url: str, dataset: str) -> str:
    """The stable IRI (and ``dct:identifier``) of a dataset: it depends on its name only."""
    return f"{base_url.rstrip('/')}/datasets/{dataset}"


@dataclass(frozen=True)
class CatalogMeta:
    title: str
    description: str
    base_url: str  # stable root of IRIs and download URLs, e.g. https://data.tours-metropole.fr
    spatial: str  # the territory as a GeoJSON or WKT (Multi)Polygon in WGS84 lon/lat
    publisher_name: str = TMVL_NAME
    publisher_uri: str = f"https://annuaire-entreprises.data.gouv.fr/entreprise/{TMVL_SIREN}"
    publisher_siren: str = TMVL_SIREN
    homepage: str = "https://www.tours-metropole.fr/"
    language: str = "fr"

    def download_url(self, file: PublishedFile) -> str:
        """Where a published file is served: the base URL plus its (stable) file name."""
        return f"{self.base_url.rstrip('/')}/{file.path.name}"


@dataclass(frozen=True)
class Distribution:
    file: PublishedFile
    download_url: str
    title: str | None = None
    sha1: str | None = None  # hex digest; read from ``file.path`` when not given

    def checksum_sha1(self) -> str:
        """SHA-1 of the published file: the one algorithm DCAT-AP 2.1.1 accepts for spdx:checksum."""
        if self.sha1 is not None:
            if not re.fullmatch(r"[0-9a-fA-F]{40}", self.sha1):
                raise ValueError(f"empreinte SHA-1 invalide pour {self.file.path.name} : {self.sha1!r}")
            return self.sha1.lower()
        try:
            with open(self.file.path, "rb") as handle:
                return hashlib.file_digest(handle, "sha1").hexdigest()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"fichier publié introuvable, son empreinte SHA-1 ne peut être calculée : {self.file.path}"
            ) from None


@dataclass(frozen=True)
class DatasetMeta:
    identifier: str  # stable IRI, see dataset_identifier()
    title: str
    description: str
    issued: datetime | date
    modified: datetime | date
    themes: Sequence[str]  # EU data-theme IRIs, see theme()
    licence: str  # LICENCE_OUVERTE_2_0, ODBL_1_0, ...
    accrual_periodicity: str  # EU frequency IRI, see frequency()
    temporal_start: date | None = None
    temporal_end: date | None = None
    conforms_to: str | None = None  # URL of the Table Schema
    keywords: Sequence[str] = ()
    contributors: Sequence[str] = ()  # producers' names
    distributions: Sequence[Distribution] = field(default_factory=tuple)


def build_catalog(catalog: CatalogMeta, datasets: list[DatasetMeta], *, page_size: int = 100) -> list[Graph]:
    """One DCAT-AP graph per catalogue page (a single graph when ``len(datasets) <= page_size``).

    Datasets are ordered by identifier so a dataset stays on the same page across publications.
    """
    if page_size < 1:
        raise ValueError("page_size doit être au moins 1")
    geometry = _territory(catalog.spatial)
    ordered = sorted(datasets, key=lambda d: d.identifier)
    pages = max(1, math.ceil(len(ordered) / page_size))
    base = catalog.base_url.rstrip("/")
    graphs = []
    for number in range(1, pages + 1):
        graph = _new_graph()
        catalog_node = _add_catalog(graph, catalog, geometry, ordered)
        for meta in ordered[(number - 1) * page_size : number * page_size]:
            graph.add((catalog_node, DCAT.dataset, _add_dataset(graph, catalog, meta)))
        if pages > 1:
            _add_paging(graph, catalog_node, base, number, pages, len(ordered))
        graphs.append(graph)
    return graphs


def write_catalog(graphs: list[Graph], publish_dir: Path) -> list[Path]:
    """Write each page as Turtle, JSON-LD and RDF/XML: ``catalog.*`` then ``catalog-page-N.*``.

    Page links are rewritten per syntax, so a harvester that started on ``catalog.rdf`` follows
    ``hydra:next`` to ``catalog-page-2.rdf`` and never has to switch parser. Page files left over
    from a longer previous catalogue are removed.
    """
    publish_dir = Path(publish_dir)
    written = []
    for extension, syntax in _FORMATS:
        for number, graph in enumerate(graphs, start=1):
            page = _with_page_files(graph, extension)
            path = publish_dir / _page_file(number, extension)
            data = page.serialize(format=syntax, **_syntax_options(syntax))
            write_bytes_atomically(data.encode("utf-8"), path)
            written.append(path)
        for stale in publish_dir.glob(f"catalog-page-*.{extension}"):
            if stale not in written:
                stale.unlink()
    return written


def _new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in (
        ("dcat", DCAT),
        ("dct", DCT),
        ("foaf", FOAF),
        ("skos", SKOS),
        ("spdx", SPDX),
        ("hydra", HYDRA),
        ("locn", LOCN),
        ("gsp", GSP),
    ):
        graph.bind(prefix, namespace)
    return graph


def _territory(spatial: str) -> shapely.Geometry:
    text = spatial.strip()
    if text.startswith("{"):
        document = json.loads(text)
        if document.get("type") == "Feature":
            document = document["geometry"]
        geometry = shapely.geometry.shape(document)
    else:
        geometry = shapely.from_wkt(text.split(";", 1)[-1] if text.upper().startswith("SRID=") else text)
    # udata keeps only Polygon/MultiPolygon coverages: a point or a line would silently vanish.
    if geometry.geom_type not in {"Polygon", "MultiPolygon"}:
        raise ValueError(f"l'emprise du territoire doit être un polygone, pas un {geometry.geom_type}")
    return geometry


def _add_catalog(graph: Graph, meta: CatalogMeta, geometry, datasets: list[DatasetMeta]) -> URIRef:
    node = URIRef(f"{meta.base_url.rstrip('/')}/catalog")
    graph.add((node, RDF.type, DCAT.Catalog))
    graph.add((node, DCT.title, Literal(meta.title, lang=meta.language)))
    graph.add((node, DCT.description, Literal(meta.description, lang=meta.language)))
    graph.add((node, DCT.publisher, _add_publisher(graph, meta)))
    graph.add((node, DCT.language, _add_language(graph, meta.language)))
    graph.add((node, DCT.spatial, _add_location(graph, meta, geometry)))
    homepage = URIRef(meta.homepage)
    graph.add((homepage, RDF.type, FOAF.Document))
    graph.add((node, FOAF.homepage, homepage))
    graph.add((node, DCAT.themeTaxonomy, URIRef(f"{EU}data-theme")))
    graph.add((URIRef(f"{EU}data-theme"), RDF.type, SKOS.ConceptScheme))
    graph.add((URIRef(f"{EU}data-theme"), DCT.title, Literal("Data theme", lang="en")))
    if datasets:
        # Derived from the datasets rather than the clock, so an unchanged catalogue is byte-stable.
        graph.add((node, DCT.issued, Literal(min(d.issued for d in datasets))))
        graph.add((node, DCT.modified, Literal(max(d.modified for d in datasets))))
    return node


def _add_publisher(graph: Graph, meta: CatalogMeta) -> URIRef:
    agent = URIRef(meta.publisher_uri)
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, RDF.type, FOAF.Organization))
    graph.add((agent, FOAF.name, Literal(meta.publisher_name)))
    graph.add((agent, DCT.identifier, Literal(meta.publisher_siren)))
    return agent


def _add_language(graph: Graph, language: str) -> URIRef:
    node = URIRef(f"{EU}language/{LANGUAGES[language]}")
    graph.add((node, RDF.type, DCT.LinguisticSystem))
    graph.add((node, SKOS.inScheme, URIRef(f"{EU}language")))
    return node


def _add_location(graph: Graph, meta: CatalogMeta, geometry) -> URIRef:
    # One IRI shared by the catalogue and every dataset, so the polygon is written once per page.
    node = URIRef(f"{meta.base_url.rstrip('/')}/territoire")
    graph.add((node, RDF.type, DCT.Location))
    geojson = json.dumps(shapely.geometry.mapping(geometry), separators=(",", ":"))
    graph.add((node, LOCN.geometry, Literal(geojson, datatype=GEOJSON_LITERAL)))
    bbox = shapely.box(*geometry.bounds)
    graph.add((node, DCAT.bbox, Literal(shapely.to_wkt(bbox, rounding_precision=6), datatype=GSP.wktLiteral)))
    return node


def _add_dataset(graph: Graph, catalog: CatalogMeta, meta: DatasetMeta) -> URIRef:
    node = URIRef(meta.identifier)
    lang = catalog.language
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCT.identifier, Literal(meta.identifier)))
    graph.add((node, DCT.title, Literal(meta.title, lang=lang)))
    graph.add((node, DCT.description, Literal(meta.description, lang=lang)))
    graph.add((node, DCT.issued, Literal(meta.issued)))
    graph.add((node, DCT.modified, Literal(meta.modified)))
    graph.add((node, DCT.publisher, URIRef(catalog.publisher_uri)))
    graph.add((node, DCT.language, URIRef(f"{EU}language/{LANGUAGES[lang]}")))
    graph.add((node, DCT.spatial, URIRef(f"{catalog.base_url.rstrip('/')}/territoire")))
    for keyword in meta.keywords:
        graph.add((node, DCAT.keyword, Literal(keyword, lang=lang)))
    for theme_iri in meta.themes:
        graph.add((node, DCAT.theme, _add_theme(graph, theme_iri)))
    periodicity = URIRef(meta.accrual_periodicity)
    graph.add((periodicity, RDF.type, DCT.Frequency))
    graph.add((periodicity, SKOS.inScheme, URIRef(f"{EU}frequency")))
    graph.add((node, DCT.accrualPeriodicity, periodicity))
    if meta.temporal_start or meta.temporal_end:
        period = BNode()
        graph.add((period, RDF.type, DCT.PeriodOfTime))
        if meta.temporal_start:
            graph.add((period, DCAT.startDate, Literal(meta.temporal_start, datatype=XSD.date)))
        if meta.temporal_end:
            graph.add((period, DCAT.endDate, Literal(meta.temporal_end, datatype=XSD.date)))
        graph.add((node, DCT.temporal, period))
    if meta.conforms_to:
        standard = URIRef(meta.conforms_to)
        graph.add((standard, RDF.type, DCT.Standard))
        graph.add((node, DCT.conformsTo, standard))
    for name in meta.contributors:
        agent = BNode()
        graph.add((agent, RDF.type, FOAF.Agent))
        graph.add((agent, FOAF.name, Literal(name)))
        graph.add((node, DCT.contributor, agent))
    licence = _add_licence(graph, meta.licence)
    for distribution in meta.distributions:
        graph.add((node, DCAT.distribution, _add_distribution(graph, meta, distribution, licence)))
    return node


def _add_theme(graph: Graph, theme_iri: str) -> URIRef:
    node = URIRef(theme_iri)
    code = theme_iri.rsplit("/", 1)[-1]
    graph.add((node, RDF.type, SKOS.Concept))
    graph.add((node, SKOS.inScheme, URIRef(f"{EU}data-theme")))
    graph.add((node, SKOS.prefLabel, Literal(THEMES.get(code, code), lang="fr")))
    return node


def _add_licence(graph: Graph, licence: str) -> URIRef:
    node = URIRef(licence)
    graph.add((node, RDF.type, DCT.LicenseDocument))
    if licence in LICENCE_TITLES:
        # udata matches licences by URL or by title: give it both.
        graph.add((node, DCT.title, Literal(LICENCE_TITLES[licence])))
    return node


def _add_distribution(graph: Graph, meta: DatasetMeta, distribution: Distribution, licence: URIRef) -> URIRef:
    file = distribution.file
    node = URIRef(f"{meta.identifier}/distributions/{file.path.name}")
    url = URIRef(distribution.download_url)
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCT.identifier, Literal(str(node))))
    graph.add((node, DCT.title, Literal(distribution.title or file.path.name)))
    # A file downloadable as is: DCAT-AP asks accessURL to repeat downloadURL.
    graph.add((node, DCAT.downloadURL, url))
    graph.add((node, DCAT.accessURL, url))
    media_type = URIRef(IANA + file.media_type)
    graph.add((media_type, RDF.type, DCT.MediaType))
    graph.add((node, DCAT.mediaType, media_type))
    file_type = URIRef(f"{EU}file-type/{FILE_TYPES[file.format]}")
    graph.add((file_type, RDF.type, DCT.MediaTypeOrExtent))
    graph.add((file_type, SKOS.inScheme, URIRef(f"{EU}file-type")))
    graph.add((node, DCT.format, file_type))
    # xsd:decimal as the 2.1.1 shapes require, in its canonical form ("845.0"), which is also what
    # Turtle's shorthand writes back: the three syntaxes then hold the very same literal.
    graph.add((node, DCAT.byteSize, Literal(f"{int(file.byte_size)}.0", datatype=XSD.decimal)))
    checksum = BNode()
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha1))
    graph.add((SPDX.checksumAlgorithm_sha1, RDF.type, SPDX.ChecksumAlgorithm))
    digest = distribution.checksum_sha1()
    graph.add((checksum, SPDX.checksumValue, Literal(digest, datatype=XSD.hexBinary)))
    graph.add((node, SPDX.checksum, checksum))
    graph.add((node, DCT.license, licence))
    graph.add((node, DCT.issued, Literal(meta.issued)))
    graph.add((node, DCT.modified, Literal(meta.modified)))
    if meta.conforms_to:
        graph.add((node, DCT.conformsTo, URIRef(meta.conforms_to)))
    return node


def _page_iri(base: str, number: int) -> URIRef:
    return URIRef(f"{base}/catalog?page={number}")


def _add_paging(graph: Graph, catalog_node: URIRef, base: str, number: int, pages: int, total: int) -> None:
    view = _page_iri(base, number)
    graph.add((catalog_node, RDF.type, HYDRA.Collection))
    graph.add((catalog_node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    graph.add((catalog_node, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, HYDRA.first, _page_iri(base, 1)))
    graph.add((view, HYDRA.last, _page_iri(base, pages)))
    if number > 1:
        graph.add((view, HYDRA.previous, _page_iri(base, number - 1)))
    if number < pages:
        graph.add((view, HYDRA.next, _page_iri(base, number + 1)))


def _page_file(number: int, extension: str) -> str:
    return f"catalog.{extension}" if number == 1 else f"catalog-page-{number}.{extension}"


def _with_page_files(graph: Graph, extension: str) -> Graph:
    """The page graph with its format-neutral page IRIs replaced by this syntax's file URLs."""

    def rename(term):
        match = _PAGE_IRI.match(term) if isinstance(term, URIRef) else None
        if not match:
            return term
        return URIRef(f"{match['base']}/{_page_file(int(match['page']), extension)}")

    out = _new_graph()
    for s, p, o in graph:
        out.add((rename(s), p, rename(o)))
    return out


def _syntax_options(syntax: str) -> dict:
    if syntax == "json-ld":
        context = {prefix: str(namespace) for prefix, namespace in _new_graph().namespaces()}
        return {"context": context, "indent": 2}
    return {}


__all__ = [
    "LICENCE_OUVERTE_2_0",
    "ODBL_1_0",
    "CatalogMeta",
    "DatasetMeta",
    "Distribution",
    "build_catalog",
    "dataset_identifier",
    "frequency",
    "theme",
    "territory_polygon",
    "write_catalog",
]
