"""The API's interactive documentation page (Swagger UI), working under a strict Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from portal.errors import ApiError

SWAGGER_DIST = Path(__file__).resolve().parent / "static" / "node_modules" / "swagger-ui-dist"

_DOCS = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>territoire — documentation de l'API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>"""

_INIT = "window.ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui'});\n"


def mount_docs(app: FastAPI) -> None:
    """``/api/docs``: Swagger UI over ``/openapi.json``, served from the vendored swagger-ui-dist."""
    if SWAGGER_DIST.is_dir():
        app.mount("/api/docs/assets", StaticFiles(directory=SWAGGER_DIST), name="swagger-assets")

    @app.get("/api/docs", include_in_schema=False)
    async def docs() -> Response:
        if not SWAGGER_DIST.is_dir():
            raise ApiError(
                503, "La documentation interactive n'est pas installée (make install) ; voir /openapi.json."
            )
        return HTMLResponse(_DOCS)

    @app.get("/api/docs/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        # A script file rather than inline: the page works under a strict Content-Security-Policy.
        return Response(_INIT, media_type="text/javascript")
