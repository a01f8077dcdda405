"""Crosswalks: an older version of a schema described as renames, combinations, splits and defaults.

Declared in ``quality/crosswalks/*.yaml``; a file's headers select the crosswalk they fit best
(:func:`detect_crosswalk`), and header matching applies it after the exact tiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from assets.harmonise.header_key import header_key

CROSSWALK_DIR = Path(__file__).resolve().parents[2] / "quality" / "crosswalks"


@dataclass(frozen=True)
class Crosswalk:
    """An older version of a schema described as renames, combinations, splits and defaults."""

    schema: str
    schema_name: str
    from_version: str
    to_version: str
    detect: tuple[str, ...]
    absent: tuple[str, ...]  # headers whose presence rules this version out
    columns: dict[str, str]
    combine: dict[str, dict[str, Any]]
    split: dict[str, dict[str, Any]]
    defaults: dict[str, str]
    notes: str
    path: Path

    @classmethod
    def from_file(cls, path: Path) -> Crosswalk:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(
            schema=str(doc.get("schema", path.stem)),
            schema_name=str(doc.get("schema_name", "")),
            from_version=str(doc["from_version"]),
            to_version=str(doc["to_version"]),
            detect=tuple(str(h) for h in doc.get("detect") or ()),
            absent=tuple(str(h) for h in doc.get("absent") or ()),
            columns={str(k): str(v) for k, v in (doc.get("columns") or {}).items()},
            combine=dict(doc.get("combine") or {}),
            split=dict(doc.get("split") or {}),
            defaults={str(k): str(v) for k, v in (doc.get("defaults") or {}).items()},
            notes=str(doc.get("notes") or ""),
            path=path,
        )


@cache
def load_crosswalks(directory: Path = CROSSWALK_DIR) -> tuple[Crosswalk, ...]:
    return tuple(Crosswalk.from_file(p) for p in sorted(directory.glob("*.yaml")))


def crosswalks_for(schema: Any, directory: Path = CROSSWALK_DIR) -> list[Crosswalk]:
    """Crosswalks feeding this schema, recognised by the Table Schema ``name`` or the shipped schema id."""
    names = {
        getattr(schema, "name", None),
        Path(str(getattr(schema, "path", "") or "")).parent.name,
        (getattr(schema, "descriptor", None) or {}).get("name"),
    } - {None, ""}
    version = str(getattr(schema, "version", "")).lower().removeprefix("v")
    return [
        cw
        for cw in load_crosswalks(directory)
        if (cw.schema in names or cw.schema_name in names)
        # a schema is never "converted" from its own version, nor to another version than its own
        and not (version == cw.from_version or version.startswith(cw.from_version + "."))
        and (
            version == cw.to_version.removeprefix("v")
            or version.startswith(cw.to_version.removeprefix("v") + ".")
        )
    ]


def detect_crosswalk(columns: list[str], schema: Any) -> Crosswalk | None:
    """The crosswalk whose version the headers show most surely, None when none fits."""
    keys = {header_key(c) for c in columns}
    best, hits = None, 0
    for crosswalk in crosswalks_for(schema):
        found = len(keys & {header_key(h) for h in crosswalk.detect})
        if crosswalk.absent:
            if not found or keys & {header_key(h) for h in crosswalk.absent}:
                continue
            found += len(crosswalk.absent)  # a version told by what it lacks beats one told by a header
        if found > hits:
            best, hits = crosswalk, found
    return best
