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

import math
import re
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, RDF, XSD

from assets.publish.catalog_meta import CatalogMeta, DatasetMeta
from assets.publish.dcat_nodes import add_catalog, add_dataset, new_graph, territory_geometry
from assets.publish.dcat_terms import HYDRA
from quality.atomic import write_bytes_atomically

_FORMATS = (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml"))
_PAGE_IRI = re.compile(r"^(?P<base>.*)/catalog\?page=(?P<page>\d+)$")


def build_catalog(catalog: CatalogMeta, datasets: list[DatasetMeta], *, page_size: int = 100) -> list[Graph]:
    """One DCAT-AP graph per catalogue page (a single graph when ``len(datasets) <= page_size``).

    Datasets are ordered by identifier so a dataset stays on the same page across publications.
    """
    if page_size < 1:
        raise ValueError("page_size doit être au moins 1")
    geometry = territory_geometry(catalog.spatial)
    ordered = sorted(datasets, key=lambda d: d.identifier)
    pages = max(1, math.ceil(len(ordered) / page_size))
    base = catalog.base_url.rstrip("/")
    graphs = []
    for number in range(1, pages + 1):
        graph = new_graph()
        catalog_node = add_catalog(graph, catalog, geometry, ordered)
        for meta in ordered[(number - 1) * page_size : number * page_size]:
            graph.add((catalog_node, DCAT.dataset, add_dataset(graph, catalog, meta)))
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

    out = new_graph()
    for s, p, o in graph:
        out.add((rename(s), p, rename(o)))
    return out


def _syntax_options(syntax: str) -> dict:
    if syntax == "json-ld":
        context = {prefix: str(namespace) for prefix, namespace in new_graph().namespaces()}
        return {"context": context, "indent": 2}
    return {}
