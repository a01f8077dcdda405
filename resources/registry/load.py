"""Reading the registry: every ``*.yaml`` of the registry folder merged into one checked ``Registry``.

Any mistake is refused with one French line per problem, each naming the file, the key and what to
write instead (the typed model is in ``model.py``, the checks beyond its shape in ``checks.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from resources.registry.checks import block_problems, reference_problems, suggest, table_collisions
from resources.registry.location import registry_dir
from resources.registry.model import (
    Dataset,
    Producer,
    Registry,
    RegistryError,
    SourceSelector,
    Territory,
    select_producers,
)
from resources.registry.yaml_source import DuplicateKey, read_yaml

# Producers that may drop a file for every dataset without a declared source (see _expand_sources).
IMPLICIT_DROP_KINDS = ("commune", "metropole")


def _expand_sources(raw: dict[str, Any], producers: list[Producer]) -> dict[str, Any]:
    """Turn ``producers:`` selectors into one source per producer; explicit entries win."""
    for spec in raw.get("datasets", {}).values():
        if not isinstance(spec, dict):
            continue
        expanded: dict[str, dict[str, Any]] = {}
        for entry in spec.get("sources", []):
            selector = SourceSelector.model_validate(entry)
            base = selector.model_dump(exclude={"producer", "producers"}, exclude_none=True)
            ids = (
                [selector.producer] if selector.producer else select_producers(producers, selector.producers)
            )
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
