"""The harvest clients as a Dagster resource, with their manners set from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from resources.harvest import Harvested, HttpPolicy, harvest


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class Harvester(dg.ConfigurableResource):
    """Fetches a source's feed; timeouts, size cap and retries come from ``TERRITOIRE_HARVEST_*``."""

    timeout: float = _env_float("TERRITOIRE_HARVEST_TIMEOUT", 60.0)
    max_bytes: int = int(_env_float("TERRITOIRE_HARVEST_MAX_BYTES", float(1 << 30)))
    retries: int = int(_env_float("TERRITOIRE_HARVEST_RETRIES", 3))
    backoff: float = _env_float("TERRITOIRE_HARVEST_BACKOFF", 1.0)

    def fetch(self, entry: Mapping[str, Any], previous: Mapping[str, Any] | None) -> Harvested:
        policy = HttpPolicy(
            timeout=self.timeout, max_bytes=self.max_bytes, retries=self.retries, backoff=self.backoff
        )
        return harvest(dict(entry), previous, policy)
