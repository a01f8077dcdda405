"""The charset scoring of assets/read/sniff.py counts bytes, not decoded characters: exact only because
every candidate encoding decodes one byte as one character, which this checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.read import read_table
from assets.read.sniff import TEXT_SINGLE_BYTE


@pytest.mark.parametrize("codec", TEXT_SINGLE_BYTE)
@pytest.mark.parametrize("errors", ["replace", "territoire-cp1252"])
def test_every_candidate_decodes_one_byte_as_one_character(codec: str, errors: str) -> None:
    for b in range(256):
        assert len(bytes([b]).decode(codec, errors)) == 1


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("Séjour à l’été, œuvre 12 €", "cp1252", "cp1252"),
        ("Fête de la forêt « Noël »", "latin-1", "cp1252"),
        ("Café crème à Besançon", "mac_roman", "mac_roman"),
        # A DOS export: charset-normalizer alone calls it cp1252 (‚ for é, – for û).
        ("Réunion : coût élevé", "cp850", "cp850"),
        # Typographic punctuation, which cp850 would read as letters, does not outweigh the letters.
        ("« Déjà vu » – l’été… “très” réussi", "cp1252", "cp1252"),
    ],
)
def test_single_byte_verdicts(tmp_path: Path, text: str, encoding: str, expected: str) -> None:
    path = tmp_path / "t.csv"
    rows = "".join(f"{i};{text} {i}\r\n" for i in range(400))
    path.write_bytes(f"id;libellé\r\n{rows}".encode(encoding))
    staged = read_table(path)
    assert staged.encoding == expected
    assert staged.frame["libellé"].iloc[0] == f"{text} 0"
