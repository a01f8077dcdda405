"""A dataset's publication run, and the territory's catalogue after all of them, summed up as plain data.

The runner decides *when* a dataset is published (all its partitions of the run are done); this
module decides *whether* (something changed, its files are stale, or it was delivered but never
published) and runs it through Dagster, its result as plain data for the run's summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.keys import asset_key
from assets.outputs import OUTPUT_KEYS, build_output_assets
from assets.producer import build_dataset_assets
from pipelines.dagster_run import dagster_instance, materialize_quietly, step_error
from pipelines.platform_resources import platform_resources
from resources.registry.model import Dataset, Registry
from resources.warehouse import Warehouse


@dataclass
class PublicationResult:
    """What a dataset's publication did, in the words the run's summary uses."""

    dataset: str
    published: bool = False
    blocked: str | None = None  # the gate's reason, when it kept the candidate out
    failed: str | None = None  # the label of what failed
    repaired: str | None = None  # "<dataset> : why — fichiers réécrits"
    outputs_due: bool = False  # files were written: the catalogue and scoreboard follow


def publish_dataset(
    d: Dataset,
    *,
    assets: list,
    instance: dg.DagsterInstance,
    resources: dict,
    changed: bool,
    stale: str | None,
) -> PublicationResult:
    """Rewrite ``d``'s stale files (``stale``: why, when nothing new came), then publish it when a batch
    of the run changed it or it was delivered but never published."""
    out = PublicationResult(dataset=d.id)
    if stale is not None and not changed:
        if _write_published(d, assets, instance, resources):
            out.outputs_due = True
            out.repaired = f"{d.id} : {stale} — fichiers réécrits"
        else:
            out.failed = f"{d.id} (réécriture des fichiers publiés)"
    # A dataset nobody has delivered yet is not published: an empty entry would mislead portals.
    store, warehouse = resources["store"], resources["warehouse"]
    first_time = not (store.publish_dir / f"{d.id}.csv").exists() and _has_loaded_batch(warehouse, d)
    if not (changed or first_time):
        return out
    result = materialize_quietly(
        assets,
        [asset_key(d, "territory"), asset_key(d, "published")],
        instance=instance,
        resources=resources,
    )
    # The dataset's files are written, not yet the catalogue and scoreboard: both follow the datasets.
    out.outputs_due = out.outputs_due or result.success
    if result.success:
        out.published = True
    elif (error := step_error(result)) is not None and error.cls_name == "DagsterAssetCheckFailedError":
        # The gate kept a bad candidate out: the current version stays published.
        out.blocked = f"{d.id} : {error.message.strip().splitlines()[-1]}"
    else:
        out.failed = d.id
    return out


def write_outputs(registry: Registry, resources: dict, instance: dg.DagsterInstance) -> bool:
    """Materialise the territory-wide catalogue and scoreboard, after the datasets' publications."""
    return materialize_quietly(
        build_output_assets(registry), list(OUTPUT_KEYS), instance=instance, resources=resources
    ).success


def write_publication_files(
    registry: Registry,
    home: Path,
    dataset: str,
    *,
    instance: dg.DagsterInstance | None = None,
    outputs: bool = True,
) -> bool:
    """Materialise only ``<dataset>/published``, the files of the current version, and with ``outputs``
    the territory's catalogue and scoreboard after it (``territoire approve``)."""
    d = registry.dataset(dataset)
    assets = [*build_dataset_assets(registry, d), *(build_output_assets(registry) if outputs else ())]
    extra = list(OUTPUT_KEYS) if outputs else []
    return _write_published(
        d, assets, instance or dagster_instance(False), platform_resources(home), extra=extra
    )


def _write_published(
    d: Dataset, assets: list, instance: dg.DagsterInstance, resources: dict, *, extra: list | None = None
) -> bool:
    """The files of ``d``'s current version, written again from ``published.<dataset>`` (and ``extra``)."""
    selection = [asset_key(d, "published"), *(extra or [])]
    return materialize_quietly(assets, selection, instance=instance, resources=resources).success


def _has_loaded_batch(warehouse: Warehouse, dataset: Dataset) -> bool:
    batches = warehouse.batches(dataset.table)
    return not batches.empty and bool((batches["status"] == "loaded").any())
