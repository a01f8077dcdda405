"""The harvest clients as a Dagster resource, with their manners set from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from resources.harvest.dispatch import harvest
from resources.harvest.harvested import Harvested
from resources.harvest.policy import HttpPolicy
from resources.harvest.sql import expand_url


def expand_settings(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """``value`` with every ``${NAME}`` in its strings (nested in lists and mappings) taken from the
    environment, so a registry entry can name a feed whose address is only known at run time (the
    demo's port, an operator's credentials). Only that exact form is expanded — no ``$NAME``, no
    defaults, no commands — and a variable that is not set is an error naming it, not an empty string.
    """
    if isinstance(value, str):
        return expand_url(value, environ)
    if isinstance(value, Mapping):
        return {k: expand_settings(v, environ) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [expand_settings(v, environ) for v in value]
    return value


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class Harvester(dg.ConfigurableResource):
    """Fetches a source's feed; timeouts, size cap and retries come from ``TERRITOIRE_HARVEST_*``."""

    timeout: float = _env_float("TERRITOIRE_HARVEST_TIMEOUT", 60.0)
    max_bytes: int = int(_env_float("TERRITOIRE_HARVEST_MAX_BYTES", float(1 << 30)))
    retries: int = int(_env_float("TERRITOIRE_HARVEST_RETRIES", 3))
    backoff: float = _env_float("TERRITOIRE_HARVEST_BACKOFF", 1.0)

    @classmethod
    def from_environment(cls) -> Harvester:
        """The settings ``TERRITOIRE_HARVEST_*`` hold now (the field defaults were read at import)."""
        return cls(
            timeout=_env_float("TERRITOIRE_HARVEST_TIMEOUT", 60.0),
            max_bytes=int(_env_float("TERRITOIRE_HARVEST_MAX_BYTES", float(1 << 30))),
            retries=int(_env_float("TERRITOIRE_HARVEST_RETRIES", 3)),
            backoff=_env_float("TERRITOIRE_HARVEST_BACKOFF", 1.0),
        )

    def fetch(self, entry: Mapping[str, Any], previous: Mapping[str, Any] | None) -> Harvested:
        policy = HttpPolicy(
            timeout=self.timeout, max_bytes=self.max_bytes, retries=self.retries, backoff=self.backoff
        )
        return harvest(expand_settings(dict(entry)), previous, policy)


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
