"""Harvest schedules: one per harvested source, on the cron the registry gives it.

A schedule requests one run of the dataset's ingest job for its producer's partition, so a producer
whose feed is down fails only its own run. Runs are tagged with the feed's host: with
``tag_concurrency_limits`` on ``territoire/host`` (``applyLimitPerUniqueValue``) in the instance's
``dagster.yaml``, two harvests never hit the same operator's server at once, whatever the dataset.

At each tick the schedule first asks the feed whether it changed (its conditional request, with the
validators of the last file archived from it): an unchanged feed is a skipped tick, not a run that
archives nothing, so the orchestrator still decides and its run list shows only feeds with news. A
feed that cannot be asked (down, refused) gets its run anyway: the run's retries and its failure
are where that is recorded.
"""

from __future__ import annotations

from dataclasses import replace

import dagster as dg

from assets.keys import source_host
from pipelines.sensors import ingest_job_name
from resources.harvest.probe import fetch_feed
from resources.harvest.settings import policy_from_environment
from resources.inbox import default_home
from resources.receipts import archived, validators
from resources.registry.model import Dataset, Registry, Source

TIMEZONE = "Europe/Paris"
# How long a tick waits for a feed's answer (Dagster gives a schedule's evaluation about a minute).
TICK_QUESTION_SECONDS = 20.0
HOST_TAG = "territoire/host"


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
    def harvest_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        if feed_unchanged(dataset, source):
            return dg.SkipReason(
                f"Flux inchangé depuis le dernier fichier archivé ({dataset.id}/{producer})."
            )
        tick = context.scheduled_execution_time
        return dg.RunRequest(
            run_key=f"{dataset.id}:{producer}:{tick.isoformat() if tick else 'manual'}",
            partition_key=producer,
            tags={"territoire/partition": f"{dataset.id}/{producer}", HOST_TAG: host},
        )

    return harvest_schedule


def feed_unchanged(dataset: Dataset, source: Source) -> bool:
    """Whether the feed answers that nothing changed since the last file archived from it (once, no
    retry: a feed that does not answer is left to the run)."""
    previous = validators(archived(default_home(), source.producer, dataset.id))
    if previous is None:
        return False
    # A tick is evaluated within the daemon's time limit: a feed slower than this is left to the run.
    policy = policy_from_environment()
    policy = replace(policy, retries=0, timeout=min(policy.timeout, TICK_QUESTION_SECONDS))
    try:
        answer = fetch_feed(({"kind": source.kind, **source.settings}, previous), policy)
    except Exception:  # noqa: BLE001 - down, refused, misconfigured: the run says which
        return False
    return answer.not_modified
