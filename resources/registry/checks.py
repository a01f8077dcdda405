"""What the registry checks beyond its shape: sub-blocks without typos, and references that resolve.

Each dataset's ``privacy``, ``consolidation``, ``publication`` and ``geometry`` blocks are checked
against their models (``model.py``) before the whole registry is, so that each problem is said with
the key to write instead; the schema and its version must be shipped; every field a mapping, a
geometry, a key or a privacy rule names must be a field of that schema; and no two datasets may
share a warehouse table (``prenoms-history`` against ``prenoms``' history table). Every problem is
one French sentence naming the file, the key and what to write instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from resources.registry.model import BLOCKS, Dataset


def suggest(value: str, choices: list[str], *, loose: bool = False) -> str:
    """« écrire plutôt X » for the closest choice (the only one when ``loose``), else the choices."""
    close = choices[:1] if loose else difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if close:
        return f"écrire plutôt « {close[0]} »"
    return "valeurs possibles : " + ", ".join(choices) if choices else "rien n'est attendu ici"


def block_problems(dataset_id: str, spec: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key path, what is wrong and what to write)`` for each typed sub-block of one dataset."""
    problems = []
    for block, model in BLOCKS.items():
        value = spec.get(block)
        if value in (None, {}):
            continue
        if not isinstance(value, dict):
            problems.append((f"{dataset_id}.{block}", "attendu : un bloc de clés (clé: valeur)"))
            continue
        try:
            model.model_validate(value)
        except ValidationError as exc:
            errors = exc.errors()
            missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing"]
            unknown = [str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden"]
            for err in errors:
                where = ".".join([dataset_id, block, *(str(p) for p in err["loc"])])
                if err["type"] == "extra_forbidden":
                    # A misspelt required key shows as one unknown key and one missing key: one problem.
                    choices = missing if len(missing) == len(unknown) == 1 else list(model.model_fields)
                    hint = f"clé inconnue ; {suggest(str(err['loc'][-1]), choices, loose=len(choices) == 1)}"
                elif err["type"] == "missing":
                    if len(missing) == len(unknown) == 1:
                        continue
                    hint = "clé obligatoire absente"
                else:
                    hint = f"valeur refusée ({err['msg']})"
                problems.append((where, hint))
    return problems


def reference_problems(
    dataset: Dataset, schema_loader: Callable[[str], Any], producer_ids: list[str]
) -> list[tuple[str, str]]:
    """The dataset's schema resolves, and every field or producer its blocks name exists."""
    try:
        schema = schema_loader(dataset.schema_ref)
    except Exception as exc:  # UnknownSchema, a broken shipped file: said in French by the loader
        return [(f"{dataset.id}.schema", str(exc).rstrip("."))]
    fields = list(schema.field_names)
    geometry = dataset.geometry
    point = [geometry.name] if geometry else []
    problems = []

    def check(where: str, name: Any, choices: list[str], what: str) -> None:
        if isinstance(name, str) and name not in choices:
            problems.append(
                (where, f"{what} « {name} » inconnu du schéma {schema.name} ; {suggest(name, choices)}")
            )

    for source in dataset.sources:
        for column, field in source.columns.items():
            check(f"{dataset.id}.sources[{source.producer}].columns.{column}", field, fields + point, "champ")
    if geometry:
        check(f"{dataset.id}.geometry.lon", geometry.lon, fields, "champ")
        check(f"{dataset.id}.geometry.lat", geometry.lat, fields, "champ")
    for name in dataset.consolidation.key_fields:
        check(f"{dataset.id}.consolidation.key", name, fields + point, "champ")
    for name in dataset.consolidation.preferred:
        check(f"{dataset.id}.consolidation.prefer", name, producer_ids, "producteur")
    for block in ("personal_fields", "free_text"):
        for name in getattr(dataset.privacy, block) or []:
            check(f"{dataset.id}.privacy.{block}", name, fields, "champ")
    return problems


# The warehouse tables each dataset owns, beside its own (see resources/warehouse/).
DERIVED_TABLES = ("{t}_history", "{t}_duplicates")


def table_collisions(tables: dict[str, str]) -> list[tuple[str, str]]:
    """``tables``: dataset id → table. Two datasets whose tables (own or derived) would be the same."""
    owner: dict[str, str] = {}
    problems = []
    for dataset_id, table in tables.items():
        for name in (table, *(d.format(t=table) for d in DERIVED_TABLES)):
            if name in owner and owner[name] != dataset_id:
                problems.append(
                    (
                        dataset_id,
                        f"sa table « {name} » serait aussi celle du jeu « {owner[name]} » ; "
                        f"donner un autre identifiant à « {dataset_id} »",
                    )
                )
            owner.setdefault(name, dataset_id)
    return problems
