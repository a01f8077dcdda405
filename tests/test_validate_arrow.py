"""validate_frame gives one verdict by any path: Arrow or object text, pooled or not, codes known or not."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import quality.validate.frame as validate_module
from quality.schema import load_schema, load_schema_file
from quality.validate import validate_frame
from quality.validate.cellwise import cell_validator, validate_number_cells, validate_string_cells
from quality.validate.checks import run_custom_checks

FIELDS = [
    {"name": "siret", "type": "string", "constraints": {"required": True, "pattern": "^[0-9 ]+$"}},
    {"name": "n", "type": "number", "constraints": {"minimum": 0, "maximum": 100}},
    {"name": "i", "type": "integer", "constraints": {"unique": True}},
    {"name": "b", "type": "boolean"},
    {"name": "d", "type": "date"},
    {"name": "a", "type": "string"},
    {"name": "gps", "type": "geopoint"},
    {
        "name": "e",
        "type": "string",
        "constraints": {"required": True, "enum": ["x", "y", "zz"], "maxLength": 1, "minLength": 1},
    },
]
CHECKS = [
    {"name": "french-siret-value", "params": {"column": "siret"}},
    {"name": "one-of-required", "params": {"column1": "a", "column2": "d"}},
    {"name": "compare-columns-value", "params": {"column": "n", "column2": "i", "op": "<="}},
    {"name": "year-interval-value", "params": {"column": "a"}},
    {"name": "french-gps-coordinates", "params": {"column": "gps"}},
]
ROWS = [
    # siret, n, i, b, d, a, gps, e
    ("52499120500013", "1.5", "3", "true", "2020-01-01", "2019/2020", "0.68,47.39", "x"),
    ("52499120500014", "1_0", "3", "oui", "2020-02-30", "", "47.39,0.68", "zz"),
    ("NA", "NaN", "x", "", "", "", "NA", "NA"),
    ("524 991 205 00013", "-1", "2", "0", "NA", "2020/2019", "200,1", ""),
    ("abc", " 7 ", "1", "FALSE", "2021-12-31", "NA", "", "w"),
    ("52499120500013", "1e400", "1", "1", "2020-01-01", "2019/2020", "0.68,47.39", "é"),
]


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("arrow") / "schema.json"
    path.write_text(
        json.dumps({"fields": FIELDS, "custom_checks": CHECKS, "missingValues": ["", "NA"]}), encoding="utf-8"
    )
    return load_schema_file(path, name="essai-arrow")


def _frame(rows: int, dtype: str | None) -> pd.DataFrame:
    records = [ROWS[r % len(ROWS)] for r in range(rows)]
    frame = pd.DataFrame(records, columns=[f["name"] for f in FIELDS], index=pd.RangeIndex(2, rows + 2))
    return frame.astype(dtype) if dtype else frame


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.errors, b.errors)
    pd.testing.assert_frame_equal(a.typed, b.typed)
    pd.testing.assert_index_equal(a.invalid_index, b.invalid_index)


def test_arrow_and_object_text_get_the_same_verdict(schema) -> None:
    arrow = _frame(len(ROWS), "str")
    assert arrow["siret"].dtype.storage == "pyarrow"
    result = validate_frame(arrow, schema)
    _same(result, validate_frame(_frame(len(ROWS), "object"), schema))
    rules = set(zip(result.errors.row, result.errors.field, result.errors.rule, strict=True))
    assert {(4, "siret", "required"), (3, "siret", "french-siret-value"), (6, "siret", "pattern")} <= rules
    assert {(5, "n", "minimum"), (4, "n", "type"), (7, "n", "type"), (3, "d", "type")} <= rules
    assert (3, "i", "unique") in rules and (3, "gps", "french-gps-coordinates") in rules
    # "NA" is missing: typed None, never judged by a custom check
    assert result.typed["siret"].iloc[2] is None and result.typed["n"].iloc[1] == "10"
    assert result.typed["i"].dtype == "Int64" and result.typed["b"].dtype == "boolean"
    assert not any((r, "a", "year-interval-value") in rules for r in (3, 4, 6))
    # "a" (a plain string) is judged cell by cell, without its distinct values
    assert cell_validator(schema.field("a"), arrow["a"], False, False) is validate_string_cells
    assert result.typed["a"].tolist() == ["2019/2020", None, None, "2020/2019", None, "2019/2020"]
    assert (5, "a", "year-interval-value") in rules
    # "e" too: emptiness, length and enum, in the order the rules are written
    assert cell_validator(schema.field("e"), arrow["e"], False, False) is validate_string_cells
    # "n" as well here (its cells all differ, like amounts), not in a frame of repeated values
    assert cell_validator(schema.field("n"), arrow["n"], False, False) is validate_number_cells
    assert cell_validator(schema.field("n"), _frame(600, "str")["n"], False, False) is None
    e = result.errors[result.errors.field == "e"]
    assert list(zip(e.row, e.rule, e.value, strict=True)) == [
        (3, "maxLength", "zz"),
        (4, "required", ""),
        (5, "required", ""),
        (6, "enum", "w"),
        (7, "enum", "é"),
    ]


def test_the_thread_pool_changes_nothing(schema, monkeypatch) -> None:
    frame = _frame(600, "str")
    monkeypatch.setattr(validate_module, "_POOL_MIN_ROWS", 10**9)
    serial = validate_frame(frame, schema)
    monkeypatch.setattr(validate_module, "_POOL_MIN_ROWS", 0)
    _same(serial, validate_frame(frame, schema))


def test_checks_on_known_codes_as_on_the_plain_frame(schema) -> None:
    frame = _frame(60, "str")
    result = validate_frame(frame, schema)
    check_rules = {c["name"] for c in CHECKS}
    ours = result.errors[result.errors.rule.isin(check_rules)].reset_index(drop=True)
    # the frame the checks read: missing and wrong-type cells blanked, no codes known
    blanked = frame.copy()
    bad = result.errors[result.errors.rule.isin({"required", "type"})]
    for row, field in zip(bad.row, bad.field, strict=True):
        blanked.loc[row, field] = ""
    blanked = blanked.replace("NA", "")
    plain = run_custom_checks(blanked, schema)
    order = {n: i for i, n in enumerate(schema.field_names)}
    plain = (
        plain.assign(_f=plain.field.map(order))
        .sort_values(["row", "_f"], kind="stable")
        .drop(columns="_f")
        .reset_index(drop=True)
    )
    assert {"french-siret-value", "one-of-required", "french-gps-coordinates"} <= set(ours.rule)
    pd.testing.assert_frame_equal(ours, plain, check_dtype=False)


def test_subventions_example_same_on_object_frame() -> None:
    schema = load_schema("scdl-subventions")
    path = "quality/schemas/scdl-subventions/exemple-invalide-erreurs-cellules.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.index = frame.index + 2
    _same(validate_frame(frame.astype("str"), schema), validate_frame(frame.astype(object), schema))


def test_typed_is_built_once_on_first_read(schema) -> None:
    from quality.validate import Validation

    result = validate_frame(_frame(len(ROWS), "str"), schema)
    first = result.typed
    assert result.typed is first and list(first.columns) == [f["name"] for f in FIELDS]
    given = Validation(result.errors, first, result.invalid_index)
    assert given.typed is first and not given.valid


@pytest.mark.parametrize(
    "field",
    [
        {
            "name": "x",
            "type": "number",
            "constraints": {"required": True, "minimum": -5, "maximum": 50},
        },
        {"name": "x", "type": "number", "constraints": {"enum": [1, 2.5, "3"]}},
        {
            "name": "x",
            "type": "string",
            "constraints": {"required": True, "maxLength": 3, "enum": ["1", "a b"]},
        },
    ],
)
@pytest.mark.parametrize("castable", [False, True])
def test_cell_by_cell_as_by_distinct_values(tmp_path, field, castable) -> None:
    """``castable``: every present cell is one Arrow's cast to float accepts (plain decimals and the
    ``inf``/``nan`` spellings), the cell-by-cell path's shortcut; otherwise any text."""
    import numpy as np

    from quality.validate.constraints import validate_column

    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"fields": [field], "missingValues": ["", "NA", "-"]}), encoding="utf-8")
    f = load_schema_file(path, name="essai-cellule").fields[0]
    rng = np.random.default_rng(7)
    if castable:
        words = [
            "1",
            "2.5",
            "+.5",
            "-0",
            "1e400",
            "1E+2",
            "5.",
            "007",
            "inf",
            "-Infinity",
            "NaN",
            "",
            "NA",
            "-",
        ]
        cells = [str(rng.choice(words)) for _ in range(3000)]
    else:
        alphabet = list("0123456789.-+eE_ ") + ["NaN", "inf", "NA", "", "a", "1e400", "\u00a0", "٣"]
        cells = ["".join(rng.choice(alphabet, size=rng.integers(0, 6))) for _ in range(3000)]
    text = pd.Series(cells, dtype="str", index=pd.RangeIndex(2, 3002))
    by_cell = (validate_number_cells if f.type == "number" else validate_string_cells)(
        text, f, ["", "NA", "-"]
    )
    by_value = validate_column(text, f, ["", "NA", "-"])
    errors = [pd.concat(r.errors, ignore_index=True) for r in (by_cell, by_value)]
    assert len(errors[0]) > (20 if castable else 100)
    pd.testing.assert_frame_equal(errors[0], errors[1])
    pd.testing.assert_series_equal(by_cell.typed(), by_value.typed())
    pd.testing.assert_series_equal(by_cell.checked, by_value.checked)


def test_cells_taken_chunk_by_chunk_as_by_arrow() -> None:
    import numpy as np
    import pyarrow as pa

    from quality.validate.cells import take_cells

    chunks = [["a", "bé", ""], [], ["c"], ["d", "e", "f", "g"], []]
    arr = pa.chunked_array([pa.array(c, pa.large_string()) for c in chunks], pa.large_string())
    flat = [v for c in chunks for v in c]
    for positions in ([], [0], [2, 3], [0, 1, 2, 3, 4, 5, 6, 7], [7], [3, 6]):
        taken = take_cells(arr, np.array(positions, dtype=np.int64))
        assert taken.type == pa.large_string() and taken.to_pylist() == [flat[p] for p in positions]
