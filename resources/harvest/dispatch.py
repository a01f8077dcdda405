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
