"""Privacy gate: seeded personal values never survive; institutional ones and associations do."""

from __future__ import annotations

import csv
import dataclasses

import pandas as pd
import pytest
from conftest import REFERENCE

from quality.privacy import (
    KINDS,
    MASKED_EMAIL,
    MASKED_PHONE,
    MASKED_VALUE,
    NATURAL_PERSON,
    PrivacyConfigError,
    PrivacyRules,
    apply_privacy,
    derived_free_text,
    free_text_fields,
    natural_persons,
    personal_fields,
)
from quality.schema import load_schema

SCHEMA = load_schema("scdl-subventions")

PERSONAL_EMAILS = [
    "jean.dupont@gmail.com",
    "Marie-Claire.Martin@Orange.fr",
    "toto75@wanadoo.fr",
    "contact.asso@free.fr",  # a consumer mailbox is a person's, whatever its name
    "p.durand@hotmail.com",
    "helene_bernard@laposte.net",
    "mairie@sfr.fr",
    "lucas.petit@yahoo.fr",
    "jean-pierre.moreau@ville-tours.fr",  # an agent's named address on an institutional domain
    "s.lefebvre@tours-metropole.fr",
    "prenom.nom@ville-x.fr",  # two words on a town hall's domain: a person's
]
MOBILES = [
    "06 12 34 56 78",
    "07.98.76.54.32",
    "0611223344",
    "06-55-44-33-22",
    "+33 6 12 34 56 79",
    "+33 (0)7 81 22 33 44",  # 07 11… is not in the numbering plan: the matcher rightly ignores it
    "06/12/34/56/78",
    "+33.6.12.34.56.78",
    "(+33) 6 12 34 56 78",
    "+44 7911 123456",  # a British mobile
    "0033612345670",
    "06\u00a010\u00a020\u00a030\u00a040",  # no-break spaces, as spreadsheets write them
]
PERSONS = [
    "M. Jean Dupont",
    "Mme Sophie Martin",
    "DUPONT Jean",
    "Jean Dupont",
    "Marie-Claire Le-Gall",
    "MARTIN Hélène",
]
KEPT_TEXT = [
    "contact@ville-tours.fr",
    "mairie@joue-les-tours.fr",
    "accueil@saint-cyr-sur-loire.com",
    "Standard : 02 47 21 60 00",
    "Numéro vert 0 800 123 456",
    "SIRET 21370261100017",
    "Versement le 06/12/2024",
    "Montant 0612345678901 (référence comptable)",
    "service.culture@ville-tours.fr",
    "Dossier TOUR-0612345678 instruit",  # a number glued to a word is an identifier
    "Voir https://www.tours.fr/actes/0612345678 en ligne",
]
ORGANISATIONS = [
    "Association Sportive de Tours",
    "COMITE DES FETES DE JOUE",
    "Tours Football Club",
    "Saint Martin",
    "Maison des Jeunes",
    "Les Amis de Jean Moulin",
]


def _frame(rows: int) -> pd.DataFrame:
    """A harmonised subventions frame (text cells, index = source row numbers)."""
    frame = pd.DataFrame("", index=pd.RangeIndex(2, rows + 2), columns=SCHEMA.field_names)
    frame["nomAttribuant"] = "Ville de Tours"
    frame["idAttribuant"] = "21370261100017"
    frame["objet"] = "Subvention de fonctionnement"
    frame["montant"] = "1500.0"
    return frame


def _seeded() -> pd.DataFrame:
    texts = [f"Contact : {e}" for e in PERSONAL_EMAILS] + [f"Tél. {m}" for m in MOBILES] + KEPT_TEXT
    beneficiaries = PERSONS + ORGANISATIONS
    rows = max(len(texts), len(beneficiaries))
    frame = _frame(rows)
    frame["conditionsVersement"] = (texts + ["Unique"] * rows)[:rows]
    frame["nomBeneficiaire"] = (beneficiaries + ["Association Culturelle"] * rows)[:rows]
    decisions = [f"Délib {i} - dossier de {e}" for i, e in enumerate(PERSONAL_EMAILS)]
    frame["dispositifAide"] = (decisions + [""] * rows)[:rows]
    return frame


def _cells(frame: pd.DataFrame) -> str:
    return "\n".join(frame.astype(str).to_numpy().ravel())


def test_seeded_personal_values_do_not_survive() -> None:
    frame = _seeded()
    before = frame.copy()
    out, counts = apply_privacy(frame, SCHEMA, PrivacyRules.from_config(None))
    published = _cells(out)
    for value in PERSONAL_EMAILS + MOBILES:
        assert value not in published, value
        assert value.lower() not in published.lower(), value
    rows_of = {name: idx for idx, name in frame["nomBeneficiaire"].items()}
    for person in PERSONS:
        assert out.at[rows_of[person], "nomBeneficiaire"] == NATURAL_PERSON
        assert person not in published
    assert counts == {
        "email_masked": 2 * len(PERSONAL_EMAILS),  # in conditionsVersement and dispositifAide
        "phone_masked": len(MOBILES),
        "natural_person_withheld": len(PERSONS),
        "personal_field_withheld": 0,
        "personal_field_masked": 0,
    }
    assert published.count(MASKED_EMAIL) == 2 * len(PERSONAL_EMAILS)
    assert published.count(MASKED_PHONE) == len(MOBILES)
    pd.testing.assert_frame_equal(frame, before)  # the input is left alone
    assert out.index.equals(frame.index)  # source row numbers survive for lineage


def test_institutional_values_and_organisations_are_kept() -> None:
    frame = _seeded()
    out, _ = apply_privacy(frame, SCHEMA, PrivacyRules())
    kept = frame["conditionsVersement"].isin(KEPT_TEXT)
    assert kept.sum() == len(KEPT_TEXT)
    assert out.loc[kept, "conditionsVersement"].tolist() == frame.loc[kept, "conditionsVersement"].tolist()
    orgs = frame["nomBeneficiaire"].isin(ORGANISATIONS)
    assert out.loc[orgs, "nomBeneficiaire"].tolist() == frame.loc[orgs, "nomBeneficiaire"].tolist()
    # the sentence around a masked address is kept
    assert out.loc[2, "conditionsVersement"] == f"Contact : {MASKED_EMAIL}"


def test_a_person_with_a_siret_or_rna_is_published() -> None:
    frame = _frame(4)
    frame["nomBeneficiaire"] = ["Jean Dupont", "Jean Dupont", "Jean Dupont", "Jean Dupont"]
    frame["idBeneficiaire"] = ["12345678901234", "", "123 456 789", "n/a"]
    frame["rnaBeneficiaire"] = ["", "W372001234", "", ""]
    assert natural_persons(frame).tolist() == [False, False, False, True]
    out, counts = apply_privacy(frame, SCHEMA, PrivacyRules())
    assert out["nomBeneficiaire"].tolist() == ["Jean Dupont"] * 3 + [NATURAL_PERSON]
    assert counts["natural_person_withheld"] == 1


def test_real_association_names_are_not_taken_for_persons() -> None:
    """814 beneficiary names from five real grant files, identifiers removed on purpose."""
    folder = REFERENCE / "real-world-subventions"
    sources = [
        ("DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv", "utf-8", ",", "ATTRIB_NOM"),
        (
            "SCDL_COM_Poitiers_citoyennete-subventions-directes-attribuees-aux-associations-2017-ville-de-poiti.csv",
            "utf-8",
            ";",
            "ATTRIB_NOM",
        ),
        ("DEP_Lot_Subventions_2017_DONNEES.xlsx_pour_exemple.csv", "latin-1", ";", "nomBeneficiaire"),
        ("SCDL_DEP_Haute_Garonne_datalocale-subvention.csv", "utf-8", ";", "nomBeneficiaire"),
        ("DEP_Somme_TB_20180302_DONNEES_CONVENTIONS.csv", "utf-8-sig", ";", "nomBeneficiaire"),
    ]
    names = []
    for name, encoding, delimiter, column in sources:
        with open(folder / name, encoding=encoding, errors="replace", newline="") as handle:
            names += [row[column] for row in csv.DictReader(handle, delimiter=delimiter)]
    frame = pd.DataFrame({"nomBeneficiaire": names, "idBeneficiaire": ""})
    flagged = sorted(set(frame.loc[natural_persons(frame), "nomBeneficiaire"]))
    assert len(names) > 800
    # the one known false positive: an association named like a person ("Fanny" is a first name)
    assert flagged == ["FANNY POITEVINE"]


@pytest.mark.parametrize(
    ("action", "kind", "value"),
    [("withhold", "personal_field_withheld", ""), ("mask", "personal_field_masked", MASKED_VALUE)],
)
def test_declared_personal_fields(action: str, kind: str, value: str) -> None:
    frame = _frame(3)
    frame["dispositifAide"] = ["Aide à Mme Durand", "", "Dossier 42"]
    frame["referenceDecision"] = ["R1", "R2", ""]
    # the schema may declare a field personal as well as the registry
    fields = [
        dataclasses.replace(f, descriptor={**f.descriptor, "x-personal": True})
        if f.name == "referenceDecision"
        else f
        for f in SCHEMA.fields
    ]
    schema = dataclasses.replace(SCHEMA, fields=fields)
    rules = PrivacyRules.from_config({"personal_fields": ["dispositifAide"], "action": action})
    assert personal_fields(schema, rules) == ["dispositifAide", "referenceDecision"]
    out, counts = apply_privacy(frame, schema, rules)
    assert out["dispositifAide"].tolist() == [value, "", value]
    assert out["referenceDecision"].tolist() == [value, value, ""]
    assert counts[kind] == 4  # empty cells are not counted
    assert set(counts) == set(KINDS)


def test_typed_frame_non_text_personal_field_is_withheld() -> None:
    typed = pd.DataFrame(
        {
            "nomBeneficiaire": ["DUPONT Jean", None, "Club de Tours"],
            "idBeneficiaire": [None, None, "12345678901234"],
            "montant": [10.0, 20.0, 30.0],
            "objet": ["appeler le 07 81 02 03 04", None, "ok"],
        },
        index=[7, 8, 9],
    )
    rules = PrivacyRules.from_config({"personal_fields": ["montant"], "free_text": ["objet"]})
    out, counts = apply_privacy(typed, None, rules)
    assert out["montant"].isna().all()
    assert out["nomBeneficiaire"].tolist()[0] == NATURAL_PERSON
    assert pd.isna(out.at[8, "nomBeneficiaire"]) and pd.isna(out.at[8, "objet"])
    assert out.at[7, "objet"] == f"appeler le {MASKED_PHONE}"
    assert counts["personal_field_withheld"] == 3 and counts["natural_person_withheld"] == 1


def test_text_scan_can_be_turned_off_per_dataset() -> None:
    frame = _frame(1)
    frame["conditionsVersement"] = "jean.dupont@gmail.com"
    out, counts = apply_privacy(frame, SCHEMA, PrivacyRules.from_config({"scan_text": False}))
    assert out.equals(frame) and counts["email_masked"] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"action": "delete"}, "action"),
        ({"personal_fields": "email"}, "liste"),
        ({"fields": ["email"]}, "clés inconnues"),
        ({"scan_text": "yes"}, "true ou false"),
    ],
)
def test_bad_configuration_is_refused(config: dict, message: str) -> None:
    with pytest.raises(PrivacyConfigError, match=message):
        PrivacyRules.from_config(config)


def test_declared_field_missing_from_the_table_is_an_error() -> None:
    with pytest.raises(PrivacyConfigError, match="courriel"):
        apply_privacy(_frame(1), SCHEMA, PrivacyRules(personal_fields=("courriel",)))


# Values of fields that are not free text: whatever they hold, the gate leaves them byte-identical.
NOT_FREE_TEXT = {
    "idBeneficiaire": "TOUR-0612345678",  # looks like a mobile number glued to a prefix
    "referenceDecision": "3fa85f64-0612-3456-7806-123456789012",  # a UUID with long digit runs
    "idRAE": "0612345678",  # a code made only of digits a phone matcher would take
    "nomAttribuant": "jean.dupont@gmail.com",
}


def test_only_free_text_fields_are_scanned_identifiers_stay_byte_identical() -> None:
    frame = _frame(2)
    for name, value in NOT_FREE_TEXT.items():
        frame[name] = value
    frame["objet"] = ["Référente jean.dupont@gmail.com, 06 12 34 56 78", "Tél (+33) 6 12 34 56 78"]
    rules = PrivacyRules.from_config({"free_text": ["objet", "conditionsVersement"]})
    out, counts = apply_privacy(frame, SCHEMA, rules)
    for name, value in NOT_FREE_TEXT.items():
        assert out[name].tolist() == [value, value], name
    assert out["objet"].tolist() == [f"Référente {MASKED_EMAIL}, {MASKED_PHONE}", f"Tél {MASKED_PHONE}"]
    assert (counts["email_masked"], counts["phone_masked"]) == (1, 2)


def test_geometry_urls_and_numbers_are_not_free_text_in_any_dataset() -> None:
    """Derived or declared, no dataset of the registry scans a key, code, URL, point, number or enum."""
    from assets.dataset_schema import dataset_schema
    from resources.registry.load import load_registry

    registry = load_registry()
    for dataset in registry.datasets.values():
        schema = dataset_schema(dataset)
        keys = set(schema.primary_key) | {k for u in schema.unique_keys for k in u}
        scanned = free_text_fields(schema, PrivacyRules.from_config(dataset.privacy))
        for name in scanned + derived_free_text(schema):
            field = schema.field(name)
            assert field.type == "string" and field.format in (None, "default"), (dataset.id, name)
            assert not {"pattern", "enum"} & set(field.constraints), (dataset.id, name)
            assert name not in keys, (dataset.id, name)
    subventions = dataset_schema(registry.dataset("subventions"))
    derived = derived_free_text(subventions)
    assert {"objet", "conditionsVersement"} <= set(derived)
    assert not {"idBeneficiaire", "referenceDecision", "idRAE", "idAttribuant"} & set(derived)


def test_wkt_and_geopoint_text_in_a_free_text_field_stay_byte_identical() -> None:
    values = [
        "SRID=4326;POINT(0.612345678 47.3941234)",
        "POINT(0612345678 47)",
        "0.6123456789,47.39412345",
        "[0.6123456789, 47.39412345]",
        "https://geo.tours.fr/carte?x=0612345678&y=47",
        "00000000-0000-4000-8000-061234567800",
    ]
    frame = _frame(len(values))
    frame["objet"] = values
    out, counts = apply_privacy(frame, SCHEMA, PrivacyRules.from_config({"free_text": ["objet"]}))
    assert out["objet"].tolist() == values
    assert counts["phone_masked"] == 0


@pytest.mark.parametrize(
    ("free_text", "message"),
    [
        (["idBeneficiaire"], "clé|identifiant|pattern"),
        (["montant"], "type number"),
        (["inconnu"], "pas un champ"),
    ],
)
def test_a_declared_free_text_field_the_schema_constrains_is_refused(free_text, message) -> None:
    with pytest.raises(PrivacyConfigError, match=message):
        free_text_fields(SCHEMA, PrivacyRules.from_config({"free_text": free_text}))
