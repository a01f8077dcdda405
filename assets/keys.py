"""How assets, partitions and harvest pools are named, shared by the factories, the runner, the
schedules and the tests."""

import os
import re
from urllib.parse import urlsplit

import dagster as dg

from resources.registry.model import Dataset, Source

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def partitions_for(dataset: Dataset) -> dg.StaticPartitionsDefinition:
    """One partition per producer that has a source for the dataset."""
    return dg.StaticPartitionsDefinition(dataset.producer_ids)


def asset_key(dataset: Dataset, stage: str) -> dg.AssetKey:
    """``<table>/<stage>``: asset key parts allow ``_`` but not ``-``, so the table name is used."""
    return dg.AssetKey([dataset.table, stage])


def source_host(source: Source) -> str:
    """The host a source's harvest talks to, for concurrency limits: ``127.0.0.1:8765``, ``sqlite``.

    ``${NAME}`` references are resolved from the environment when set; otherwise the variable's name
    stands for the host, so every source behind the same variable shares one limit.
    """
    url = str(source.settings.get("url") or "")
    resolved = _REFERENCE.sub(lambda m: os.environ.get(m.group(1), f"//{m.group(1)}"), url)
    parts = urlsplit(resolved)
    host = parts.netloc.rsplit("@", 1)[-1] or parts.scheme or source.kind
    return _NOT_IN_NAME.sub("_", host.lower())


def harvest_pool(dataset: Dataset) -> str | None:
    """The ``pool=`` of a dataset's harvested asset: ``host-<host>`` when all its harvested sources
    share one host, ``harvest-<dataset>`` when they do not (a pool is per asset, not per partition;
    the per-host limit across partitions is the run tag), None for a dataset only dropped into."""
    hosts = {source_host(s) for s in dataset.sources if s.kind != "drop"}
    if not hosts:
        return None
    return f"host-{hosts.pop()}" if len(hosts) == 1 else f"harvest-{dataset.table}"
