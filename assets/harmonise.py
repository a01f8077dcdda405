"""Staged frame → harmonised frame: producer columns matched to schema fields, cells normalised.

Header matching, in order of precedence: the producer's explicit mapping from the registry, the exact
field name, a key insensitive to case/accents/spaces/punctuation (``Date convention`` ==
``dateConvention`` == ``DATE_CONVENTION``), the field's title under the same key (« Nom de
l'attribuant »), the beginning of exactly one title (« Date de la convention » for « Date de la
convention de subvention »; at least 6 letters, never ambiguous) after the aliases declared in
``quality/aliases/<schema>.yaml`` (« SIRET bénéficiaire »), then a crosswalk declared for an
older version of the schema (``quality/crosswalks/*.yaml``: renamed, combined and split columns), and
last an unambiguous near match (:mod:`assets.header_near`: plurals, « (s) », a missing last word,
words in another order, one mistyped letter). The names and titles of the schema's earlier published
versions (``versions:`` in the aliases file) count as aliases. Two columns claiming one field: the
first (by precedence, then by position) wins, the other is kept aside and reported.

Value aliases (``values:`` in the aliases file: « Numéraire » → « aide en numéraire ») are applied
after the type's normalisations and counted; identifiers that a spreadsheet turned into numbers get
their lost leading zeros back only when the padded value passes the identifier's own check (SIRET,
SIREN: :mod:`assets.identifier_zeros`).

Nothing is dropped: source columns that match no field are returned as ``extra`` with the same index,
and invalid cells are left as they came for the validator to quarantine with their original value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from assets.geojson_cells import geojson_cells
from assets.geometry import Points, format_degrees, outside_territory, points_from_xy, points_to_ewkt
from assets.header_near import near_matches
from assets.identifier_zeros import checked_identifiers, restore_zeros
from assets.normalise import fold, normalise_column

CROSSWALK_DIR = Path(__file__).resolve().parents[1] / "quality" / "crosswalks"
ALIASES_DIR = Path(__file__).resolve().parents[1] / "quality" / "aliases"
ERROR_COLUMNS = ["row", "field", "rule", "value", "message"]


def header_key(header: str) -> str:
    """Comparison key of a header: no BOM, accents, case, spaces or punctuation."""
    text = str(header).replace("\ufeff", "").removeprefix("ï»¿")  # BOM, also when decoded as cp1252
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "", text.casefold())


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
def _aliases(schema_id: str) -> dict[str, str]:
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
    aliases = _aliases(schema_id)
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

    crosswalk = _detect_crosswalk(columns, schema)
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


def _detect_crosswalk(columns: list[str], schema: Any) -> Crosswalk | None:
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


@dataclass
class Harmonised:
    frame: pd.DataFrame  # same index as the staged frame; exactly the schema's fields, in order
    extra: pd.DataFrame  # source columns that feed no field, same index
    normalisations: dict[str, int]  # kind -> cells changed
    header_match: HeaderMatch
    version_read: str
    warnings: list[str]
    errors: pd.DataFrame  # [row, field, rule, value, message], as the validator's errors
    outside_territory: dict[str, list] = field(default_factory=dict)  # geopoint field -> row labels


# Custom checks that declare a field to be a numeric code, so it is normalised like one even when the
# field itself carries no pattern (SCDL's idBeneficiaire is only checked by french-siret-value).
CODE_CHECKS = {"french-siret-value": r"^\d{14}$", "french-siren-value": r"^\d{9}$"}


def identifier_patterns(schema: Any) -> dict[str, str]:
    """Field -> digits pattern implied by the schema's custom checks."""
    patterns: dict[str, str] = {}
    for check in getattr(schema, "custom_checks", None) or []:
        pattern = CODE_CHECKS.get(check.get("name", ""))
        column = (check.get("params") or {}).get("column")
        if pattern and column:
            patterns[column] = pattern
    return patterns


def _combine(frame: pd.DataFrame, sources: list[str], joiner: str) -> pd.Series:
    parts = [frame[c].astype(str).str.strip() for c in sources]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + joiner + part
    # Drop the joiner only where trailing parts are empty, so "début/" becomes "début" while "/fin"
    # stays visibly incomplete for the validator.
    trailing = re.escape(joiner) + "*$" if len(joiner) == 1 else f"(?:{re.escape(joiner)})*$"
    joined = joined.str.replace(trailing, "", regex=True)
    return joined.where(joined.str.strip(joiner) != "", "")


def harmonise(frame: pd.DataFrame, schema: Any, mapping: dict[str, str] | None = None) -> Harmonised:
    """Rename, combine and normalise a staged frame into the schema's fields (see module docstring)."""
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    match = match_headers(columns, schema, mapping)
    empty = pd.Series("", index=frame.index, dtype=object)
    data: dict[str, pd.Series] = {}
    for source, target in match.fields.items():
        data[target] = frame[source]
    for target, (sources, joiner) in match.combined.items():
        data[target] = _combine(frame, sources, joiner)
    for source, pattern in match.split.items():
        parts = frame[source].astype(str).str.extract(pattern)
        for target in parts.columns:
            if target in schema.field_names and target not in data:
                data[target] = parts[target].fillna("")
    for target, value in match.defaults.items():
        data[target] = pd.Series(value, index=frame.index, dtype=object)

    digits = identifier_patterns(schema)
    zero_checks = checked_identifiers(schema)
    values = value_aliases(Path(str(getattr(schema, "path", "") or "")).parent.name)
    counts: dict[str, int] = {}
    warnings = list(match.warnings)
    errors: list[pd.DataFrame] = []
    territory: dict[str, list] = {}
    out: dict[str, pd.Series] = {}
    for fld in schema.fields:
        series = data.get(fld.name)
        if series is None:
            out[fld.name] = empty
            continue
        if series.dtype != "str" and pd.api.types.infer_dtype(series, skipna=False) != "string":
            series = series.astype(str)  # text already (a staged frame's columns) is not copied
        series, changed = normalise_column(series, fld, digits.get(fld.name))
        if fld.name in zero_checks:
            series, n = restore_zeros(series, zero_checks[fld.name])
            changed = {**changed, "identifier-zeros": n} if n else changed
        if fld.name in values:
            series, n = _apply_value_aliases(series, values[fld.name])
            changed = {**changed, "value-alias": n} if n else changed
        if fld.type == "geojson":
            series, n = geojson_cells(series)
            changed = {**changed, "geometry-geojson": n} if n else changed
        if fld.type == "geopoint":
            points = points_to_ewkt(series)
            # The cell keeps the field's own lexical form (the validator reads ``[lon, lat]`` for an
            # array geopoint and types it to EWKT), with the coordinates fixed.
            fixed = series.where(~points.parsed, _geopoint_text(points.lon, points.lat, fld.format))
            changed.update({k: v for k, v in points.counts.items() if k != "geometry"})
            changed["geometry"] = int((fixed != series).sum())
            series = fixed
            errors.append(_outside_france_errors(points.outside_france, data[fld.name], fld.name))
            rows = _outside_territory(points)
            if rows:
                territory[fld.name] = rows
                warnings.append(_territory_warning(rows, f"de la colonne « {fld.name} »"))
        for kind, n in changed.items():
            counts[kind] = counts.get(kind, 0) + n
        out[fld.name] = series.astype(object)

    for name, (lon, lat) in getattr(schema, "point_fields", {}).items():
        if lon not in data or lat not in data:
            continue  # the structure check reports the missing column; no point without both
        points = points_from_xy(out[lon], out[lat])
        out[name] = (
            out[lon]
            .where(~points.parsed, _geopoint_text(points.lon, points.lat, None))
            .where(points.parsed, "")
        )
        for kind, n in points.counts.items():
            if kind != "geometry":  # building the point is not a change to the producer's cells
                counts[kind] = counts.get(kind, 0) + n
        # Reprojected or swapped pairs are rewritten in their own columns so lon/lat agree with the point.
        given_lon = pd.to_numeric(out[lon].str.replace(",", ".", regex=False), errors="coerce")
        given_lat = pd.to_numeric(out[lat].str.replace(",", ".", regex=False), errors="coerce")
        moved = (
            points.parsed
            & ~points.outside_france
            & ((given_lon - points.lon).abs() + (given_lat - points.lat).abs() > 1e-9)
        )
        if moved.any():
            out[lon] = out[lon].where(
                ~moved, pd.Series(format_degrees(points.lon[moved].to_numpy()), index=moved[moved].index)
            )
            out[lat] = out[lat].where(
                ~moved, pd.Series(format_degrees(points.lat[moved].to_numpy()), index=moved[moved].index)
            )
            counts["coordinates"] = counts.get("coordinates", 0) + 2 * int(moved.sum())
        pair = data[lon].astype(str) + ", " + data[lat].astype(str)
        errors.append(_outside_france_errors(points.outside_france, pair, lon, columns=(lon, lat)))
        rows = _outside_territory(points)
        if rows:
            territory[name] = rows
            warnings.append(_territory_warning(rows, f"des colonnes « {lon} » / « {lat} »"))

    harmonised = pd.DataFrame(out, index=frame.index, columns=list(schema.field_names))
    kept_aside = match.unmatched
    extra = frame[kept_aside].astype(object) if kept_aside else pd.DataFrame(index=frame.index)
    error_frame = pd.concat(errors, ignore_index=True) if errors else pd.DataFrame(columns=ERROR_COLUMNS)
    return Harmonised(
        frame=harmonised,
        extra=extra,
        normalisations=counts,
        header_match=match,
        version_read=match.version_read,
        warnings=warnings,
        errors=error_frame,
        outside_territory=territory,
    )


def _apply_value_aliases(series: pd.Series, aliases: dict[str, str]) -> tuple[pd.Series, int]:
    """Values written as a declared alias (case, accents and spaces aside) replaced by the canonical one."""
    text = series.astype(str)
    canonical = text.map(lambda v: aliases.get(fold(v)) if v else None)
    hit = canonical.notna() & (canonical != text)
    if not hit.any():
        return series, 0
    out = series.astype(object).copy()
    out[hit] = canonical[hit]
    return out, int(hit.sum())


def _geopoint_text(lon: pd.Series, lat: pd.Series, fmt: str | None) -> pd.Series:
    """Coordinates written as a Table Schema geopoint of format ``fmt`` (default ``lon,lat``)."""
    index = lon.index
    known = lon.notna() & lat.notna()
    x = pd.Series("", index=index, dtype=object)
    y = pd.Series("", index=index, dtype=object)
    if known.any():
        x[known] = format_degrees(lon[known].to_numpy())
        y[known] = format_degrees(lat[known].to_numpy())
    if fmt == "array":
        return "[" + x + ", " + y + "]"
    if fmt == "object":
        return '{"lon": ' + x + ', "lat": ' + y + "}"
    return x + "," + y


def _outside_territory(points: Points) -> list:
    inside_france = points.parsed & ~points.outside_france
    return outside_territory(points.lon[inside_france], points.lat[inside_france])


def _territory_warning(rows: list, where: str) -> str:
    shown = ", ".join(str(r) for r in rows[:20]) + (" …" if len(rows) > 20 else "")
    return (
        f"{len(rows)} point(s) {where} hors du territoire de Tours Métropole Val de Loire "
        f"(lignes {shown}) : à vérifier."
    )


def _outside_france_errors(
    outside: pd.Series, original: pd.Series, name: str, columns: tuple[str, str] | None = None
) -> pd.DataFrame:
    rows = outside[outside].index
    values = original.loc[rows].astype(str)
    where = f"colonnes « {columns[0]} » / « {columns[1]} »" if columns else f"colonne « {name} »"
    return pd.DataFrame(
        {
            "row": pd.Series(rows, dtype="int64"),
            "field": name,
            "rule": "outside-france",
            "value": values.to_numpy(),
            "message": [
                f"Ligne {r}, {where} : le point « {v} » n'est pas en France (ni en inversant "
                "longitude et latitude)."
                for r, v in zip(rows, values, strict=True)
            ],
        },
        columns=ERROR_COLUMNS,
    )
