"""A single-byte-encoded file parsed as bytes and decoded cell by cell (assets/read/single_byte.py) reads
exactly as the same text decoded first; the one-record-per-line fast path of assets/read/delimited.py
numbers rows exactly as the byte scan does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import assets.read.delimited as delimited
import assets.read.one_line as one_line
from assets.read import iter_table, read_table
from assets.read.single_byte import single_byte_codec

ACCENTED = ["Commune de Parçay-Meslay", "Œuvre de l’âge d’or", "Séjour « Été » 2024", "prix 12 €", "Zoé", ""]


def _text(multiline: bool, rows: int = 300) -> str:
    lines = ["Subventions attribuées en 2024 – état au 31/12", "", "nom;numéro;objet;montant"]
    for i in range(rows):
        objet = ACCENTED[(i * 7) % len(ACCENTED)]
        if multiline and i % 50 == 7:
            objet = f"ligne 1 é\nligne 2 à {objet}"
        lines.append(f'"{ACCENTED[i % len(ACCENTED)]}";"{i:05d}";"{objet}";"{i},50"')
    return "\r\n".join(lines) + "\r\n"


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == list(b.index)


@pytest.mark.parametrize("rows", [300, 60_000])  # 60,000: columns decoded on several threads
@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_single_byte_file_reads_as_its_plain_decoding(
    tmp_path: Path, encoding: str, multiline: bool, rows: int
) -> None:
    text = _text(multiline, rows)
    if encoding == "latin-1":
        text = (
            text.replace("’", "'").replace("€", "EUR").replace("Œ", "Oe").replace("–", "-")
        )  # not in latin-1
    original = tmp_path / "original.csv"
    original.write_bytes(text.encode(encoding))
    decoded = tmp_path / "decoded.csv"
    decoded.write_bytes(original.read_bytes().decode(encoding).encode("utf-8"))

    ours, plain = read_table(original), read_table(decoded)
    assert ours.encoding == "cp1252" and plain.encoding == "utf-8"
    _same(ours.frame, plain.frame)
    assert ours.header_line == plain.header_line == 3
    assert ours.blank_lines_dropped == plain.blank_lines_dropped
    assert ours.warnings == plain.warnings
    assert ours.frame.index[0] == 4 and len(ours.frame) == rows
    assert ours.frame.loc[4, "nom"] == "Commune de Parçay-Meslay"
    if multiline:
        # each multi-line cell pushes the next records one line down
        assert ours.frame.loc[ours.frame["numéro"] == "00008"].index[0] == 4 + 8 + 1
        assert ours.frame.loc[11, "objet"].startswith("ligne 1 é\nligne 2 à")
    streamed = pd.concat(iter_table(original, chunk_rows=rows // 7).chunks())
    _same(streamed, plain.frame)


def test_every_byte_decodes_as_the_codec_does() -> None:
    # the five bytes cp1252 leaves undefined decode as latin-1 would (sniff's error handler)
    for codec, errors in [("cp1252", "territoire-cp1252"), ("latin_1", "strict"), ("mac_roman", "strict")]:
        single = single_byte_codec(codec, errors)
        assert single is not None
        cells = [bytes([b]) for b in range(1, 256)] + [bytes(range(128, 256)), b"", b"plain ascii"]
        column = pa.chunked_array(
            [pa.array(cells[:100], pa.large_binary()), pa.array(cells[100:], pa.large_binary())]
        )
        got = single.text_column(column).to_pylist()
        assert got == [c.decode(codec, errors) for c in cells]
        assert single.utf8_length(bytes(range(256))) == len(bytes(range(256)).decode(codec, errors).encode())
    assert single_byte_codec("utf-8", "replace") is None and single_byte_codec("utf-16-le", "strict") is None


TRICKY = {
    "lone CR and a blank line": b"a;b\r\n"
    + b"\xe91;2\r\n" * 5
    + b"\xe93;4\r5;6\r\n\r\n"
    + b"\xe97;8\r\n" * 5,
    "stray quote": b"a;b\n" + b"\xe91;2\n" * 5 + b'x"y;2\n"\xe9;"z\n' + b"\xe91;2\n" * 5,
    "doubled quotes in a cell": b'a;b\n"Club ""\xe9t\xe9""";1\n' + b"\xe91;2\n" * 5,
    "one column, blank lines": b"nom\n" + b"\xe9\n" * 5 + b"\n\r\n" + b"\xe0\n" * 5 + b'""\n',
    "separators only": b"a;b;c\n" + b"\xe91;2;3\n" * 5 + b";;\n" + b"\xe91;2;3\n" * 5,
    "ragged": b"a;b;c\n\xe91;2;3\n\xe91;2\n\xe91;2;3;4\n",
    "no final newline": b"a;b\r\n" + b"\xe91;2\r\n" * 5 + b"fin;\xe9",
    "NUL bytes": b"a;b\n" + b"caf\xe9 cr\xe8me;2\n" * 20 + b"\xe9\x00x;y\n",
    "quoted CR LF": b'a;b\r\n"x\r\ny \xe9";2\r\n"\xe9\r\xe9";3\r\n' + b"\xe91;2\r\n" * 5,
    "utf-8": b"a;b\n" + "é1;2\n".encode() * 5 + b"\n" + "à;3\n".encode() * 5,
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_fast_path_numbers_rows_as_the_scan(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(TRICKY[name])
    fast = read_table(path)
    monkeypatch.setattr(delimited, "one_record_per_line", lambda *args, **kwargs: None)
    scanned = read_table(path)
    _same(fast.frame, scanned.frame)
    assert (fast.blank_lines_dropped, fast.warnings) == (scanned.blank_lines_dropped, scanned.warnings)


# Each breaks the fast path's premise once, far into a file large enough for its scans to run on a pool
# (assets/read/one_line.py); small Arrow blocks, scan slices and newline tasks put it in a late chunk,
# slice and task.
LATE = {
    "lone CR": b"\xe93;4\r5;6\r\n",
    "doubled quote": b'"Club ""\xe9t\xe9""";1\r\n',
    "quote in a column without accents": b'\xe9;"1""2"\r\n',
    "first accent and a quote": b'"\xe9 ""x""";1\r\n',
    "multi-line cell": b'"ligne 1 \xe9\r\nligne 2";1\r\n',
    "quoted CR": b'"\xe9\r\xe9";3\r\n',
    "NUL": b"\xe9\x00x;y\r\n",
    "blank line": b"\r\n",
    "nothing": b"",
}


# The first column decoded from the start, or only from the late line (then the sniff sees the second).
@pytest.mark.parametrize("body", ["Séjour à l’été;12,5", "Sejour;12,5 €"])
@pytest.mark.parametrize("encoding", ["cp1252", "utf-8"])
@pytest.mark.parametrize("name", sorted(LATE))
def test_pooled_scans_number_rows_as_the_scan(
    tmp_path: Path, name: str, encoding: str, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = f"{body}\r\n".encode(encoding)
    late = LATE[name] if encoding == "cp1252" else LATE[name].replace(b"\xe9", "é".encode())
    path = tmp_path / "t.csv"
    path.write_bytes(b"nom;montant\r\n" + row * 55_000 + late + row * 5_000)
    monkeypatch.setattr(delimited, "FAST_BLOCK_BYTES", 64 * 1024)
    monkeypatch.setattr(one_line, "_SLICE", 10_000)
    monkeypatch.setattr(one_line, "_LINES_TASK", 100_000)
    scans: list[int] = []
    real = delimited._parse_scanned
    with monkeypatch.context() as m:
        m.setattr(delimited, "_parse_scanned", lambda *args: scans.append(1) or real(*args))
        fast = read_table(path)
    assert bool(scans) == (name not in {"nothing", "blank line"})  # what breaks the premise, and only that
    monkeypatch.setattr(delimited, "one_record_per_line", lambda *args, **kwargs: None)
    scanned = read_table(path)
    _same(fast.frame, scanned.frame)
    assert (fast.blank_lines_dropped, fast.warnings) == (scanned.blank_lines_dropped, scanned.warnings)
