"""The registry: producers × datasets × sources, read from ``pipelines/*.yaml`` and checked on load.

It is the territory's data inventory ("cartographie des données"): who holds what, who must publish
it, where it comes from and under which licence. Everything downstream (Dagster partitions, the
sensor, schedules, the CLI, the scoreboard) is generated from it.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REGISTRY_DIR = Path(__file__).resolve().parent

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
DATASET_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"

SourceKind = Literal["drop", "http", "ckan", "opendatasoft", "wfs", "gtfs", "sql"]
Frequency = Literal["daily", "weekly", "monthly", "quarterly", "semiannual", "annual", "irregular"]


class RegistryError(ValueError):
    """A registry file that cannot be used; the message names the file and the entry."""


class Territory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str
    siren: str
    base_url: str
    homepage: str | None = None


class Producer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str
    kind: Literal["commune", "metropole", "operator"]
    insee: Annotated[str, Field(pattern=r"^\d[\dAB]\d{3}$")] | None = None
    siren: Annotated[str, Field(pattern=r"^\d{9}$")] | None = None
    siren_verified: bool = True
    postcode: str | None = None
    population: int | None = None
    sector: str | None = None


class Source(BaseModel):
    """Where one producer's data for one dataset comes from.

    Kind-specific settings (``url``, ``dataset``, ``resource``, ``where``, ``type_name``, ``query``…)
    are kept as extra fields and read by the matching harvest client. ``allow_hosts: [host, host:port]``
    names the other hosts a feed may send the harvest to (a CDN, a portal's file store); no other is
    ever reached.
    """

    model_config = ConfigDict(extra="allow")

    producer: str
    kind: SourceKind
    schedule: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    sheet: str | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SourceSelector(Source):
    """A source entry as written: either ``producer: id`` or ``producers: communes|operators|[ids]``."""

    producer: str | None = None  # type: ignore[assignment]
    producers: str | list[str] | None = None

    @model_validator(mode="after")
    def _one_of_producer_or_selector(self) -> SourceSelector:
        if (self.producer is None) == (self.producers is None):
            raise ValueError("give exactly one of `producer` or `producers`")
        return self


class Dataset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=DATASET_PATTERN)]
    title: str
    description: str = ""
    schema_ref: str = Field(alias="schema")
    licence: Literal["etalab-2.0", "odbl-1.0"] = "etalab-2.0"
    frequency: Frequency = "annual"
    theme: str = "GOVE"
    keywords: list[str] = Field(default_factory=list)
    expected_from: str | list[str] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    # RGPD rules (quality/privacy.py): personal fields to withhold or mask; text is always scanned.
    privacy: dict[str, Any] = Field(default_factory=dict)
    # How duplicates across producers are resolved in the territory (a key, or points within a
    # distance) and when a publication is held for the data team (see resources/warehouse.py).
    consolidation: dict[str, Any] = Field(default_factory=dict)
    publication: dict[str, Any] = Field(default_factory=dict)
    # Geometry built from a pair of lon/lat (or x/y) columns of the schema: {lon: FIELD, lat: FIELD}.
    geometry: dict[str, str] = Field(default_factory=dict)

    @property
    def schema_name(self) -> str:
        return self.schema_ref.split("@", 1)[0]

    @property
    def table(self) -> str:
        """The warehouse table name: SQL identifiers take `_` where our ids take `-`."""
        return self.id.replace("-", "_")

    def source_for(self, producer: str) -> Source | None:
        return next((s for s in self.sources if s.producer == producer), None)

    @property
    def producer_ids(self) -> list[str]:
        return [s.producer for s in self.sources]


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    territory: Territory
    producers: list[Producer]
    datasets: dict[str, Dataset]

    @cached_property
    def producer_by_id(self) -> dict[str, Producer]:
        return {p.id: p for p in self.producers}

    def producer(self, producer_id: str) -> Producer:
        try:
            return self.producer_by_id[producer_id]
        except KeyError:
            raise KeyError(
                f"unknown producer {producer_id!r}; known: {', '.join(self.producer_ids)}"
            ) from None

    def dataset(self, dataset_id: str) -> Dataset:
        try:
            return self.datasets[dataset_id]
        except KeyError:
            known = ", ".join(self.datasets)
            raise KeyError(f"unknown dataset {dataset_id!r}; known: {known}") from None

    @property
    def producer_ids(self) -> list[str]:
        return [p.id for p in self.producers]

    def expected_producers(self, dataset: Dataset) -> list[str]:
        """Who must deliver ``dataset``: an explicit list, or a rule such as ``communes >= 3500``."""
        rule = dataset.expected_from
        if isinstance(rule, list):
            return rule
        return _select(self.producers, rule)


def _select(producers: list[Producer], selector: str | list[str]) -> list[str]:
    """Producer ids matching ``communes``, ``operators``, ``communes >= N`` or an explicit list."""
    if isinstance(selector, list):
        return selector
    match = re.fullmatch(r"\s*(communes|operators|all)\s*(?:>=\s*(\d+))?\s*", selector)
    if not match:
        raise ValueError(
            f"unknown producer selector {selector!r} (communes, operators, all, 'communes >= N')"
        )
    kind, minimum = match.group(1), match.group(2)
    chosen = [
        p
        for p in producers
        if kind == "all"
        or (kind == "communes" and p.kind == "commune")
        or (kind == "operators" and p.kind == "operator")
    ]
    if minimum is not None:
        chosen = [p for p in chosen if (p.population or 0) >= int(minimum)]
    return [p.id for p in chosen]


def _expand_sources(raw: dict[str, Any], producers: list[Producer]) -> dict[str, Any]:
    """Turn ``producers:`` selectors into one source per producer; explicit entries win."""
    for spec in raw.get("datasets", {}).values():
        if not isinstance(spec, dict):
            continue
        expanded: dict[str, dict[str, Any]] = {}
        for entry in spec.get("sources", []):
            selector = SourceSelector.model_validate(entry)
            base = selector.model_dump(exclude={"producer", "producers"}, exclude_none=True)
            ids = [selector.producer] if selector.producer else _select(producers, selector.producers)
            for producer_id in ids:
                expanded[producer_id] = {**base, "producer": producer_id}
        spec["sources"] = list(expanded.values())
    return raw


def _check_references(registry: Registry) -> None:
    known = set(registry.producer_ids)
    if len(known) != len(registry.producers):
        dupes = sorted({p for p in registry.producer_ids if registry.producer_ids.count(p) > 1})
        raise ValueError(f"duplicate producer ids: {', '.join(dupes)}")
    for dataset in registry.datasets.values():
        for source in dataset.sources:
            if source.producer not in known:
                raise ValueError(f"dataset {dataset.id!r}: source names unknown producer {source.producer!r}")
        for producer_id in registry.expected_producers(dataset):
            if producer_id not in known:
                raise ValueError(
                    f"dataset {dataset.id!r}: expected_from names unknown producer {producer_id!r}"
                )


def load_registry(directory: Path | None = None) -> Registry:
    """Read every ``*.yaml`` of ``directory`` (default: this package) into one checked registry."""
    directory = directory or REGISTRY_DIR
    merged: dict[str, Any] = {"producers": [], "datasets": {}}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise RegistryError(f"no registry file (*.yaml) in {directory}")
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise RegistryError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise RegistryError(f"{path.name}: expected a mapping at the top level")
        if "territory" in doc:
            merged["territory"] = doc["territory"]
        merged["producers"].extend(doc.get("producers") or [])
        for dataset_id, spec in (doc.get("datasets") or {}).items():
            if dataset_id in merged["datasets"]:
                raise RegistryError(f"{path.name}: dataset {dataset_id!r} is declared twice")
            merged["datasets"][dataset_id] = {**(spec or {}), "id": dataset_id}
    try:
        producers = [Producer.model_validate(p) for p in merged["producers"]]
        registry = Registry.model_validate(_expand_sources(merged, producers))
        _check_references(registry)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise RegistryError(f"registry in {directory}: {problems}") from exc
    except ValueError as exc:
        raise RegistryError(f"registry in {directory}: {exc}") from exc
    return registry
