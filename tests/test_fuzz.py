"""Fuzzing the ingest path (read → harmonise → validate): every outcome is a refusal or rows accounted for."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.harmonise.ingest import ingest_file
from quality.schema import load_schema

SCHEMA = load_schema("scdl-subventions@2.1.1")
HEADERS = ["nomAttribuant", "idAttribuant", "montant", "dateConvention", "objet", "nomBeneficiaire", "x"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _ingest(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        result = ingest_file(path, SCHEMA, context={"file_name": path.name})
    report = result.report
    assert report["status"] in ("loaded", "refused")
    assert report["rows_read"] == report["rows_accepted"] + report["rows_quarantined"]
    assert len(result.accepted) == report["rows_accepted"]
    assert len(result.quarantined) == report["rows_quarantined"]
    if report["status"] == "refused":
        assert report["message"].startswith("Le fichier") and report["rows_read"] == 0


@FUZZ
@given(st.binary(max_size=4000), st.sampled_from([".csv", ".txt", ".xlsx", ".ods", ".zip", ".gml", ".json"]))
def test_arbitrary_bytes(data: bytes, suffix: str) -> None:
    _ingest(data, suffix)


cell = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["1 000,50", "2024-13-45", "21370261600011", '"', '""', "\x00", "oui", "=cmd|' /C calc'!A0"]
)


@FUZZ
@given(
    st.lists(st.sampled_from(HEADERS), min_size=1, max_size=7),
    st.lists(st.lists(cell, min_size=0, max_size=8), min_size=0, max_size=20),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(['"', "'"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_csv_like_text(
    headers: list[str], rows: list[list[str]], sep: str, quote: str, encoding: str, newline: str
) -> None:
    def line(cells: list[str]) -> str:
        return sep.join(quote + c.replace(quote, quote * 2) + quote if sep in c else c for c in cells)

    text = newline.join([line(headers), *(line(r) for r in rows)]) + newline
    _ingest(text.encode(encoding, errors="replace"), ".csv")
