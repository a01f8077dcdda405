"""Aliases: the headers and values agents write for a schema's fields, from ``quality/aliases/<schema>.yaml``.

``aliases:`` (headers seen in practice), ``versions:`` (the fields' names and titles in the schema's
earlier published versions) and ``values:`` (« Numéraire » → « aide en numéraire »).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from assets.harmonise.header_key import header_key
from assets.harmonise.normalise.words import fold

ALIASES_DIR = Path(__file__).resolve().parents[2] / "quality" / "aliases"


@cache
def alias_texts(schema_id: str) -> dict[str, list[str]]:
    """field → headers written for it in practice (``aliases:``) and its names and titles in the schema's
    earlier published versions (``versions:``), from ``quality/aliases/<schema>.yaml``."""
    path = ALIASES_DIR / f"{schema_id}.yaml"
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: dict[str, list[str]] = {}
    for name, aliases in (doc.get("aliases") or {}).items():
        found.setdefault(name, []).extend(str(a) for a in aliases)
    for labels in (doc.get("versions") or {}).values():
        for name, label in (labels or {}).items():
            found.setdefault(name, []).extend([str(label)] if isinstance(label, str) else map(str, label))
    return found


@cache
def header_aliases(schema_id: str) -> dict[str, str]:
    """header key → field (the first field declaring it wins)."""
    found: dict[str, str] = {}
    for name, texts in alias_texts(schema_id).items():
        for text in texts:
            found.setdefault(header_key(text), name)
    return found


@cache
def value_aliases(schema_id: str) -> dict[str, dict[str, str]]:
    """field → {folded value → canonical value}, from ``values:`` in ``quality/aliases/<schema>.yaml``."""
    path = ALIASES_DIR / f"{schema_id}.yaml"
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        name: {fold(str(alias)): str(canonical) for alias, canonical in (pairs or {}).items()}
        for name, pairs in (doc.get("values") or {}).items()
    }
