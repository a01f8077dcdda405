"""The last gate before publication: great-expectations checks run inside PostgreSQL.

The territory table (``published_candidate`` or ``published.<dataset>``) is checked where it lives:
GX's SQL data source turns every expectation into a query (``COUNT``, ``GROUP BY ... HAVING``,
``IS NULL``, ``NOT IN``), so a table of a million rows is never pulled into pandas.

The suite is generated from the Table Schema, never written by hand per dataset:

- the dataset's key unique across the whole territory (two producers publishing the same key is
  the duplicate the per-producer validation cannot see): ``key`` if given, else the schema's
  ``primaryKey``; each of the schema's ``uniqueKeys`` too;
- every ``required`` field not null;
- every ``enum`` respected (nulls are left to the required check);
- with ``geo``, a geometry on every row: the schema's ``geopoint``/``geojson`` fields, or, for a
  schema that carries coordinates as two numbers (BAL, équipements), the derived ``geom`` column;
- the row count within the expected range, when one is known (a territory table that halves from
  one run to the next is a failed harvest, not a change of the territory).

great_expectations costs ~6 s to import: it is imported inside the functions that need it, so
importing this module (the Dagster code location does) stays free.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from quality.geo import GEOMETRY_TYPES

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

    from quality.schema import TableSchema

DEFAULT_GEOMETRY_COLUMN = "geom"
# What the gate imports when it runs (seconds), named for callers that import it ahead of time
# (``territoire run`` does, in the background, while partitions are ingested).
LIBRARIES = ("geoalchemy2", "great_expectations")
# Enough offending values for a person to recognise the problem, few enough to keep reports light.
_SAMPLE = 20


@dataclass(frozen=True)
class ExpectationOutcome:
    name: str  # e.g. "unique:idAttribuant,dateConvention", "required:montant", "enum:nature"
    success: bool
    observed: Any  # row count, or number of offending rows
    details: dict[str, Any] = field(default_factory=dict)  # description, sample, exception


@dataclass(frozen=True)
class GateResult:
    table: str  # "schema.table"
    success: bool
    results: list[ExpectationOutcome]
    seconds: float

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]


def geometry_columns(schema: TableSchema) -> list[str]:
    """The columns that must hold a geometry in a geographic dataset."""
    columns = [f.name for f in schema.fields if f.type in GEOMETRY_TYPES]
    return columns or [DEFAULT_GEOMETRY_COLUMN]


@dataclass(frozen=True)
class PlannedExpectation:
    """One expectation of the suite, before great-expectations is imported."""

    name: str  # "unique:a,b", "required:f", "enum:f", "geometry:g", "row-count"
    kind: str  # the GX expectation class name
    kwargs: dict[str, Any]
    description: str


def plan_suite(
    schema: TableSchema,
    *,
    geo: bool,
    key: list[str] | None,
    expected_rows: tuple[int, int] | None,
) -> list[PlannedExpectation]:
    """The suite's expectations as plain data (see module doc); cheap, no GX import.

    The Dagster asset declares one check per planned expectation when the code location loads, and
    ``build_suite`` turns the same plan into GX objects at run time: the two cannot drift apart.
    """
    plan: list[PlannedExpectation] = []
    keys = [list(key)] if key else ([list(schema.primary_key)] if schema.primary_key else [])
    keys += [list(k) for k in schema.unique_keys if list(k) not in keys]
    for columns in keys:
        unknown = [c for c in columns if c not in schema.field_names]
        if unknown:
            raise ValueError(f"clé {columns} : champs absents du schéma {schema.name} : {unknown}")
        label = ", ".join(columns)
        description = f"Chaque valeur de la clé ({label}) n'apparaît qu'une fois sur tout le territoire."
        if len(columns) == 1:
            plan.append(
                PlannedExpectation(
                    f"unique:{label}", "ExpectColumnValuesToBeUnique", {"column": columns[0]}, description
                )
            )
        else:
            # A key with a missing part is still a key: two rows with (X, NULL) collide.
            plan.append(
                PlannedExpectation(
                    f"unique:{','.join(columns)}",
                    "ExpectCompoundColumnsToBeUnique",
                    {"column_list": columns, "ignore_row_if": "never"},
                    description,
                )
            )
    for f in schema.fields:
        if f.required:
            plan.append(
                PlannedExpectation(
                    f"required:{f.name}",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": f.name},
                    f"Le champ obligatoire « {f.name} » est renseigné sur chaque ligne.",
                )
            )
    for f in schema.fields:
        enum = f.constraints.get("enum")
        if enum:
            plan.append(
                PlannedExpectation(
                    f"enum:{f.name}",
                    "ExpectColumnValuesToBeInSet",
                    {"column": f.name, "value_set": list(enum)},
                    f"Le champ « {f.name} » ne prend que les valeurs admises par le schéma.",
                )
            )
    if geo:
        for column in geometry_columns(schema):
            plan.append(
                PlannedExpectation(
                    f"geometry:{column}",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": column},
                    f"Chaque ligne a une géométrie (« {column} »).",
                )
            )
    if expected_rows is not None:
        low, high = expected_rows
        if low > high:
            raise ValueError(f"plage de lignes attendue invalide : {expected_rows}")
        plan.append(
            PlannedExpectation(
                "row-count",
                "ExpectTableRowCountToBeBetween",
                {"min_value": low, "max_value": high},
                f"La table compte entre {low} et {high} lignes.",
            )
        )
    return plan


# The kind of each expectation as the data team reads it in the Dagster UI (check names are shown there).
_CHECK_KINDS_FR = {
    "unique": "unique",
    "required": "obligatoire",
    "enum": "liste",
    "geometry": "geometrie",
    "row-count": "nombre_de_lignes",
}


def check_name(expectation_name: str) -> str:
    """A Dagster check name for an expectation, in French (check names allow only letters, digits, ``_``)."""
    kind, _, rest = expectation_name.partition(":")
    name = _CHECK_KINDS_FR.get(kind, kind) + (f"_{rest}" if rest else "")
    return "porte_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def build_suite(
    schema: TableSchema,
    table: str,
    *,
    geo: bool,
    key: list[str] | None,
    expected_rows: tuple[int, int] | None,
) -> list[Expectation]:
    """The expectations of one territory table, derived from its Table Schema (see module doc)."""
    import great_expectations as gx

    suite: list[Expectation] = []
    for planned in plan_suite(schema, geo=geo, key=key, expected_rows=expected_rows):
        expectation = getattr(gx.expectations, planned.kind)(**planned.kwargs)
        expectation.meta = {"name": planned.name, "table": table}
        expectation.description = planned.description
        suite.append(expectation)
    return suite


def run_gate(engine: sa.Engine, schema_name: str, table: str, expectations: list[Expectation]) -> GateResult:
    """Run ``expectations`` against ``schema_name.table`` in PostgreSQL, as SQL queries.

    ``engine`` is the warehouse resource's (the caller passes it; quality/ never reaches for
    resources/): the table is looked up on its pool. GX builds its SQL data source from a connection
    string, never from an engine, so it is given the engine's URL, with the table's schema as its
    search_path; its connections are closed at the end. Nothing is persisted: the GX context is
    ephemeral.
    """
    # Registers PostGIS types with SQLAlchemy's reflection: GX reflects the table's column types
    # first, and an unknown "geometry" column would fail every expectation of the suite.
    import geoalchemy2  # noqa: F401
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    start = time.perf_counter()
    _require_table(engine, schema_name, table)
    context = gx.get_context(mode="ephemeral")
    # Dagster's log is no place for tqdm bars.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    run = uuid.uuid4().hex[:8]
    # The schema goes into the connection's search_path, as GX 1.x asks (the asset's schema_name is
    # deprecated); the table is then found, and its types reflected, under that schema only.
    connection_string = _with_search_path(engine.url.render_as_string(hide_password=False), schema_name)
    source = context.data_sources.add_postgres(name=f"warehouse-{run}", connection_string=connection_string)
    asset = source.add_table_asset(name=f"{schema_name}.{table}", table_name=table)
    batch = asset.add_batch_definition_whole_table("whole-table").get_batch()
    # Copies: GX binds an expectation to the suite it joins, and a suite may be run more than once.
    suite = gx.ExpectationSuite(name=f"gate-{table}-{run}", expectations=[e.copy() for e in expectations])
    suite = context.suites.add(suite)
    validation = batch.validate(
        suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": _SAMPLE}
    )
    results = [_outcome(r) for r in validation.results]
    _dispose(source)
    return GateResult(
        table=f"{schema_name}.{table}",
        success=all(r.success for r in results),
        results=results,
        seconds=time.perf_counter() - start,
    )


def _outcome(result) -> ExpectationOutcome:
    config = result.expectation_config
    meta = config.meta or {}
    raw = result.result or {}
    exception = result.exception_info or {}
    details: dict[str, Any] = {"description": config.description}
    if "observed_value" in raw:
        observed = raw["observed_value"]
    else:
        observed = raw.get("unexpected_count")
        details["element_count"] = raw.get("element_count")
        details["unexpected_percent"] = raw.get("unexpected_percent")
        sample = raw.get("partial_unexpected_list")
        if sample:
            details["sample"] = [_plain(v) for v in sample]
    # GX gives one exception as a flat dict, or several keyed by the metric that raised them.
    raised = [exception] if "raised_exception" in exception else list(exception.values())
    messages = [
        e.get("exception_message") for e in raised if isinstance(e, dict) and e.get("raised_exception")
    ]
    if messages:
        # A missing column, a type the query cannot compare: the check did not run, so it fails.
        details["exception"] = "; ".join(dict.fromkeys(str(m) for m in messages))
    return ExpectationOutcome(
        name=meta.get("name", config.type),
        success=bool(result.success),
        observed=_plain(observed),
        details=details,
    )


def _plain(value: Any) -> Any:
    """JSON-friendly values (GX hands back Row objects and numpy scalars)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def _require_table(engine: sa.Engine, schema_name: str, table: str) -> None:
    # With a search_path, a table missing from its schema could be found in public instead.
    with engine.connect() as conn:
        found = sa.inspect(conn).has_table(table, schema=schema_name)
    if not found:
        raise LookupError(f"table {schema_name}.{table} introuvable dans l'entrepôt")


def _with_search_path(url: str, schema_name: str) -> str:
    parsed = sa.make_url(url)
    # public stays second: PostGIS lives there, and "geometry" must be reflected by its bare name.
    path = f"-csearch_path={schema_name},public"
    options = " ".join(filter(None, [parsed.query.get("options"), path]))
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _dispose(source) -> None:
    # GX keeps an engine per data source; an ephemeral context would otherwise leak its connections.
    engine = getattr(source, "_cached_engine", None) or getattr(source, "_engine", None)
    if isinstance(engine, sa.Engine):
        engine.dispose()


__all__ = [
    "DEFAULT_GEOMETRY_COLUMN",
    "LIBRARIES",
    "ExpectationOutcome",
    "GateResult",
    "PlannedExpectation",
    "build_suite",
    "check_name",
    "geometry_columns",
    "plan_suite",
    "run_gate",
]
