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

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from quality.url_mask import mask_url, mask_urls_in

if TYPE_CHECKING:
    from resources.harvest.guard import HostPolicy

__all__ = ["USER_AGENT", "HarvestError", "Harvested", "HttpPolicy", "harvest", "mask_url", "previous_sha"]

USER_AGENT = "territoire/0.1 (+Tours Métropole open data platform)"


class HarvestError(Exception):
    """A feed could not be fetched; the message names the (masked) source URL and the cause."""

    def __init__(self, url: str, cause: str) -> None:
        self.url = mask_url(url)
        # Causes quote libraries and servers, which echo the URLs they were given.
        self.cause = mask_urls_in(cause)
        super().__init__(f"{self.url}: {cause}")


@dataclass(frozen=True)
class HttpPolicy:
    """How politely and how patiently we talk to a producer's server."""

    timeout: float = 60.0
    max_bytes: int = 1 << 30
    retries: int = 3
    backoff: float = 1.0
    user_agent: str = USER_AGENT
    # Set by :func:`harvest` for one source: the hosts it may reach and the monotonic instant by which
    # its whole download (every request, retry and redirect) must be over. A bare ``fetch`` gets its
    # URL's own host and ``timeout`` from now.
    hosts: HostPolicy | None = None
    deadline: float | None = None


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
    policy = policy or HttpPolicy()
    if kind != "sql":  # a database URL is reached by its driver, at its declared host only
        from resources.harvest.guard import HostPolicy

        allow = entry.get("allow_hosts") or ()
        if isinstance(allow, str):
            allow = [allow]
        policy = replace(policy, hosts=HostPolicy.for_source(str(entry.get("url", "")), allow))
    if policy.deadline is None:
        policy = replace(policy, deadline=time.monotonic() + policy.timeout)
    return kinds[kind](entry, previous, policy)


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
