"""Typed values back into their Table Schema lexical form, checked by frictionless itself."""

from __future__ import annotations

import datetime as dt
import json

import frictionless
import numpy as np
import pandas as pd
import pytest

from assets.publish.lexical import lexical_values, point_text, shortest_number, to_lexical
from quality.schema import _field, frictionless_descriptor, load_schema


def _f(**descriptor):
    return _field({"name": "x", **descriptor})


@pytest.mark.parametrize(
    ("descriptor", "values", "expected"),
    [
        (
            {"type": "boolean", "trueValues": ["oui"], "falseValues": ["non"]},
            [True, False, None],
            ["oui", "non", ""],
        ),
        ({"type": "boolean"}, [True, False, None], ["true", "false", ""]),
        (
            {"type": "boolean", "trueValues": ["1", "oui"], "falseValues": ["0", "non"]},
            ["oui", "0"],
            ["oui", "0"],
        ),
        ({"type": "integer"}, [29.0, None, -3.0], ["29", "", "-3"]),
        ({"type": "integer"}, pd.array([7, None], dtype="Int64"), ["7", ""]),
        ({"type": "year"}, [2009.0, np.nan], ["2009", ""]),
        (
            {"type": "number"},
            [0.1, 40000.0, 1e-05, 1e16, None],
            ["0.1", "40000", "0.00001", "10000000000000000", ""],
        ),
        ({"type": "number", "decimalChar": ","}, [12.5], ["12,5"]),
        ({"type": "date"}, [dt.date(2024, 3, 1), None], ["2024-03-01", ""]),
        ({"type": "date", "format": "%d/%m/%Y"}, [dt.date(2024, 3, 1)], ["01/03/2024"]),
        (
            {"type": "datetime"},
            [dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC)],
            ["2024-03-01T09:30:00+00:00"],
        ),
        ({"type": "geopoint"}, ["SRID=4326;POINT(0.6848 47.3941)"], ["0.6848,47.3941"]),
        (
            {"type": "geopoint", "format": "array"},
            ["SRID=4326;POINT(-0.5 47.1234567)"],
            ["[-0.5, 47.1234567]"],
        ),
        (
            {"type": "geopoint", "format": "object"},
            ["SRID=4326;POINT(0.7 47.4)"],
            ['{"lon": 0.7, "lat": 47.4}'],
        ),
        ({"type": "array"}, [["a", "b"], None], ['["a", "b"]', ""]),
        ({"type": "object"}, [{"k": "é"}], ['{"k": "é"}']),
        ({"type": "string"}, ["TOUR-0612345678", None, ""], ["TOUR-0612345678", "", ""]),
    ],
)
def test_each_type_in_its_lexical_form(descriptor, values, expected):
    assert lexical_values(pd.Series(values), _f(**descriptor)).tolist() == expected


def test_geojson_field_is_written_as_geojson():
    out = lexical_values(pd.Series(["SRID=4326;POINT(0.5 47)"]), _f(type="geojson"))
    assert json.loads(out.iloc[0]) == {"type": "Point", "coordinates": [0.5, 47.0]}


def test_shortest_numbers_read_back_to_the_same_float():
    for value in (0.1, 0.1 + 0.2, 1 / 3, 123456789.123, 47.3806123456, -0.0001):
        assert float(shortest_number(value)) == value
    assert point_text(0.1, 47.0, None) == "0.1,47"


def test_a_typed_frame_as_pandas_reads_it_passes_frictionless(tmp_path):
    """The exact shapes ``published.<t>`` comes back in (bigint + NULL as float, booleans, EWKT)."""
    schema = load_schema("etalab-stationnement-cyclable")
    frame = pd.DataFrame(
        {
            "id_local": ["A1", "A2"],
            "coordonneesxy": ["SRID=4326;POINT(0.678384 47.351517)", "SRID=4326;POINT(-0.5 47.1)"],
            "capacite": [6, 8],
            "capacite_cargo": [2.0, None],
            "type_accroche": ["CADRE", "ROUE"],
            "gratuit": [True, None],
            "couverture": [False, True],
            "d_service": [2009.0, None],
            "date_maj": [dt.date(2024, 3, 15), None],
            "producer": ["tours", "tours"],
            "source_row": [2, 3],
        }
    )
    path = tmp_path / "velos.csv"
    to_lexical(frame, schema).to_csv(path, index=False)
    resource = frictionless.Resource(
        path=path.name,
        basepath=str(tmp_path),
        schema=frictionless.Schema.from_descriptor(frictionless_descriptor(schema.descriptor)),
        detector=frictionless.Detector(schema_sync=True),
    )
    report = resource.validate()
    assert [e.note for t in report.tasks for e in t.errors] == []
