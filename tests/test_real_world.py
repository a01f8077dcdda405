"""Every real file of ``../shared/reference/real-world*/`` through the platform, as a commune would send it.

The corpus is walked, not listed: a file added later is picked up with no code change. A file's folder
names its schema (``real-world-subventions/`` holds SCDL subventions); the registered dataset with that
schema receives it, dropped as a distinct commune (one current file per producer), and one
`territoire run` (Dagster, real PostgreSQL/PostGIS) takes everything. Then, per file: exactly one batch,
``loaded`` or ``refused`` (never ``failed``), rows read = accepted + quarantined; every accepted cell
equals the source cell re-read by the reader, or that cell's normalisation of a kind the batch report
counts; and the published CSV of every dataset that received rows passes frictionless (schema_sync, as
Validata runs it) with no row error.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import REFERENCE, _create_database, _drop_database
from test_parity_frictionless import _frictionless_set
from typer.testing import CliRunner

from assets.dataset_schema import dataset_schema
from assets.harmonise.frame import identifier_patterns
from assets.harmonise.headers import match_headers
from assets.harmonise.normalise.column import normalise_column
from assets.read import read_table
from pipelines.cli import app
from quality.privacy import MASKED_EMAIL, MASKED_PHONE, MASKED_VALUE, NATURAL_PERSON
from quality.reports.paths import report_paths
from resources.registry.load import load_registry

pytestmark = pytest.mark.slow

REGISTRY = load_registry()
CORPUS = [REFERENCE / "real-world", REFERENCE / "real-world-subventions"]
# A folder that is not itself named after a schema says which one it holds.
FOLDER_SCHEMA = {"real-world-subventions": "scdl-subventions"}
DROPPERS = [p.id for p in REGISTRY.producers if p.kind in ("commune", "metropole")]
COMPARED_TYPES = {"string", "number", "integer", "boolean", "date", "time", "year"}
MASKS = (MASKED_EMAIL, MASKED_PHONE, MASKED_VALUE, NATURAL_PERSON)


def corpus() -> list[tuple[str, Path]]:
    """(schema name, file) for every data file of the corpus folders."""
    found = []
    for root in CORPUS:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() != ".md" and not path.name.startswith("."):
                folder = path.parent.name
                found.append((FOLDER_SCHEMA.get(folder, folder), path))
    return found


FILES = corpus()


def _dataset_for(schema_name: str):
    return next((d for d in REGISTRY.datasets.values() if d.schema_name == schema_name), None)


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    home = tmp_path_factory.mktemp("real-world")
    name = f"territoire_test_{uuid.uuid4().hex[:10]}"
    url = _create_database(name)
    patch = pytest.MonkeyPatch()
    patch.setenv("TERRITOIRE_HOME", str(home))
    patch.setenv("DAGSTER_HOME", str(home / "dagster"))
    patch.setenv("TERRITOIRE_WAREHOUSE_URL", url)
    runner = CliRunner()
    dropped: dict[Path, tuple[str, str]] = {}  # file -> (dataset, producer)
    used: Counter[str] = Counter()
    for schema_name, path in FILES:
        dataset = _dataset_for(schema_name)
        if dataset is None:
            continue
        producer = DROPPERS[used[dataset.id]]
        used[dataset.id] += 1
        result = runner.invoke(app, ["drop", producer, dataset.id, str(path)])
        assert result.exit_code == 0, result.output
        dropped[path] = (dataset.id, producer)
    run = runner.invoke(app, ["run"])
    engine = sa.create_engine(url)
    yield {"home": home, "engine": engine, "run": run, "dropped": dropped}
    engine.dispose()
    patch.undo()
    _drop_database(name)


def _batches(engine, table: str, producer: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text("SELECT * FROM meta.batches WHERE dataset = :t AND producer = :p"),
            conn,
            params={"t": table, "p": producer},
        )


def _report(home: Path, batch: pd.Series, dataset_id: str) -> dict:
    _html, path, _csv = report_paths(
        {"producer": batch["producer"], "dataset": dataset_id, "batch_id": batch["batch_id"]},
        home / "reports",
    )
    return json.loads(path.read_text(encoding="utf-8"))


def _same(field, stored: str | None, text: str) -> bool:
    """Whether the warehouse's value (as PostgreSQL prints it) is the text cell, read as the field's type."""
    text = text if text is not None else ""
    if stored is None:
        return text.strip() == "" or text in ("NA", "N/A", "null")  # missing values
    if field.type == "string":
        return stored == text
    if field.type in ("number", "integer", "year"):
        try:
            return Decimal(stored) == Decimal(text.strip())
        except InvalidOperation:
            return False
    if field.type == "boolean":
        true = [str(v) for v in field.descriptor.get("trueValues", ["true", "True", "TRUE", "1"])]
        false = [str(v) for v in field.descriptor.get("falseValues", ["false", "False", "FALSE", "0"])]
        return (stored == "true" and text in true) or (stored == "false" and text in false)
    return stored == text.strip()


def _compare_cells(state, dataset, producer: str, path: Path, report: dict) -> tuple[int, list[str]]:
    """Cells compared and the differences the report does not account for."""
    schema = dataset_schema(dataset)
    source = read_table(path).frame
    columns = [str(c) for c in source.columns]
    source = source.set_axis(columns, axis=1)
    match = match_headers(columns, schema, dataset.source_for(producer).columns or None)
    counted = {k for k, v in report.get("normalisations", {}).items() if v}
    masked = any(report.get("privacy", {}).values())
    digits = identifier_patterns(schema)
    point_parts = {c for pair in getattr(schema, "point_fields", {}).values() for c in pair}
    fields = {
        src: schema.field(fld)
        for src, fld in match.fields.items()
        if schema.field(fld).type in COMPARED_TYPES and fld not in point_parts
    }
    if not fields:
        return 0, []
    names = list(dict.fromkeys(f.name for f in fields.values()))
    select = ", ".join(f'"{n}"::text AS "{n}"' for n in names)
    with state["engine"].connect() as conn:
        stored = pd.read_sql(
            sa.text(f"SELECT source_row, {select} FROM harmonised.{dataset.table} WHERE producer = :p"),
            conn,
            params={"p": producer},
        ).set_index("source_row")
    stored = stored.astype(object).where(stored.notna(), None)
    compared, problems = 0, []
    for src, fld in fields.items():
        column = source[src].astype(str)
        normalised, kinds = normalise_column(column, fld, digits.get(fld.name))
        declared = {k for k, v in kinds.items() if v} & counted
        for row, value in stored[fld.name].items():
            compared += 1
            original = column.get(row)
            if _same(fld, value, original) or _same(fld, value, original.strip()):
                continue
            if declared and _same(fld, value, normalised.get(row)):
                continue
            if masked and value is not None and any(m in value for m in MASKS):
                continue
            problems.append(f"ligne {row}, {src} → {fld.name} : source {original!r}, stocké {value!r}")
    return compared, problems


@pytest.mark.parametrize(("schema_name", "path"), FILES, ids=[p.name for _, p in FILES])
def test_real_file_ends_as_one_loaded_or_refused_batch(territory, schema_name, path):
    dataset = _dataset_for(schema_name)
    assert dataset is not None, f"aucun jeu de données du registre ne publie le schéma {schema_name}"
    assert territory["run"].exit_code == 0, territory["run"].output
    dataset_id, producer = territory["dropped"][path]
    batches = _batches(territory["engine"], dataset.table, producer)
    assert len(batches) == 1, batches
    batch = batches.iloc[0]
    assert batch["file_name"] == path.name
    assert batch["status"] in ("loaded", "refused"), batch["message"]
    assert batch["rows_read"] == batch["rows_accepted"] + batch["rows_quarantined"]
    report = _report(territory["home"], batch, dataset_id)
    compared, problems = (0, [])
    if batch["status"] == "loaded" and batch["rows_accepted"]:
        compared, problems = _compare_cells(territory, dataset, producer, path, report)
    reasons = Counter(f"{e['field']}:{e['rule']}" for e in report.get("errors", []))
    territory.setdefault("table", []).append(
        (
            path.name,
            batch["status"],
            batch["rows_read"],
            batch["rows_accepted"],
            batch["rows_quarantined"],
            compared,
            ", ".join(f"{k} ×{n}" for k, n in reasons.most_common(3)) or batch["message"][:80],
        )
    )
    assert not problems, "\n".join(problems[:20])


def test_published_files_pass_frictionless(territory):
    """The published CSV of every dataset that received rows, validated as Validata does: 0 row errors."""
    assert territory["run"].exit_code == 0, territory["run"].output
    published = sorted({d for d, _ in territory["dropped"].values()})
    checked = {}
    for dataset_id in published:
        dataset = REGISTRY.dataset(dataset_id)
        path = territory["home"] / "publish" / f"{dataset_id}.csv"
        if not path.exists():
            continue  # nothing accepted: nothing published
        errors = _frictionless_set(dataset.schema_name, path)
        checked[dataset_id] = sorted(errors)[:5], len(errors)
    print_table(territory.get("table", []))
    assert checked
    failing = {d: v for d, v in checked.items() if v[1]}
    assert not failing, failing


def print_table(rows: list[tuple]) -> None:
    header = (
        "fichier",
        "statut",
        "lues",
        "acceptées",
        "quarantaine",
        "cellules comparées",
        "motifs principaux",
    )
    print()
    print(" | ".join(header))
    for row in sorted(rows):
        print(" | ".join(str(c) for c in row))
    loaded = sum(1 for r in rows if r[1] == "loaded")
    print(
        f"{len(rows)} fichiers : {loaded} chargés, {len(rows) - loaded} refusés ; "
        f"{sum(r[2] for r in rows)} lignes lues, {sum(r[3] for r in rows)} acceptées"
    )
