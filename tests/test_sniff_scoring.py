"""The charset scoring of assets/read/sniff.py counts bytes, not decoded characters: exact only because
every candidate encoding decodes one byte as one character, which this checks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from assets.read import read_table, sniff
from assets.read.sniff import TEXT_SINGLE_BYTE
from assets.read.staged import RefusedFile


@pytest.mark.parametrize("codec", TEXT_SINGLE_BYTE)
@pytest.mark.parametrize("errors", ["replace", "territoire-cp1252"])
def test_every_candidate_decodes_one_byte_as_one_character(codec: str, errors: str) -> None:
    for b in range(256):
        assert len(bytes([b]).decode(codec, errors)) == 1
    # the scoring counts only the bytes outside printable ASCII
    controls, french = sniff._char_classes(codec)
    assert not controls[0x20:0x7F].any() and not french[0x20:0x7F].any()


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


def _verdict(path: Path) -> tuple[str, str, str, list[str]] | str:
    try:
        return sniff._detect_encoding(path, 0)
    except RefusedFile as refused:
        return refused.reason


@pytest.mark.parametrize("seed", range(12))
def test_charset_normalizer_skipped_only_when_it_cannot_change_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    # Texts in every candidate encoding, with high bytes drawn from the letters, from the whole high half
    # and from C1 controls only: the verdict with charset-normalizer skipped when cp1252 leads must be
    # the verdict with it always asked.
    rng = random.Random(seed)
    words = ["Séjour", "été", "œuvre", "12 €", "« Noël »", "Besançon", "coût", "l’été…", "“très”", "naïf"]
    codec = TEXT_SINGLE_BYTE[seed % len(TEXT_SINGLE_BYTE)]
    lines = []
    for i in range(300):
        text = " ".join(rng.choice(words) for _ in range(4)).encode(codec, "replace")
        if seed % 3 == 1:
            text += bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randrange(3)))
        elif seed % 3 == 2 and i % 7 == 0:
            text += bytes(rng.randrange(0x80, 0xA0) for _ in range(2))
        lines.append(f"{i};".encode() + text)
    path = tmp_path / "t.csv"
    path.write_bytes(b"id;libelle\r\n" + b"\r\n".join(lines) + b"\r\n")
    skipped = _verdict(path)
    monkeypatch.setattr(sniff, "_cp1252_either_way", lambda scored: False)
    assert skipped == _verdict(path)


@pytest.mark.parametrize("seed", range(40))
def test_non_ascii_lines_as_a_split_of_the_whole_sample(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = [b"a", b"\n", b"\xe9", b"\r", b" "]
    sample = b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))
    limit = rng.randrange(1, 120)
    whole = b"\n".join(line for line in sample.split(b"\n") if not line.isascii())[:limit]
    assert sniff._non_ascii_lines(sample, limit) == whole
