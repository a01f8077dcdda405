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

from pipelines.registry_checks import block_problems, reference_problems, suggest, table_collisions
from pipelines.registry_index import registry_dir
from pipelines.registry_yaml import DuplicateKey, read_yaml

REGISTRY_DIR = Path(__file__).resolve().parent

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
DATASET_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"

# Producers that may drop a file for every dataset without a declared source (see _expand_sources).
IMPLICIT_DROP_KINDS = ("commune", "metropole")

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
        # Any commune and the Métropole may drop a file for any dataset: an agent with a file in hand
        # should not wait for the data team to edit the registry. Declared sources (a harvest, a
        # producer's mapping) keep precedence; operators drop only where the registry says so.
        for producer in producers:
            if producer.kind in IMPLICIT_DROP_KINDS and producer.id not in expanded:
                expanded[producer.id] = {"producer": producer.id, "kind": "drop"}
        spec["sources"] = list(expanded.values())
    return raw


def _check_references(registry: Registry) -> list[tuple[str, str, str]]:
    """``(section, key path, problem)`` for ids that do not resolve."""
    problems = []
    known = set(registry.producer_ids)
    if len(known) != len(registry.producers):
        for dupe in sorted({p for p in registry.producer_ids if registry.producer_ids.count(p) > 1}):
            problems.append(
                ("producers", f"producers.{dupe}", "producteur déclaré deux fois ; n'en garder qu'un")
            )
    for dataset in registry.datasets.values():
        for source in dataset.sources:
            if source.producer not in known:
                hint = suggest(source.producer, sorted(known))
                problems.append(
                    (
                        dataset.id,
                        f"{dataset.id}.sources",
                        f"producteur « {source.producer} » inconnu ; {hint}",
                    )
                )
        rule = dataset.expected_from
        try:
            expected = registry.expected_producers(dataset)
        except ValueError:
            problems.append(
                (
                    dataset.id,
                    f"{dataset.id}.expected_from",
                    f"règle « {rule} » inconnue ; écrire communes, operators, all, « communes >= N » "
                    "ou une liste d'identifiants",
                )
            )
            continue
        for producer_id in expected:
            if producer_id not in known:
                hint = suggest(producer_id, sorted(known))
                problems.append(
                    (
                        dataset.id,
                        f"{dataset.id}.expected_from",
                        f"producteur « {producer_id} » inconnu ; {hint}",
                    )
                )
    return problems


def _pydantic_problem(err: dict[str, Any], model_fields: list[str]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"clé inconnue ; {suggest(str(err['loc'][-1]), model_fields)}"
    if kind == "missing":
        return "clé obligatoire absente"
    if kind == "literal_error":
        return f"valeur « {err.get('input')} » refusée ; valeurs possibles : {err['ctx']['expected']}"
    if kind == "string_pattern_mismatch":
        return f"« {err.get('input')} » n'est pas un identifiant valable (minuscules, chiffres et tirets)"
    return f"valeur refusée ({err['msg']})"


def load_registry(directory: Path | None = None) -> Registry:
    """Read every ``*.yaml`` of ``directory`` (default: ``registry_dir()``) into one checked registry.

    Any mistake raises ``RegistryError`` whose text is one French line per problem, each naming the
    file, the key and what to write instead.
    """
    from quality.schema import load_schema

    directory = directory or registry_dir()
    merged: dict[str, Any] = {"producers": [], "datasets": {}}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise RegistryError(f"aucun fichier de registre (*.yaml) dans {directory}")
    origin: dict[str, str] = {}
    producer_files: list[str] = []
    problems: list[str] = []
    for path in files:
        try:
            doc = read_yaml(path) or {}
        except DuplicateKey as exc:
            raise RegistryError(f"{path.name} : {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"ligne {mark.line + 1} : " if mark is not None else ""
            raise RegistryError(
                f"{path.name} : {line}YAML illisible ({getattr(exc, 'problem', None) or exc})"
            ) from None
        if not isinstance(doc, dict):
            raise RegistryError(f"{path.name} : attendu un bloc de clés (territory, producers, datasets)")
        unknown = set(doc) - {"territory", "producers", "datasets"}
        for key in sorted(unknown):
            problems.append(
                f"{path.name} : {key} : section inconnue ; "
                f"{suggest(str(key), ['territory', 'producers', 'datasets'])}"
            )
        if "territory" in doc:
            merged["territory"] = doc["territory"]
            origin["territory"] = path.name
        merged["producers"].extend(doc.get("producers") or [])
        producer_files.extend([path.name] * len(doc.get("producers") or []))
        for dataset_id, spec in (doc.get("datasets") or {}).items():
            if dataset_id in merged["datasets"]:
                raise RegistryError(
                    f"{path.name} : datasets.{dataset_id} : jeu de données déjà déclaré dans "
                    f"{origin[dataset_id]} ; n'en garder qu'un, ou lui donner un autre identifiant"
                )
            origin[dataset_id] = path.name
            spec = spec or {}
            problems += [
                f"{path.name} : datasets.{key} : {hint}" for key, hint in block_problems(dataset_id, spec)
            ]
            merged["datasets"][dataset_id] = {**spec, "id": dataset_id}
    if problems:
        raise RegistryError("\n".join(problems))
    producers, located_errors = [], []
    for position, entry in enumerate(merged["producers"]):
        try:
            producers.append(Producer.model_validate(entry))
        except ValidationError as exc:
            located_errors += [
                _located({**err, "loc": ("producers", position, *err["loc"])}, origin, producer_files)
                for err in exc.errors()
            ]
    if located_errors:
        raise RegistryError("\n".join(located_errors))
    try:
        registry = Registry.model_validate(_expand_sources(merged, producers))
    except ValidationError as exc:
        raise RegistryError(
            "\n".join(_located(err, origin, producer_files) for err in exc.errors())
        ) from None
    located = [
        (origin.get(section, "?"), key, problem) for section, key, problem in _check_references(registry)
    ]
    for dataset in registry.datasets.values():
        located += [
            (origin[dataset.id], key, problem)
            for key, problem in reference_problems(dataset, load_schema, registry.producer_ids)
        ]
    located += [
        (origin[dataset_id], f"datasets.{dataset_id}", problem)
        for dataset_id, problem in table_collisions({d.id: d.table for d in registry.datasets.values()})
    ]
    if located:
        raise RegistryError(
            "\n".join(f"{file} : {_qualified(key)} : {problem}" for file, key, problem in located)
        )
    return registry


def _qualified(key: str) -> str:
    return key if key.startswith(("datasets", "producers")) else f"datasets.{key}"


def _located(err: dict[str, Any], origin: dict[str, str], producer_files: list[str]) -> str:
    """A pydantic error as « file : key path : problem »."""
    loc = [str(part) for part in err["loc"]]
    if loc and loc[0] == "datasets" and len(loc) > 1:
        file, fields = origin.get(loc[1], "?"), list(Dataset.model_fields) + ["schema"]
    elif loc and loc[0] == "producers" and len(loc) > 1 and loc[1].isdigit():
        file, fields = producer_files[int(loc[1])], list(Producer.model_fields)
    else:
        file, fields = origin.get("territory", "?"), list(Territory.model_fields)
    return f"{file} : {'.'.join(loc)} : {_pydantic_problem(err, fields)}"
