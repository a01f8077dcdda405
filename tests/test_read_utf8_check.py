"""Arrow's whole-buffer UTF-8 check (assets/read/utf8.py) gives Python's decoder's verdict: whole,
incremental (a sequence cut by the end of a chunk), split on two threads, chunk by chunk."""

from __future__ import annotations

import codecs
import random

import pytest

from assets.read import utf8
from assets.read.utf8 import Utf8Scan, is_utf8

PIECES = ["a", ";", "é", "€", "œ", "\u00a0", "𝄞", "ß", '"', "\n"]


def _python(data: bytes, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final)
    except UnicodeDecodeError:
        return False
    return True


def _samples(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        raw = bytearray("".join(rng.choice(PIECES) for _ in range(rng.randint(0, 16))).encode())
        for _ in range(rng.randint(0, 2)):  # a broken byte or two: overlong, surrogate, stray, cut
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        out.append(bytes(raw[: rng.randint(0, len(raw))]))
    return out + [b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe0\x80", b"\xfc", b"\xf0\x9d\x84"]


def test_the_verdicts_are_pythons_whole_and_incremental() -> None:
    for data in _samples(7, 4000):
        assert is_utf8(data) == _python(data, True), data
        assert is_utf8(data, final=False) == _python(data, False), data


def test_two_halves_on_two_threads_give_the_same_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(utf8, "_SPLIT_BYTES", 1)
    monkeypatch.setattr(utf8.os, "cpu_count", lambda: 2)
    for data in _samples(11, 1500):
        assert is_utf8(data) == _python(data, True), data
    # The cut lands inside a four-byte character: it moves to the next character.
    assert is_utf8("𝄞".encode() * 3)


def test_a_file_checked_chunk_by_chunk_is_checked_as_a_whole() -> None:
    rng = random.Random(3)
    for data in _samples(5, 600):
        text = data * rng.randint(1, 4)
        scan, ok, pos = Utf8Scan(), True, 0
        while pos < len(text) and ok:
            step = rng.randint(1, 5)
            ok = scan.feed(text[pos : pos + step])
            pos += step
        ok = ok and scan.feed(b"", final=True)
        assert ok == _python(text, True), text
