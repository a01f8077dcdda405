"""One registry source fetched by the client of its ``kind``, within its allowed hosts and deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from resources.harvest.errors import HarvestError
from resources.harvest.harvested import Harvested
from resources.harvest.policy import HttpPolicy


def harvest(
    entry: Mapping[str, Any], previous: Mapping[str, Any] | None = None, policy: HttpPolicy | None = None
) -> Harvested:
    """Fetch one registry source, dispatching on its ``kind``."""
    kind = entry.get("kind")
    if kind not in KINDS:
        raise HarvestError(
            str(entry.get("url", "?")),
            f"type de source inconnu {kind!r} (connus : {', '.join(sorted(KINDS))})",
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
    return _client(str(kind))(entry, previous, policy)


KINDS = ("http", "ckan", "opendatasoft", "wfs", "gtfs", "sql")


def _client(kind: str) -> Callable[..., Harvested]:
    # Only the kind asked for is imported: a WFS feed pulls pyogrio and shapely, a SQL one SQLAlchemy,
    # and asking a plain HTTP feed whether it changed needs neither.
    if kind == "ckan":
        from resources.harvest.ckan import harvest_ckan as client
    elif kind == "opendatasoft":
        from resources.harvest.opendatasoft import harvest_opendatasoft as client
    elif kind == "wfs":
        from resources.harvest.wfs import harvest_wfs as client
    elif kind == "gtfs":
        from resources.harvest.gtfs import harvest_gtfs as client
    elif kind == "sql":
        from resources.harvest.sql import harvest_sql as client
    else:
        from resources.harvest.http import harvest_http as client
    return client
