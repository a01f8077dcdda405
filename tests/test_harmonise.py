"""Header matching (mapping, name, key, crosswalk) and harmonisation of real subsidy files."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import REFERENCE, SHARED_SCHEMAS

from assets.harmonise.crosswalks import Crosswalk, crosswalks_for
from assets.harmonise.frame import harmonise
from assets.harmonise.header_key import header_key
from assets.harmonise.headers import match_headers
from quality.schema import load_schema
from quality.validate import validate_frame

SUBVENTIONS = REFERENCE / "real-world-subventions"


@pytest.fixture(scope="module")
def sub():
    return load_schema("scdl-subventions")


def read(name: str, encoding: str, sep: str = ";") -> pd.DataFrame:
    frame = pd.read_csv(SUBVENTIONS / name, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
    frame.index = frame.index + 2  # spreadsheet row numbers, as the staged frame contract says
    return frame


def test_header_key_ignores_case_accents_spaces_punctuation() -> None:
    assert header_key("Date convention") == header_key("dateConvention") == header_key("DATE_CONVENTION")
    assert header_key("Numéro") == header_key("numero")
    assert header_key("\ufeffnomAttribuant") == header_key("ï»¿nomAttribuant") == header_key("nomattribuant")


def test_precedence_mapping_exact_key_and_ambiguity(sub) -> None:
    columns = ["Montant TTC", "montant", "Date convention", "DATE_CONVENTION", "nomAttribuant", "Commentaire"]
    match = match_headers(columns, sub, mapping={"Montant TTC": "montant"})
    assert match.fields == {
        "Montant TTC": "montant",
        "Date convention": "dateConvention",
        "nomAttribuant": "nomAttribuant",
    }
    assert match.how == {"Montant TTC": "mapping", "Date convention": "key", "nomAttribuant": "exact"}
    assert match.ambiguous == {
        "montant": ["Montant TTC", "montant"],
        "dateConvention": ["Date convention", "DATE_CONVENTION"],
    }
    assert match.unmatched == ["montant", "DATE_CONVENTION", "Commentaire"]
    assert "idAttribuant" in match.missing and "montant" not in match.missing
    assert match.version_read == "2.1.1"
    assert any("« montant »" in w and "« Montant TTC » est retenue" in w for w in match.warnings)


def test_mapping_to_unknown_field_is_reported(sub) -> None:
    match = match_headers(["Montant TTC"], sub, mapping={"Montant TTC": "montantTTC"})
    assert match.fields == {}
    assert match.unmatched == ["Montant TTC"]
    assert "n'a pas de champ « montantTTC »" in match.warnings[0]


def test_column_order_does_not_matter(sub) -> None:
    names = sub.field_names
    frame = pd.DataFrame([[f"v-{n}" for n in reversed(names)]], columns=list(reversed(names)), index=[2])
    result = harmonise(frame, sub)
    assert list(result.frame.columns) == names
    assert result.frame.loc[2, "objet"] == "v-objet"
    assert result.header_match.unmatched == [] and result.header_match.missing == []


def test_crosswalks_are_declared_files(sub) -> None:
    found = crosswalks_for(sub)
    assert [(c.from_version, c.to_version) for c in found] == [("1.0", "2.1.1")]
    assert found[0].combine["datesPeriodeVersement"]["from"] == ["SUB_DATE_DEBUT", "SUB_DATE_FIN"]
    assert crosswalks_for(load_schema("etalab-bal@1.3")) == []  # never converted from its own version
    assert isinstance(crosswalks_for(load_schema("etalab-bal"))[0], Crosswalk)


def test_official_valid_example_is_left_unchanged_but_for_whitespace(sub) -> None:
    frame = pd.read_csv(
        SHARED_SCHEMAS / "scdl-subventions/exemple-valide.csv", dtype=str, keep_default_na=False
    )
    result = harmonise(frame, sub)
    assert result.normalisations == {"whitespace": 10}  # trailing spaces in 6 names and 4 references
    assert result.frame.loc[0, "nomBeneficiaire"] == "CEA DU PERSONNEL DE LA VILLE D'ANTIBES JUAN-LES-PINS"
    assert result.frame.equals(frame.apply(lambda column: column.str.rstrip(" ")).astype(object))


def test_lot_decimal_comma_and_underscore_periods(sub) -> None:
    frame = read("DEP_Lot_Subventions_2017_DONNEES.xlsx_pour_exemple.csv", "cp1252")
    result = harmonise(frame, sub)
    assert result.version_read == "2.1.1"
    assert result.header_match.fields["NomAttribuant"] == "nomAttribuant"
    assert result.header_match.fields["datesperiodeVersement"] == "datesPeriodeVersement"
    assert result.normalisations == {"whitespace": 2, "number": 13, "period": 5}
    assert result.frame.loc[2, "montant"] == "40000.00"
    assert result.frame.loc[3, "montant"] == "260000.00"
    assert result.frame.loc[2, "datesPeriodeVersement"] == "2018-01-01/2018-03-31"
    assert result.frame.loc[4, "datesPeriodeVersement"] == "2017-08-16"
    assert result.frame.index.equals(frame.index)


def test_nievre_v1_headers_through_the_crosswalk(sub) -> None:
    frame = read("DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv", "cp1252", sep=",")
    result = harmonise(frame, sub)
    assert result.version_read == "1.0"
    assert result.header_match.combined == {
        "datesPeriodeVersement": (["SUB_DATE_DEBUT", "SUB_DATE_FIN"], "/")
    }
    assert result.header_match.unmatched == ["COLL_TYPE", "ATTRIB_TYPE", "ID_ENT"]
    assert list(result.extra.columns) == ["COLL_TYPE", "ATTRIB_TYPE", "ID_ENT"]
    assert result.extra.index.equals(frame.index)
    assert result.header_match.missing == ["rnaBeneficiaire", "idRAE", "pourcentageSubvention"]
    assert result.normalisations == {"number": 90}  # 17 833 (NBSP thousands) in the 90 filled amounts
    assert result.frame.loc[2, "montant"] == "17833"
    assert result.frame.loc[2, "nomAttribuant"] == "Département de la Nièvre"
    assert result.frame.loc[2, "idAttribuant"] == "225800010"  # a SIREN: left for the validator
    assert result.frame["datesPeriodeVersement"].eq("").all()
    assert "version 1.0" in result.warnings[0]


def test_somme_bom_seen_as_cp1252_slash_dates_and_enum(sub) -> None:
    frame = read("DEP_Somme_TB_20180302_DONNEES_CONVENTIONS.csv", "cp1252")
    assert frame.columns[0] == "ï»¿nomAttribuant"
    result = harmonise(frame, sub)
    assert result.header_match.fields["ï»¿nomAttribuant"] == "nomAttribuant"
    assert result.header_match.unmatched == ["type"]
    assert result.normalisations == {"date": 41, "number": 41, "enum": 1, "period": 41}
    assert result.frame.loc[2, "dateConvention"] == "2017-09-08"
    assert result.frame.loc[2, "datesPeriodeVersement"] == "2017-09-08/2021-09-07"
    assert result.frame.loc[2, "montant"] == "26956.00"
    assert set(result.frame["nature"]) == {"aide en numéraire"}


def test_poitiers_float_sirets_and_upper_case_booleans(sub) -> None:
    frame = read(
        "SCDL_COM_Poitiers_citoyennete-subventions-directes-attribuees-aux-associations-2017-ville-de-poiti.csv",
        "utf-8",
    )
    result = harmonise(frame, sub)
    assert result.version_read == "1.0"
    assert result.header_match.fields["SUB_OBJ"] == "objet"
    assert result.header_match.fields["Notification à la commission Européenne"] == "notificationUE"
    # idBeneficiaire has no pattern: its french-siret-value custom check makes it a 14-digit code
    assert result.normalisations == {"identifier": 2 * 562, "boolean": 562}
    assert result.frame.loc[2, "idAttribuant"] == "21860194600000"
    assert result.frame.loc[2, "idBeneficiaire"] == "45032466000000"
    assert result.frame["idBeneficiaire"].str.fullmatch(r"\d{14}|").all()
    assert set(result.frame["notificationUE"]) == {"non"}
    assert result.frame.loc[2, "montant"] == "10000.0"  # already a valid number


def test_haute_garonne_enum_spelling(sub) -> None:
    frame = read("SCDL_DEP_Haute_Garonne_datalocale-subvention.csv", "utf-8")
    result = harmonise(frame, sub)
    assert result.normalisations == {"enum": 69, "period": 40}
    assert set(result.frame["nature"]) == {"aide en numéraire"}
    assert result.frame.loc[2, "conditionsVersement"] == "Unique"  # free text: not touched


def test_invalid_cells_stay_as_they_came(sub) -> None:
    frame = pd.DataFrame(
        {
            "montant": ["beaucoup", "1 000,5"],
            "dateConvention": ["21/12/17", "31/12/2017"],
            "nature": ["don", ""],
        },
        index=[7, 9],
    )
    result = harmonise(frame, sub)
    assert result.frame.loc[7, ["montant", "dateConvention", "nature"]].tolist() == [
        "beaucoup",
        "21/12/17",
        "don",
    ]
    assert result.frame.loc[9, ["montant", "dateConvention", "nature"]].tolist() == [
        "1000.5",
        "2017-12-31",
        "",
    ]
    assert result.normalisations == {"number": 1, "date": 1}


def test_v1_period_from_start_and_end_columns(sub) -> None:
    frame = pd.DataFrame(
        {
            "COLL_NOM": ["Tours"] * 4,
            "SUB_DATE_DEBUT": ["01/01/2018", "2018-01-01", "", ""],
            "SUB_DATE_FIN": ["31/03/2018", "", "2018-03-31", ""],
        },
        index=[2, 3, 4, 5],
    )
    result = harmonise(frame, sub)
    assert result.frame["datesPeriodeVersement"].tolist() == [
        "2018-01-01/2018-03-31",
        "2018-01-01",
        "/2018-03-31",
        "",
    ]


def test_bal_13_uid_split_into_14_ids() -> None:
    bal = load_schema("etalab-bal")
    a, v, c = (
        "a" * 8 + "-1111-2222-3333-" + "4" * 12,
        "b" * 8 + "-1111-2222-3333-" + "4" * 12,
        "c" * 8 + "-1111-2222-3333-" + "4" * 12,
    )
    frame = pd.DataFrame(
        {
            "uid_adresse": [f"@a:{a} @v:{v} @c:{c}", f"@v:{v} @c:{c}", ""],
            "cle_interop": ["37261_0010_00001"] * 3,
            "numero": ["1.0", "2", "3"],
            "certification_commune": ["Oui", "0", "1"],
            "date_der_maj": ["21/12/2023", "2023-12-21", "2023-12-21"],
        },
        index=[2, 3, 4],
    )
    result = harmonise(frame, bal)
    assert result.version_read == "1.3"
    assert result.frame["id_ban_adresse"].tolist() == [a, "", ""]
    assert result.frame["id_ban_toponyme"].tolist() == [v, v, ""]
    assert result.frame["id_ban_commune"].tolist() == [c, c, ""]
    assert result.frame["numero"].tolist() == ["1", "2", "3"]
    assert result.frame["certification_commune"].tolist() == ["true", "false", "true"]
    assert result.normalisations == {"integer": 1, "boolean": 3, "date": 1}
    assert "uid_adresse" not in result.header_match.unmatched


def test_geopoint_field_fixed_in_its_own_lexical_form_with_flags() -> None:
    irve = load_schema("etalab-irve-statique")
    frame = pd.DataFrame(
        {
            "coordonneesXY": [
                "[0.6889, 47.3941]",
                "47.3941, 0.6889",
                "525500,6701400",
                "[2.35, 48.85]",
                "[-73.98, 40.75]",
            ]
        },
        index=[2, 3, 4, 5, 6],
    )
    result = harmonise(frame, irve)
    geo = result.frame["coordonneesXY"]
    # format "array": the validator reads [lon, lat] and types it to EWKT for the warehouse
    assert geo[2] == geo[3] == "[0.6889, 47.3941]"
    assert geo[4].startswith("[0.68")
    assert result.normalisations["geometry"] == 2
    assert result.normalisations["geometry-swapped"] == 1
    assert result.normalisations["geometry-reprojected"] == 1
    assert result.errors[["row", "field", "rule", "value"]].to_dict("records") == [
        {"row": 6, "field": "coordonneesXY", "rule": "outside-france", "value": "[-73.98, 40.75]"}
    ]
    typed = validate_frame(result.frame, irve).typed["coordonneesXY"]
    assert typed[2] == "SRID=4326;POINT(0.6889 47.3941)"
    assert result.outside_territory == {"coordonneesXY": [5]}
    assert any("hors du territoire" in w and "lignes 5" in w for w in result.warnings)


def test_point_from_two_number_columns_fixed_and_flagged() -> None:
    dae = load_schema("atlasante-dae").with_point("long_coor1", "lat_coor1")
    frame = pd.DataFrame(
        {
            "nom": ["mairie", "inversé", "lambert", "gps", "paris", "vide"],
            "long_coor1": ["0,6889", "47.3941", "525500", "0", "2.35", ""],
            "lat_coor1": ["47.3941", "0.6889", "6701400", "0", "48.85", ""],
        },
        index=[2, 3, 4, 5, 6, 7],
    )
    result = harmonise(frame, dae)
    out = result.frame
    assert out.loc[2, "geom"] == out.loc[3, "geom"] == "0.6889,47.3941"
    # the fixed pairs are rewritten in their own columns so they agree with the point
    assert (out.loc[3, "long_coor1"], out.loc[3, "lat_coor1"]) == ("0.6889", "47.3941")
    assert out.loc[4, "long_coor1"].startswith("0.68") and out.loc[4, "lat_coor1"].startswith("47.3")
    assert out.loc[7, "geom"] == ""
    assert result.normalisations["geometry-swapped"] == 1
    assert result.normalisations["geometry-reprojected"] == 1
    assert result.normalisations["coordinates"] == 4
    errors = result.errors[["row", "field", "rule", "value"]].to_dict("records")
    assert errors == [{"row": 5, "field": "long_coor1", "rule": "outside-france", "value": "0, 0"}]
    assert "lat_coor1" in result.errors["message"].iloc[0]
    assert result.outside_territory == {"geom": [6]}
    assert any("hors du territoire" in w and "(lignes 6)" in w for w in result.warnings)
    validation = validate_frame(out, dae)
    assert validation.typed.loc[4, "geom"].startswith("SRID=4326;POINT(0.68")
    assert not (validation.errors["field"] == "geom").any()


def test_with_point_adds_a_documented_geopoint_field() -> None:
    base = load_schema("naturalsolutions-arbres-urbains")
    schema = base.with_point("longitude", "latitude")
    geom = schema.field("geom")
    assert geom.type == "geopoint" and not geom.required
    assert "EPSG:4326" in geom.description and "« longitude »" in geom.description
    assert schema.point_fields == {"geom": ("longitude", "latitude")}
    assert schema.field_names == [*base.field_names, "geom"] and "geom" not in base.field_names
    with pytest.raises(KeyError, match="hauteur_max"):
        base.with_point("hauteur_max", "latitude")


def test_headers_written_as_the_fields_titles_are_matched():
    schema = load_schema("scdl-subventions")
    columns = [
        "Nom de l'attribuant",
        "Identification de l'attribuant",
        "Date de la convention",  # the title is « Date de la convention de subvention »
        "Nom du bénéficiaire",
        "Identification SIRET du bénéficiaire",
        "Montant total de la subvention",
        "Nom",  # too short to stand for a title: left unmatched
    ]
    match = match_headers(columns, schema)
    assert match.fields == {
        "Nom de l'attribuant": "nomAttribuant",
        "Identification de l'attribuant": "idAttribuant",
        "Date de la convention": "dateConvention",
        "Nom du bénéficiaire": "nomBeneficiaire",
        "Identification SIRET du bénéficiaire": "idBeneficiaire",
        "Montant total de la subvention": "montant",
    }
    assert match.unmatched == ["Nom"]


def test_declared_aliases_match_the_headers_communes_write():
    schema = load_schema("scdl-subventions")
    match = match_headers(["SIRET bénéficiaire", "N° RNA", "Montant accordé", "Délibération", "Taux"], schema)
    assert match.fields == {
        "SIRET bénéficiaire": "idBeneficiaire",
        "N° RNA": "rnaBeneficiaire",
        "Montant accordé": "montant",
        "Délibération": "referenceDecision",
        "Taux": "pourcentageSubvention",
    }
