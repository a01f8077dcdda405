"""The shipped Table Schemas, loaded into frozen dataclasses.

Each schema is a folder of ``quality/schemas/``: ``schema.json`` is its default version, any other
version sits beside it as ``schema-<version>.json``, with ``SOURCE.md`` (origin and licence) and the
official examples. Adding a schema is dropping a folder: nothing here names a schema.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frictionless

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
DEFAULT_FILE = "schema.json"
# Marker of a synthetic geopoint field in its descriptor: the [lon, lat] fields it is built from.
POINT_FROM = "x-territoire-from"
_VERSIONED_FILE = re.compile(r"^schema-(?P<version>.+)\.json$")


class UnknownSchema(KeyError, ValueError):
    """A schema reference that names no shipped schema or version."""

    def __str__(self) -> str:  # KeyError would quote the French sentence
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    format: str | None
    title: str
    description: str
    constraints: dict[str, Any]
    descriptor: dict[str, Any]

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))


@dataclass(frozen=True)
class TableSchema:
    name: str
    version: str
    title: str
    description: str
    fields: list[Field]
    primary_key: list[str]
    unique_keys: list[list[str]]
    missing_values: list[str]
    custom_checks: list[dict[str, Any]]
    descriptor: dict[str, Any]
    path: Path
    _by_name: dict[str, Field] = field(default_factory=dict, repr=False, compare=False)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def field(self, name: str) -> Field:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"le schéma {self.name} n'a pas de champ « {name} »") from None

    def with_point(self, lon: str, lat: str, name: str = "geom") -> TableSchema:
        """This schema plus a synthetic geopoint ``name`` built from the number fields ``lon`` and ``lat``.

        Many schemas carry a position as two number columns; a geopoint field makes the validator,
        the warehouse (geometry(Point, 4326) with a GiST index) and the GeoJSON export handle it like
        any other geopoint. Its descriptor names the two columns under ``POINT_FROM`` so harmonisation
        knows to fill it.
        """
        for column in (lon, lat):
            self.field(column)  # raises, in French, for a column the schema does not have
        if name in self._by_name:
            raise ValueError(f"le schéma {self.name} a déjà un champ « {name} »")
        descriptor = {
            "name": name,
            "type": "geopoint",
            "title": "Position (point)",
            "description": f"Point construit par la plateforme à partir des colonnes « {lon} » "
            f"(longitude) et « {lat} » (latitude), en WGS 84 (EPSG:4326). Les coordonnées en Lambert-93 sont "
            "reprojetées et les longitudes/latitudes inversées sont corrigées.",
            POINT_FROM: [lon, lat],
        }
        point = _field(descriptor)
        schema_descriptor = {**self.descriptor, "fields": [*self.descriptor.get("fields", []), descriptor]}
        return dataclasses.replace(
            self,
            fields=[*self.fields, point],
            descriptor=schema_descriptor,
            _by_name={**self._by_name, name: point},
        )

    @property
    def point_fields(self) -> dict[str, tuple[str, str]]:
        """Synthetic geopoint field -> (lon field, lat field), as added by ``with_point``."""
        return {f.name: tuple(f.descriptor[POINT_FROM]) for f in self.fields if POINT_FROM in f.descriptor}


def available_schemas() -> list[str]:
    """Names of the shipped schemas (folder names), sorted."""
    return sorted(p.parent.name for p in SCHEMAS_DIR.glob(f"*/{DEFAULT_FILE}"))


def _normalise_version(version: str) -> str:
    return version.strip().lower().removeprefix("v")


def _version_files(name: str) -> dict[str, Path]:
    """Every version of one schema: declared version (normalised) and file suffix -> file."""
    folder = SCHEMAS_DIR / name
    files: dict[str, Path] = {}
    for path in sorted(folder.glob("schema*.json")):
        match = _VERSIONED_FILE.match(path.name)
        if match:
            files.setdefault(_normalise_version(match["version"]), path)
        declared = json.loads(path.read_text(encoding="utf-8")).get("version")
        if declared:
            files.setdefault(_normalise_version(str(declared)), path)
    return files


def _resolve(ref: str) -> tuple[str, Path]:
    name, _, version = ref.strip().partition("@")
    known = available_schemas()
    if name not in known:
        raise UnknownSchema(f"Schéma inconnu « {name} ». Schémas disponibles : {', '.join(known)}.")
    if not version:
        return name, SCHEMAS_DIR / name / DEFAULT_FILE
    files = _version_files(name)
    wanted = _normalise_version(version)
    if wanted in files:
        return name, files[wanted]
    # "1.3" names 1.3.0 as well, the way a person writes it.
    prefixed = sorted(v for v in files if v.startswith(wanted + "."))
    if prefixed:
        return name, files[prefixed[-1]]
    raise UnknownSchema(
        f"Version « {version} » inconnue pour le schéma « {name} ». "
        f"Versions disponibles : {', '.join(sorted(files))}."
    )


def frictionless_descriptor(descriptor: dict[str, Any]) -> dict[str, Any]:
    """The descriptor as frictionless accepts it.

    The table-level ``name`` is catalogue metadata, not a table rule; frictionless insists on a slug
    there and one official schema (arbres urbains: "Arbres urbains") is not, so it is dropped here.
    """
    clean = copy.deepcopy(descriptor)
    name = clean.get("name")
    if isinstance(name, str) and not re.fullmatch(r"[-a-z0-9._/]+", name):
        del clean["name"]
    return clean


def _field(descriptor: dict[str, Any]) -> Field:
    fmt = descriptor.get("format")
    return Field(
        name=descriptor["name"],
        type=descriptor.get("type", "string"),
        format=None if fmt in (None, "default") else fmt,
        title=descriptor.get("title", ""),
        description=descriptor.get("description", ""),
        constraints=dict(descriptor.get("constraints") or {}),
        descriptor=descriptor,
    )


@functools.cache
def _load_path(name: str, path: Path) -> TableSchema:
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    try:
        frictionless.Schema.from_descriptor(frictionless_descriptor(descriptor))
    except frictionless.FrictionlessException as exc:
        raise ValueError(f"Schéma {name} ({path.name}) invalide : {exc}") from exc
    fields = [_field(f) for f in descriptor["fields"]]
    primary_key = descriptor.get("primaryKey") or []
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    unique_keys = [[k] if isinstance(k, str) else list(k) for k in descriptor.get("uniqueKeys") or []]
    return TableSchema(
        name=name,
        version=str(descriptor.get("version", "")),
        title=descriptor.get("title", name),
        description=descriptor.get("description", ""),
        fields=fields,
        primary_key=list(primary_key),
        unique_keys=unique_keys,
        missing_values=list(descriptor.get("missingValues", [""])),
        custom_checks=list(descriptor.get("custom_checks") or []),
        descriptor=descriptor,
        path=path,
        _by_name={f.name: f for f in fields},
    )


def load_schema(ref: str) -> TableSchema:
    """Load ``"name"`` (default version) or ``"name@version"``; loads are cached."""
    name, path = _resolve(ref)
    return _load_path(name, path)


def load_schema_file(path: str | Path, name: str | None = None) -> TableSchema:
    """A Table Schema JSON outside the shipped folder (a test, a schema being drafted)."""
    path = Path(path).resolve()
    return _load_path(name or path.parent.name, path)
