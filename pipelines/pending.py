"""Whether ``territoire run`` has anything to do, decided before Dagster, pandas or SQLAlchemy load.

Importing the orchestrator and the data stack costs seconds; a run with nothing new must not pay them
to find out. What a run would do, and what tells it (read here with the registry's cached index,
file listings, one psycopg connection and the feeds' conditional requests):

- a file in a drop inbox, or a receipt of the archive no batch took yet (``meta.batches.sequence``);
- a feed that changed: each harvested source is asked with the validators of the last file archived
  from it (``resources/harvest/probe.py``); an unchanged one (304, or the same sha256) makes no batch
  and therefore no run; a changed one hands its bytes to the run, never downloaded twice;
- a dataset delivered but never published (no ``publish/<dataset>.csv``);
- what the reconciliation would repair (``pipelines/reconcile.py`` uses the same test): published
  files missing, cut short or of another version, a catalogue older than the manifest, a batch report
  missing;
- a warehouse never set up.

A feed that is down is its partition's failure either way (the run exits 0 and lists it): when it is
the only news, it is listed without a run. Anything this module cannot decide goes to the full run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quality.reports.paths import report_paths
from resources.batch_log import read_run_state, warehouse_url
from resources.harvest.errors import HarvestError
from resources.harvest.harvested import Harvested
from resources.harvest.probe import probe_feeds
from resources.inbox import inbox_files
from resources.receipts import archived, sha256_file, validators
from resources.registry.index import RegistryIndex

MANIFEST = "manifest.json"
CATALOGUE_FILES = ("catalog.ttl", "catalog.jsonld", "catalog.rdf", "index.html")

Key = tuple[str, str]  # (dataset id, producer id)


@dataclass
class Lookout:
    """What was checked, and why a run is needed (``reasons``, French; empty: nothing new)."""

    reasons: list[str] = field(default_factory=list)
    inboxes: int = 0  # drop inboxes looked into
    receipts: int = 0  # archived receipts compared with meta.batches
    publications: int = 0  # current versions whose files were checked
    downloads: dict[Key, Future] = field(default_factory=dict)  # every feed asked, by partition
    unchanged: list[Key] = field(default_factory=list)
    harvest_failures: list[str] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    warehouse: str = ""  # masked

    @property
    def idle(self) -> bool:
        return not self.reasons

    def summary(self) -> str:
        """« Rien de nouveau : aucun lot créé — vérifié : … » (French, what was actually checked)."""
        feeds = len(self.downloads)
        failed = len(self.harvest_failures)
        checked = [
            f"{self.inboxes} boîte(s) de réception vides",
            f"{self.receipts} fichier(s) archivé(s), tous déjà traités",
            f"{feeds} flux interrogé(s) : {len(self.unchanged)} inchangé(s)"
            + (f", {failed} en échec" if failed else ""),
            f"{self.publications} publication(s) à jour",
        ]
        return "Rien de nouveau : aucun lot créé — vérifié : " + " ; ".join(checked) + "."


def look_for_work(
    index: RegistryIndex, home: Path, *, dataset: str | None = None, producer: str | None = None
) -> Lookout:
    """Ask the feeds (in background threads) and look at the home and the warehouse meanwhile."""
    lookout = Lookout()
    datasets = [index.datasets[dataset]] if dataset else list(index.datasets.values())
    requests = {
        (d["id"], p): (entry, validators(archived(home, p, d["id"])))
        for d in datasets
        for p, entry in d.get("harvested", {}).items()
        if producer in (None, p)
    }
    lookout.downloads = probe_feeds(requests)

    url = warehouse_url(home)
    from quality.url_mask import mask_url

    lookout.warehouse = mask_url(url)
    state = read_run_state(url)
    if state is None:
        lookout.reasons.append("entrepôt à initialiser")
        return lookout
    lookout.holds = state["holds"]
    for d in datasets:
        for p, kind in d["sources"].items():
            if producer not in (None, p):
                continue
            if kind == "drop":
                lookout.inboxes += 1
                if waiting := inbox_files(home, p, d["id"]):
                    lookout.reasons.append(f"{d['id']} / {p} : {len(waiting)} fichier(s) déposé(s)")
            receipts = archived(home, p, d["id"])
            lookout.receipts += len(receipts)
            seen = state["sequences_seen"].get((d["table"], p), set())
            if untaken := [r for r in receipts if r.sequence not in seen]:
                lookout.reasons.append(f"{d['id']} / {p} : {len(untaken)} fichier(s) archivé(s) à traiter")
        if d["table"] in state["loaded"] and not (home / "publish" / f"{d['id']}.csv").exists():
            lookout.reasons.append(f"{d['id']} : jamais publié")
    lookout.reasons += _repairs(index, home, state, {d["id"] for d in datasets})
    lookout.publications = sum(1 for d in datasets if d["table"] in state["current"])
    if lookout.reasons:
        return lookout  # the run takes the feeds' answers as they come
    for key, future in lookout.downloads.items():
        answer = future.result()
        if isinstance(answer, Harvested) and answer.not_modified:
            lookout.unchanged.append(key)
        elif isinstance(answer, HarvestError):
            lookout.harvest_failures.append(f"{key[0]}/{key[1]} : {harvest_failure(answer)}")
        else:  # changed bytes, or the platform's own error: the run records either
            lookout.reasons.append(f"{key[0]} / {key[1]} : flux modifié")
    return lookout


def drops_waiting(
    index: RegistryIndex, home: Path, *, dataset: str | None = None, producer: str | None = None
) -> int:
    """How many drop partitions have files in their inbox: each is a run to make, whatever else the
    warehouse says (a file dropped is always taken)."""
    datasets = [index.datasets[dataset]] if dataset else list(index.datasets.values())
    return sum(
        1
        for d in datasets
        for p, kind in d["sources"].items()
        if kind == "drop" and producer in (None, p) and inbox_files(home, p, d["id"])
    )


def harvest_failure(error: BaseException) -> str:
    """The line a failed harvest shows, as the run's partition failure shows it."""
    return f"{type(error).__module__}.{type(error).__name__}: {error}".strip()


def _repairs(index: RegistryIndex, home: Path, state: Mapping[str, Any], scope: set[str]) -> list[str]:
    """What the run's reconciliation would rewrite (see ``pipelines/reconcile.py``): the files of the
    datasets in ``scope`` (a run limited to a dataset repairs only its files), every missing report."""
    publish_dir = home / "publish"
    current = {
        d_id: state["current"][d["table"]]
        for d_id, d in index.datasets.items()
        if d["table"] in state["current"]
    }
    stale = stale_files(read_manifest(publish_dir), current, publish_dir)
    reasons = [f"{d_id} : {why}" for d_id, why in stale.items() if d_id in scope]
    by_table = index.dataset_by_table()
    for batch in state["batches"]:
        d_id = by_table.get(batch["dataset"])
        if d_id and not _report_json(home, batch, d_id).exists():
            reasons.append(f"{d_id} / {batch['producer']} : rapport du lot {batch['batch_id']} absent")
    return reasons


def _report_json(home: Path, batch: Mapping[str, Any], dataset_id: str) -> Path:
    """The batch's JSON report, where the reconciliation looks for it (``pipelines/reconcile.py``)."""
    ids = {"producer": batch["producer"], "dataset": dataset_id, "batch_id": batch["batch_id"]}
    return report_paths(ids, home / "reports")[1]


def read_manifest(publish_dir: Path) -> dict[str, dict]:
    """``manifest.json`` (empty when absent, or cut short by a full disk)."""
    path = publish_dir / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        return {}


def stale_files(
    manifest: Mapping[str, dict], current: Mapping[str, int], publish_dir: Path
) -> dict[str, str]:
    """Dataset id → why its published files do not hold ``current[dataset]``, its current version
    (French); when every dataset's files hold it, a catalogue file missing or older than the manifest
    names the manifest's first dataset (rewriting any one of them rewrites the catalogue)."""
    stale: dict[str, str] = {}
    for dataset, version in current.items():
        reason = _file_problem(manifest.get(dataset), version, publish_dir)
        if reason:
            stale[dataset] = reason
    if manifest and not stale:
        newest = (publish_dir / MANIFEST).stat().st_mtime
        for name in CATALOGUE_FILES:
            path = publish_dir / name
            if not path.exists() or path.stat().st_mtime < newest:
                stale[next(iter(manifest))] = f"{name} absent ou plus ancien que le manifeste"
                break
    return stale


def _file_problem(entry: dict | None, version: int, publish_dir: Path) -> str | None:
    if entry is None:
        return f"version {version} publiée mais absente du manifeste"
    if entry.get("version") != version:
        return f"les fichiers tiennent la version {entry.get('version')}, la version publiée est la {version}"
    for item in entry.get("files", []):
        path = publish_dir / item["path"]
        if not path.exists():
            return f"{item['path']} manquant"
        if path.stat().st_size != item["byte_size"] or sha256_file(path) != item["sha256"]:
            return f"{item['path']} incomplet ou modifié"
    return None
