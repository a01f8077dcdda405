"""Header matching: which source column feeds which schema field, and by which route.

In order of precedence: the producer's explicit mapping from the registry, the exact
field name, a key insensitive to case/accents/spaces/punctuation (``Date convention`` ==
``dateConvention`` == ``DATE_CONVENTION``), the field's title under the same key (« Nom de
l'attribuant »), the beginning of exactly one title (« Date de la convention » for « Date de la
convention de subvention »; at least 6 letters, never ambiguous) after the aliases declared in
``quality/aliases/<schema>.yaml`` (« SIRET bénéficiaire »), then a crosswalk declared for an
older version of the schema (``quality/crosswalks/*.yaml``: renamed, combined and split columns), and
last an unambiguous near match (:mod:`assets.harmonise.near`: plurals, « (s) », a missing last word,
words in another order, one mistyped letter). The names and titles of the schema's earlier published
versions (``versions:`` in the aliases file) count as aliases. Two columns claiming one field: the
first (by precedence, then by position) wins, the other is kept aside and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assets.harmonise.aliases import alias_texts, header_aliases
from assets.harmonise.crosswalks import Crosswalk, detect_crosswalk
from assets.harmonise.header_key import header_key
from assets.harmonise.near import near_matches


@dataclass
class HeaderMatch:
    """How a file's headers map to a schema's fields."""

    fields: dict[str, str]  # source column -> field
    how: dict[str, str]  # source column -> "mapping" | "exact" | "key" | "title" | "alias" | "crosswalk" | …
    combined: dict[str, tuple[list[str], str]]  # field -> (source columns, joiner)
    split: dict[str, str]  # source column -> regex whose named groups are fields
    defaults: dict[str, str]  # field -> constant from the crosswalk
    unmatched: list[str]  # source columns that feed no field (kept as extra)
    missing: list[str]  # schema fields that no column feeds
    ambiguous: dict[str, list[str]]  # field -> every column that claimed it (first one kept)
    version_read: str
    crosswalk: Crosswalk | None = None
    warnings: list[str] = field(default_factory=list)


def _only_title_starting_with(key: str, by_title: dict[str, str]) -> str | None:
    """The one field whose title starts with ``key``; None when none or several do, or the key is short."""
    if len(key) < 6:
        return None
    found = {name for title, name in by_title.items() if title.startswith(key)}
    return found.pop() if len(found) == 1 else None


def match_headers(columns: list[str], schema: Any, mapping: dict[str, str] | None = None) -> HeaderMatch:
    """Match source columns (any order) to the schema's fields; see the module docstring for precedence."""
    columns = [str(c) for c in columns]
    names = list(schema.field_names)
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(header_key(name), name)
    schema_id = Path(str(getattr(schema, "path", "") or "")).parent.name
    aliases = header_aliases(schema_id)
    # Templates generated from a schema (Validata's, a portal's) often head columns with the fields'
    # titles: « Nom de l'attribuant » for nomAttribuant.
    by_title: dict[str, str] = {}
    for fld in schema.fields:
        if getattr(fld, "title", None):
            by_title.setdefault(header_key(fld.title), fld.name)
    keys = {c: header_key(c) for c in columns}
    warnings: list[str] = []
    fields: dict[str, str] = {}
    how: dict[str, str] = {}
    claims: dict[str, list[str]] = {}
    claimed: set[str] = set()  # columns that claimed a field, kept or not

    def claim(column: str, target: str, route: str) -> None:
        claimed.add(column)
        claims.setdefault(target, []).append(column)
        if len(claims[target]) == 1:
            fields[column] = target
            how[column] = route

    mapping = mapping or {}
    mapping_by_key = {header_key(k): v for k, v in mapping.items()}
    for column in columns:
        target = mapping.get(column, mapping_by_key.get(keys[column]))
        if target is None:
            continue
        if target in names:
            claim(column, target, "mapping")
        else:
            warnings.append(
                f"Correspondance déclarée « {column} » → « {target} » ignorée : le schéma "
                f"{schema.name} n'a pas de champ « {target} »."
            )
    tiers = (
        ("exact", lambda c: c if c in names else None),
        ("key", lambda c: by_key.get(keys[c])),
        ("title", lambda c: by_title.get(keys[c])),
        ("alias", lambda c: aliases.get(keys[c]) if aliases.get(keys[c]) in names else None),
        ("title-start", lambda c: _only_title_starting_with(keys[c], by_title)),
    )
    for route, find in tiers:
        for column in columns:
            if column in claimed or column in mapping or keys[column] in mapping_by_key:
                continue
            target = find(column)
            if target is not None:
                claim(column, target, route)

    crosswalk = detect_crosswalk(columns, schema)
    combined: dict[str, tuple[list[str], str]] = {}
    split: dict[str, str] = {}
    defaults: dict[str, str] = {}
    if crosswalk is not None:
        free = [c for c in columns if c not in claimed]
        renames = {header_key(old): new for old, new in crosswalk.columns.items()}
        for column in free:
            target = renames.get(keys[column])
            if target in names:
                claim(column, target, "crosswalk")
        for target, spec in crosswalk.combine.items():
            sources = [c for c in columns if keys[c] in {header_key(s) for s in spec.get("from", [])}]
            sources = [c for c in sources if c not in claimed]
            if target not in names or not sources:
                continue
            ordered = sorted(sources, key=lambda c: [header_key(s) for s in spec["from"]].index(keys[c]))
            if target in claims:
                claims[target].extend(ordered)
            else:
                joiner = str(spec.get("joiner", " "))
                claims[target] = [f" {joiner} ".join(ordered)]  # one claim: the columns joined
                combined[target] = (ordered, joiner)
                for c in ordered:
                    how[c] = "crosswalk"
            claimed.update(ordered)
        for old, spec in crosswalk.split.items():
            source = next((c for c in columns if keys[c] == header_key(old) and c not in claimed), None)
            if source is None:
                continue
            targets = [t for t in re.compile(spec["pattern"]).groupindex if t in names and t not in claims]
            if targets:
                split[source] = spec["pattern"]
                how[source] = "crosswalk"
                for target in targets:
                    claims[target] = [source]
        for target, value in crosswalk.defaults.items():
            if target in names and target not in claims:
                defaults[target] = value
                claims[target] = []

    free = [c for c in columns if c not in claimed and c not in how and c not in mapping]
    free = [c for c in free if keys[c] not in mapping_by_key]
    if free:
        labels: dict[str, list[str]] = {}
        for fld in schema.fields:
            labels[fld.name] = [fld.name] + ([fld.title] if getattr(fld, "title", None) else [])
        for target, texts in alias_texts(schema_id).items():
            if target in labels:
                labels[target].extend(texts)
        if crosswalk is not None:
            for old_header, target in crosswalk.columns.items():
                if target in labels:
                    labels[target].append(old_header)
        for column, target in near_matches(free, labels, set(claims)).items():
            claim(column, target, "near")

    ambiguous = {t: cols for t, cols in claims.items() if len(cols) > 1}
    for target, cols in ambiguous.items():
        kept = cols[0]
        others = ", ".join(f"« {c} »" for c in cols[1:])
        warnings.append(
            f"Plusieurs colonnes correspondent au champ « {target} » : « {kept} » est retenue, "
            f"{others} conservée(s) à part sans être utilisée(s)."
        )
    unmatched = [c for c in columns if c not in how]
    missing = [n for n in names if n not in claims]
    # Extra and missing columns are not repeated here: the structure check reports them.
    version = str(schema.version)
    if crosswalk is not None:
        version = crosswalk.from_version
        warnings.insert(
            0,
            f"En-têtes de la version {crosswalk.from_version} du schéma reconnus : colonnes converties "
            f"vers la version {schema.version}.",
        )
    return HeaderMatch(
        fields=fields,
        how=how,
        combined=combined,
        split=split,
        defaults=defaults,
        unmatched=unmatched,
        missing=missing,
        ambiguous=ambiguous,
        version_read=version,
        crosswalk=crosswalk,
        warnings=warnings,
    )
