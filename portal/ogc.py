"""OGC API – Features (Part 1: Core, GeoJSON, HTML, OpenAPI 3.0) under ``/ogc/`` for the geo datasets,
and Mapbox vector tiles under ``/tiles/{id}/{z}/{x}/{y}.pbf`` (``ST_AsMVT``).

Our own router rather than tipg's: tipg serves every table of a schema (history, duplicates…) and
counts each page, while this one serves the registry's datasets only, at any published version
(``version`` / ``as_of`` as in the API), with the same keyset cursor for its ``next`` links — what
QGIS's OAPIF client follows — and the same role, pool and errors.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from portal import cursor as cursors
from portal import queries
from portal.caching import conditional
from portal.errors import ApiError, bad
from portal.request import MAX_PAGE_SIZE, parse_bbox, parse_instant
from portal.request import Query as RecordsQuery

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from portal.columns import PublishedDataset

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 10


class Host(Protocol):
    """What the router needs from the application that mounts it (``portal.app.Portal``)."""

    pool: AsyncConnectionPool
    datasets: dict[str, PublishedDataset]

    def dataset(self, dataset_id: str) -> PublishedDataset: ...


def _wants_html(request: Request, f: str | None) -> bool:
    if f is not None:
        if f not in ("json", "html"):
            raise bad("f", "f vaut json ou html.")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _links_html(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="{html.escape(link["href"])}">{html.escape(link.get("title") or link["rel"])}</a></li>'
        for link in links
    )
    return f"<ul>{items}</ul>"


def ogc_router(portal: Host) -> APIRouter:
    router = APIRouter()

    def geo(dataset_id: str) -> PublishedDataset:
        published = portal.dataset(dataset_id)
        if published.geometry is None:
            raise ApiError(
                404, f"Le jeu « {dataset_id} » n'a pas de géométrie : pas de collection OGC.", "id"
            )
        return published

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def collection(request: Request, published: PublishedDataset, box: list[float] | None) -> dict[str, Any]:
        url = f"{base(request)}/ogc/collections/{published.id}"
        body: dict[str, Any] = {
            "id": published.id,
            "title": published.dataset.title,
            "description": published.dataset.description,
            "itemType": "feature",
            "crs": [CRS84],
            "links": [
                {"rel": "self", "type": "application/json", "href": url, "title": "cette collection"},
                {
                    "rel": "items",
                    "type": "application/geo+json",
                    "href": f"{url}/items",
                    "title": "les objets",
                },
                {
                    "rel": "items",
                    "type": "text/html",
                    "href": f"{url}/items?f=html",
                    "title": "les objets (HTML)",
                },
                {
                    "rel": "describedby",
                    "type": "application/json",
                    "href": f"{base(request)}/api/datasets/{published.id}",
                    "title": "champs et versions",
                },
            ],
        }
        if box is not None:
            body["extent"] = {"spatial": {"bbox": [box], "crs": CRS84}}
        return body

    @router.get("/ogc", summary="OGC API – Features : page d'accueil", tags=["OGC API – Features"])
    async def landing(request: Request, f: Annotated[str | None, Query()] = None) -> Response:
        root = base(request)
        links = [
            {"rel": "self", "type": "application/json", "href": f"{root}/ogc", "title": "cette page"},
            {
                "rel": "alternate",
                "type": "text/html",
                "href": f"{root}/ogc?f=html",
                "title": "cette page en HTML",
            },
            {
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "href": f"{root}/openapi.json",
                "title": "la définition OpenAPI",
            },
            {
                "rel": "service-doc",
                "type": "text/html",
                "href": f"{root}/api/docs",
                "title": "la documentation",
            },
            {
                "rel": "conformance",
                "type": "application/json",
                "href": f"{root}/ogc/conformance",
                "title": "conformité",
            },
            {
                "rel": "data",
                "type": "application/json",
                "href": f"{root}/ogc/collections",
                "title": "les collections",
            },
        ]
        body = {
            "title": "territoire — données géographiques publiées",
            "description": "Les jeux géographiques publiés du territoire, en OGC API – Features.",
            "links": links,
        }
        if _wants_html(request, f):
            return _page(body["title"], f"<p>{html.escape(body['description'])}</p>{_links_html(links)}")
        return JSONResponse(body)

    @router.get("/ogc/conformance", summary="Classes de conformité", tags=["OGC API – Features"])
    async def conformance(request: Request, f: Annotated[str | None, Query()] = None) -> Response:
        if _wants_html(request, f):
            return _page("Conformité", "<ul>" + "".join(f"<li>{c}</li>" for c in CONFORMANCE) + "</ul>")
        return JSONResponse({"conformsTo": CONFORMANCE})

    @router.get(
        "/ogc/collections",
        summary="Les collections (jeux géographiques publiés)",
        tags=["OGC API – Features"],
    )
    async def collections(request: Request, f: Annotated[str | None, Query()] = None) -> Response:
        wants_html = _wants_html(request, f)
        found = []
        async with portal.pool.connection() as conn:
            current = await queries.current_versions(conn)
            for published in portal.datasets.values():
                if published.geometry is None or published.table not in current:
                    continue
                snap = await queries.snapshot(conn, published.table)
                found.append(collection(request, published, await queries.extent(conn, published, snap)))
        body = {
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{base(request)}/ogc/collections"}
            ],
            "collections": found,
        }
        if wants_html:
            items = [{"rel": "items", "href": c["links"][2]["href"], "title": c["title"]} for c in found]
            return _page("Collections", _links_html(items))
        return JSONResponse(body)

    @router.get("/ogc/collections/{id}", summary="Une collection", tags=["OGC API – Features"])
    async def one_collection(
        request: Request,
        id: str,  # noqa: A002
        f: Annotated[str | None, Query()] = None,
    ) -> Response:
        published = geo(id)
        wants_html = _wants_html(request, f)
        async with portal.pool.connection() as conn:
            snap = await _snapshot(conn, published, None, None)
            body = collection(request, published, await queries.extent(conn, published, snap))
        if wants_html:
            return _page(
                body["title"], f"<p>{html.escape(body['description'])}</p>{_links_html(body['links'])}"
            )
        return JSONResponse(body)

    @router.get(
        "/ogc/collections/{id}/items", summary="Les objets d'une collection", tags=["OGC API – Features"]
    )
    async def items(
        request: Request,
        id: str,  # noqa: A002
        bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (CRS84)")] = None,
        limit: Annotated[
            str | None, Query(description=f"objets par page, 1 à {MAX_PAGE_SIZE} ({DEFAULT_LIMIT})")
        ] = None,
        cursor: Annotated[str | None, Query(description="curseur opaque du lien next")] = None,
        f: Annotated[str | None, Query()] = None,
        version: Annotated[str | None, Query()] = None,
        as_of: Annotated[str | None, Query()] = None,
    ) -> Response:
        published = geo(id)
        wants_html = _wants_html(request, f)
        known = {"bbox", "limit", "cursor", "f", "version", "as_of", "bbox-crs"}
        for name in request.query_params:
            if name not in known:
                raise bad(name, f"Paramètre inconnu « {name} » (paramètres : {', '.join(sorted(known))}).")
        if request.query_params.get("bbox-crs", CRS84) != CRS84:
            raise bad("bbox-crs", f"Seul {CRS84} est servi.")
        size = DEFAULT_LIMIT
        if limit is not None:
            try:
                size = int(limit)
            except ValueError:
                raise bad("limit", f"limit est un entier de 1 à {MAX_PAGE_SIZE}.") from None
            if size < 1:
                raise bad("limit", f"limit est un entier de 1 à {MAX_PAGE_SIZE}.")
            size = min(size, MAX_PAGE_SIZE)  # OGC API – Features: a larger limit is capped, not refused
        box = parse_bbox(published, bbox) if bbox is not None else None
        number = _version(version)
        when = parse_instant("as_of", as_of) if as_of is not None else None
        after = None
        if cursor is not None:
            position = cursors.decode(cursor, "")
            number, when, after = position.version, None, position.key
        query = RecordsQuery(bbox=box, page_size=size)
        async with portal.pool.connection() as conn:
            snap = await _snapshot(conn, published, number, when)
            rows = await queries.records(conn, published, query, snap, after, size + 1, features=True)
        next_url = None
        if len(rows) > size:
            rows = rows[:size]
            token = cursors.encode(cursors.Cursor(snap.version, "", rows[-1][1]))
            next_url = str(request.url.include_query_params(cursor=token))
        self_url = str(request.url)
        links = [
            {"rel": "self", "type": "application/geo+json", "href": self_url, "title": "cette page"},
            {
                "rel": "alternate",
                "type": "text/html",
                "href": str(request.url.include_query_params(f="html")),
                "title": "cette page en HTML",
            },
            {
                "rel": "collection",
                "type": "application/json",
                "href": f"{base(request)}/ogc/collections/{id}",
            },
        ]
        if next_url:
            links.append(
                {"rel": "next", "type": "application/geo+json", "href": next_url, "title": "page suivante"}
            )
        if wants_html:
            features = [json.loads(r[0]) for r in rows]
            table = "".join(
                f"<tr><td>{html.escape(str(ft['id']))}</td><td>{html.escape(json.dumps(ft['geometry']))}</td>"
                f"<td>{html.escape(json.dumps(ft['properties'], ensure_ascii=False)[:300])}</td></tr>"
                for ft in features
            )
            page_links = [
                dict(link, href=link["href"]) for link in links if link["rel"] in ("next", "collection")
            ]
            return _page(
                published.dataset.title,
                f"<table><tr><th>id</th><th>géométrie</th><th>propriétés</th></tr>{table}</table>"
                + _links_html(page_links),
            )
        head = {
            "type": "FeatureCollection",
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "numberReturned": len(rows),
            "links": links,
        }
        text = (
            json.dumps(head, ensure_ascii=False)[:-1] + ',"features":[' + ",".join(r[0] for r in rows) + "]}"
        )
        return Response(text, media_type="application/geo+json")

    @router.get("/ogc/collections/{id}/items/{feature_id}", summary="Un objet", tags=["OGC API – Features"])
    async def one_item(
        request: Request,
        id: str,  # noqa: A002
        feature_id: str,
        f: Annotated[str | None, Query()] = None,
        version: Annotated[str | None, Query()] = None,
    ) -> Response:
        published = geo(id)
        wants_html = _wants_html(request, f)
        batch_id, _, row = feature_id.rpartition(".")
        try:
            source_row = int(row)
        except ValueError:
            source_row = None
        if not batch_id or source_row is None or abs(source_row) >= 2**31:
            raise ApiError(404, f"Objet inconnu « {feature_id} ».", "feature_id")
        async with portal.pool.connection() as conn:
            snap = await _snapshot(conn, published, _version(version), None)
            found = await queries.feature(conn, published, snap, batch_id, source_row)
        if found is None:
            raise ApiError(404, f"Objet inconnu « {feature_id} ».", "feature_id")
        if wants_html:
            return _page(feature_id, f"<pre>{html.escape(found)}</pre>")
        return Response(found, media_type="application/geo+json")

    @router.get(
        "/tiles/{id}/{z}/{x}/{y}.pbf",
        summary="Tuile vectorielle (Mapbox Vector Tile, Web Mercator)",
        tags=["Tuiles"],
        responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}}},
    )
    async def vector_tile(
        request: Request,
        id: str,  # noqa: A002
        z: int,
        x: int,
        y: int,
        version: Annotated[str | None, Query()] = None,
    ) -> Response:
        published = geo(id)
        if not 0 <= z <= 24:
            raise bad("z", "z (niveau de zoom) va de 0 à 24.")
        if not (0 <= x < 2**z and 0 <= y < 2**z):
            raise bad("x", f"x et y vont de 0 à {2**z - 1} au niveau {z}.")
        async with portal.pool.connection() as conn:
            snap = await _snapshot(conn, published, _version(version), None)
            etag, modified, early = conditional(request, snap.published_at, snap.version)
            if early is not None:
                return early
            data = await queries.tile(conn, published, snap, z, x, y)
        response = Response(data, media_type="application/vnd.mapbox-vector-tile")
        response.headers["ETag"], response.headers["Last-Modified"] = etag, modified
        return response

    return router


def _version(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if not 1 <= number < 2**31:
        raise bad("version", "version doit être un numéro de version publiée (entier ≥ 1).")
    return number


async def _snapshot(conn, published: PublishedDataset, version: int | None, as_of: datetime | None):
    snap = await queries.snapshot(conn, published.table, version=version, as_of=as_of)
    if snap is None:
        raise ApiError(
            404, f"Le jeu « {published.id} » n'a pas de version publiée correspondante.", "version"
        )
    return snap
