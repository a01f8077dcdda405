"""The portal's French pages: ``/``, ``/jeux-de-donnees/{id}``, ``/producteurs/{id}``, the territory's
outline for the maps, the public batch reports, and the pages' own assets (``/static/…``).

Server-rendered with Jinja2 (autoescaped: titles and cells come from producers' files). Every page
answers with a Content-Security-Policy that lets it load only from the portal itself: scripts, styles,
map assets and the map's worker are files the portal serves (MapLibre's CSP build), and no inline
script or style exists. The dataset page's charts are inline SVG drawn on the server.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from portal.pages import views
from portal.pages.batches import report_file
from portal.pages.context import PortalState, outline_bounds, territory_outline
from quality.french import fr_date, fr_int, fr_percent

PORTAL_DIR = Path(__file__).resolve().parents[1]
TEMPLATES = PORTAL_DIR / "templates"
OWN_ASSETS = PORTAL_DIR / "static" / "pages"
MAPLIBRE = PORTAL_DIR / "static" / "node_modules" / "maplibre-gl" / "dist"
# 'self' for everything; images also from data: URIs (MapLibre's control icons are in its CSS).
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SERVER_TIMING = "Server-Timing"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fr_int"] = fr_int
    env.filters["fr_date"] = fr_date
    env.filters["fr_percent"] = fr_percent
    env.filters["fr_day"] = lambda value: fr_date(value, False)
    return env


ENV = _environment()


def page(template: str, request: Request, started: float, status: int = 200, **context: Any) -> HTMLResponse:
    body = ENV.get_template(template).render(request=request, path=request.url.path, **context)
    response = HTMLResponse(body, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    # How long the page took to gather and render, for the bench and a curious reader.
    response.headers[SERVER_TIMING] = f"page;dur={1000 * (time.perf_counter() - started):.1f}"
    return response


def not_found(request: Request, started: float, message: str) -> HTMLResponse:
    return page("introuvable.html.j2", request, started, status=404, message=message)


def pages_router(portal: PortalState) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def home(request: Request, q: Annotated[str, Query(max_length=200)] = "") -> Response:
        started = time.perf_counter()
        context = await views.home(portal, q.strip())
        return page("accueil.html.j2", request, started, **context)

    @router.get("/jeux-de-donnees/{dataset_id}")
    async def dataset(
        request: Request,
        dataset_id: str,
        version: Annotated[str | None, Query(max_length=12)] = None,
    ) -> Response:
        started = time.perf_counter()
        published = portal.datasets.get(dataset_id)
        if published is None:
            return not_found(request, started, f"Aucun jeu de données « {dataset_id} » au registre.")
        number = int(version) if version and version.isdigit() else None
        if version and number is None:
            return not_found(request, started, f"« {version} » n'est pas un numéro de version.")
        form = {k: request.query_params.get(k, "") for k in ("champ", "operateur", "valeur", "tri")}
        context = await views.dataset(portal, published, number, form)
        if context is None:
            what = f"de version n° {number}" if number else "encore aucune version publiée"
            return not_found(request, started, f"Le jeu « {published.dataset.title} » n'a {what}.")
        # The map opens on the territory: a dataset's own extent is stretched by any stray point.
        return page("jeu.html.j2", request, started, bounds=outline_bounds(), **context)

    @router.get("/producteurs/{producer_id}")
    async def producer(request: Request, producer_id: str) -> Response:
        started = time.perf_counter()
        context = await views.producer(portal, producer_id)
        if context is None:
            return not_found(request, started, f"Aucun producteur « {producer_id} » au registre.")
        return page("producteur.html.j2", request, started, bounds=outline_bounds(), **context)

    @router.get("/carte/territoire.geojson")
    async def outline() -> Response:
        return Response(territory_outline(), media_type="application/geo+json")

    @router.get("/rapports/{producer_id}/{dataset_id}/{batch_id}.html")
    async def report(request: Request, producer_id: str, dataset_id: str, batch_id: str) -> Response:
        started = time.perf_counter()
        path = report_file(producer_id, dataset_id, batch_id)
        if path is None:
            # Unknown, or holding quarantined cells (as sent: names, phone numbers): the producer and
            # the data team read it with `territoire report`, never on the public portal.
            return not_found(
                request,
                started,
                "Ce rapport n'existe pas ou n'est lisible que par le producteur et l'équipe données.",
            )
        body = path.read_text(encoding="utf-8")
        styles = [f"'sha256-{_digest(s)}'" for s in re.findall(r"<style[^>]*>(.*?)</style>", body, re.S)]
        response = HTMLResponse(body)
        response.headers["Content-Security-Policy"] = f"{CSP}; style-src 'self' {' '.join(styles)}".rstrip()
        return response

    return router


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def install(app: FastAPI, portal: PortalState) -> None:
    """The pages' routes and assets on the portal's application."""
    app.include_router(pages_router(portal))
    app.mount("/static/portail", StaticFiles(directory=OWN_ASSETS), name="pages-assets")
    if MAPLIBRE.is_dir():
        app.mount("/static/maplibre", StaticFiles(directory=MAPLIBRE), name="maplibre")
