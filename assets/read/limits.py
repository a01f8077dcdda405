"""The caps every reader honours, each with the reason for its value, in one place to read and tune.

A producer's file reaches the platform unattended: these bounds keep a hostile or broken file from
exhausting memory or time before it is refused with a sentence the producer can act on.
"""

from __future__ import annotations

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
