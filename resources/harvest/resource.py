"""The harvest clients as a Dagster resource, with their manners set from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from resources.harvest.dispatch import harvest
from resources.harvest.harvested import Harvested
from resources.harvest.policy import HttpPolicy
from resources.harvest.settings import env_float, expand_settings

__all__ = ["Harvester", "Prefetched", "expand_settings"]


class Harvester(dg.ConfigurableResource):
    """Fetches a source's feed; timeouts, size cap and retries come from ``TERRITOIRE_HARVEST_*``."""

    timeout: float = env_float("TERRITOIRE_HARVEST_TIMEOUT", 60.0)
    max_bytes: int = int(env_float("TERRITOIRE_HARVEST_MAX_BYTES", float(1 << 30)))
    retries: int = int(env_float("TERRITOIRE_HARVEST_RETRIES", 3))
    backoff: float = env_float("TERRITOIRE_HARVEST_BACKOFF", 1.0)

    @classmethod
    def from_environment(cls) -> Harvester:
        """The settings ``TERRITOIRE_HARVEST_*`` hold now (the field defaults were read at import)."""
        return cls(
            timeout=env_float("TERRITOIRE_HARVEST_TIMEOUT", 60.0),
            max_bytes=int(env_float("TERRITOIRE_HARVEST_MAX_BYTES", float(1 << 30))),
            retries=int(env_float("TERRITOIRE_HARVEST_RETRIES", 3)),
            backoff=env_float("TERRITOIRE_HARVEST_BACKOFF", 1.0),
        )

    def policy(self) -> HttpPolicy:
        return HttpPolicy(
            timeout=self.timeout, max_bytes=self.max_bytes, retries=self.retries, backoff=self.backoff
        )

    def fetch(self, entry: Mapping[str, Any], previous: Mapping[str, Any] | None) -> Harvested:
        return harvest(expand_settings(dict(entry)), previous, self.policy())


class Prefetched:
    """Stands in for :class:`Harvester` in a run whose download was already made elsewhere.

    ``territoire run`` downloads feeds in background threads (a network wait, not work for Dagster),
    then materialises the partition in its own thread with this object as the ``harvester`` resource:
    the asset archives what was fetched, or fails with the harvest's own error.
    """

    def __init__(self, outcome: Harvested | BaseException) -> None:
        self._outcome = outcome

    def fetch(self, entry: Mapping[str, Any], previous: Mapping[str, Any] | None) -> Harvested:
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome
