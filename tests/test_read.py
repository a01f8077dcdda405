"""assets/read/ on the real extracts in /work/shared/reference and on small files made here."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from conftest import REFERENCE

from assets.read import RefusedFile, iter_table, read_table, unique_headers

SUBVENTIONS = REFERENCE / "real-world-subventions"
POITIERS = (
    "SCDL_COM_Poitiers_citoyennete-subventions-directes-attribuees-aux-associations-2017-ville-de-poiti.csv"
)
FIXTURES = REFERENCE / "csv-detective-fixtures"

# file -> (encoding, delimiter, rows, first data row, column, value in the first row)
REAL = {
    "DEP_Lot_Subventions_2017_DONNEES.xlsx_pour_exemple.csv": (
        "cp1252",
        ";",
        13,
        2,
        "nomBeneficiaire",
        "Association des maires et élus du Lot",
    ),
    "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv": (
        "cp1252",
        ",",
        97,
        2,
        "COLL_NOM",
        "Département de la Nièvre",
    ),
    "DEP_Somme_TB_20180302_DONNEES_CONVENTIONS.csv": (
        "cp1252",
        ";",
        41,
        2,
        "nomAttribuant",
        "Département de la Somme",
    ),
    "DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv": ("cp1252", ";", 11, 2, "nature", "aide en numéraire"),
    POITIERS: (
        "utf-8",
        ";",
        562,
        2,
        "COLL_SIRET",
        "21860194600000.0",
    ),
    "SCDL_DEP_Haute_Garonne_datalocale-subvention.csv": ("utf-8", ";", 69, 2, "nature", "Aide en numéraire"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_subventions_files(name: str) -> None:
    encoding, delimiter, rows, first, column, value = REAL[name]
    staged = read_table(SUBVENTIONS / name)
    assert (staged.encoding, staged.delimiter, staged.header_line) == (encoding, delimiter, 1)
    assert len(staged.frame) == rows
    assert staged.frame.index[0] == first
    assert staged.frame.loc[first, column] == value
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in staged.frame.dtypes)  # object or str
    text = "".join(staged.frame.astype(str).to_numpy().ravel())
    assert "Ã" not in text and "\ufffd" not in text  # no mojibake anywhere


def test_every_reference_csv_reads() -> None:
    for path in sorted([*SUBVENTIONS.glob("*.csv"), *FIXTURES.glob("*.csv")]):
        staged = read_table(path)
        assert len(staged.frame) > 5, path.name
        assert staged.frame.index.is_monotonic_increasing and staged.frame.index.is_unique


def test_somme_bom_with_cp1252_content_is_not_utf8() -> None:
    staged = read_table(SUBVENTIONS / "DEP_Somme_TB_20180302_DONNEES_CONVENTIONS.csv")
    assert staged.frame.columns[0] == "nomAttribuant"  # BOM not glued to the first header
    assert "€" in " ".join(staged.frame["objet"])  # cp1252, not latin-1
    assert any("BOM" in w for w in staged.warnings)


def test_lot_separator_lines_are_blank_and_multiline_cell_keeps_its_start_line() -> None:
    staged = read_table(SUBVENTIONS / "DEP_Lot_Subventions_2017_DONNEES.xlsx_pour_exemple.csv")
    assert staged.blank_lines_dropped == 21  # lines made only of ';'
    assert "\n-opérations du plan marketing LOT" in staged.frame.loc[11, "objet"]
    assert staged.frame.index[staged.frame.index.get_loc(11) + 1] == 16  # the cell spans lines 11-15


def test_poitiers_row_numbers_match_the_csv_module() -> None:
    path = SUBVENTIONS / next(n for n in REAL if n.startswith("SCDL_COM_Poitiers"))
    reader = csv.reader(io.StringIO(path.read_text("utf-8"), newline=""), delimiter=";")
    starts, previous = [], 0
    for fields in reader:
        if fields:
            starts.append(previous + 1)
        previous = reader.line_num
    staged = read_table(path)
    assert list(staged.frame.index) == starts[1:]
    assert staged.frame.index[-1] > len(staged.frame) + 300  # many multi-line cells before the end


def test_repeated_header_lines_are_dropped_with_a_warning() -> None:
    staged = read_table(FIXTURES / "a_test_file-couverture-communes.csv")
    assert staged.header_line == 1
    assert staged.frame.index[0] == 4
    assert staged.frame.loc[4, "NUMCOM"] == "01001"  # leading zero kept: no type inference
    assert staged.frame.loc[4, "GEO_INFO"] == '{"type": "Point", "coordinates": [12.5, 2.8]}'
    assert any("répétée 2 fois" in w and "2, 3" in w for w in staged.warnings)
    assert "NUMCOM" not in set(staged.frame["NUMCOM"])


def test_comma_files() -> None:
    irve = read_table(FIXTURES / "irve-extract.csv")
    assert irve.delimiter == "," and irve.frame.shape == (100, 52)
    castel = read_table(FIXTURES / "subventions-commune-de-castelmaurou.csv")
    assert castel.frame.loc[2, "nature"] == "aide en numéraire"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_title_lines_bom_crlf_mix_and_decimal_commas(tmp_path: Path) -> None:
    text = (
        "Subventions versées en 2017\r\n"
        "\r\n"
        "nom;montant;code\r\n"
        "Amicale laïque;1 500,50;01001\n"
        "Comité des fêtes;200,00;2A004\r\n"
        "\n"
        '"Club ""Tours""";3,5;37261\r\n'
    )
    staged = read_table(_write(tmp_path, "t.csv", "\ufeff".encode() + text.encode("utf-8")))
    assert staged.encoding == "utf-8-sig" and staged.delimiter == ";" and staged.header_line == 3
    assert list(staged.frame.columns) == ["nom", "montant", "code"]
    assert list(staged.frame.index) == [4, 5, 7]
    assert staged.frame.loc[5, "nom"] == "Comité des fêtes" and staged.frame.loc[4, "montant"] == "1 500,50"
    assert staged.frame.loc[7, "nom"] == 'Club "Tours"' and staged.frame.loc[4, "code"] == "01001"
    assert staged.blank_lines_dropped == 1
    assert any("ligne 3" in w for w in staged.warnings)


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "latin-1"])
def test_delimiters_and_encodings(tmp_path: Path, delimiter: str, encoding: str) -> None:
    rows = [["commune", "libellé", "montant"]] + [
        [f"3726{i}", f"Élément n°{i} à Tours", f"{i},5"] for i in range(30)
    ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    staged = read_table(_write(tmp_path, "x.csv", buffer.getvalue().encode(encoding)))
    assert staged.delimiter == delimiter
    assert staged.encoding == ("utf-8" if encoding == "utf-8" else "cp1252")
    assert (
        staged.frame.loc[2, "libellé"] == "Élément n°0 à Tours" and staged.frame.loc[31, "montant"] == "29,5"
    )
    assert staged.format == ("tsv" if delimiter == "\t" else "csv")


def test_mac_roman_is_recognised(tmp_path: Path) -> None:
    text = "nom;ville\n" + "".join(f"Société générale {i};Orléans à côté\n" for i in range(40))
    staged = read_table(_write(tmp_path, "m.csv", text.encode("mac_roman")))
    assert staged.frame.loc[2, "nom"] == "Société générale 0"


def test_ragged_rows_are_padded_and_extras_kept(tmp_path: Path) -> None:
    text = "a;b;c\n1;2;3\n4;5\n6;7;8;9\n10;11;12;\n"
    staged = read_table(_write(tmp_path, "r.csv", text.encode()))
    frame = staged.frame
    assert list(frame.index) == [2, 3, 4, 5]
    assert frame.loc[3].tolist() == ["4", "5", "", ""]
    assert frame.loc[4, "colonne_4"] == "9"
    assert any("moins de 3" in w and "3" in w for w in staged.warnings)
    assert any("plus de 3" in w and "4" in w for w in staged.warnings)


def test_duplicate_and_empty_headers() -> None:
    names = unique_headers(["a", "a", " b ", "", "a"])
    assert names == ["a", "a.1", "b", "colonne_4", "a.2"]
    assert len(set(unique_headers(["a", "a", "a.1"]))) == 3


def test_old_mac_line_endings(tmp_path: Path) -> None:
    staged = read_table(_write(tmp_path, "cr.csv", b"x;y\r1;2\r3;4\r"))
    assert list(staged.frame.index) == [2, 3] and staged.frame.loc[3, "y"] == "4"


def test_iter_table_chunks_keep_row_numbers(tmp_path: Path) -> None:
    lines = ["id;texte;montant"]
    for i in range(5000):
        lines.append(
            f'{i:05d};"ligne\nsur deux {i}";{i},25' if i % 7 == 0 else f"{i:05d};simple é {i};{i},25"
        )
        if i % 100 == 0:
            lines.append("")
    path = _write(tmp_path, "big.csv", ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    whole = read_table(path)
    streamed = iter_table(path, chunk_rows=300)
    chunks = list(streamed.chunks())
    assert len(chunks) > 5
    joined = pd.concat(chunks)
    pd.testing.assert_frame_equal(joined, whole.frame)
    assert streamed.blank_lines_dropped == whole.blank_lines_dropped == 50
    assert streamed.encoding == "cp1252" and len(joined) == 5000
    assert (
        whole.frame.loc[whole.frame["id"] == "00008"].index[0] == 2 + 8 + 2 + 1
    )  # two 2-line cells, one blank


def test_xlsx_sheet_choice_title_rows_and_typed_cells(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Vide"
    sheet = book.create_sheet("Subventions")
    sheet["A1"] = "Subventions 2017 de la commune"
    sheet.append([])
    sheet.append(["idAttribuant", "dateConvention", "montant", "taux", "libellé"])
    sheet.append([21860194600000.0, datetime(2017, 12, 21), 1500.0, 0.25, "Aide à l'école"])
    sheet.append([None, None, None, None, None])
    sheet.append(["21370261900012", date(2018, 1, 2), 12, 1.5, "Fête"])
    path = tmp_path / "s.xlsx"
    book.save(path)
    staged = read_table(path)
    assert staged.format == "xlsx" and staged.sheet == "Subventions" and staged.header_line == 3
    frame = staged.frame
    assert list(frame.index) == [4, 6] and staged.blank_lines_dropped == 1
    assert frame.loc[4].tolist() == ["21860194600000", "2017-12-21", "1500", "0.25", "Aide à l'école"]
    assert frame.loc[6, "dateConvention"] == "2018-01-02" and frame.loc[6, "taux"] == "1.5"
    with pytest.raises(Exception) as refused:
        read_table(path, sheet="Absente")
    assert getattr(refused.value, "reason", "") == "sheet-not-found"
    assert read_table(path, sheet="Subventions").frame.shape == (2, 5)


def test_ods_with_repeats_dates_and_ids(tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Feuille1")

    def row(*cells: TableCell, repeat: int = 1) -> None:
        tr = TableRow(numberrowsrepeated=repeat) if repeat > 1 else TableRow()
        for cell in cells:
            tr.addElement(cell)
        table.addElement(tr)

    def text(value: str) -> TableCell:
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=value))
        return cell

    row(text("Titre du tableau"))
    row(text("siret"), text("date"), text("montant"), text("nom"))
    row(
        TableCell(valuetype="float", value="21860194600000"),
        TableCell(valuetype="date", datevalue="2017-12-21"),
        TableCell(valuetype="float", value="1500.5"),
        text("Société"),
    )
    row(TableCell(numbercolumnsrepeated=1024), repeat=5)
    row(text("123"), TableCell(), TableCell(valuetype="float", value="2"), text("Tours"))
    row(TableCell(numbercolumnsrepeated=1024), repeat=1048000)
    doc.spreadsheet.addElement(table)
    path = tmp_path / "s.ods"
    doc.save(str(path))
    staged = read_table(path)
    assert staged.format == "ods" and staged.header_line == 2 and staged.sheet == "Feuille1"
    assert list(staged.frame.index) == [3, 9]
    assert staged.frame.loc[3].tolist() == ["21860194600000", "2017-12-21", "1500.5", "Société"]
    assert staged.frame.loc[9].tolist() == ["123", "", "2", "Tours"]


def test_excel_97_2003_xls(tmp_path: Path) -> None:
    """Old .xls exports: title line, SIRET stored as a number, a real Excel date, a boolean."""
    import datetime as dt

    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Subventions 2023")
    dates = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    sheet.write(0, 0, "Subventions versées en 2023")
    for c, name in enumerate(
        ["nomBeneficiaire", "idBeneficiaire", "dateConvention", "montant", "notificationUE"]
    ):
        sheet.write(2, c, name)
    sheet.write(3, 0, "Association des Amis de Druye")
    sheet.write(3, 1, 21860194600000.0)
    sheet.write(3, 2, dt.datetime(2023, 3, 14), dates)
    sheet.write(3, 3, 1500.5)
    sheet.write(3, 4, False)
    path = tmp_path / "subventions.xls"
    book.save(str(path))

    staged = read_table(path)
    assert staged.format == "xls" and staged.sheet == "Subventions 2023" and staged.header_line == 3
    row = staged.frame.loc[4]
    assert row["nomBeneficiaire"] == "Association des Amis de Druye"
    assert row["idBeneficiaire"] == "21860194600000"
    assert row["dateConvention"] == "2023-03-14"
    assert row["montant"] == "1500.5" and row["notificationUE"] == "false"


def test_a_zip_holding_one_table_is_read_as_that_table(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "envoi-mairie.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "export/subventions 2023.csv", "nom;montant\r\nAmicale;1 500,50\r\nClub;300\r\n".encode("cp1252")
        )
    staged = read_table(path)
    assert staged.format == "zip/csv" and list(staged.frame.index) == [2, 3]
    assert staged.frame.loc[2, "montant"] == "1 500,50"
    assert "subventions 2023.csv" in staged.warnings[0]


def test_a_zip_of_several_tables_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "deux.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x;y\n1;2\n")
        archive.writestr("b.csv", "x;y\n1;2\n")
    with pytest.raises(RefusedFile) as refused:
        read_table(path)
    assert refused.value.reason == "unsupported-format" and "deux.zip" in str(refused.value)
