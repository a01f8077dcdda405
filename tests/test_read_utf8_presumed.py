"""read_table presumes UTF-8 from a file's first bytes and lets Arrow's check of the string cells stand
for a scan of the whole file (assets/read/sniff.py ``verify_utf8``, assets/read/delimited.py
``stream_csv``): whatever lies past the sniffed head, the verdict and the cells are the ones a full
scan gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import assets.read.delimited as delimited
from assets.read import iter_table, read_table
from assets.read.limits import SNIFF_BYTES
from assets.read.sniff import sniff_csv

# Enough ASCII rows to push the tail well past the sniffed head (SNIFF_BYTES).
_ROWS = 3 * SNIFF_BYTES // 40


def _ascii_body(rows: int = _ROWS) -> bytes:
    return "".join(f"{i:07d};Commune {i % 97};{i},50\r\n" for i in range(rows)).encode("ascii")


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "gros.csv"
    path.write_bytes(data)
    assert path.stat().st_size > 2 * SNIFF_BYTES
    return path


def _fully_checked(path: Path, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    """read_table as it was: the whole file checked before parsing."""
    with monkeypatch.context() as m:
        m.setattr(delimited, "sniff_csv", lambda p, verify_utf8=True: sniff_csv(p))
        return read_table(path)


def test_cp1252_byte_in_the_last_line_of_a_big_ascii_file(tmp_path: Path) -> None:
    last = "9999999;Séjour à l’été;1,00\r\n".encode("cp1252")
    path = _write(tmp_path, b"id;nom;montant\r\n" + _ascii_body() + last)
    assert sniff_csv(path, verify_utf8=False).utf8_verified is False  # the head alone says UTF-8
    staged = read_table(path)
    assert staged.encoding == "cp1252" and staged.warnings == []
    assert staged.frame["nom"].iloc[-1] == "Séjour à l’été"
    assert staged.frame.index[-1] == _ROWS + 2 and len(staged.frame) == _ROWS + 1
    streamed = iter_table(path, chunk_rows=50_000)
    pd.testing.assert_frame_equal(pd.concat(streamed.chunks()), staged.frame)
    assert streamed.encoding == "cp1252"


def test_cp1252_byte_at_the_very_end_without_final_newline(tmp_path: Path) -> None:
    path = _write(tmp_path, b"id;nom;montant\n" + _ascii_body() + b"fin;caf\xe9;\xe9")
    staged = read_table(path)
    assert staged.encoding == "cp1252"
    assert staged.frame.iloc[-1].tolist() == ["fin", "café", "é"]


def test_late_broken_bytes_in_utf8_are_replaced_with_a_warning(tmp_path: Path) -> None:
    accented = "".join(f"{i};Société n°{i};Tours\n" for i in range(_ROWS)).encode()
    path = _write(tmp_path, b"id;nom;ville\n" + accented + b"x;caf\xe9 cr\xe8me;Tours\n")
    staged = read_table(path)
    assert staged.encoding == "utf-8"
    assert staged.frame["nom"].iloc[-1] == "caf\ufffd cr\ufffdme"
    assert any("invalide" in w for w in staged.warnings)


@pytest.mark.parametrize(
    "tail",
    [
        "x;Société;1\n".encode(),  # valid UTF-8 all along: the fast path, never checked by Python
        '"x";"sur\ndeux lignes é";1\n'.encode(),  # a multi-line cell: the slow path, checked first
        "x;ragged é\n".encode(),  # a short row: Arrow fails, the csv module reads it
        '"x";"multi\nligne \xe9";1\n'.encode("latin-1"),  # both at once: cp1252 on the slow path
        b'x;"abc"\xe9;1\n',  # a byte after a closing quote: Arrow keeps it in the cell, and checks it
        b"x;caf\x00\xc3\xa9;1\n",  # a NUL byte: Arrow keeps it in the cell, the slow path removes it
        b"x;caf\xe9 cr\xe8me;1\nx;n\x00ul;1\n",  # a NUL byte in a cp1252 file
    ],
)
def test_presumed_reading_is_the_checked_reading(
    tmp_path: Path, tail: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, b"id;nom;montant\n" + _ascii_body() + tail + b"y;fin;2\n")
    presumed, checked = read_table(path), _fully_checked(path, monkeypatch)
    pd.testing.assert_frame_equal(presumed.frame, checked.frame)
    assert list(presumed.frame.index) == list(checked.frame.index)
    assert (presumed.encoding, presumed.warnings, presumed.blank_lines_dropped) == (
        checked.encoding,
        checked.warnings,
        checked.blank_lines_dropped,
    )
    assert presumed.frame["nom"].iloc[-1] == "fin"
    if b"\x00" in tail:
        assert presumed.frame["nom"].iloc[-2] in {"café", "nul"}
        assert not presumed.frame["nom"].str.contains("\x00").any()
        assert any("NUL" in w for w in presumed.warnings)


def test_small_file_is_checked_whole_by_the_sniff(tmp_path: Path) -> None:
    path = tmp_path / "petit.csv"
    path.write_bytes("a;b\né;1\n".encode())
    assert sniff_csv(path, verify_utf8=False).utf8_verified is True


def test_valid_utf8_is_not_decoded_by_python_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assets.read.sniff as sniff

    path = _write(tmp_path, b"id;nom;montant\n" + _ascii_body() + "x;Société;1\n".encode())
    scans: list[Path] = []
    real = sniff._detect_encoding
    monkeypatch.setattr(sniff, "_detect_encoding", lambda p, bom: scans.append(p) or real(p, bom))
    assert read_table(path).encoding == "utf-8" and scans == []
    assert iter_table(path).encoding == "utf-8" and scans == [path]  # streamed: checked before
