import pytest

from quality.schema import TableSchema, UnknownSchema, available_schemas, load_schema

EXPECTED = {
    "territoire-arrets",
    "scdl-subventions",
    "scdl-deliberations",
    "scdl-equipements",
    "scdl-budget",
    "scdl-catalogue",
    "scdl-prenoms",
    "scdl-menus-collectifs",
    "etalab-irve-statique",
    "etalab-stationnement-cyclable",
    "etalab-stationnement",
    "etalab-lieux-covoiturage",
    "etalab-bal",
    "atlasante-dae",
    "naturalsolutions-arbres-urbains",
    "datagouv-fontaine-eau",
    "etalab-zfe",
}


def test_every_schema_is_shipped_and_loads() -> None:
    assert set(available_schemas()) == EXPECTED
    for name in EXPECTED:
        schema = load_schema(name)
        assert isinstance(schema, TableSchema)
        assert schema.fields and schema.name == name
        assert (schema.path.parent / "SOURCE.md").read_text(encoding="utf-8").strip()


def test_subventions_contract() -> None:
    s = load_schema("scdl-subventions@2.1.1")
    assert s.version == "2.1.1"
    assert s.field("idAttribuant").constraints["pattern"] == "^\\d{14}$"
    assert s.field("montant").type == "number" and s.field("montant").required
    assert s.field_names[0] == "nomAttribuant"
    assert {c["name"] for c in s.custom_checks} == {"french-siret-value", "one-of-required"}
    assert s.missing_values == [""]
    assert load_schema("scdl-subventions") is s  # cached


def test_versions() -> None:
    assert load_schema("etalab-bal").version == "v1.4.0"
    for ref in ("etalab-bal@1.3", "etalab-bal@1.3.0", "etalab-bal@v1.3.0"):
        assert load_schema(ref).version == "v1.3.0"
    with pytest.raises(UnknownSchema, match="1.4.0"):
        load_schema("etalab-bal@9.9")


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(UnknownSchema, match="scdl-subventions") as caught:
        load_schema("subvention")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
    assert str(caught.value).startswith("Schéma inconnu « subvention »")


def test_primary_key_and_field_lookup() -> None:
    s = load_schema("etalab-stationnement")
    assert s.primary_key == ["id"]
    with pytest.raises(KeyError):
        s.field("nope")
