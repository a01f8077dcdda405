"""The registry as plain data — ids and the facts the quick commands read — cached by the YAML's hash.

Loading the checked registry (``load.py``) builds pydantic models, about half a second
before any work: ``territoire drop``, ``report`` and ``status`` must answer at once. The first call
after a registry change loads and checks it as usual (so a broken registry is still refused with its
message) and keeps this digest as JSON under ``<home>/cache/``; later calls only hash the YAML files
and read that JSON. The hash covers the YAML files and the code that interprets them, so an edit to
either is seen at the next command.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resources.registry.location import registry_dir

if TYPE_CHECKING:
    from resources.registry.model import Registry

# The code that reads the YAML: an edit to it invalidates the cache as an edit to the YAML does.
_CODE = tuple(sorted(Path(__file__).resolve().parent.glob("*.py")))


@dataclass(frozen=True)
class RegistryIndex:
    """``producers``: each producer as the registry dumps it; ``datasets``: id → {title, schema,
    frequency, expected_from (resolved ids), description, licence, table, producer_ids, sources
    (producer id → source kind), harvested (producer id → harvest entry of a non-drop source)}."""

    producers: list[dict[str, Any]]
    datasets: dict[str, dict[str, Any]]

    @property
    def producer_ids(self) -> list[str]:
        return [p["id"] for p in self.producers]

    def dataset_by_table(self) -> dict[str, str]:
        return {d["table"]: d_id for d_id, d in self.datasets.items()}


def registry_digest(directory: Path | None = None) -> str:
    directory = directory or registry_dir()
    digest = hashlib.sha256()
    for path in [*sorted(directory.glob("*.yaml")), *(c for c in _CODE if c.exists())]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def index_of(registry: Registry) -> RegistryIndex:
    """The plain-data digest of a checked ``Registry``."""
    return RegistryIndex(
        producers=[p.model_dump() for p in registry.producers],
        datasets={
            d.id: {
                "id": d.id,
                "title": d.title,
                "schema": d.schema_ref,
                "frequency": d.frequency,
                "expected_from": registry.expected_producers(d),
                "description": d.description,
                "licence": d.licence,
                "table": d.table,
                "producer_ids": d.producer_ids,
                "sources": {s.producer: s.kind for s in d.sources},
                # What ``territoire run`` asks a feed before importing Dagster: the entry a harvest
                # client is given (unexpanded: ``${NAME}`` is read from the environment at fetch time).
                "harvested": {
                    s.producer: {"kind": s.kind, **s.settings} for s in d.sources if s.kind != "drop"
                },
            }
            for d in registry.datasets.values()
        },
    )


def registry_index(cache_dir: Path | None, directory: Path | None = None) -> RegistryIndex:
    """The index of the registry in ``directory``, from ``cache_dir`` when the registry is unchanged.

    Raises ``RegistryError`` (from the full load) when the registry is broken. ``cache_dir=None`` or
    an unwritable folder only means no cache.
    """
    directory = directory or registry_dir()
    key = registry_digest(directory)
    cached = cache_dir / f"registry-{key[:16]}.json" if cache_dir else None
    if cached is not None and cached.is_file():
        try:
            data = json.loads(cached.read_text(encoding="utf-8"))
            return RegistryIndex(producers=data["producers"], datasets=data["datasets"])
        except (ValueError, KeyError):
            pass  # a torn or foreign file: rebuild it below
    # Lazy: loading the checked registry costs pydantic, which only a changed registry pays.
    from resources.registry.load import load_registry

    index = index_of(load_registry(directory))
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            for old in cached.parent.glob("registry-*.json"):
                old.unlink(missing_ok=True)
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.part")
            tmp.unlink(missing_ok=True)
            # Owner-only, as the home's other secrets: the harvest entries are copied as written, and a
            # registry may hold a literal credential where ``${NAME}`` was meant.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"producers": index.producers, "datasets": index.datasets}, out, ensure_ascii=False)
            os.replace(tmp, cached)
        except OSError:
            pass  # a read-only home: the command still works, only slower
    return index
