"""The nodes of a DCAT-AP page: the catalogue, its publisher and territory, each dataset and distribution.

Each ``add_*`` function adds one resource and the description of the vocabulary terms it points to
(class, concept scheme), as the DCAT-AP range shapes expect, and returns the resource's node.
"""

from __future__ import annotations

import json

import shapely
import shapely.geometry
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, FOAF, RDF, SKOS, XSD

from assets.publish.catalog_meta import CatalogMeta, DatasetMeta, Distribution
from assets.publish.dcat_terms import (
    DCT,
    EU,
    FILE_TYPES,
    GEOJSON_LITERAL,
    GSP,
    HYDRA,
    IANA,
    LANGUAGES,
    LICENCE_TITLES,
    LOCN,
    SPDX,
    THEMES,
)


def new_graph() -> Graph:
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


def territory_geometry(spatial: str) -> shapely.Geometry:
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


def add_catalog(graph: Graph, meta: CatalogMeta, geometry, datasets: list[DatasetMeta]) -> URIRef:
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


def add_dataset(graph: Graph, catalog: CatalogMeta, meta: DatasetMeta) -> URIRef:
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
