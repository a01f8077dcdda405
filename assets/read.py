"""Read a producer's file into a staged frame: text cells, the file's own headers, source row numbers.

One entry point, :func:`read_table`, for CSV/TSV/TXT, XLSX, ODS and (through :mod:`assets.read_geo`)
GeoJSON, zipped Shapefile, GeoPackage and GML. :func:`iter_table` streams large CSV files in chunks
with the same row numbering.

Choices, so that nobody has to rediscover them:

- **Everything stays text.** No type is inferred: ``01001`` stays ``01001``. Excel/ODS cells typed as
  numbers or dates are written back as text (``21860194600000.0`` → ``21860194600000``, a date →
  ``2017-12-21``), because the producer typed an identifier, not a float.
- **Row numbers are the ones a person sees.** The index of the frame is the physical line (CSV) or
  sheet row (XLSX/ODS) where a record *starts*: header on line 1 → first data row 2; title lines above
  the header shift it; a quoted cell spanning three lines makes the next record start three lines
  later. Fully blank lines (and lines made only of separators) are dropped and counted.
- **Header row**: the first record among the first ones whose number of non-empty cells reaches half
  of the usual (modal) record width — title lines such as « Subventions 2017 » above the table are
  skipped, and the header line is reported.
- **Repeated header lines** in the body (an export concatenated several times, or the header written
  two or three times as in csv-detective's ``a_test_file``) are dropped with a warning naming the
  lines: they are not data, and keeping them would make every later type check fail.
- **Ragged rows** are never dropped: missing cells are padded with ``""``; extra non-empty cells go
  into extra columns named ``colonne_N``; both are reported as warnings.
- **Encoding**: UTF-8 when the whole file decodes as UTF-8 (with or without BOM); a UTF-8 file with a
  handful of broken bytes keeps UTF-8 with ``�`` and a warning; otherwise charset-normalizer chooses
  among the single-byte encodings French producers actually use, with cp1252 preferred over its
  look-alike latin-1 (same letters, and cp1252 also has ’ € œ) and a French-letter score arbitrating
  against mac_roman/cp850 mojibake.
- **Delimiter**: among ``;`` ``,`` tab ``|``, the one giving the most consistent field count over the
  first records (parsed quote-aware), ties going to the one giving more fields — ``;`` files with
  decimal commas are therefore read with ``;``.

The hot path parses with pyarrow (multi-threaded, all columns as strings) and computes row numbers
with a vectorised quote-parity scan of the bytes; when the file is irregular (ragged rows, stray
quotes) the block is re-read with the standard ``csv`` module, which is slower but exact.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import charset_normalizer
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from assets.safety import UnsafeFile, check_zip_xml_members, inspect_zip, safe_extract

# --- caps (why each value) -------------------------------------------------------------------------
# Bytes read to guess encoding, delimiter and header: enough for ~thousands of ordinary lines.
SNIFF_BYTES = 1024**2
# One physical line longer than this is not a table row but a dump (minified JSON, binary, attack);
# 32 MiB still admits a cell holding the WKT of a detailed commune boundary.
MAX_LINE_BYTES = 32 * 1024**2
# A quoted record (possibly spanning lines) longer than this means a quote that never closes.
MAX_RECORD_BYTES = 64 * 1024**2
# No open-data schema has more than a few hundred fields; 10,000 columns is a memory attack on
# per-column processing.
MAX_COLUMNS = 1000
# read_table holds the whole file in memory; beyond this, callers must use iter_table.
MAX_IN_MEMORY_BYTES = 2 * 1024**3
# Records looked at to find the header row (title lines are rarely more than a handful).
HEADER_SCAN_RECORDS = 50
# Share of control bytes above which a file is binary, not text (PDF/PNG/ZIP are 10-40%).
BINARY_CONTROL_RATIO = 0.05
# ODS is parsed into a DOM by odfpy (≈10x the XML size in memory): keep content.xml reasonable.
MAX_ODS_CONTENT_BYTES = 200 * 1024**2
# xlrd reads a whole .xls in memory, about 10× its size; the format itself stops at 65,536 rows.
MAX_XLS_BYTES = 100 * 1024**2
# A zip holding exactly one of these is read as that table (its size was checked by inspect_zip).
ZIPPED_TABLES = {".csv", ".txt", ".tsv", ".xlsx", ".xls", ".ods"}
# A non-empty ODS row repeated more than this is a crafted expansion bomb, not a spreadsheet.
MAX_ODS_ROW_REPEAT = 100_000
# Bytes per read when checking that a whole file is valid UTF-8.
SCAN_BYTES = 16 * 1024**2

DELIMITERS = (";", ",", "\t", "|")
GEO_SUFFIXES = {".geojson", ".gpkg", ".gml", ".shp", ".kml"}
TEXT_SINGLE_BYTE = ["cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850"]
# Letters of French text: a correct decoding shows many of them, a wrong one shows few.
_FRENCH = set("éèêëàâäçùûüôöîïœÉ’€°«»")
_CONTROL_CHARS = {chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127, *range(0x80, 0xA0)]}

_MAGIC = {
    b"%PDF": "un document PDF",
    b"\x89PNG": "une image PNG",
    b"\xff\xd8\xff": "une image JPEG",
    b"GIF8": "une image GIF",
    b"\x1f\x8b": "une archive gzip",
    b"7z\xbc\xaf": "une archive 7-Zip",
    b"Rar!": "une archive RAR",
    b"SQLite format 3\x00": "une base SQLite",
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _cp1252_or_latin1(exc: UnicodeDecodeError) -> tuple[str, int]:
    # The five bytes cp1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) decode as latin-1 would, as
    # Windows itself does, instead of failing a whole file for one stray byte.
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("territoire-cp1252", _cp1252_or_latin1)


# --- public types ------------------------------------------------------------------------------------
class RefusedFile(Exception):
    """The file is not a table we can read; ``reason`` is a short code, ``str()`` a French sentence."""

    def __init__(self, path: Path | str, reason: str, detail: str) -> None:
        self.path = Path(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"Le fichier « {self.path.name} » est refusé : {detail}.")


@dataclass
class StagedTable:
    """A read file: the staged frame and how it was read (reported to the producer)."""

    frame: pd.DataFrame
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    header_line: int | None = None
    sheet: str | None = None
    blank_lines_dropped: int = 0
    warnings: list[str] = field(default_factory=list)
    geometries_repaired: int = 0


@dataclass
class StreamedTable:
    """A table read chunk by chunk; metadata is known before the first chunk, counters grow as chunks
    are read. ``chunks()`` can be consumed once."""

    path: Path
    format: str
    encoding: str | None
    delimiter: str | None
    header_line: int | None
    sheet: str | None
    columns: list[str]
    warnings: list[str]
    blank_lines_dropped: int = 0
    rows_read: int = 0
    _source: Iterator[pd.DataFrame] | None = None

    def chunks(self) -> Iterator[pd.DataFrame]:
        if self._source is None:
            raise RuntimeError("chunks() ne peut être lu qu'une fois")
        source, self._source = self._source, None
        yield from source


# --- entry points --------------------------------------------------------------------------------------
def read_table(path: Path, *, sheet: str | None = None) -> StagedTable:
    """Read any supported file into a :class:`StagedTable`; raise :class:`RefusedFile` otherwise."""
    path = Path(path)
    kind, entries = _kind(path)
    if kind == "geo":
        from assets.read_geo import read_geo

        return read_geo(path)
    if kind == "xlsx":
        return _read_xlsx(path, sheet)
    if kind == "xls":
        return _read_xls(path, sheet)
    if kind == "zipped":
        return _read_zipped(path, entries, sheet)
    if kind == "ods":
        return _read_ods(path, sheet, entries)
    if path.stat().st_size > MAX_IN_MEMORY_BYTES:
        raise RefusedFile(
            path, "too-large", "il est trop gros pour être lu en une fois (utiliser la lecture par blocs)"
        )
    streamed = _stream_csv(path, block_bytes=None)
    frames = list(streamed.chunks())
    frame = frames[0] if len(frames) == 1 else pd.concat(frames)
    return StagedTable(
        frame=frame,
        format=streamed.format,
        encoding=streamed.encoding,
        delimiter=streamed.delimiter,
        header_line=streamed.header_line,
        blank_lines_dropped=streamed.blank_lines_dropped,
        warnings=streamed.warnings,
    )


def iter_table(path: Path, *, chunk_rows: int = 200_000, sheet: str | None = None) -> StreamedTable:
    """Like :func:`read_table` but yields frames of about ``chunk_rows`` rows, with bounded memory for
    CSV files of any size (spreadsheets and geo files are read whole, then sliced)."""
    path = Path(path)
    kind, _ = _kind(path)
    if kind == "csv":
        return _stream_csv(path, block_bytes=None, chunk_rows=chunk_rows)
    staged = read_table(path, sheet=sheet)
    frame = staged.frame
    stream = StreamedTable(
        path=path,
        format=staged.format,
        encoding=staged.encoding,
        delimiter=staged.delimiter,
        header_line=staged.header_line,
        sheet=staged.sheet,
        columns=list(frame.columns),
        warnings=staged.warnings,
        blank_lines_dropped=staged.blank_lines_dropped,
        rows_read=len(frame),
    )
    stream._source = (frame.iloc[i : i + chunk_rows] for i in range(0, max(len(frame), 1), chunk_rows))
    return stream


# --- dispatch ------------------------------------------------------------------------------------------
def _kind(path: Path) -> tuple[str, list[zipfile.ZipInfo]]:
    """``csv``, ``xlsx``, ``xls``, ``ods`` or ``geo``, from the magic bytes; the suffix breaks ties."""
    if not path.is_file():
        raise RefusedFile(path, "missing", "il est introuvable")
    size = path.stat().st_size
    if size == 0:
        raise RefusedFile(path, "empty", "il est vide (0 octet)")
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(4096)
    if suffix in GEO_SUFFIXES:
        return "geo", []
    if suffix == ".json" or head.lstrip()[:1] == b"{":
        if b"FeatureCollection" in head or b'"Feature"' in head:
            return "geo", []
        raise RefusedFile(
            path, "unsupported-format", "c'est un JSON qui n'est pas une collection d'objets GeoJSON"
        )
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            entries = inspect_zip(path)
        except UnsafeFile as exc:
            raise RefusedFile(path, exc.reason, str(exc)) from None
        names = {e.filename for e in entries}
        lower = {n.lower() for n in names}
        if "xl/workbook.xml" in names:
            _check_office_xml(path, entries)
            return "xlsx", entries
        if "content.xml" in names and _zip_mimetype(path).startswith(
            "application/vnd.oasis.opendocument.spreadsheet"
        ):
            _check_office_xml(path, entries)
            return "ods", entries
        if any(n.endswith(".shp") for n in lower):
            return "geo", entries
        tables = [e for e in entries if not e.is_dir() and Path(e.filename).suffix.lower() in ZIPPED_TABLES]
        if len(tables) == 1:
            return "zipped", tables
        raise RefusedFile(
            path,
            "unsupported-format",
            "c'est une archive zip qui n'est ni un tableur XLSX/ODS ni un Shapefile",
        )
    if head.startswith(_OLE2):
        # Excel 97-2003 workbooks (and Word/PowerPoint files, which xlrd refuses as corrupt).
        if size > MAX_XLS_BYTES:
            raise RefusedFile(
                path,
                "too-large",
                f"ce classeur .xls dépasse {MAX_XLS_BYTES // 2**20} Mo ; exportez-le en CSV",
            )
        return "xls", []
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise RefusedFile(path, "binary", f"c'est {what}, pas un tableau")
    if head.lstrip().startswith(b"<") and suffix in {".xml", ""}:
        return "geo", []
    return "csv", []


def _zip_mimetype(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        try:
            return archive.read("mimetype")[:200].decode("ascii", "replace").strip()
        except KeyError:
            return ""


def _check_office_xml(path: Path, entries: list[zipfile.ZipInfo]) -> None:
    try:
        check_zip_xml_members(path, entries)
    except UnsafeFile as exc:
        raise RefusedFile(path, exc.reason, str(exc)) from None


# --- CSV: sniffing -------------------------------------------------------------------------------------
@dataclass
class _CsvPlan:
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


def _sniff_csv(path: Path) -> _CsvPlan:
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
    return _sniff_text(path, head, codec, errors, label, bom_len, transcode, warnings)


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
    decoder = codecs.getincrementaldecoder("utf-8")()
    error_at = None
    with path.open("rb") as fh:
        fh.seek(bom_len)
        pos = bom_len
        while chunk := fh.read(SCAN_BYTES):
            try:
                decoder.decode(chunk, False)
            except UnicodeDecodeError as exc:
                error_at = pos + max(exc.start, 0)
                break
            pos += len(chunk)
        else:
            try:
                decoder.decode(b"", True)
            except UnicodeDecodeError:
                error_at = pos
        if error_at is None:
            return "utf-8", "strict", "utf-8", []
        # Sample: the beginning and the region of the first error, keeping only lines with non-ASCII
        # bytes (ASCII tells nothing about the encoding and dilutes the detector).
        fh.seek(bom_len)
        sample = fh.read(4 * SNIFF_BYTES)
        fh.seek(max(error_at - 4096, bom_len))
        sample += b"\n" + fh.read(SNIFF_BYTES)
    lines = [line for line in sample.split(b"\n") if max(line, default=0) >= 0x80]
    sample = b"\n".join(lines)[: 2 * SNIFF_BYTES]
    as_utf8 = sample.decode("utf-8", "replace")
    bad = as_utf8.count("\ufffd")
    good = len(as_utf8) - len(as_utf8.encode("ascii", "ignore")) - bad
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
    best = charset_normalizer.from_bytes(sample, cp_isolation=TEXT_SINGLE_BYTE).best()
    candidates = ["cp1252"] + ([best.encoding] if best is not None and best.encoding != "cp1252" else [])
    scored = []
    for codec in candidates:
        text = sample.decode(codec, "territoire-cp1252" if codec == "cp1252" else "replace")
        controls = sum(text.count(c) for c in _CONTROL_CHARS if c in text)
        scored.append(
            (sum(text.count(c) for c in _FRENCH) - 3 * controls, controls / max(len(text), 1), codec)
        )
    score, control_share, codec = max(scored, key=lambda s: s[0])
    if best is None and control_share > 0.01 or control_share > 0.05:
        raise RefusedFile(
            path,
            "undecodable",
            "son encodage de caractères n'a pas pu être reconnu (ni UTF-8 ni Windows-1252/Latin-1)",
        )
    if codec in {"latin_1", "iso8859_15"}:
        codec = "cp1252"  # same letters; cp1252 also decodes ’ € œ that producers' Windows tools write
    return codec, "territoire-cp1252" if codec == "cp1252" else "strict", codec, []


def _sniff_text(
    path: Path,
    head: bytes,
    codec: str,
    errors: str,
    label: str,
    bom_len: int,
    transcode: bool,
    warnings: list[str],
) -> _CsvPlan:
    text = codecs.getincrementaldecoder(codec)(errors=errors).decode(head[bom_len:], False)
    truncated = len(head) < path.stat().st_size
    cr_only = "\r" in text and "\n" not in text
    if cr_only:
        text = text.replace("\r", "\n")
    if truncated and "\n" in text:
        text = text[: text.rfind("\n") + 1]  # complete lines only
    text = text.replace("\x00", "")
    by_delimiter = {d: _sample_records(text, d) for d in DELIMITERS}
    delimiter = _choose_delimiter(by_delimiter)
    records = by_delimiter[delimiter]
    if truncated and len(records) > 1:
        records = records[:-1]  # the last record may be a multi-line cell cut by the sample
    header_idx = _header_index([r for _, r in records])
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
    return _CsvPlan(
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


def _sample_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(physical line where the record starts, fields) for the first records of the sample."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
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


def _header_index(rows: list[list[str]]) -> int | None:
    """Index of the header among the first rows: the first whose non-empty cells reach half the modal
    width (title lines above a table have one or two cells)."""
    rows = rows[:HEADER_SCAN_RECORDS]
    widths = [_width(r) for r in rows]
    nonblank = [w for w in widths if w]
    if not nonblank:
        return None
    mode = max(Counter(nonblank).items(), key=lambda kv: (kv[1], kv[0]))[0]
    need = max(1, math.ceil(mode / 2))
    for i, row in enumerate(rows):
        if sum(1 for c in row if c.strip()) >= need:
            return i
    return next(i for i, w in enumerate(widths) if w)


def _width(row: list[str]) -> int:
    """Number of cells up to the last non-empty one."""
    for i in range(len(row) - 1, -1, -1):
        if row[i].strip():
            return i + 1
    return 0


def unique_headers(headers: list[str]) -> list[str]:
    """Headers stripped and made unique as pandas does (``a``, ``a.1``, ``a.2``); an empty header
    becomes ``colonne_N`` (its 1-based position) so that every column can be named in a message."""
    names = [h.strip() or f"colonne_{i + 1}" for i, h in enumerate(headers)]
    seen: Counter[str] = Counter()
    taken = set(names)
    out = []
    for name in names:
        if seen[name]:
            candidate = f"{name}.{seen[name]}"
            while candidate in taken:
                seen[name] += 1
                candidate = f"{name}.{seen[name]}"
            taken.add(candidate)
            seen[name] += 1
            out.append(candidate)
        else:
            seen[name] += 1
            out.append(name)
    return out


# --- CSV: streaming and parsing -------------------------------------------------------------------------
def _stream_csv(path: Path, *, block_bytes: int | None, chunk_rows: int | None = None) -> StreamedTable:
    plan = _sniff_csv(path)
    if block_bytes is None:
        if chunk_rows is None:
            block_bytes = path.stat().st_size + 1
        else:
            block_bytes = int(min(max(chunk_rows * plan.avg_line_bytes, 64 * 1024), 512 * 1024**2))
    stream = StreamedTable(
        path=path,
        format="tsv" if plan.delimiter == "\t" else "csv",
        encoding=plan.label,
        delimiter=plan.delimiter,
        header_line=plan.header_line,
        sheet=None,
        columns=list(plan.columns),
        warnings=list(plan.warnings),
    )
    frames = _csv_frames(path, plan, block_bytes, stream)
    if chunk_rows is not None:
        # A block holds about chunk_rows rows (estimated from the sample); slicing makes it a promise.
        frames = (f.iloc[i : i + chunk_rows] for f in frames for i in range(0, len(f), chunk_rows))
    stream._source = frames
    return stream


def _csv_frames(
    path: Path, plan: _CsvPlan, block_bytes: int, stream: StreamedTable
) -> Iterator[pd.DataFrame]:
    repeated: list[int] = []
    ragged: dict[str, list[int]] = {"short": [], "long": []}
    nul_seen = False
    for data, first_line in _utf8_blocks(path, plan, block_bytes):
        if b"\x00" in data:
            data = data.replace(b"\x00", b"")
            nul_seen = True
        frame, blanks = _parse_block(path, data, first_line, plan, ragged)
        frame, dropped = _drop_repeated_headers(frame, plan.header_fields)
        repeated += dropped
        stream.blank_lines_dropped += blanks
        stream.rows_read += len(frame)
        if len(frame):
            yield frame
    if nul_seen:
        stream.warnings.append(
            "Des octets nuls (NUL) ont été trouvés dans des cellules : ils ont été supprimés."
        )
    stream.warnings += _ragged_warnings(ragged, len(plan.columns))
    if repeated:
        stream.warnings.append(
            f"La ligne d'en-tête est répétée {len(repeated)} fois dans le fichier "
            f"(ligne(s) {_lines(repeated)}) : "
            "ces répétitions ne sont pas des données et sont ignorées."
        )
    if stream.rows_read == 0:
        raise RefusedFile(
            path, "header-only", "il ne contient qu'une ligne d'en-tête, sans aucune ligne de données"
        )


def _utf8_blocks(path: Path, plan: _CsvPlan, block_bytes: int) -> Iterator[tuple[bytes, int]]:
    """UTF-8 bytes holding whole records, with the physical line number of their first line.

    Blocks are cut only after a newline that is outside any quoted cell (even number of quotes before
    it in the block), so a multi-line cell is never split between two chunks.
    """
    decoder = codecs.getincrementaldecoder(plan.codec)(errors=plan.errors) if plan.transcode else None
    to_skip = plan.body_first_line - 1
    line_no = 1
    carry = b""
    with path.open("rb") as fh:
        fh.seek(plan.bom_len)
        while True:
            raw = fh.read(block_bytes)
            # A short read is the end of the file: the last block needs no search for a record end.
            final = len(raw) < block_bytes
            data = decoder.decode(raw, final).encode("utf-8") if decoder is not None else raw
            if plan.cr_only:
                data = data.replace(b"\r", b"\n")
            buf = carry + data if carry else data
            if to_skip:
                pos = -1
                for _ in range(to_skip):
                    pos = buf.find(b"\n", pos + 1)
                    if pos < 0:
                        break
                if pos < 0 and not final:
                    carry = buf
                    continue
                buf = buf[pos + 1 :] if pos >= 0 else b""
                line_no += to_skip
                to_skip = 0
            if final:
                if buf:
                    yield buf, line_no
                return
            cut = _last_record_end(buf)
            if cut <= 0:
                if len(buf) > MAX_RECORD_BYTES:
                    raise RefusedFile(
                        path,
                        "line-too-long",
                        f"un enregistrement dépasse {MAX_RECORD_BYTES // 1024**2} Mo "
                        "(guillemet jamais refermé ?)",
                    )
                carry = buf
                continue
            yield buf[:cut], line_no
            line_no += buf.count(b"\n", 0, cut)
            carry = buf[cut:]


def _last_record_end(buf: bytes) -> int:
    if b'"' not in buf:
        return buf.rfind(b"\n") + 1
    arr = np.frombuffer(buf, np.uint8)
    newlines = np.flatnonzero(arr == 10)
    if not len(newlines):
        return 0
    quotes = np.flatnonzero(arr == 34)
    outside = np.flatnonzero(np.searchsorted(quotes, newlines) % 2 == 0)
    return int(newlines[outside[-1]]) + 1 if len(outside) else 0


def _parse_block(
    path: Path, data: bytes, first_line: int, plan: _CsvPlan, ragged: dict[str, list[int]]
) -> tuple[pd.DataFrame, int]:
    """Frame of one block (index = physical line of each record) and its count of blank lines."""
    arr = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(arr == 10)
    n_lines = len(newlines) + (1 if data and data[-1] != 10 else 0)
    starts = np.concatenate(([0], newlines + 1))[:n_lines]
    ends = np.concatenate((newlines, [len(data)]))[:n_lines]
    lengths = ends - starts
    if n_lines and int(lengths.max()) > MAX_LINE_BYTES:
        line = first_line + int(lengths.argmax())
        raise RefusedFile(path, "line-too-long", f"la ligne {line} dépasse {MAX_LINE_BYTES // 1024**2} Mo")
    has_cr = (lengths > 0) & (arr[np.maximum(ends - 1, 0)] == 13) if len(arr) else lengths > 0
    content = lengths - has_cr
    multiline = False
    record_start = np.ones(n_lines, dtype=bool)
    if b'"' in data and n_lines:
        # Parity of the quotes on each line in one pass (no array of quote positions: a file quoting
        # every cell has tens of millions of them).
        odd = np.bitwise_xor.reduceat((arr == 34).view(np.uint8), starts).astype(np.int64)
        record_start = ((np.cumsum(odd) - odd) & 1) == 0
        multiline = not bool(record_start.all())
    blank = record_start & (content == 0)
    record_lines = first_line + np.flatnonzero(record_start & ~blank)
    blanks = int(blank.sum())
    frame = _parse_arrow(data, plan, multiline, int(lengths.max()) if n_lines else 0)
    if frame is None or len(frame) != len(record_lines):
        frame, record_lines, blanks = _parse_python(path, data, first_line, plan, ragged)
    frame.index = pd.Index(record_lines, dtype="int64")
    empty = _all_empty(frame)
    if empty.any():
        blanks += int(empty.sum())
        frame = frame.loc[~empty]
    return frame, blanks


def _parse_arrow(data: bytes, plan: _CsvPlan, multiline: bool, longest_line: int) -> pd.DataFrame | None:
    names = [f"f{i}" for i in range(len(plan.columns))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=max(4 * 1024**2, 2 * longest_line + 1024), use_threads=True
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=plan.delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=multiline,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},  # pandas `str` holds large_string
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None  # ragged rows, stray quotes, huge records: the exact (slower) reader takes over
    # Cells stay in Arrow memory as pandas' ``str`` dtype: no Python object per cell (building them was
    # a third of the reading time and most of a chunk's memory), and the string methods of every
    # consumer run in C++.
    return pd.DataFrame(
        {column: pd.Series(table.column(i), dtype="str") for i, column in enumerate(plan.columns)},
        index=pd.RangeIndex(table.num_rows),
    )


def _parse_python(
    path: Path, data: bytes, first_line: int, plan: _CsvPlan, ragged: dict[str, list[int]]
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The exact reader: the csv module gives, for each record, the line where it starts."""
    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_RECORD_BYTES)
    try:
        reader = csv.reader(
            io.StringIO(data.decode("utf-8"), newline=""),
            delimiter=plan.delimiter,
            quotechar='"',
            strict=False,
        )
        width = len(plan.columns)
        rows: list[list[str]] = []
        lines: list[int] = []
        blanks = 0
        previous = 0
        for fields in reader:
            start = first_line + previous
            previous = reader.line_num
            if not fields:
                blanks += 1
                continue
            if len(fields) < width:
                ragged["short"].append(start)
                fields = fields + [""] * (width - len(fields))
            elif len(fields) > width:
                if any(f.strip() for f in fields[width:]):
                    ragged["long"].append(start)
                else:
                    fields = fields[:width]
            rows.append(fields)
            lines.append(start)
    finally:
        csv.field_size_limit(old_limit)
    longest = max((len(r) for r in rows), default=width)
    if longest > MAX_COLUMNS:
        raise RefusedFile(
            path, "too-many-columns", f"une ligne a {longest} cellules (maximum accepté : {MAX_COLUMNS})"
        )
    columns = plan.columns + [f"colonne_{i + 1}" for i in range(width, longest)]
    frame = pd.DataFrame([r + [""] * (longest - len(r)) for r in rows], columns=columns, dtype=object)
    if frame.empty:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return frame, np.asarray(lines, dtype="int64"), blanks


def _all_empty(frame: pd.DataFrame) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for column in frame.columns:
        mask &= (frame[column] == "").to_numpy()
        if not mask.any():
            break
    return mask


def _drop_repeated_headers(frame: pd.DataFrame, header: list[str]) -> tuple[pd.DataFrame, list[int]]:
    """Rows whose cells repeat the header exactly, cell for cell, are not data."""
    if frame.empty:
        return frame, []
    mask = np.ones(len(frame), dtype=bool)
    for column, name in zip(frame.columns, header, strict=False):
        mask &= (frame[column] == name).to_numpy()
        if not mask.any():
            return frame, []
    return frame.loc[~mask], [int(i) for i in frame.index[mask]]


def _ragged_warnings(ragged: dict[str, list[int]], width: int) -> list[str]:
    out = []
    if ragged["short"]:
        out.append(
            f"{len(ragged['short'])} ligne(s) ont moins de {width} cellules "
            f"(ligne(s) {_lines(ragged['short'])}) : "
            "les cellules manquantes sont laissées vides."
        )
    if ragged["long"]:
        out.append(
            f"{len(ragged['long'])} ligne(s) ont plus de {width} cellules "
            f"(ligne(s) {_lines(ragged['long'])}) : "
            "les valeurs en trop sont conservées dans des colonnes « colonne_N »."
        )
    return out


def _lines(lines: list[int], shown: int = 10) -> str:
    text = ", ".join(str(n) for n in lines[:shown])
    return text + (f" et {len(lines) - shown} autre(s)" if len(lines) > shown else "")


# --- spreadsheets ----------------------------------------------------------------------------------------
def cell_text(value: object) -> str:
    """A spreadsheet cell as the text the producer meant: integral floats are identifiers or amounts
    without decimals (``21860194600000.0`` → ``21860194600000``), dates are ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)


def _read_xlsx(path: Path, sheet: str | None) -> StagedTable:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise RefusedFile(path, "corrupt", f"le classeur XLSX est illisible ({type(exc).__name__})") from None
    try:
        names = list(workbook.sheetnames)

        def rows_of(name: str) -> Iterator[list[str]]:
            worksheet = workbook[name]
            worksheet.reset_dimensions()  # declared dimensions are often wrong; read what is there
            for values in worksheet.iter_rows(values_only=True):
                if len(values) > MAX_COLUMNS and _width([cell_text(v) for v in values[MAX_COLUMNS:]]):
                    raise RefusedFile(
                        path, "too-many-columns", f"la feuille « {name} » a plus de {MAX_COLUMNS} colonnes"
                    )
                yield [cell_text(v) for v in values[:MAX_COLUMNS]]

        name = _choose_sheet(path, names, sheet, rows_of)
        return _table_from_rows(path, list(rows_of(name)), "xlsx", name)
    finally:
        workbook.close()


def _read_zipped(path: Path, entries: list[zipfile.ZipInfo], sheet: str | None) -> StagedTable:
    """A zip holding one table (an extract sent by e-mail): that table, read as if dropped alone."""
    import tempfile

    (member,) = entries
    with tempfile.TemporaryDirectory(prefix="territoire-zip-") as folder:
        try:
            (extracted,) = safe_extract(path, entries, Path(folder))
        except UnsafeFile as exc:
            raise RefusedFile(path, exc.reason, str(exc)) from None
        if _kind(extracted)[0] == "zipped":
            raise RefusedFile(path, "unsupported-format", "c'est une archive zip dans une archive zip")
        staged = read_table(extracted, sheet=sheet)
    staged.warnings.insert(0, f"Fichier « {member.filename} » lu dans l'archive « {path.name} ».")
    staged.format = f"zip/{staged.format}"
    return staged


def _read_xls(path: Path, sheet: str | None) -> StagedTable:
    """Excel 97-2003, still what many town halls' accounting software exports (xlrd reads it)."""
    import xlrd

    try:
        # xlrd reports damage ("file size not 512 + multiple of sector size") on stdout by default.
        book = xlrd.open_workbook(str(path), on_demand=True, logfile=sys.stderr)
    except Exception as exc:  # xlrd raises its own XLRDError and struct/OLE errors for damaged files
        raise RefusedFile(
            path, "corrupt", f"ce n'est pas un classeur Excel 97-2003 lisible ({type(exc).__name__})"
        ) from None
    try:

        def rows_of(name: str) -> Iterator[list[str]]:
            worksheet = book.sheet_by_name(name)
            if worksheet.ncols > MAX_COLUMNS:
                raise RefusedFile(
                    path, "too-many-columns", f"la feuille « {name} » a plus de {MAX_COLUMNS} colonnes"
                )
            for r in range(worksheet.nrows):
                yield [_xls_cell_text(cell, book.datemode) for cell in worksheet.row(r)]

        name = _choose_sheet(path, book.sheet_names(), sheet, rows_of)
        return _table_from_rows(path, list(rows_of(name)), "xls", name)
    finally:
        book.release_resources()


def _xls_cell_text(cell: object, datemode: int) -> str:
    """xlrd gives dates as day numbers and booleans as 0/1: turn them back into what the cell showed."""
    import xlrd

    kind, value = cell.ctype, cell.value
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    if kind == xlrd.XL_CELL_DATE:
        try:
            return cell_text(xlrd.xldate_as_datetime(value, datemode))
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell_text(value)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return cell_text(bool(value))
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "")
    return cell_text(value)


def _read_ods(path: Path, sheet: str | None, entries: list[zipfile.ZipInfo]) -> StagedTable:
    content = next(e for e in entries if e.filename == "content.xml")
    if content.file_size > MAX_ODS_CONTENT_BYTES:
        raise RefusedFile(
            path,
            "too-large",
            f"le classeur ODS est trop gros ({content.file_size // 1024**2} Mo de contenu XML)",
        )
    from odf.opendocument import load
    from odf.table import Table

    try:
        document = load(str(path))
    except Exception as exc:  # odfpy raises many kinds for a damaged document
        raise RefusedFile(path, "corrupt", f"le classeur ODS est illisible ({type(exc).__name__})") from None
    tables = {t.getAttribute("name"): t for t in document.spreadsheet.getElementsByType(Table)}

    def rows_of(name: str) -> Iterator[list[str]]:
        return _ods_rows(path, tables[name])

    name = _choose_sheet(path, list(tables), sheet, rows_of)
    return _table_from_rows(path, list(rows_of(name)), "ods", name)


def _ods_rows(path: Path, table: object) -> Iterator[list[str]]:
    """Rows of an ODS table, expanding repeated rows/cells only where they hold something (a sheet
    typically ends with one empty row repeated a million times)."""
    from odf.namespaces import TABLENS

    pending_empty_rows = 0
    for row in _ods_children(
        table, {"table-row"}, TABLENS, descend={"table-row-group", "table-rows", "table-header-rows"}
    ):
        repeat = int(row.getAttrNS(TABLENS, "number-rows-repeated") or 1)
        cells: list[str] = []
        pending_empty_cells = 0
        for cell in row.childNodes:
            if cell.qname[1] not in ("table-cell", "covered-table-cell"):
                continue
            times = int(cell.getAttrNS(TABLENS, "number-columns-repeated") or 1)
            text = _ods_cell_text(cell)
            if not text:
                pending_empty_cells += times
                continue
            if len(cells) + pending_empty_cells + times > MAX_COLUMNS:
                raise RefusedFile(path, "too-many-columns", f"une feuille a plus de {MAX_COLUMNS} colonnes")
            cells += [""] * pending_empty_cells + [text] * times
            pending_empty_cells = 0
        if not cells:
            pending_empty_rows += repeat
            continue
        if repeat > MAX_ODS_ROW_REPEAT:
            raise RefusedFile(
                path, "too-large", f"une ligne est répétée {repeat} fois (maximum {MAX_ODS_ROW_REPEAT})"
            )
        for _ in range(pending_empty_rows):
            yield []
        pending_empty_rows = 0
        for _ in range(repeat):
            yield cells


def _ods_children(node: object, wanted: set[str], ns: str, descend: set[str]) -> Iterator[object]:
    for child in node.childNodes:
        qname = getattr(child, "qname", None)
        if not qname or qname[0] != ns:
            continue
        if qname[1] in wanted:
            yield child
        elif qname[1] in descend:
            yield from _ods_children(child, wanted, ns, descend)


def _ods_cell_text(cell: object) -> str:
    from odf import teletype
    from odf.namespaces import OFFICENS, TEXTNS

    kind = cell.getAttrNS(OFFICENS, "value-type")
    if kind in ("float", "percentage", "currency"):
        raw = cell.getAttrNS(OFFICENS, "value") or ""
        try:
            number = float(raw)
        except ValueError:
            return raw
        return cell_text(number) if number.is_integer() else raw
    if kind == "date":
        raw = cell.getAttrNS(OFFICENS, "date-value") or ""
        return raw[:10] if raw.endswith("T00:00:00") or len(raw) == 10 else raw
    if kind == "time":
        raw = cell.getAttrNS(OFFICENS, "time-value") or ""
        try:
            hours, rest = raw.removeprefix("PT").split("H")
            minutes, rest = rest.split("M")
            return f"{int(hours):02d}:{int(minutes):02d}:{int(float(rest.rstrip('S'))):02d}"
        except ValueError:
            return raw
    if kind == "boolean":
        return cell.getAttrNS(OFFICENS, "boolean-value") or ""
    paragraphs = [
        teletype.extractText(p) for p in cell.childNodes if getattr(p, "qname", None) == (TEXTNS, "p")
    ]
    return "\n".join(paragraphs)


def _choose_sheet(path: Path, names: list[str], sheet: str | None, rows_of) -> str:
    if sheet is not None:
        if sheet not in names:
            raise RefusedFile(
                path,
                "sheet-not-found",
                f"la feuille « {sheet} » n'existe pas (feuilles : {', '.join(names)})",
            )
        return sheet
    for name in names:
        if any(_width(row) for row in rows_of(name)):
            return name
    raise RefusedFile(path, "empty", "toutes ses feuilles sont vides")


def _table_from_rows(path: Path, rows: list[list[str]], fmt: str, sheet: str) -> StagedTable:
    """Staged table from a sheet's rows (row i of the list is sheet row i+1)."""
    header_idx = _header_index(rows)
    if header_idx is None:
        raise RefusedFile(path, "empty", f"la feuille « {sheet} » est vide")
    header = [h.replace("\ufeff", "") for h in rows[header_idx][: _width(rows[header_idx])]]
    columns = unique_headers(header)
    width = len(columns)
    body = rows[header_idx + 1 :]
    longest = max([width] + [_width(r) for r in body])
    extra = [f"colonne_{i + 1}" for i in range(width, longest)]
    long_rows = [header_idx + 2 + i for i, r in enumerate(body) if _width(r) > width]
    matrix = [r[:longest] + [""] * (longest - len(r)) for r in body]
    frame = pd.DataFrame(matrix, columns=columns + extra, dtype=object)
    if not len(matrix):
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns + extra})
    frame.index = pd.RangeIndex(header_idx + 2, header_idx + 2 + len(body)).astype("int64")
    empty = _all_empty(frame)
    frame = frame.loc[~empty]
    frame, repeated = _drop_repeated_headers(frame, header)
    warnings = []
    if header_idx:
        warnings.append(
            f"L'en-tête a été trouvé ligne {header_idx + 1} de la feuille « {sheet} » : "
            "les lignes au-dessus sont ignorées."
        )
    if long_rows:
        warnings += _ragged_warnings({"short": [], "long": long_rows}, width)
    if repeated:
        warnings.append(
            f"La ligne d'en-tête est répétée {len(repeated)} fois (ligne(s) {_lines(repeated)}) : "
            "répétitions ignorées."
        )
    if frame.empty:
        raise RefusedFile(
            path, "header-only", f"la feuille « {sheet} » n'a qu'une ligne d'en-tête, sans données"
        )
    return StagedTable(
        frame=frame,
        format=fmt,
        encoding=None,
        delimiter=None,
        header_line=header_idx + 1,
        sheet=sheet,
        blank_lines_dropped=int(empty.sum()),
        warnings=warnings,
    )
