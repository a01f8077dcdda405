"""The inbox sensor: a file dropped in ``inbox/<producer>/<dataset>/`` requests that partition's run."""

import hashlib

import dagster as dg

from resources.registry.model import Registry
from resources.store import Store


def ingest_job_name(dataset_table: str) -> str:
    return f"{dataset_table}_ingest"


def build_inbox_sensor(registry: Registry, jobs: list) -> dg.SensorDefinition:
    @dg.sensor(
        name="inbox_sensor",
        jobs=jobs,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Demande un traitement pour chaque (jeu, producteur) dont la boîte de réception contient "
            "des fichiers."
        ),
    )
    def inbox_sensor(context: dg.SensorEvaluationContext, store: Store):
        for (producer, dataset_id), files in sorted(store.pending_inboxes().items()):
            dataset = registry.datasets.get(dataset_id)
            if dataset is None or producer not in dataset.producer_ids:
                context.log.warning(
                    f"inbox/{producer}/{dataset_id}: no such source in the registry, left alone"
                )
                continue
            # The run key changes with every drop (each has its own sequence number), so a new drop is
            # never missed, the same file dropped again included, and an unchanged folder never runs twice.
            fingerprint = hashlib.sha256(
                "|".join(f"{p.name}:{store.drop_sequence(p)}:{p.stat().st_size}" for p in files).encode()
            ).hexdigest()[:16]
            yield dg.RunRequest(
                run_key=f"{dataset_id}:{producer}:{fingerprint}",
                job_name=ingest_job_name(dataset.table),
                partition_key=producer,
                tags={"territoire/partition": f"{dataset_id}/{producer}", "territoire/dataset": dataset_id},
            )

    return inbox_sensor
