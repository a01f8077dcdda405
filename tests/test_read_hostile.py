"""Hostile or broken input: a RefusedFile with a French message, never a crash, a hang or a memory blow-up."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest

from assets.read import MAX_COLUMNS, RefusedFile, iter_table, read_table

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    b' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    b' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n'
)


def _refused(path: Path, reason: str, **kwargs: object) -> RefusedFile:
    started = time.monotonic()
    with pytest.raises(RefusedFile) as info:
        read_table(path, **kwargs)
    assert time.monotonic() - started < 20
    assert info.value.reason == reason, str(info.value)
    assert path.name in str(info.value) and str(info.value).startswith("Le fichier")
    return info.value


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_empty_blank_and_header_only(tmp_path: Path) -> None:
    assert "vide" in str(_refused(_file(tmp_path, "vide.csv", b""), "empty"))
    _refused(_file(tmp_path, "blancs.csv", b"\r\n\r\n  \n"), "empty")
    _refused(_file(tmp_path, "entete.csv", b"a;b;c\r\n"), "header-only")
    _refused(_file(tmp_path, "entete2.csv", b"a;b;c\r\n;;\r\n\r\n"), "header-only")
    with pytest.raises(RefusedFile):
        list(iter_table(_file(tmp_path, "entete3.csv", b"a;b;c\n")).chunks())


def test_binary_and_known_binary_formats(tmp_path: Path) -> None:
    _refused(_file(tmp_path, "x.csv", os.urandom(5000)), "binary")
    _refused(_file(tmp_path, "doc.csv", b"%PDF-1.4\n" + b"x" * 100), "binary")
    # An OLE2 container that is not a readable Excel 97-2003 workbook (a damaged .xls, a .doc).
    _refused(
        _file(tmp_path, "vieux.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600),
        "corrupt",
    )


def test_undecodable(tmp_path: Path) -> None:
    # Text-looking bytes (no control bytes) whose high half makes sense in no encoding.
    import random

    rng = random.Random(1)
    data = b"a;b\n" + bytes(rng.choice(list(range(0x80, 0xA0))) for _ in range(4000)) + b";x\n"
    refused = _refused(_file(tmp_path, "bizarre.csv", data), "undecodable")
    assert "encodage" in str(refused)


def test_nul_bytes_in_cells_are_removed_with_a_warning(tmp_path: Path) -> None:
    rows = "".join(f"{i};Nom {i};commentaire\n" for i in range(200))
    staged = read_table(_file(tmp_path, "nul.csv", b"id;nom;note\n" + rows.encode() + b"200;Mar\x00tin;ok\n"))
    assert staged.frame.loc[202, "nom"] == "Martin"
    assert any("NUL" in w for w in staged.warnings)


def test_utf8_with_a_few_broken_bytes_and_encoded_surrogates(tmp_path: Path) -> None:
    rows = "".join(f"{i};Société n°{i};Tours\n" for i in range(300)).encode()
    data = b"id;nom;ville\n" + rows + b"300;caf\xe9 \xed\xa0\x80;Tours\n"
    staged = read_table(_file(tmp_path, "casse.csv", data))
    assert staged.encoding == "utf-8"
    assert staged.frame.loc[2, "nom"] == "Société n°0"
    assert "\ufffd" in staged.frame.loc[302, "nom"]
    assert any("invalide" in w for w in staged.warnings)
    staged.frame.loc[302, "nom"].encode("utf-8")  # no lone surrogate survives


def test_long_single_line_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "ligne.csv"
    with path.open("wb") as fh:
        fh.write(b"a;b;")
        block = b"x" * (1024 * 1024)
        for _ in range(100):
            fh.write(block)
    _refused(path, "line-too-long")


def test_too_many_columns(tmp_path: Path) -> None:
    header = ";".join(f"c{i}" for i in range(10_000))
    row = ";".join("1" for _ in range(10_000))
    refused = _refused(_file(tmp_path, "large.csv", f"{header}\n{row}\n".encode()), "too-many-columns")
    assert str(MAX_COLUMNS) in str(refused)


def test_unterminated_quote_does_not_hang(tmp_path: Path) -> None:
    data = b'a;b\n1;"jamais ferme\n' + b"2;x\n" * 20000
    staged = read_table(_file(tmp_path, "quote.csv", data))
    assert len(staged.frame) >= 1


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    path = _zip(
        tmp_path / "bombe.xlsx",
        {"xl/workbook.xml": b"<w/>", "xl/worksheets/sheet1.xml": b"\x00" * 300_000_000},
    )
    assert path.stat().st_size < 2_000_000
    assert "décompresse" in str(_refused(path, "zip-bomb"))


def test_zip_slip_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "slip.zip", {"../../etc/evil.shp": b"x", "ok.dbf": b"y"})
    _refused(path, "zip-slip")
    _refused(_zip(tmp_path / "abs.zip", {"/tmp/evil.shp": b"x"}), "zip-slip")


def test_billion_laughs_in_xlsx_ods_and_gml(tmp_path: Path) -> None:
    bomb = BILLION_LAUGHS + b"<workbook>&lol3;</workbook>"
    _refused(
        _zip(tmp_path / "b.xlsx", {"xl/workbook.xml": bomb, "[Content_Types].xml": b"<Types/>"}), "xml-bomb"
    )
    ods = _zip(
        tmp_path / "b.ods",
        {
            "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": BILLION_LAUGHS + b"<doc>&lol3;</doc>",
        },
    )
    _refused(ods, "xml-bomb")
    _refused(
        _file(tmp_path, "b.gml", BILLION_LAUGHS + b"<FeatureCollection>&lol3;</FeatureCollection>"),
        "xml-bomb",
    )
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    _refused(_file(tmp_path, "xxe.gml", xxe), "xml-bomb")


def test_other_zip_and_json(tmp_path: Path) -> None:
    _refused(_zip(tmp_path / "autre.zip", {"notes.md": b"bonjour"}), "unsupported-format")
    _refused(_file(tmp_path, "liste.json", b'[{"a": 1}]'), "unsupported-format")
    _refused(_file(tmp_path, "casse.xlsx", b"PK\x03\x04" + b"\x00" * 50), "corrupt")


def test_xlsx_header_only_and_ods_row_repeat_bomb(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["a", "b"])
    book.save(tmp_path / "h.xlsx")
    _refused(tmp_path / "h.xlsx", "header-only")
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="S")
    for repeat in (1, 1_000_000_000):
        row = TableRow(numberrowsrepeated=repeat) if repeat > 1 else TableRow()
        cell = TableCell(valuetype="string")
        cell.addElement(P(text="x"))
        row.addElement(cell)
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    ods = tmp_path / "rep.ods"
    doc.save(str(ods))
    _refused(ods, "too-large")
