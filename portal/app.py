"""The portal's ASGI application: the API under ``/api/``, OGC API – Features under ``/ogc/``, vector
tiles under ``/tiles/``. Built by ``create_app(settings)``; ``territoire serve`` runs it with uvicorn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from psycopg_pool import AsyncConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal import cursor as cursors
from portal import exports, queries
from portal.caching import cached, not_modified, validators
from portal.columns import PublishedDataset, published_datasets
from portal.docs import mount_docs
from portal.errors import ApiError, bad
from portal.methods import HEAD_MARK, ReadOnlyMethods
from portal.request import MAX_PAGE_SIZE, parse_query
from portal.request import Query as RecordsQuery
from resources.registry.model import Registry

EXPORT_BATCH = 5000


@dataclass(frozen=True)
class Settings:
    conninfo: str
    registry: Registry
    statement_timeout_ms: int = 10_000
    export_timeout_ms: int = 300_000
    pool_size: int = 10


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


class Portal:
    """What handlers share: the datasets, the pool."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.datasets: dict[str, PublishedDataset] = published_datasets(settings.registry)
        self.pool = AsyncConnectionPool(
            settings.conninfo,
            min_size=1,
            max_size=settings.pool_size,
            open=False,
            configure=self._configure,
            kwargs={"autocommit": False},
        )

    async def _configure(self, conn: psycopg.AsyncConnection) -> None:
        for statement in queries.session_settings(self.settings.statement_timeout_ms):
            await conn.execute(statement)
        await conn.commit()
        # One snapshot per request: the version looked up and the rows read agree.
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        await conn.set_read_only(True)

    def dataset(self, dataset_id: str) -> PublishedDataset:
        published = self.datasets.get(dataset_id)
        if published is None:
            raise ApiError(
                404,
                f"Jeu de données inconnu « {dataset_id} ». Jeux publiés : voir /api/datasets.",
                "id",
            )
        return published


def create_app(settings: Settings) -> FastAPI:
    portal = Portal(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await portal.pool.open(wait=True, timeout=30)
        try:
            yield
        finally:
            await portal.pool.close()

    app = FastAPI(
        title="territoire — API du territoire publié",
        version="1.0.0",
        description=(
            "Les données publiées de Tours Métropole Val de Loire et de ses communes, à n'importe quelle "
            "version publiée. Filtres au format de l'API tabulaire de data.gouv.fr : "
            "`champ__exact`, `__differs`, `__contains`, `__in=a,b`, `__less` (≤), `__greater` (≥), "
            "`__strictly_less`, `__strictly_greater`, `__isnull`, `__isnotnull`."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.portal = portal
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "OPTIONS"],
        expose_headers=["ETag", "Last-Modified", "Link"],
        max_age=86400,
    )
    app.add_middleware(ReadOnlyMethods)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = first.get("loc", ())
        parameter = str(location[-1]) if location else None
        return _error_response(bad(parameter or "requête", f"Valeur invalide pour « {parameter} »."))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Cette adresse n'existe pas.", 405: "Méthode non permise : GET, HEAD ou OPTIONS."}
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse({"erreur": message, "statut": exc.status_code}, status_code=exc.status_code)

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def _timeout(_request: Request, _exc: Exception) -> JSONResponse:
        return _error_response(
            ApiError(503, "La requête a dépassé le temps permis : ajoutez des filtres ou réduisez la page.")
        )

    @app.exception_handler(psycopg.errors.DataError)
    async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
        # Values are checked before any query; this is the safety net for what slips through.
        return _error_response(ApiError(400, "Une valeur de la requête n'a pas le type de son champ."))

    @app.exception_handler(psycopg.OperationalError)
    async def _database_down(_request: Request, _exc: Exception) -> JSONResponse:
        return _error_response(
            ApiError(503, "L'entrepôt ne répond pas pour le moment ; réessayez plus tard.")
        )

    _api_routes(app, portal)
    _extra_routers(app, portal)
    mount_docs(app)
    return app


def _extra_routers(app: FastAPI, portal: Portal) -> None:
    from portal.ogc import ogc_router
    from portal.pages.routes import install as install_pages

    app.include_router(ogc_router(portal))
    install_pages(app, portal)


# -- /api --------------------------------------------------------------------------------------------

_ERRORS = {
    400: {"description": "Paramètre invalide (le corps nomme le paramètre, en français)"},
    404: {"description": "Jeu ou version inconnus"},
}


def _dataset_summary(
    portal: Portal, request: Request, published: PublishedDataset, version
) -> dict[str, Any]:
    dataset = published.dataset
    base = str(request.base_url).rstrip("/")
    registry = portal.settings.registry
    producers = []
    for producer_id in dataset.producer_ids:
        producer = registry.producer_by_id.get(producer_id)
        producers.append({"id": producer_id, "name": producer.name if producer else producer_id})
    links = {
        "self": f"{base}/api/datasets/{dataset.id}",
        "records": f"{base}/api/datasets/{dataset.id}/records",
        "exports": {fmt: f"{base}/api/datasets/{dataset.id}/export.{fmt}" for fmt in _formats(published)},
    }
    if published.geometry is not None:
        links["ogc"] = f"{base}/ogc/collections/{dataset.id}"
        links["tiles"] = f"{base}/tiles/{dataset.id}/{{z}}/{{x}}/{{y}}.pbf"
    return {
        "id": dataset.id,
        "title": dataset.title,
        "description": dataset.description,
        "schema": {"name": published.schema.name, "version": published.schema.version},
        "licence": dataset.licence,
        "producers": producers,
        "rows": version.rows,
        "version": version.version,
        "published_at": version.published_at.isoformat(),
        "geometry": published.geometry.name if published.geometry else None,
        "links": links,
    }


def _formats(published: PublishedDataset) -> list[str]:
    return ["csv", "json", "geojson", "parquet"] if published.geometry else ["csv", "json", "parquet"]


def _api_routes(app: FastAPI, portal: Portal) -> None:
    @app.get("/api/datasets", summary="Les jeux de données publiés", responses=_ERRORS)
    async def list_datasets(request: Request) -> Response:
        async with portal.pool.connection() as conn:
            current = await queries.current_versions(conn)
        served = [(p, current[p.table]) for p in portal.datasets.values() if p.table in current]
        latest = max((v.published_at for _, v in served), default=None)
        if latest is not None:
            etag, modified = validators(request, latest, [(p.id, v.version) for p, v in served])
            if (early := not_modified(request, etag, modified)) is not None:
                return early
        body = {"data": [_dataset_summary(portal, request, p, v) for p, v in served], "total": len(served)}
        response = JSONResponse(body)
        return cached(response, etag, modified) if latest is not None else response

    @app.get("/api/datasets/{id}", summary="Un jeu de données, ses champs et ses versions", responses=_ERRORS)
    async def show_dataset(request: Request, id: str) -> Response:  # noqa: A002 - the API's own name
        published = portal.dataset(id)
        async with portal.pool.connection() as conn:
            known = await queries.versions(conn, published.table)
        if not known:
            raise ApiError(404, f"Le jeu « {id} » n'a encore aucune version publiée.", "id")
        etag, modified = validators(request, known[-1].published_at, known[-1].version)
        if (early := not_modified(request, etag, modified)) is not None:
            return early
        body = _dataset_summary(portal, request, published, known[-1])
        body["fields"] = [
            {"name": c.name, "type": c.type, "title": c.title, "description": c.description}
            for c in published.columns
        ]
        body["versions"] = [
            {"version": v.version, "published_at": v.published_at.isoformat(), "rows": v.rows} for v in known
        ]
        return cached(JSONResponse(body), etag, modified)

    @app.get(
        "/api/datasets/{id}/records",
        summary="Les lignes d'un jeu, filtrées et paginées",
        description=(
            "Filtres sur tout champ : `champ__exact=v`, `__differs`, `__contains`, `__in=a,b`, `__less`, "
            "`__greater`, `__strictly_less`, `__strictly_greater`, `__isnull`, `__isnotnull`. "
            "Pagination par curseur (lien `next`), liée à la version lue : stable même si une nouvelle "
            "version est publiée pendant le parcours."
        ),
        responses=_ERRORS,
    )
    async def records(
        request: Request,
        id: str,  # noqa: A002
        sort: Annotated[str | None, Query(description="champ de tri, `-champ` pour décroissant")] = None,
        columns: Annotated[
            str | None, Query(description="champs à renvoyer, séparés par des virgules")
        ] = None,
        page_size: Annotated[
            str | None, Query(description=f"lignes par page, 1 à {MAX_PAGE_SIZE} (20)")
        ] = None,
        cursor: Annotated[str | None, Query(description="curseur opaque reçu dans `next`")] = None,
        count: Annotated[str | None, Query(description="`true` : nombre exact de lignes filtrées")] = None,
        bbox: Annotated[
            str | None, Query(description="minlon,minlat,maxlon,maxlat (jeux géographiques)")
        ] = None,
        version: Annotated[str | None, Query(description="numéro de version publiée")] = None,
        as_of: Annotated[
            str | None, Query(description="date-heure ISO 8601 : le jeu tel que publié alors")
        ] = None,
    ) -> Response:
        published = portal.dataset(id)
        query = parse_query(published, request.query_params.multi_items())
        sort_spec = "" if query.sort is None else ("-" if query.descending else "") + query.sort.name
        after = None
        if query.cursor is not None:
            position = cursors.decode(query.cursor, sort_spec)
            query = RecordsQuery(**{**query.__dict__, "version": position.version, "as_of": None})
            after = position.key
        async with portal.pool.connection() as conn:
            snap = await _snapshot(conn, published, query)
            etag, modified = validators(request, snap.published_at, snap.version)
            if (early := not_modified(request, etag, modified)) is not None:
                return early
            rows = await queries.records(conn, published, query, snap, after, query.page_size + 1)
            total = await queries.count(conn, published, query, snap) if query.count else None
        next_url = None
        if len(rows) > query.page_size:
            rows = rows[: query.page_size]
            token = cursors.encode(cursors.Cursor(snap.version, sort_spec, rows[-1][1]))
            next_url = str(request.url.include_query_params(cursor=token))
        meta: dict[str, Any] = {
            "dataset": published.id,
            "version": snap.version,
            "published_at": snap.published_at.isoformat(),
            "page_size": query.page_size,
            "total": total,
        }
        body = (
            '{"data":['
            + ",".join(r[0] for r in rows)
            + '],"next":'
            + json.dumps(next_url)
            + ',"meta":'
            + json.dumps(meta, ensure_ascii=False)
            + "}"
        )
        return cached(Response(body, media_type="application/json"), etag, modified)

    @app.get(
        "/api/datasets/{id}/export.{fmt}",
        summary="Tout le résultat filtré, en flux (csv, json, geojson, parquet)",
        description="Mêmes filtres que /records, sans limite de lignes ; `version` et `as_of` aussi.",
        responses=_ERRORS,
    )
    async def export(
        request: Request,
        id: str,  # noqa: A002
        fmt: str,
        sort: Annotated[str | None, Query()] = None,
        columns: Annotated[str | None, Query()] = None,
        bbox: Annotated[str | None, Query()] = None,
        version: Annotated[str | None, Query()] = None,
        as_of: Annotated[str | None, Query()] = None,
    ) -> Response:
        published = portal.dataset(id)
        if fmt not in _formats(published):
            raise bad("fmt", f"Format « {fmt} » indisponible pour ce jeu : {', '.join(_formats(published))}.")
        params = [(k, v) for k, v in request.query_params.multi_items()]
        query = parse_query(published, params)
        if query.cursor is not None or query.count or "page_size" in request.query_params:
            raise bad("page_size", "Un export renvoie tout le résultat : pas de page_size, cursor ni count.")
        async with portal.pool.connection() as conn:
            snap = await _snapshot(conn, published, query)
        etag, modified = validators(request, snap.published_at, snap.version)
        if (early := not_modified(request, etag, modified)) is not None:
            return early
        suffix = "" if snap.current else f"-v{snap.version}"
        headers = {"Content-Disposition": f'attachment; filename="{published.id}{suffix}.{fmt}"'}
        if request.scope.get(HEAD_MARK):
            return cached(Response(media_type=exports.MEDIA_TYPES[fmt], headers=headers), etag, modified)
        statement, values, selected = queries.export_statement(published, query, snap, fmt)

        async def batches() -> AsyncIterator[list[tuple]]:
            async with portal.pool.connection() as conn:
                # The version may have been superseded since the look-up: read it where it now lives.
                again = await queries.snapshot(conn, published.table, version=snap.version)
                live, live_values = statement, values
                if again is not None and again.current != snap.current:
                    live, live_values, _ = queries.export_statement(published, query, again, fmt)
                async for rows in queries.stream(
                    conn, live, live_values, EXPORT_BATCH, portal.settings.export_timeout_ms
                ):
                    yield rows

        if fmt == "csv":
            body = exports.csv_body(selected, batches())
        elif fmt == "parquet":
            body = exports.parquet_body(selected, batches())
        else:
            body = exports.json_body(batches(), geojson=fmt == "geojson")
        response = StreamingResponse(body, media_type=exports.MEDIA_TYPES[fmt], headers=headers)
        return cached(response, etag, modified)


async def _snapshot(conn: psycopg.AsyncConnection, published: PublishedDataset, query: RecordsQuery):
    snap = await queries.snapshot(conn, published.table, version=query.version, as_of=query.as_of)
    if snap is None:
        if query.version is not None:
            raise ApiError(
                404, f"Le jeu « {published.id} » n'a pas de version publiée n° {query.version}.", "version"
            )
        if query.as_of is not None:
            raise ApiError(404, f"Le jeu « {published.id} » n'était pas encore publié à cette date.", "as_of")
        raise ApiError(404, f"Le jeu « {published.id} » n'a encore aucune version publiée.", "id")
    return snap
