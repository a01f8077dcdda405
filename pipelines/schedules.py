"""Harvest schedules: one per harvested source, on the cron the registry gives it.

A schedule requests one run of the dataset's ingest job for its producer's partition, so a producer
whose feed is down fails only its own run. Runs are tagged with the feed's host: with
``tag_concurrency_limits`` on ``territoire/host`` (``applyLimitPerUniqueValue``) in the instance's
``dagster.yaml``, two harvests never hit the same operator's server at once, whatever the dataset.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import dagster as dg

from pipelines.registry import Dataset, Registry, Source
from pipelines.sensors import ingest_job_name

TIMEZONE = "Europe/Paris"
HOST_TAG = "territoire/host"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


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


def schedule_name(dataset: Dataset, source: Source) -> str:
    return f"{dataset.table}__{source.producer.replace('-', '_')}__harvest"


def build_schedules(registry: Registry) -> list[dg.ScheduleDefinition]:
    """One schedule per source with a ``schedule`` cron, targeting ``<dataset>_ingest`` for its partition."""
    return [
        _schedule(dataset, source)
        for dataset in registry.datasets.values()
        for source in dataset.sources
        if source.schedule
    ]


def _schedule(dataset: Dataset, source: Source) -> dg.ScheduleDefinition:
    producer = source.producer
    host = source_host(source)

    @dg.schedule(
        name=schedule_name(dataset, source),
        cron_schedule=str(source.schedule),
        job_name=ingest_job_name(dataset.table),
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Moissonne « {dataset.title} » chez {producer} ({source.kind}).",
    )
    def harvest_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        tick = context.scheduled_execution_time
        return dg.RunRequest(
            run_key=f"{dataset.id}:{producer}:{tick.isoformat() if tick else 'manual'}",
            partition_key=producer,
            tags={"territoire/partition": f"{dataset.id}/{producer}", HOST_TAG: host},
        )

    return harvest_schedule
