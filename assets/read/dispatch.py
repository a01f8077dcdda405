"""The entry points: which reader a file needs, told by its magic bytes, and the staged table it gives.

One entry point, :func:`read_table`, for CSV/TSV/TXT, XLSX, XLS, ODS, a zip holding one of them and
(through :mod:`assets.read.geo`) GeoJSON, zipped Shapefile, GeoPackage and GML. :func:`iter_table`
streams large CSV files in chunks with the same row numbering.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from assets.read.delimited import stream_csv
from assets.read.limits import MAX_IN_MEMORY_BYTES, MAX_XLS_BYTES, ZIPPED_TABLES
from assets.read.safety import UnsafeFile, check_zip_xml_members, inspect_zip, safe_extract
from assets.read.spreadsheet import read_ods, read_xls, read_xlsx
from assets.read.staged import RefusedFile, StagedTable, StreamedTable

GEO_SUFFIXES = {".geojson", ".gpkg", ".gml", ".shp", ".kml"}
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


def read_table(path: Path, *, sheet: str | None = None) -> StagedTable:
    """Read any supported file into a :class:`StagedTable`; raise :class:`RefusedFile` otherwise."""
    path = Path(path)
    kind, entries = _kind(path)
    if kind == "geo":
        # GDAL (through pyogrio) takes a while to load: only geographic files pay for it.
        from assets.read.geo import read_geo

        return read_geo(path)
    if kind == "xlsx":
        return read_xlsx(path, sheet)
    if kind == "xls":
        return read_xls(path, sheet)
    if kind == "zipped":
        return _read_zipped(path, entries, sheet)
    if kind == "ods":
        return read_ods(path, sheet, entries)
    if path.stat().st_size > MAX_IN_MEMORY_BYTES:
        raise RefusedFile(
            path, "too-large", "il est trop gros pour être lu en une fois (utiliser la lecture par blocs)"
        )
    streamed = stream_csv(path, block_bytes=None)
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
        return stream_csv(path, block_bytes=None, chunk_rows=chunk_rows)
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
