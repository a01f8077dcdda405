"""How a column's value is written out: as JSON, as the published CSV's text, or for a Parquet file."""

from __future__ import annotations

from psycopg import sql

from portal.columns import Column

# Text a spreadsheet would run as a formula (OWASP CSV injection), as the published CSV neutralises
# it (assets/publish/files.py): prefixed with a quote, unless it is a plain decimal number.
_FORMULA = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def json_value(column: Column, ref: sql.Composable) -> sql.Composable:
    """The column as a JSON value: geometries as GeoJSON objects, the rest as PostgreSQL's to_json."""
    if column.is_geometry:
        return sql.SQL("ST_AsGeoJSON({})::json").format(ref)
    return ref


def text_value(column: Column, ref: sql.Composable) -> sql.Composable:
    """The column as the published CSV writes it: each field in its schema's lexical form
    (``assets/publish/lexical.py``, here in SQL so rows stream), formulas neutralised in free text columns
    (``assets/publish/files.py``). ``tests/test_api.py`` compares the two files byte for byte."""
    field = column.field
    descriptor = field.descriptor if field is not None else {}
    if column.type == "boolean":
        true_word = str((descriptor.get("trueValues") or ["true"])[0])
        false_word = str((descriptor.get("falseValues") or ["false"])[0])
        return sql.SQL("CASE WHEN {r} THEN {t} WHEN NOT {r} THEN {f} END").format(
            r=ref, t=sql.Literal(true_word), f=sql.Literal(false_word)
        )
    if column.type == "number":
        text = _shortest(ref)
        decimal = descriptor.get("decimalChar") or "."
        return text if decimal == "." else sql.SQL("replace({}, '.', {})").format(text, sql.Literal(decimal))
    if column.type in ("date", "datetime", "time"):
        pattern = _to_char(field.format if field is not None else None)
        if pattern is not None:
            return sql.SQL("to_char({}, {})").format(ref, sql.Literal(pattern))
        if column.type == "datetime":
            return sql.SQL("to_json({})#>>'{{}}'").format(ref)
        return sql.SQL("{}::text").format(ref)
    if column.type == "geopoint":
        x, y = _shortest(sql.SQL("ST_X({})").format(ref)), _shortest(sql.SQL("ST_Y({})").format(ref))
        form = field.format if field is not None else None
        if form == "array":
            return sql.SQL("'[' || {} || ', ' || {} || ']'").format(x, y)
        if form == "object":
            return sql.SQL("""'{{"lon": ' || {} || ', "lat": ' || {} || '}}'""").format(x, y)
        return sql.SQL("{} || ',' || {}").format(x, y)
    if column.type == "geojson":
        return sql.SQL("ST_AsGeoJSON({})").format(ref)
    if _free_text(column):
        return sql.SQL("CASE WHEN {r} ~ {f} AND {r} !~ {n} THEN '''' || {r} ELSE {r} END").format(
            r=ref, f=sql.Literal(_FORMULA), n=sql.Literal(_PLAIN_NUMBER)
        )
    return sql.SQL("{}::text").format(ref)


def _shortest(ref: sql.Composable) -> sql.Composable:
    """A number as the shortest positional decimal reading back to the same float64, as
    ``numpy.format_float_positional(unique=True, trim="-")``: PostgreSQL's float8 text is the shortest
    already; only its exponent form (beyond 1e15 or below 1e-4) is rewritten positionally."""
    text = sql.SQL("({}::float8)::text").format(ref)
    return sql.SQL(
        "CASE WHEN {t} ~ 'e' "
        "THEN trim(trailing '.' FROM trim(trailing '0' FROM ({r}::float8)::numeric::text)) ELSE {t} END"
    ).format(t=text, r=ref)


_STRFTIME = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH24", "%M": "MI", "%S": "SS", "%%": "%"}


def _to_char(form: str | None) -> str | None:
    """A Table Schema ``format`` pattern (strftime) as a to_char pattern; None when it has none or
    uses a directive outside the common ones (the value is then written in ISO 8601)."""
    if not form or "%" not in form:
        return None
    out, index = [], 0
    while index < len(form):
        if form[index] == "%":
            directive = form[index : index + 2]
            if directive not in _STRFTIME:
                return None
            out.append(_STRFTIME[directive])
            index += 2
        else:
            out.append(f'"{form[index]}"' if form[index].isalpha() else form[index])
            index += 1
    return "".join(out)


def _free_text(column: Column) -> bool:
    """Text a formula could hide in: a string field with no format, pattern or enum, or a lineage
    column (``assets/publish/files.py`` neutralises the same)."""
    field = column.field
    if field is None:
        return column.type == "string"
    constrained = field.format not in (None, "default") or {"pattern", "enum"} & set(field.constraints)
    return field.type in ("string", "any") and not constrained


def binary_value(column: Column, ref: sql.Composable) -> sql.Composable:
    """The column for a Parquet file: geometries as WKB (GeoParquet), the rest as text that pyarrow
    casts to the column's type (no formula neutralising: no spreadsheet runs a Parquet cell)."""
    if column.is_geometry:
        return sql.SQL("ST_AsBinary({})").format(ref)
    if column.type in ("boolean", "datetime"):
        return sql.SQL("to_json({})#>>'{{}}'").format(ref)
    return sql.SQL("{}::text").format(ref)
