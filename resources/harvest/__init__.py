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

from quality.url_mask import mask_url
from resources.harvest.dispatch import harvest
from resources.harvest.errors import HarvestError
from resources.harvest.harvested import Harvested, previous_sha
from resources.harvest.policy import USER_AGENT, HttpPolicy

__all__ = ["USER_AGENT", "HarvestError", "Harvested", "HttpPolicy", "harvest", "mask_url", "previous_sha"]
