"""Read a producer's file into a staged frame: text cells, the file's own headers, source row numbers.

One entry point, :func:`read_table`, for CSV/TSV/TXT, XLSX, XLS, ODS and (through :mod:`assets.read.geo`)
GeoJSON, zipped Shapefile, GeoPackage and GML. :func:`iter_table` streams large CSV files in chunks
with the same row numbering. GTFS feeds (:mod:`assets.read.gtfs`) and the strict, Validata-like
validation of a file as it is (:mod:`assets.read.strict`) read through the same types.

The rooms: ``dispatch`` (which reader a file needs), ``sniff`` (encoding, delimiter, header of a text
file), ``blocks`` (a text file cut into blocks of whole records), ``single_byte`` (cp1252/latin-1 cells
decoded after parsing), ``delimited`` (CSV parsing), ``spreadsheet`` (XLSX/XLS/ODS), ``rows`` (header
and row rules shared by text and sheets), ``cells`` (typed cell → text), ``staged`` (``StagedTable``,
``RefusedFile``), ``limits`` (the caps) and ``safety`` (zip and XML bomb guards).

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
- **Encoding** and **delimiter**: see :mod:`assets.read.sniff`.

This package's face exports what the rest of the platform imports; its modules import one another
directly, never through here, so that no import circle runs through this file.
"""

from __future__ import annotations

from assets.read.cells import cell_text
from assets.read.dispatch import iter_table, read_table
from assets.read.limits import MAX_COLUMNS, MAX_IN_MEMORY_BYTES
from assets.read.rows import unique_headers
from assets.read.staged import RefusedFile, StagedTable, StreamedTable

__all__ = [
    "MAX_COLUMNS",
    "MAX_IN_MEMORY_BYTES",
    "RefusedFile",
    "StagedTable",
    "StreamedTable",
    "cell_text",
    "iter_table",
    "read_table",
    "unique_headers",
]
