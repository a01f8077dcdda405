"""Guards against hostile files: zip bombs, zip slip, XML entity bombs, binary content.

A producer's file is untrusted input that reaches the platform unattended (harvest, drop folder). Each
guard runs *before* a library decompresses or parses the file, because once openpyxl, odfpy or GDAL
has started inflating a bomb the memory is already gone. The caps are module constants so they can
be read, discussed and tuned in one place.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

# A real spreadsheet of one million rows inflates to a few hundred MB of sheet XML; 1 GiB leaves room
# for that and refuses what would not fit in the memory of a small worker anyway.
MAX_UNCOMPRESSED_BYTES = 1024**3
# Office XML and shapefiles compress 5-30x; above 200x an entry is almost surely a crafted bomb
# (the classic 42.zip is ~1000x per layer). Tiny entries are exempt: a few KB cannot hurt.
MAX_COMPRESSION_RATIO = 200
RATIO_EXEMPT_BYTES = 1024**2
# An XLSX has ~10-50 parts, a zipped shapefile ~5-10 files per layer; thousands is an attack.
MAX_ZIP_ENTRIES = 10_000
# The DTD, if any, sits in the XML prolog before the root element; 1 MiB is far more than any prolog.
XML_PROLOG_BYTES = 1024**2


class UnsafeFile(Exception):
    """A guard refused the file; ``reason`` is a RefusedFile code, the message is French."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def inspect_zip(path: Path) -> list[zipfile.ZipInfo]:
    """Entries of a zip archive, after checking sizes, ratios and names from the central directory.

    Python's ``zipfile`` stops inflating an entry at its declared ``file_size``, so checking the
    declared sizes here bounds what any zipfile-based reader (openpyxl, odfpy, our own extraction) can
    inflate later.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeFile("corrupt", f"l'archive est illisible ou corrompue ({exc})") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise UnsafeFile(
            "zip-bomb", f"l'archive contient {len(entries)} fichiers (maximum {MAX_ZIP_ENTRIES})"
        )
    total = 0
    for info in entries:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or (name.parts and name.parts[0].endswith(":")):
            raise UnsafeFile(
                "zip-slip", f"l'archive contient un chemin dangereux « {info.filename} » (sortie du dossier)"
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_EXEMPT_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise UnsafeFile(
                "zip-bomb",
                f"l'élément « {info.filename} » se décompresse {ratio:.0f} fois plus gros que sa taille "
                f"compressée (bombe de décompression probable)",
            )
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UnsafeFile(
            "zip-bomb",
            f"l'archive se décompresse en {total / 1024**2:.0f} Mo "
            f"(maximum {MAX_UNCOMPRESSED_BYTES // 1024**2} Mo)",
        )
    return entries


class _PrologDone(Exception):
    """Raised by the parser target at the root element: the prolog (and any DTD) is behind us."""


class _StopAtRoot:
    def start(self, tag: str, attrib: dict) -> None:
        raise _PrologDone

    def end(self, tag: str) -> None:  # pragma: no cover - never reached before start
        pass

    def data(self, data: str) -> None:
        pass

    def close(self) -> None:
        pass


def check_xml_prolog(head: bytes, what: str) -> None:
    """Refuse XML whose prolog declares entities or external references (billion laughs, XXE).

    defusedxml does the recognising; only the prolog is parsed since a DTD cannot appear after the
    root element, so the check costs nothing on a 500 MB sheet.
    """
    parser = DET.DefusedXMLParser(
        target=_StopAtRoot(), forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(head)
    except _PrologDone:
        return
    except DefusedXmlException:
        raise UnsafeFile(
            "xml-bomb", f"« {what} » déclare des entités XML (bombe XML ou référence externe interdite)"
        ) from None
    except DET.ParseError as exc:
        if len(head) >= XML_PROLOG_BYTES:
            raise UnsafeFile("xml-bomb", f"« {what} » a un en-tête XML anormalement long") from None
        # A truncated or malformed prolog is for the real parser to report; it is not a bomb.
        if "undefined entity" in str(exc):
            raise UnsafeFile("xml-bomb", f"« {what} » utilise des entités XML non déclarées") from None
        return
    if len(head) >= XML_PROLOG_BYTES:
        raise UnsafeFile("xml-bomb", f"« {what} » a un en-tête XML anormalement long")


def check_zip_xml_members(path: Path, entries: list[zipfile.ZipInfo]) -> None:
    """Run :func:`check_xml_prolog` on every XML part of an XLSX/ODS before the library sees it."""
    with zipfile.ZipFile(path) as archive:
        for info in entries:
            if info.filename.lower().endswith((".xml", ".rels", ".vml")):
                with archive.open(info) as member:
                    check_xml_prolog(member.read(XML_PROLOG_BYTES), info.filename)


def safe_extract(path: Path, entries: list[zipfile.ZipInfo], target: Path) -> list[Path]:
    """Extract the already-inspected ``entries`` under ``target`` only, flattening nothing but refusing
    any path that would resolve outside it (belt and braces after :func:`inspect_zip`)."""
    root = target.resolve()
    written: list[Path] = []
    with zipfile.ZipFile(path) as archive:
        for info in entries:
            if info.is_dir():
                continue
            dest = (root / info.filename.replace("\\", "/")).resolve()
            if root not in dest.parents:
                raise UnsafeFile("zip-slip", f"l'archive contient un chemin dangereux « {info.filename} »")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, 1024**2)
            written.append(dest)
    return written
