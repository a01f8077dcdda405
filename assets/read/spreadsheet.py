"""Reading a workbook sheet (XLSX, XLS, ODS) into a staged frame, the sheet's row numbers as index.

Cells typed as numbers or dates are written back as text (:func:`assets.read.cells.cell_text`); the
sheet read is the one asked for, or else the first that is not empty. A sheet ends up as rows of
text, then follows the same header and row rules as a delimited file (:mod:`assets.read.rows`).
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from assets.read.cells import cell_text
from assets.read.limits import MAX_COLUMNS, MAX_ODS_CONTENT_BYTES, MAX_ODS_ROW_REPEAT
from assets.read.rows import (
    all_empty,
    drop_repeated_headers,
    filled_width,
    header_index,
    line_list,
    ragged_warnings,
    unique_headers,
)
from assets.read.staged import RefusedFile, StagedTable


def read_xlsx(path: Path, sheet: str | None) -> StagedTable:
    """Excel 2007+ (openpyxl, read-only: rows are streamed from the sheet XML)."""
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
                if len(values) > MAX_COLUMNS and filled_width([cell_text(v) for v in values[MAX_COLUMNS:]]):
                    raise RefusedFile(
                        path, "too-many-columns", f"la feuille « {name} » a plus de {MAX_COLUMNS} colonnes"
                    )
                yield [cell_text(v) for v in values[:MAX_COLUMNS]]

        name = _choose_sheet(path, names, sheet, rows_of)
        return _table_from_rows(path, list(rows_of(name)), "xlsx", name)
    finally:
        workbook.close()


def read_xls(path: Path, sheet: str | None) -> StagedTable:
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


def read_ods(path: Path, sheet: str | None, entries: list[zipfile.ZipInfo]) -> StagedTable:
    """OpenDocument (odfpy), ``entries`` being the zip's already-inspected members."""
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
        if any(filled_width(row) for row in rows_of(name)):
            return name
    raise RefusedFile(path, "empty", "toutes ses feuilles sont vides")


def _table_from_rows(path: Path, rows: list[list[str]], fmt: str, sheet: str) -> StagedTable:
    """Staged table from a sheet's rows (row i of the list is sheet row i+1)."""
    header_idx = header_index(rows)
    if header_idx is None:
        raise RefusedFile(path, "empty", f"la feuille « {sheet} » est vide")
    header = [h.replace("\ufeff", "") for h in rows[header_idx][: filled_width(rows[header_idx])]]
    columns = unique_headers(header)
    width = len(columns)
    body = rows[header_idx + 1 :]
    longest = max([width] + [filled_width(r) for r in body])
    extra = [f"colonne_{i + 1}" for i in range(width, longest)]
    long_rows = [header_idx + 2 + i for i, r in enumerate(body) if filled_width(r) > width]
    matrix = [r[:longest] + [""] * (longest - len(r)) for r in body]
    frame = pd.DataFrame(matrix, columns=columns + extra, dtype=object)
    if not len(matrix):
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns + extra})
    frame.index = pd.RangeIndex(header_idx + 2, header_idx + 2 + len(body)).astype("int64")
    empty = all_empty(frame)
    frame = frame.loc[~empty]
    frame, repeated = drop_repeated_headers(frame, header)
    warnings = []
    if header_idx:
        warnings.append(
            f"L'en-tête a été trouvé ligne {header_idx + 1} de la feuille « {sheet} » : "
            "les lignes au-dessus sont ignorées."
        )
    if long_rows:
        warnings += ragged_warnings({"short": [], "long": long_rows}, width)
    if repeated:
        warnings.append(
            f"La ligne d'en-tête est répétée {len(repeated)} fois (ligne(s) {line_list(repeated)}) : "
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
