"""HTTP caching of published data: weak ETags and Last-Modified from the version served, and the 304.

A published version never changes, so a representation is identified by the request (path and query)
and the version it was read from; the date is the version's publication.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response


def validators(request: Request, published_at, *parts: Any) -> tuple[str, str]:
    digest = hashlib.sha256(
        json.dumps(
            [request.url.path, sorted(request.query_params.multi_items()), *parts], default=str
        ).encode()
    ).hexdigest()[:32]
    return f'W/"{digest}"', format_datetime(published_at.astimezone(UTC), usegmt=True)


def not_modified(request: Request, etag: str, last_modified: str) -> Response | None:
    """A 304 when the client already holds this representation (ETag first, then the date)."""
    headers = {
        "ETag": etag,
        "Last-Modified": last_modified,
        "Cache-Control": "public, max-age=0, must-revalidate",
    }
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip() for t in match.split(",")}
        if etag in tags or "*" in tags or etag.removeprefix("W/") in tags:
            return Response(status_code=304, headers=headers)
        return None
    since = request.headers.get("if-modified-since")
    if since:
        try:
            if parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since):
                return Response(status_code=304, headers=headers)
        except (TypeError, ValueError):
            pass
    return None


def conditional(request: Request, published_at, *parts: Any) -> tuple[str, str, Response | None]:
    """The validators of this representation, and the 304 to answer when the client holds it."""
    etag, modified = validators(request, published_at, *parts)
    return etag, modified, not_modified(request, etag, modified)


def cached(response: Response, etag: str, last_modified: str) -> Response:
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = last_modified
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response
