"""A records or export request, parsed and checked against the dataset's columns (pure, no SQL).

The grammar is data.gouv.fr's tabular API: ``field__exact=v``, ``__differs``, ``__contains``,
``__in=a,b``, ``__less`` (≤), ``__greater`` (≥), ``__strictly_less``, ``__strictly_greater``,
``__isnull``, ``__isnotnull``; plus ``sort=field|-field``, ``columns=a,b``, ``page_size``, ``cursor``,
``count``, ``bbox`` (geo datasets), ``version`` or ``as_of``. Every value is checked against its
field's type here, so a wrong value is a 400 naming the parameter, never a database error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from portal.columns import Column, PublishedDataset
from portal.errors import bad

OPERATORS = (
    "exact",
    "differs",
    "contains",
    "in",
    "less",
    "greater",
    "strictly_less",
    "strictly_greater",
    "isnull",
    "isnotnull",
)
RESERVED = ("page_size", "cursor", "sort", "columns", "count", "bbox", "version", "as_of")
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 20
_COMPARING = ("less", "greater", "strictly_less", "strictly_greater")
_TRUE = ("true", "1", "oui")
_FALSE = ("false", "0", "non")


@dataclass(frozen=True)
class Filter:
    column: Column
    operator: str
    values: tuple[str, ...] = ()  # checked, in the lexical form PostgreSQL casts to the column's type


@dataclass(frozen=True)
class Query:
    filters: tuple[Filter, ...] = ()
    sort: Column | None = None
    descending: bool = False
    columns: tuple[Column, ...] = ()
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    count: bool = False
    bbox: tuple[float, float, float, float] | None = None
    version: int | None = None
    as_of: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_query(
    published: PublishedDataset, params: Iterable[tuple[str, str]], *, allow: Iterable[str] = ()
) -> Query:
    """``params`` (the query string's pairs) as a checked ``Query``; ``allow``: other names tolerated."""
    allowed = set(allow)
    seen: dict[str, str] = {}
    filters: list[Filter] = []
    extra: dict[str, str] = {}
    for name, value in params:
        if name in RESERVED:
            if name in seen:
                raise bad(name, f"Le paramètre « {name} » est donné plusieurs fois.")
            seen[name] = value
        elif name in allowed:
            extra[name] = value
        else:
            filters.append(_filter(published, name, value))
    query = Query(filters=tuple(filters), extra=extra)
    return _options(published, query, seen)


def _filter(published: PublishedDataset, name: str, value: str) -> Filter:
    if "\x00" in value:
        raise bad(name, "La valeur contient un caractère nul.")
    column_name, sep, operator = name.rpartition("__")
    if not sep:
        raise bad(
            name,
            f"Paramètre inconnu « {name} ». Un filtre s'écrit champ__opérateur=valeur "
            f"(opérateurs : {', '.join(OPERATORS)}) ; autres paramètres : {', '.join(RESERVED)}.",
        )
    column = published.column(column_name)
    if column is None:
        raise bad(
            name,
            f"Champ inconnu « {column_name} » dans le paramètre « {name} ». "
            f"Champs de ce jeu : {', '.join(published.names)}.",
        )
    if operator not in OPERATORS:
        raise bad(name, f"Opérateur inconnu « {operator} » (opérateurs : {', '.join(OPERATORS)}).")
    if operator in ("isnull", "isnotnull"):
        if value.strip().lower() not in ("", *_TRUE):
            raise bad(name, f"« {name} » ne prend pas de valeur (ou « true »).")
        return Filter(column, operator)
    if column.is_geometry:
        raise bad(
            name,
            f"Le champ « {column.name} » est une géométrie : filtrez-le avec "
            "bbox=minlon,minlat,maxlon,maxlat ou __isnull.",
        )
    if operator == "contains":
        if value == "":
            raise bad(name, f"« {name} » attend un texte à chercher.")
        return Filter(column, operator, (value,))
    if operator in _COMPARING and column.is_json:
        raise bad(name, f"Le champ « {column.name} » ne se compare pas (liste ou objet).")
    raw = value.split(",") if operator == "in" else [value]
    return Filter(column, operator, tuple(check_value(column, v, name) for v in raw))


def check_value(column: Column, value: str, parameter: str) -> str:
    """``value`` in the lexical form PostgreSQL reads for the column's type; 400 when it is not one."""
    kind = column.type
    text = value.strip()
    try:
        if kind == "number":
            number = Decimal(text)
            if not number.is_finite():
                raise ValueError
            return str(number)
        if kind in ("integer", "year"):
            number = int(text)
            if abs(number) >= 2**63 or (kind == "year" and abs(number) >= 2**31):
                raise ValueError
            return str(number)
        if kind == "boolean":
            lowered = text.lower()
            if lowered in _TRUE:
                return "true"
            if lowered in _FALSE:
                return "false"
            raise ValueError
        if kind == "date":
            return date.fromisoformat(text).isoformat()
        if kind == "datetime":
            return datetime.fromisoformat(text).isoformat()
        if kind == "time":
            return time.fromisoformat(text).isoformat()
    except (ValueError, InvalidOperation, OverflowError):
        expected = {
            "number": "un nombre (point décimal)",
            "integer": "un entier",
            "year": "une année",
            "boolean": "true ou false",
            "date": "une date AAAA-MM-JJ",
            "datetime": "une date-heure ISO 8601",
            "time": "une heure HH:MM:SS",
        }[kind]
        raise bad(parameter, f"« {value} » n'est pas {expected} (champ « {column.name} »).") from None
    return value


def _options(published: PublishedDataset, query: Query, seen: dict[str, str]) -> Query:
    options: dict = {}
    if "sort" in seen:
        raw = seen["sort"]
        descending = raw.startswith("-")
        name = raw[1:] if descending else raw
        column = published.column(name)
        if column is None:
            raise bad("sort", f"Champ de tri inconnu « {name} ». Champs : {', '.join(published.names)}.")
        if not column.sortable:
            raise bad("sort", f"Le champ « {name} » ne se trie pas (géométrie, liste ou objet).")
        options |= {"sort": column, "descending": descending}
    if "columns" in seen:
        names = [n.strip() for n in seen["columns"].split(",") if n.strip()]
        unknown = [n for n in names if published.column(n) is None]
        if unknown or not names:
            raise bad(
                "columns",
                f"Champs inconnus : {', '.join(unknown) or '(aucun champ)'}. "
                f"Champs : {', '.join(published.names)}.",
            )
        options["columns"] = tuple(published.column(n) for n in dict.fromkeys(names))
    if "page_size" in seen:
        try:
            size = int(seen["page_size"])
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise bad("page_size", f"page_size doit être un entier de 1 à {MAX_PAGE_SIZE}.")
        options["page_size"] = size
    if "cursor" in seen:
        options["cursor"] = seen["cursor"]
    if "count" in seen:
        options["count"] = _boolean("count", seen["count"])
    if "bbox" in seen:
        options["bbox"] = parse_bbox(published, seen["bbox"])
    if "version" in seen and "as_of" in seen:
        raise bad("as_of", "Donnez version ou as_of, pas les deux.")
    if "version" in seen:
        try:
            version = int(seen["version"])
        except ValueError:
            version = 0
        if not 1 <= version < 2**31:
            raise bad("version", "version doit être un numéro de version publiée (entier ≥ 1).")
        options["version"] = version
    if "as_of" in seen:
        options["as_of"] = parse_instant("as_of", seen["as_of"])
    if not options:
        return query
    return Query(**{**query.__dict__, **options})


def parse_bbox(published: PublishedDataset, raw: str, parameter: str = "bbox") -> tuple[float, ...]:
    if published.geometry is None:
        raise bad(parameter, f"Le jeu « {published.id} » n'a pas de géométrie : bbox ne s'applique pas.")
    try:
        box = tuple(float(v) for v in raw.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[0] > box[2] or box[1] > box[3]:
        raise bad(parameter, f"{parameter} s'écrit minlon,minlat,maxlon,maxlat (degrés WGS 84, min ≤ max).")
    return box


def parse_instant(parameter: str, raw: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad(
            parameter, f"{parameter} attend une date-heure ISO 8601 (ex. 2026-01-31T12:00:00+01:00)."
        ) from None
    if when.tzinfo is None:
        from zoneinfo import ZoneInfo

        # The platform's local time, as the warehouse reads datetimes without an offset.
        when = when.replace(tzinfo=ZoneInfo("Europe/Paris"))
    return when


def _boolean(parameter: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in ("", *_FALSE):
        return False
    raise bad(parameter, f"{parameter} vaut true ou false.")
