"""Headers and values from every version of a schema, on real files through the real reader and
harmoniser: titles of an earlier version, near-miss headers, crosswalks of IRVE v1/2014 and BAL 1.1–1.3,
value aliases, and identifiers whose leading zeros a spreadsheet dropped. Small synthetic frames pin
the edges: what is ambiguous is never taken."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import REFERENCE

from assets.harmonise.frame import harmonise
from assets.harmonise.headers import match_headers
from assets.harmonise.ingest import ingest_file
from assets.harmonise.near import label_words, near_matches, one_letter_apart
from assets.read import read_table
from quality.schema import load_schema

REAL = REFERENCE / "real-world"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _complete(prefix: str) -> str:
    """``prefix`` + the digit that makes it pass Luhn."""
    return next(prefix + d for d in "0123456789" if _luhn_ok(prefix + d))


def test_older_version_title_and_value_aliases_on_a_real_file():
    # Loire-Atlantique heads its columns with SCDL 1.1's titles: « Identification du bénéficiaire ».
    path = REAL / "scdl-subventions" / "SUBV_DEP44_Loire-Atlantique_associations.csv"
    with path.open(encoding="utf-8") as fh:
        headers = fh.readline().rstrip("\r\n").split(";")
    match = match_headers(headers, load_schema("scdl-subventions"))
    assert match.fields["Identification du bénéficiaire"] == "idBeneficiaire"
    assert "idBeneficiaire" not in match.missing
    assert set(match.unmatched) == {
        "Montant du prêt",
        "Montant de la garantie",
        "Détail des avantages en nature",
        "Estimation des avantages en nature",
    }


def test_value_alias_is_applied_and_counted():
    # Maine-et-Loire writes the nature « en numéraire »; the schema's value is « aide en numéraire ».
    path = REAL / "scdl-subventions" / "SUBV_DEP49_Maine-et-Loire_conventions.csv"
    staged = read_table(path).frame
    result = harmonise(staged, load_schema("scdl-subventions"))
    written = staged["nature"].str.strip()
    aliased = written.str.casefold().isin({"en numéraire", "en nature"})
    assert aliased.sum() > 0 and result.normalisations["value-alias"] == aliased.sum()
    assert set(result.frame.loc[aliased, "nature"]) <= {"aide en numéraire", "aide en nature"}
    report = ingest_file(path, load_schema("scdl-subventions"), context={"file_name": path.name}).report
    assert report["normalisations"]["value-alias"] == aliased.sum()
    # Each match is listed for the report, « colonne du fichier → champ du schéma », and the rest.
    matched = {m["column"]: m["field"] for m in report["columns"]["matched"]}
    assert matched["nature"] == "nature" and matched["idBeneficiaire"] == "idBeneficiaire"
    assert report["columns"]["unmatched"] == ["natureDecision", "Colonne1"]


def test_near_miss_headers_of_a_real_spreadsheet():
    # Carrières-sous-Poissy: words reordered (PRENOM_ENFANT) and a letter missing (NOMBRE_OCCURENCES).
    path = REAL / "scdl-prenoms" / "PRENOMS_78123_Carrieres-sous-Poissy.xlsx"
    report = ingest_file(path, load_schema("scdl-prenoms"), context={"file_name": path.name}).report
    matched = {m["column"]: (m["field"], m["how"]) for m in report["columns"]["matched"]}
    assert matched["PRENOM_ENFANT"] == ("ENFANT_PRENOM", "near")
    assert matched["NOMBRE_OCCURENCES"] == ("NOMBRE_OCCURRENCES", "near")
    assert report["status"] == "loaded" and report["rows_accepted"] > report["rows_quarantined"]


@pytest.mark.parametrize(
    ("name", "version", "recognised"),
    [
        (
            "IRVE_v1_Tesla_destination-charging_2018-11-30.csv",
            "1",
            {"nom_station", "coordonneesXY", "horaires"},
        ),
        (
            "IRVE_v1_MObiVE_syndicats-NouvelleAquitaine_2020-03-31.csv",
            "1",
            {"puissance_nominale", "nom_enseigne"},
        ),
        ("IRVE_2014format_Renault.csv", "2014", {"id_station_local", "coordonneesXY", "nom_amenageur"}),
        ("IRVE_2014format_VinciPark-Sodetrel.csv", "2014", {"coordonneesXY", "date_maj"}),
    ],
)
def test_irve_older_versions_are_recognised_then_refused_for_what_2_3_requires(name, version, recognised):
    path = REAL / "etalab-irve-statique" / name
    report = ingest_file(path, load_schema("etalab-irve-statique"), context={"file_name": path.name}).report
    assert report["schema_version_read"] == version
    fed = {m["field"] for m in report["columns"]["matched"]}
    assert recognised <= fed
    # Plugs, payment and access did not exist before 2.x: nothing is invented, the file is refused.
    assert report["status"] == "refused" and "prise_type_2" in report["refusal"]["missing"]
    assert not recognised & set(report["refusal"]["missing"])


def test_irve_v1_coordinates_become_a_2_3_point():
    path = REAL / "etalab-irve-statique" / "IRVE_v1_MObiVE_syndicats-NouvelleAquitaine_2020-03-31.csv"
    staged = read_table(path).frame
    result = harmonise(staged, load_schema("etalab-irve-statique"))
    first = staged.index[0]
    lon, lat = (float(staged.loc[first, c].replace(",", ".")) for c in ("Xlongitude", "Ylatitude"))
    cell = result.frame.loc[first, "coordonneesXY"]
    assert [float(v) for v in cell.strip("[]").split(",")] == pytest.approx([lon, lat])


@pytest.mark.parametrize(
    ("name", "version", "certification"),
    [
        ("BAL_31591_Escoulis_extract.csv", "1.2", {"certification_commune": "0"}),
        ("BAL_35047_Bruz_RennesMetropole_v1.3.csv", "1.3", {}),
        ("BAL_54084_Mont-Bonvillers_mes-adresses.csv", "1.3", {}),
    ],
)
def test_bal_older_versions_map_to_1_4(name, version, certification):
    staged = read_table(REAL / "etalab-bal" / name).frame
    match = match_headers(list(staged.columns), load_schema("etalab-bal"))
    assert match.version_read == version and match.defaults == certification
    assert "uid_adresse" in match.split  # 1.x's packed BAN ids → 1.4's id_ban_*
    required = {f.name for f in load_schema("etalab-bal").fields if f.required}
    assert not required & set(match.missing)


def test_near_match_edges():
    labels = {"ENFANT_PRENOM": ["ENFANT_PRENOM", "Prénom"], "ENFANT_SEXE": ["ENFANT_SEXE"]}
    assert label_words("Bénéficiaire(s)") == ["beneficiaire"]
    assert label_words("nomBeneficiaires") == ["nom", "beneficiaire"]
    assert one_letter_apart("nombreoccurences", "nombreoccurrences")
    assert near_matches(["SEXO"], {"SEXE": ["SEXE"]}, set()) == {}  # short codes differ on purpose
    # Two columns near one field: neither is taken.
    assert near_matches(["Prénoms", "PRENOM ENFANTS"], labels, set()) == {}
    # A field already claimed is not offered again.
    assert near_matches(["Prénoms"], labels, {"ENFANT_PRENOM"}) == {}
    # A header near two fields is not taken.
    both = {"dateDebut": ["Date de début"], "dateDecision": ["Date de décision"]}
    assert near_matches(["Date de"], both, set()) == {}
    # « Date de décision » for « Date de la décision »: small words do not matter, alone it is taken.
    assert near_matches(["Date de décision"], {"dateConvention": ["Date de la décision"]}, set()) == {
        "Date de décision": "dateConvention"
    }


def test_leading_zeros_back_only_when_the_checksum_says_so():
    siren = _complete("0" + "12345678"[:7])  # 9 digits starting with 0, Luhn-valid
    siret = _complete(siren + "0001")  # its establishment, 14 digits, Luhn-valid
    assert len(siret) == 14 and siret.startswith("0") and _luhn_ok(siret[:9])
    wrong = siret[1:-1] + str((int(siret[-1]) + 1) % 10)  # 13 digits whose padding fails Luhn
    schema = load_schema("scdl-subventions")
    frame = pd.DataFrame({f: ["" for _ in range(3)] for f in schema.field_names}, index=[2, 3, 4])
    frame["idBeneficiaire"] = [siret[1:], wrong, siret]
    result = harmonise(frame, schema)
    assert list(result.frame["idBeneficiaire"]) == [siret, wrong, siret]
    assert result.normalisations["identifier-zeros"] == 1
