"""Harvest clients: fetch a producer's feed and hand back the bytes with how they arrived.

Every source kind of the registry (``http``, ``ckan``, ``opendatasoft``, ``wfs``, ``gtfs``, ``sql``)
returns a :class:`Harvested`. The caller archives ``content`` under its sha256 and makes no batch when
``not_modified`` is true (HTTP 304, or the same bytes as last time). Clients never mutate the bytes
they receive, except where a protocol hands us several responses for one dataset (WFS pages, a SQL
result set): those are assembled into one file, deterministically, so the hash still detects change.

Secrets never leave this package: every URL that goes into a message or into ``source_url`` passes
through :func:`mask_url` first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

USER_AGENT = "territoire/0.1 (+Tours Métropole open data platform)"

_SECRET_PARAM = re.compile(r"(key|token|secret|password|passwd|pwd|signature|auth)", re.IGNORECASE)


class HarvestError(Exception):
    """A feed could not be fetched; the message names the (masked) source URL and the cause."""

    def __init__(self, url: str, cause: str) -> None:
        self.url = mask_url(url)
        self.cause = cause
        super().__init__(f"{self.url}: {cause}")


@dataclass(frozen=True)
class HttpPolicy:
    """How politely and how patiently we talk to a producer's server."""

    timeout: float = 60.0
    max_bytes: int = 1 << 30
    retries: int = 3
    backoff: float = 1.0
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class Harvested:
    """One harvested file: the bytes as received, and the validators for the next conditional request."""

    content: bytes
    file_name: str
    source_url: str
    etag: str | None
    last_modified: str | None
    not_modified: bool
    sha256: str
    media_type: str | None
    # What the portal said about the dataset (title, licence, modified, resource id...), for lineage.
    metadata: dict[str, Any] = field(default_factory=dict)


def mask_url(url: str) -> str:
    """The URL with any password (userinfo) and secret-looking query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<URL illisible>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(k) for k, _ in pairs):
            query = urlencode([(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def previous_sha(previous: Mapping[str, Any] | None) -> str | None:
    return (previous or {}).get("sha256") or None


def harvest(
    entry: Mapping[str, Any], previous: Mapping[str, Any] | None = None, policy: HttpPolicy | None = None
) -> Harvested:
    """Fetch one registry source, dispatching on its ``kind``."""
    kinds: dict[str, Callable[..., Harvested]] = _kinds()
    kind = entry.get("kind")
    if kind not in kinds:
        raise HarvestError(
            str(entry.get("url", "?")),
            f"type de source inconnu {kind!r} (connus : {', '.join(sorted(kinds))})",
        )
    return kinds[kind](entry, previous, policy or HttpPolicy())


def _kinds() -> dict[str, Callable[..., Harvested]]:
    # Imported here so that importing the dataclasses does not pull geopandas or SQLAlchemy.
    from resources.harvest.ckan import harvest_ckan
    from resources.harvest.gtfs import harvest_gtfs
    from resources.harvest.http import harvest_http
    from resources.harvest.opendatasoft import harvest_opendatasoft
    from resources.harvest.sql import harvest_sql
    from resources.harvest.wfs import harvest_wfs

    return {
        "http": harvest_http,
        "ckan": harvest_ckan,
        "opendatasoft": harvest_opendatasoft,
        "wfs": harvest_wfs,
        "gtfs": harvest_gtfs,
        "sql": harvest_sql,
    }
