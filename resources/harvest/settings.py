"""A source's registry settings made ready to fetch, and the manners the environment sets, without
Dagster: ``territoire run`` asks the feeds whether they changed before it imports the orchestrator."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from resources.harvest.errors import HarvestError
from resources.harvest.policy import HttpPolicy

# ``${NAME}``: the only form of reference a registry setting may hold.
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_url(url: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``${NAME}`` references with the environment's values; a missing one is an error."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise HarvestError(
                url, f"la variable d'environnement {name} (référencée par l'URL) n'est pas définie"
            )
        return env[name]

    return REFERENCE.sub(value, url)


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


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def policy_from_environment() -> HttpPolicy:
    """Timeouts, size cap and retries as ``TERRITOIRE_HARVEST_*`` set them now."""
    return HttpPolicy(
        timeout=env_float("TERRITOIRE_HARVEST_TIMEOUT", 60.0),
        max_bytes=int(env_float("TERRITOIRE_HARVEST_MAX_BYTES", float(1 << 30))),
        retries=int(env_float("TERRITOIRE_HARVEST_RETRIES", 3)),
        backoff=env_float("TERRITOIRE_HARVEST_BACKOFF", 1.0),
    )
