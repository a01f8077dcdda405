"""Guessing how a delimited text file is written: encoding, delimiter, header line, from its first bytes.

The result is a :class:`CsvPlan`, which :mod:`assets.read.delimited` follows to parse the whole file.

- **Encoding**: UTF-8 when the whole file decodes as UTF-8 (with or without BOM) — or, when the caller
  has the parser check the rest (``verify_utf8=False``), when the first bytes do; a UTF-8 file with a
  handful of broken bytes keeps UTF-8 with ``�`` and a warning; otherwise charset-normalizer chooses
  among the single-byte encodings French producers actually use, with cp1252 preferred over its
  look-alike latin-1 (same letters, and cp1252 also has ’ € œ) and a French-letter score arbitrating
  against mac_roman/cp850 mojibake.
- **Delimiter**: among ``;`` ``,`` tab ``|``, the one giving the most consistent field count over the
  first records (parsed quote-aware), ties going to the one giving more fields — ``;`` files with
  decimal commas are therefore read with ``;``.
- **Header row**: see :func:`assets.read.rows.header_index`.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import numpy as np

from assets.read.limits import (
    BINARY_CONTROL_RATIO,
    HEADER_SCAN_RECORDS,
    MAX_COLUMNS,
    MAX_LINE_BYTES,
    SCAN_BYTES,
    SNIFF_BYTES,
)
from assets.read.rows import header_index, unique_headers
from assets.read.staged import RefusedFile
from assets.read.utf8 import Utf8Scan

DELIMITERS = (";", ",", "\t", "|")
TEXT_SINGLE_BYTE = ["cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850"]
# Letters of French text: a correct decoding shows many of them, a wrong one shows few.
_FRENCH = set("éèêëàâäçùûüôöîïœÉ’€°«»")
_CONTROL_CHARS = {chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127, *range(0x80, 0xA0)]}


def _cp1252_or_latin1(exc: UnicodeDecodeError) -> tuple[str, int]:
    # The five bytes cp1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) decode as latin-1 would, as
    # Windows itself does, instead of failing a whole file for one stray byte.
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("territoire-cp1252", _cp1252_or_latin1)


@dataclass
class CsvPlan:
    """How to parse a delimited file, decided from its first bytes (and a UTF-8 scan of all of them)."""

    codec: str  # Python codec used to decode ("utf-8" when bytes are passed through)
    errors: str
    label: str  # encoding as reported
    bom_len: int
    transcode: bool  # False: the bytes are valid UTF-8 and go to the parser as they are
    cr_only: bool  # old Mac line endings: every CR is a line break
    delimiter: str
    header_line: int
    body_first_line: int
    header_fields: list[str]
    columns: list[str]
    avg_line_bytes: float
    warnings: list[str]
    # False: UTF-8 presumed from the first bytes only; whoever parses the rest must check it is UTF-8
    # (the CSV parser checks each block whole first) and sniff again with verify_utf8=True if it is not.
    utf8_verified: bool = True


def sniff_csv(path: Path, *, verify_utf8: bool = True) -> CsvPlan:
    """The plan for ``path``; raise :class:`RefusedFile` when it is empty, binary or undecodable.

    ``verify_utf8=False`` skips decoding the whole file when its first bytes are UTF-8 (half the
    reading time of a large UTF-8 file): the plan then says ``utf8_verified=False``."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
        # The sample must hold a few complete lines; a file whose first line never ends is refused
        # before anything is decoded.
        while head.count(b"\n") < 2 and head.count(b"\r") < 2 and len(head) < size:
            if len(head) > MAX_LINE_BYTES:
                raise RefusedFile(
                    path,
                    "line-too-long",
                    f"sa première ligne dépasse {MAX_LINE_BYTES // 1024**2} Mo sans retour à la ligne",
                )
            more = fh.read(SNIFF_BYTES)
            if not more:
                break
            head += more
    warnings: list[str] = []
    bom_len = 0
    if head.startswith(codecs.BOM_UTF8):
        bom_len = 3
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        return _sniff_text(path, head, codec, "strict", "utf-16", 2, True, warnings)
    _check_not_binary(path, head[bom_len:])
    presumed = not verify_utf8 and _head_is_utf8(head, bom_len, size)
    if presumed:
        codec, errors, label = "utf-8", "strict", "utf-8"
    else:
        codec, errors, label, enc_warnings = _detect_encoding(path, bom_len)
        warnings += enc_warnings
    if bom_len and label == "utf-8":
        label = "utf-8-sig"
    elif bom_len:
        warnings.append(
            f"Le fichier commence par une marque UTF-8 (BOM) mais son contenu est en {label} : "
            "marque ignorée."
        )
    transcode = not (codec == "utf-8" and errors == "strict")
    plan = _sniff_text(path, head, codec, errors, label, bom_len, transcode, warnings)
    plan.utf8_verified = not presumed or len(head) >= size  # a small file was checked whole
    return plan


def _first_error(chunk: bytes) -> int:
    """Where Python's decoder stops in ``chunk`` (the sample around it is sniffed); 0 when the error is
    in bytes carried from the chunk before."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(chunk, False)
    except UnicodeDecodeError as exc:
        return max(exc.start, 0)
    return 0


def _head_is_utf8(head: bytes, bom_len: int, size: int) -> bool:
    """Whether the sniffed bytes are UTF-8 (a sequence cut by the end of the sample is not an error)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head[bom_len:], len(head) >= size)
    except UnicodeDecodeError:
        return False
    return True


def _check_not_binary(path: Path, sample: bytes) -> None:
    if not sample.strip(b"\r\n\t "):
        raise RefusedFile(path, "empty", "il ne contient que des lignes vides")
    arr = np.frombuffer(sample, np.uint8)
    controls = int(np.count_nonzero((arr < 32) & (arr != 9) & (arr != 10) & (arr != 13) & (arr != 12)))
    if controls > BINARY_CONTROL_RATIO * len(arr):
        raise RefusedFile(
            path, "binary", "c'est un fichier binaire (octets nuls ou de contrôle), pas un tableau texte"
        )


def _detect_encoding(path: Path, bom_len: int) -> tuple[str, str, str, list[str]]:
    """(codec, errors, label, warnings). The whole file is checked for UTF-8 validity, streaming, so that
    a file valid on its first megabyte but not later is not half-decoded."""
    scan = Utf8Scan()  # Arrow's validator: Python's decoder would build a string of the whole file
    error_at = None
    with path.open("rb") as fh:
        fh.seek(bom_len)
        pos = bom_len
        # A small first read: a file that is not UTF-8 usually shows it in its first lines.
        while chunk := fh.read(SNIFF_BYTES if pos == bom_len else SCAN_BYTES):
            if not scan.feed(chunk):
                error_at = pos + _first_error(chunk)
                break
            pos += len(chunk)
        else:
            if not scan.feed(b"", final=True):
                error_at = pos
        if error_at is None:
            return "utf-8", "strict", "utf-8", []
        # Sample: the beginning and the region of the first error, keeping only lines with non-ASCII
        # bytes (ASCII tells nothing about the encoding and dilutes the detector).
        fh.seek(bom_len)
        sample = fh.read(4 * SNIFF_BYTES)
        fh.seek(max(error_at - 4096, bom_len))
        sample += b"\n" + fh.read(SNIFF_BYTES)
    sample = _non_ascii_lines(sample, 2 * SNIFF_BYTES)
    as_utf8 = sample.decode("utf-8", "replace")
    bad = as_utf8.count("\ufffd")
    # An ASCII byte decodes as itself even next to a broken sequence, and no other byte decodes as ASCII:
    # the ASCII characters are counted on the bytes, without encoding the text again.
    ascii_chars = int(np.count_nonzero(np.frombuffer(sample, np.uint8) < 0x80))
    good = len(as_utf8) - ascii_chars - bad
    if good > 0 and good >= 20 * bad:
        return (
            "utf-8",
            "replace",
            "utf-8",
            [
                f"Le fichier est en UTF-8 mais contient {bad} séquence(s) d'octets invalide(s) "
                "(dans l'échantillon) : "
                "remplacées par « � »."
            ],
        )
    # Every candidate decodes one byte as one character (TEXT_SINGLE_BYTE; a test checks it): counting
    # the bytes once counts the characters of every candidate's text, without decoding it. Printable
    # ASCII (0x20-0x7E) is neither a control character nor a French letter in any of them (tested too):
    # only the other bytes, a few percent of the sample, are counted.
    arr = np.frombuffer(sample, np.uint8)
    byte_counts = np.bincount(arr[(arr - np.uint8(0x20)) > 0x5E], minlength=256)
    scored = [_score(codec, byte_counts, len(sample)) for codec in TEXT_SINGLE_BYTE]
    # When charset-normalizer reads the sample as text, every French single-byte encoding is scored, not
    # only its pick: it reads a DOS (cp850) export as cp1252 punctuation (‚ – …) when the letters say
    # otherwise. cp1252 first, so a tie keeps it. When it finds no text at all, cp1252 alone is judged
    # (and its control characters refuse the file): cp850 maps every high byte to a printable sign,
    # so noise would always "decode".
    seen_as_text = True
    if not _cp1252_either_way(scored):
        seen_as_text = charset_normalizer.from_bytes(sample, cp_isolation=TEXT_SINGLE_BYTE).best() is not None
        if not seen_as_text:
            scored = scored[:1]
    score, control_share, codec = max(scored, key=lambda s: s[0])
    if not seen_as_text and control_share > 0.01 or control_share > 0.05:
        raise RefusedFile(
            path,
            "undecodable",
            "son encodage de caractères n'a pas pu être reconnu (ni UTF-8 ni Windows-1252/Latin-1)",
        )
    if codec in {"latin_1", "iso8859_15"}:
        codec = "cp1252"  # same letters; cp1252 also decodes ’ € œ that producers' Windows tools write
    return codec, "territoire-cp1252" if codec == "cp1252" else "strict", codec, []


def _non_ascii_lines(sample: bytes, limit: int) -> bytes:
    """The lines of ``sample`` holding a non-ASCII byte, joined by newlines, cut at ``limit`` bytes: split
    by pieces of about ``limit`` bytes of whole lines, and no further once ``limit`` bytes are kept."""
    kept: list[bytes] = []
    joined = -1  # length of the kept lines joined by newlines
    start = 0
    while start <= len(sample) and joined < limit:
        stop = sample.find(b"\n", start + limit)
        stop = len(sample) if stop < 0 else stop
        for line in sample[start:stop].split(b"\n"):
            if not line.isascii():
                kept.append(line)
                joined += len(line) + 1
        start = stop + 1
    return b"\n".join(kept)[:limit]


def _cp1252_either_way(scored: list[tuple[int, float, str]]) -> bool:
    """Whether the verdict is cp1252 whatever charset-normalizer says, which then need not be asked (about
    a quarter of the time of sniffing a large file): cp1252 leads all the scores (first, it wins a tie) and
    has too few control characters to be refused even when judged alone."""
    return max(scored, key=lambda s: s[0])[2] == "cp1252" and scored[0][1] <= 0.01


def _score(codec: str, byte_counts: np.ndarray, sample_len: int) -> tuple[int, float, str]:
    """(French letters − 3 × control characters, share of control characters, codec) of the sample."""
    controls, french = _char_classes(codec)
    n_controls = int(byte_counts[controls].sum())
    return int(byte_counts[french].sum()) - 3 * n_controls, n_controls / max(sample_len, 1), codec


@functools.cache
def _char_classes(codec: str) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the bytes that ``codec`` decodes as a control character, and as a French letter."""
    errors = "territoire-cp1252" if codec == "cp1252" else "replace"
    chars = [bytes([b]).decode(codec, errors) for b in range(256)]
    return np.array([c in _CONTROL_CHARS for c in chars]), np.array([c in _FRENCH for c in chars])


def _sniff_text(
    path: Path,
    head: bytes,
    codec: str,
    errors: str,
    label: str,
    bom_len: int,
    transcode: bool,
    warnings: list[str],
) -> CsvPlan:
    text = codecs.getincrementaldecoder(codec)(errors=errors).decode(head[bom_len:], False)
    truncated = len(head) < path.stat().st_size
    cr_only = "\r" in text and "\n" not in text
    if cr_only:
        text = text.replace("\r", "\n")
    if truncated and "\n" in text:
        text = text[: text.rfind("\n") + 1]  # complete lines only
    text = text.replace("\x00", "")
    lines = io.StringIO(text, newline="")  # one copy of the text, read again for each delimiter
    by_delimiter = {d: _sample_records(lines, d) for d in DELIMITERS}
    delimiter = _choose_delimiter(by_delimiter)
    records = by_delimiter[delimiter]
    if truncated and len(records) > 1:
        records = records[:-1]  # the last record may be a multi-line cell cut by the sample
    header_idx = header_index([r for _, r in records])
    if header_idx is None:
        raise RefusedFile(path, "empty", "il ne contient aucune ligne de données")
    header_line, header_fields = records[header_idx]
    if len(header_fields) > MAX_COLUMNS:
        raise RefusedFile(
            path, "too-many-columns", f"il a {len(header_fields)} colonnes (maximum accepté : {MAX_COLUMNS})"
        )
    body_first_line = records[header_idx + 1][0] if header_idx + 1 < len(records) else header_line + 1
    if header_line > 1:
        warnings.append(
            f"L'en-tête a été trouvé ligne {header_line} : les {header_line - 1} ligne(s) au-dessus "
            "(titre, commentaires) sont ignorées."
        )
    header_fields = [h.replace("\ufeff", "") for h in header_fields]
    n_lines = max(text.count("\n"), 1)
    return CsvPlan(
        codec=codec,
        errors=errors,
        label=label,
        bom_len=bom_len,
        transcode=transcode,
        cr_only=cr_only,
        delimiter=delimiter,
        header_line=header_line,
        body_first_line=body_first_line,
        header_fields=header_fields,
        columns=unique_headers(header_fields),
        avg_line_bytes=len(text.encode("utf-8")) / n_lines,
        warnings=warnings,
    )


def _sample_records(lines: io.StringIO, delimiter: str) -> list[tuple[int, list[str]]]:
    """(physical line where the record starts, fields) for the first records of the sample."""
    lines.seek(0)
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=False)
    out: list[tuple[int, list[str]]] = []
    previous = 0
    try:
        for fields in reader:
            if fields:
                out.append((previous + 1, fields))
            previous = reader.line_num
            if len(out) >= max(HEADER_SCAN_RECORDS * 4, 200):
                break
    except csv.Error:
        pass
    return out


def _choose_delimiter(by_delimiter: dict[str, list[tuple[int, list[str]]]]) -> str:
    scores = []
    for delimiter, records in by_delimiter.items():
        counts = [len(f) for _, f in records]
        if not counts:
            continue
        mode, hits = max(Counter(counts).items(), key=lambda kv: (kv[1], kv[0]))
        if mode < 2:
            continue
        scores.append((hits / len(counts), mode, delimiter))
    if not scores:
        return ","  # one column: the delimiter does not matter
    best = max(s[0] for s in scores)
    # Consistency first; among near-equally consistent candidates, the one splitting into more fields
    # (a ';' file with decimal commas is consistent for ',' too, but in fewer fields).
    return max((s for s in scores if s[0] >= best - 0.1), key=lambda s: (s[1], s[0]))[2]
