from pathlib import Path

import pytest

from resources.registry.load import load_registry
from resources.registry.model import RegistryError

COMMUNE_IDS = {
    "tours",
    "joue-les-tours",
    "saint-cyr-sur-loire",
    "saint-pierre-des-corps",
    "saint-avertin",
    "chambray-les-tours",
    "fondettes",
    "la-riche",
    "ballan-mire",
    "luynes",
    "notre-dame-d-oe",
    "chanceaux-sur-choisille",
    "savonnieres",
    "la-membrolle-sur-choisille",
    "rochecorbon",
    "parcay-meslay",
    "mettray",
    "saint-etienne-de-chigny",
    "villandry",
    "druye",
    "saint-genouph",
    "berthenay",
}


def test_registry_declares_the_territory():
    registry = load_registry()
    communes = {p.id for p in registry.producers if p.kind == "commune"}
    assert communes == COMMUNE_IDS
    assert sum(p.population for p in registry.producers if p.kind == "commune") == 301_339
    assert registry.producer("tours").insee == "37261" and registry.producer("tours").siren == "213702616"
    assert registry.producer("tours").siren_verified and not registry.producer("druye").siren_verified
    operators = {p.sector for p in registry.producers if p.kind == "operator"}
    assert operators == {"transport", "tourism", "water", "waste", "university", "hospital"}
    assert "metropole" in registry.producer_by_id


def test_every_commune_has_a_drop_source_for_subventions():
    subventions = load_registry().dataset("subventions")
    assert subventions.schema_ref == "scdl-subventions@2.1.1"
    drops = {s.producer for s in subventions.sources if s.kind == "drop"}
    assert COMMUNE_IDS <= drops


def test_expected_from_rule_selects_communes_over_3500():
    registry = load_registry()
    expected = registry.expected_producers(registry.dataset("subventions"))
    assert "tours" in expected and "luynes" in expected
    assert "chanceaux-sur-choisille" not in expected  # 3,499 inhabitants


def _write(tmp_path: Path, producers: str, datasets: str) -> Path:
    (tmp_path / "producers.yaml").write_text(producers, encoding="utf-8")
    (tmp_path / "datasets.yaml").write_text(datasets, encoding="utf-8")
    return tmp_path


TERRITORY = """territory: {id: t, name: T, siren: "243700754", base_url: "https://example.org"}
producers:
  - {id: tours, name: Tours, kind: commune, population: 10}
"""


def test_bad_entry_is_named(tmp_path):
    directory = _write(
        tmp_path, TERRITORY, "datasets:\n  subventions: {title: S, schema: x, frequency: hourly}\n"
    )
    with pytest.raises(RegistryError, match="frequency"):
        load_registry(directory)


def test_unknown_producer_in_source_is_refused(tmp_path):
    directory = _write(
        tmp_path,
        TERRITORY,
        "datasets:\n  s: {title: S, schema: scdl-subventions, sources: [{producer: nowhere, kind: drop}]}\n",
    )
    with pytest.raises(RegistryError, match="nowhere"):
        load_registry(directory)


def test_bad_producer_id_is_refused(tmp_path):
    directory = _write(tmp_path, TERRITORY + "  - {id: ../etc, name: X, kind: commune}\n", "datasets: {}\n")
    with pytest.raises(RegistryError, match="id"):
        load_registry(directory)


def test_explicit_source_overrides_selector(tmp_path):
    directory = _write(
        tmp_path,
        TERRITORY,
        "datasets:\n  s:\n    title: S\n    schema: scdl-subventions\n    sources:\n"
        "      - {producers: communes, kind: drop}\n"
        "      - {producer: tours, kind: drop, sheet: Feuil2, columns: {Montant TTC: montant}}\n",
    )
    source = load_registry(directory).dataset("s").source_for("tours")
    assert source.sheet == "Feuil2" and source.columns == {"Montant TTC": "montant"}


# -- mistakes refused at load (issue 13 item 5) ------------------------------------------------------

GOOD = """datasets:
  subventions:
    title: S
    schema: scdl-subventions@2.1.1
    sources:
      - {producer: tours, kind: drop, columns: {Montant TTC: montant}}
"""


@pytest.mark.parametrize(
    ("datasets", "expected"),
    [
        # A dataset pasted twice under one id: the second silently replaced the first.
        (
            GOOD + "  subventions:\n    title: T\n    schema: scdl-subventions\n",
            "datasets.yaml : ligne 7 : la clé « datasets › subventions » est écrite deux fois (déjà ligne 2)",
        ),
        (
            GOOD + "    publication: {max_remove_share: 0.9}\n",
            "datasets.yaml : datasets.subventions.publication.max_remove_share : clé inconnue ; "
            "écrire plutôt « max_removed_share »",
        ),
        (
            GOOD + "    privacy: {personal_field: [objet]}\n",
            "datasets.subventions.privacy.personal_field : clé inconnue ; écrire plutôt « personal_fields »",
        ),
        (
            GOOD + "    privacy: {free_text: [objett]}\n",
            "datasets.subventions.privacy.free_text : champ « objett » inconnu du schéma scdl-subventions ; "
            "écrire plutôt « objet »",
        ),
        (
            GOOD + "    consolidation: {keys: [idAttribuant]}\n",
            "datasets.subventions.consolidation.keys : clé inconnue ; écrire plutôt « key »",
        ),
        (
            GOOD + "    geometry: {lon: montant, lattitude: montant}\n",
            "datasets.subventions.geometry.lattitude : clé inconnue ; écrire plutôt « lat »",
        ),
        (
            GOOD.replace("montant}", "montnat}"),
            "datasets.subventions.sources[tours].columns.Montant TTC : champ « montnat » inconnu du schéma "
            "scdl-subventions ; écrire plutôt « montant »",
        ),
        (
            GOOD + "    consolidation: {key: [idAttribuant, refDecision]}\n",
            "datasets.subventions.consolidation.key : champ « refDecision » inconnu du schéma "
            "scdl-subventions ; écrire plutôt « referenceDecision »",
        ),
        (
            GOOD.replace("@2.1.1", "@9.9"),
            "datasets.subventions.schema : Version « 9.9 » inconnue pour le schéma « scdl-subventions ». "
            "Versions disponibles",
        ),
        (
            GOOD + "  subventions-history:\n    title: H\n    schema: scdl-subventions\n",
            "datasets.yaml : datasets.subventions-history : sa table « subventions_history » serait "
            "aussi celle du jeu « subventions »",
        ),
        (
            GOOD + "    frequence: annual\n",
            "datasets.yaml : datasets.subventions.frequence : clé inconnue ; écrire plutôt « frequency »",
        ),
    ],
)
def test_registry_mistakes_are_refused_with_file_key_and_fix(tmp_path, datasets, expected):
    directory = _write(tmp_path, TERRITORY, datasets)
    with pytest.raises(RegistryError) as caught:
        load_registry(directory)
    (line,) = str(caught.value).splitlines()
    assert expected in line


def test_every_command_exits_2_with_one_line_and_no_traceback(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import app

    directory = _write(tmp_path, TERRITORY, GOOD + "    publication: {max_remove_share: 0.9}\n")
    monkeypatch.setenv("TERRITOIRE_REGISTRY", str(directory))
    monkeypatch.setenv("TERRITOIRE_HOME", str(tmp_path / "home"))
    for command in (
        ["status"],
        ["run"],
        ["drop", "tours", "subventions", str(directory / "datasets.yaml")],
        ["validate", str(directory / "datasets.yaml"), "--schema", "scdl-subventions"],
        ["docs"],
    ):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines == [
            "Registre invalide : datasets.yaml : datasets.subventions.publication.max_remove_share : "
            "clé inconnue ; écrire plutôt « max_removed_share »"
        ]


def test_territoire_registry_points_at_another_territory(tmp_path, monkeypatch):
    directory = _write(tmp_path, TERRITORY, GOOD)
    monkeypatch.setenv("TERRITOIRE_REGISTRY", str(directory))
    registry = load_registry()
    assert list(registry.datasets) == ["subventions"] and registry.producer_ids == ["tours"]
