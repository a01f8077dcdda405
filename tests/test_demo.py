"""The demo territory generator: deterministic, realistic messy files, seeded invalid rows only."""

from __future__ import annotations

import csv
import hashlib
import re
import time
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import REFERENCE

from pipelines.demo import equipements, generate_demo, quirks, subventions

COMMUNES_CSV = REFERENCE / "tmvl-communes" / "tmvl-communes.csv"


def slug(name: str) -> str:
    """Registry id rule: lower-case ASCII, accents dropped, spaces and apostrophes → '-'."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def territory_producers() -> list[dict]:
    with COMMUNES_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    producers = [
        {
            "id": slug(r["nom"]),
            "name": ("Ville de " if int(r["population_municipale"]) > 10_000 else "Commune de ") + r["nom"],
            "kind": "commune",
            "insee": r["code_insee"],
            "postcode": r["code_postal_principal"],
            "siren": r["siren_commune"],
            "population": int(r["population_municipale"]),
        }
        for r in rows
    ]
    producers.append(
        {"id": "metropole", "name": "Tours Métropole Val de Loire", "kind": "metropole", "siren": "243700754"}
    )
    producers.append({"id": "chu-tours", "name": "CHRU de Tours", "kind": "operator"})
    return producers


PRODUCERS = territory_producers()
COMMUNES = [p for p in PRODUCERS if p["kind"] == "commune"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, list[Path], float]:
    inbox = tmp_path_factory.mktemp("inbox")
    started = time.perf_counter()
    paths = generate_demo(inbox, PRODUCERS)
    return inbox, paths, time.perf_counter() - started


def digest(paths: list[Path], root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_generation_is_deterministic(generated, tmp_path):
    # How long generation takes is the bench's business (bench/README.md), never a test's.
    inbox, paths, _ = generated
    again = generate_demo(tmp_path, PRODUCERS)
    assert digest(again, tmp_path) == digest(paths, inbox)
    other_seed = generate_demo(tmp_path / "other", PRODUCERS, seed=38)
    assert digest(other_seed, tmp_path / "other") != digest(paths, inbox)


def test_every_commune_drops_one_subventions_file(generated):
    inbox, paths, _ = generated
    drops = [p for p in paths if p.parent.name == "subventions"]
    assert sorted(p.parent.parent.name for p in drops) == sorted(c["id"] for c in COMMUNES)
    assert all(p.is_file() and p.is_relative_to(inbox) for p in drops)


def test_sizes_follow_population():
    sizes = {c["id"]: len(subventions.build(c).frame) for c in COMMUNES}
    assert sizes["tours"] >= 2000
    assert sizes["tours"] == max(sizes.values())
    assert min(sizes.values()) >= 3
    assert sizes["berthenay"] == max(3, round(707 / 60))


def test_at_least_three_real_excel_workbooks(generated):
    _, paths, _ = generated
    workbooks = [p for p in paths if p.suffix == ".xlsx"]
    assert len(workbooks) >= 3
    for path in workbooks:
        assert zipfile.is_zipfile(path)
        sheet = next(ws for ws in openpyxl.load_workbook(path).worksheets if ws.max_row > 1)
        values = [v for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
        # SIRET typed as Excel numbers, dates as Excel dates (not text)
        assert any(isinstance(v, int) and 10**13 <= v < 10**14 for v in values), path.name
        assert any(type(v).__name__ == "datetime" for v in values), path.name


def test_declared_encodings_are_the_bytes_written(generated):
    inbox, _, _ = generated
    seen = set()
    for commune in COMMUNES:
        style = subventions.style_for(commune["id"])
        if style.format != "csv":
            continue
        data = (inbox / commune["id"] / "subventions" / style.file).read_bytes()
        seen.add(style.encoding)
        if style.encoding == "cp1252":
            assert not data.startswith(b"\xef\xbb\xbf")
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            assert "é".encode("cp1252") in data
            data.decode("cp1252")
        elif style.encoding == "utf-8-sig":
            assert data.startswith(b"\xef\xbb\xbf")
            data.decode("utf-8")
        else:
            assert not data.startswith(b"\xef\xbb\xbf")
            data.decode("utf-8")
    assert seen == {"cp1252", "utf-8-sig", "utf-8"}


def test_real_world_quirks_are_present(generated):
    inbox, _, _ = generated

    def text(commune: str) -> str:
        style = subventions.style_for(commune)
        return (inbox / commune / "subventions" / style.file).read_bytes().decode(style.encoding)

    assert re.search(r";\d{1,3}(?: \d{3})+,\d{2};", text("joue-les-tours"))  # 40 000,00
    assert re.search(r"\d{2}/\d{2}/\d{4}_\d{2}/\d{2}/\d{4}", text("joue-les-tours"))
    assert "\nTOTAL;" in text("joue-les-tours")
    assert text("joue-les-tours").splitlines()[0].startswith("Ville de Joué-lès-Tours — Subventions")
    assert re.search(r";\d{14}\.0;", text("saint-pierre-des-corps"))  # SIRET through a float column
    assert text("saint-pierre-des-corps").startswith("ANNEE;COLL_NOM;COLL_SIRET")
    assert "\xa0" in text("saint-avertin") and text("saint-avertin").split("\r\n")[0].count(",") > 10
    assert "Date convention" in text("notre-dame-d-oe")
    assert re.search(r";2023/\d{2}/\d{2};", text("la-riche"))


def test_seeded_invalid_rows_are_a_small_known_share():
    extracts = [subventions.build(c) for c in COMMUNES]
    rows = sum(len(e.frame) for e in extracts)
    bad = sum(int((e.defects != "").sum()) for e in extracts)
    assert 0.02 <= bad / rows <= 0.05
    kinds = {k for e in extracts for k in e.defects if k}
    assert kinds == set(subventions.DEFECTS)


def test_sirets_valid_by_luhn_except_seeded_typos():
    for commune in COMMUNES:
        extract = subventions.build(commune)
        frame, defects = extract.frame, extract.defects
        assert set(frame["idAttribuant"]) == {quirks.luhn_complete(commune["siren"] + "0001")}
        assert quirks.luhn_ok(frame["idAttribuant"].iloc[0])
        ids = frame["idBeneficiaire"]
        filled = ids != ""
        valid = ids[filled].map(lambda s: len(s) == 14 and quirks.luhn_ok(s))
        typos = defects[filled] == "siret-luhn"
        assert (valid == ~typos).all(), commune["id"]
        rna = frame.loc[~filled, "rnaBeneficiaire"]
        assert rna.str.fullmatch(r"W\d{9}").all(), commune["id"]
    tours = subventions.build(COMMUNES[0])
    assert tours.frame["idAttribuant"].iloc[0] == "21370261600011"  # the verified SIRET (DECP)
    assert (tours.frame["idBeneficiaire"] == "").sum() > 50  # associations known only by their RNA


def test_identifier_helpers():
    assert quirks.luhn_ok("21370261600011") and not quirks.luhn_ok(quirks.broken_luhn("21370261600011"))
    assert quirks.luhn_complete("2137026160001") == "21370261600011"  # Tours' town hall, from the DECP
    assert quirks.french_number(40000) == "40 000,00"
    assert quirks.french_number(1234567.5, thousands="\xa0") == "1\xa0234\xa0567,50"
    assert quirks.float_text("21860194600000") == "21860194600000.0"
    assert quirks.date_text("2020-02-31", "fr") == "31/02/2020"


def test_the_platform_quarantines_exactly_the_seeded_rows(generated):
    """Read → harmonise → validate each drop with the platform's own modules: every seeded defect and
    every TOTAL line is quarantined, and no other row."""
    from assets.harmonise.frame import harmonise
    from assets.read import read_table
    from quality.schema import load_schema
    from quality.validate import validate_frame

    inbox, _, _ = generated
    schema = load_schema("scdl-subventions@2.1.1")
    for commune in COMMUNES:
        extract = subventions.build(commune)
        staged = read_table(inbox / commune["id"] / "subventions" / extract.style.file)
        assert len(staged.frame) == len(extract.frame) + extract.style.total, commune["id"]
        validation = validate_frame(harmonise(staged.frame, schema).frame, schema)
        expected = int((extract.defects != "").sum()) + extract.style.total
        assert len(validation.invalid_index) == expected, commune["id"]


def test_equipements_points_are_in_their_commune_with_declared_quirks(generated):
    import shapely

    from pipelines.demo.places import commune_shapes

    inbox, paths, _ = generated
    drops = {p.parent.parent.name: p for p in paths if p.parent.name == "equipements"}
    assert set(drops) == set(equipements.STYLES)
    for producer, (encoding, delimiter, coordinates) in equipements.STYLES.items():
        with drops[producer].open(encoding=encoding, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter=delimiter))
        lat = [float(r["EQUIP_LAT"].replace(",", ".")) for r in rows]
        lon = [float(r["EQUIP_LONG"].replace(",", ".")) for r in rows]
        if coordinates == "lambert93":
            assert all(
                6_600_000 < y < 6_800_000 and 400_000 < x < 600_000 for y, x in zip(lat, lon, strict=True)
            )
            continue
        if coordinates == "swapped":
            lat, lon = lon, lat
        if coordinates == "comma":
            assert all("," in r["EQUIP_LAT"] for r in rows)
        inside = [
            shapely.contains_xy(commune_shapes()[r["EQUIP_UID"][:5]], x, y)
            for r, x, y in zip(rows, lon, lat, strict=True)
        ]
        # Tours carries two deliberately wrong points (Paris, and 0,0); every other point is in its commune
        assert sum(not i for i in inside) == (2 if producer == "tours" else 0), producer


def test_every_drop_lands_in_a_registered_inbox(generated):
    from resources.registry.load import load_registry

    registry = load_registry()
    inbox, paths, _ = generated
    for path in paths:
        producer, dataset = path.relative_to(inbox).parts[:2]
        assert registry.dataset(dataset).source_for(producer) is not None, path
    datasets = {p.relative_to(inbox).parts[1] for p in paths}
    assert datasets >= {
        "subventions", "equipements", "deliberations", "prenoms", "stationnement-cyclable", "irve", "dae",
        "arbres",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("dataset", "producer", "columns"),
    [("dae", "tours", ("long_coor1", "lat_coor1")), ("arbres", "metropole", ("x_wgs84", "y_wgs84"))],
)
def test_geo_drops_seed_points_outside_the_territory_and_france(generated, dataset, producer, columns):
    inbox, _, _ = generated
    (path,) = (inbox / producer / dataset).iterdir()
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    lon = [float(r[columns[0]].replace(",", ".")) for r in rows]
    lat = [float(r[columns[1]].replace(",", ".")) for r in rows]
    inside = [-5.5 < x < 10 and 41 < y < 51.5 for x, y in zip(lon, lat, strict=True)]
    assert inside.count(False) == 1
    near_tours = [abs(x - 0.69) < 0.3 and abs(y - 47.39) < 0.3 for x, y in zip(lon, lat, strict=True)]
    assert near_tours.count(False) == (2 if producer == "tours" else 1)
