"""The `territoire` command line, as a commune agent and the data team use it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import REFERENCE, SHARED_SCHEMAS
from rdflib import Graph
from rdflib.namespace import DCTERMS
from test_catalog import FULL
from test_catalog import _shapes as catalogue_shapes
from test_catalog import _validate as validate_catalogue
from test_catalog import _violations as violations
from test_parity_frictionless import STANDARD
from test_parity_frictionless import _frictionless_set as frictionless_errors
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()
SUBVENTIONS = SHARED_SCHEMAS / "scdl-subventions"


@pytest.fixture()
def env(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home


def test_drop_unknown_producer_exits_2_and_lists_known_ids(env):
    result = runner.invoke(app, ["drop", "paris", "subventions", str(SUBVENTIONS / "exemple-valide.csv")])
    assert result.exit_code == 2
    assert "paris" in result.output and "joue-les-tours" in result.output


def test_drop_unknown_dataset_exits_2(env):
    result = runner.invoke(app, ["drop", "tours", "budgets", str(SUBVENTIONS / "exemple-valide.csv")])
    assert result.exit_code == 2 and "subventions" in result.output


def test_drop_copies_into_the_inbox(env):
    result = runner.invoke(app, ["drop", "tours", "subventions", str(SUBVENTIONS / "exemple-valide.csv")])
    assert result.exit_code == 0, result.output
    assert (env / "inbox" / "tours" / "subventions" / "exemple-valide.csv").exists()


def test_help_and_command_line_errors_are_in_french():
    help_text = runner.invoke(app, ["--help"]).output
    assert "Utilisation : territoire" in help_text and "Commandes :" in help_text
    drop_help = runner.invoke(app, ["drop", "--help"]).output
    assert "PRODUCTEUR" in drop_help and "[obligatoire]" in drop_help and "Affiche cette aide" in drop_help
    missing = runner.invoke(app, ["drop", "tours"])
    assert missing.exit_code == 2 and "Erreur : argument obligatoire manquant : JEU" in missing.output
    unknown = runner.invoke(app, ["status", "--tard"])
    assert unknown.exit_code == 2 and "option inconnue : --tard" in unknown.output
    for text in (help_text, drop_help, missing.output, unknown.output):
        for english in (
            "Usage:",
            "Show this message",
            "[required]",
            "Missing argument",
            "No such option",
            "Error",
        ):
            assert english not in text


def test_validate_refuses_an_unknown_format_with_exit_2():
    result = runner.invoke(
        app,
        [
            "validate",
            str(SUBVENTIONS / "exemple-valide.csv"),
            "--schema",
            "scdl-subventions",
            "--format",
            "xml",
        ],
    )
    assert result.exit_code == 2 and "« xml » n'est pas l'une des valeurs text, json" in result.output


def test_validate_ends_with_a_summary_and_names_no_rule_code():
    path = SUBVENTIONS / "exemple-invalide-erreurs-colonnes.csv"
    result = runner.invoke(app, ["validate", str(path), "--schema", "scdl-subventions"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("structure — Colonne obligatoire « nomBeneficiaire » absente")
    summary = result.output.strip().rsplit("\n", 1)[-1]
    records = json.loads(
        runner.invoke(app, ["validate", str(path), "--schema", "scdl-subventions", "--format", "json"]).output
    )
    assert f"{len(records)} erreur(s) : " in " ".join(result.output.split())
    assert "numéro SIRET invalide" in result.output and "colonne obligatoire absente" in result.output
    assert "29 lignes lues" in result.output and summary
    codes = {r["rule"] for r in records}
    assert "french-siret-value" in codes
    for code in codes:  # « maximum » and « format » are French words too: the codes that are not
        if "-" in code or code != code.lower():
            assert code not in result.output
    assert "ligne None" not in result.output


def test_validate_valid_example_exits_0():
    result = runner.invoke(
        app, ["validate", str(SUBVENTIONS / "exemple-valide.csv"), "--schema", "scdl-subventions"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "name", ["exemple-invalide-erreurs-cellules.csv", "exemple-invalide-erreurs-colonnes.csv"]
)
def test_validate_json_matches_frictionless(name):
    path = SUBVENTIONS / name
    result = runner.invoke(app, ["validate", str(path), "--schema", "scdl-subventions", "--format", "json"])
    assert result.exit_code == 1
    ours = json.loads(result.stdout)
    assert all({"row", "field", "rule", "value", "message"} <= set(e) for e in ours)
    # The same (row, field, rule) set as frictionless run beside it, columns matched by name.
    theirs = frictionless_errors("scdl-subventions", path)
    cells = {
        (e["row"], e["field"], e["rule"]) for e in ours if e["row"] is not None and e["rule"] in STANDARD
    }
    assert cells == theirs and theirs


def test_validate_unknown_schema_exits_2():
    result = runner.invoke(app, ["validate", str(SUBVENTIONS / "exemple-valide.csv"), "--schema", "nope"])
    assert result.exit_code == 2 and "scdl-subventions" in result.output


def test_validate_refused_file_exits_1(tmp_path):
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["validate", str(empty), "--schema", "scdl-subventions", "--format", "json"])
    assert result.exit_code == 1
    assert "vide.csv" in json.loads(result.stdout)[0]["message"]


def test_run_loads_drops_and_prints_the_table(env, fresh_pg_url, monkeypatch):
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", fresh_pg_url)
    runner.invoke(app, ["drop", "tours", "subventions", str(SUBVENTIONS / "exemple-valide.csv")])
    lot = REFERENCE / "real-world-subventions" / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv"
    runner.invoke(app, ["drop", "joue-les-tours", "subventions", str(lot)])
    garbage = env / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 10)
    runner.invoke(app, ["drop", "luynes", "subventions", str(garbage)])

    result = runner.invoke(app, ["run"])
    # The operators' feeds are not served here: their partitions fail, the platform does not.
    assert result.exit_code == 0, result.output
    assert "collecte en échec" in result.output
    # Statuses in French, a refusal with its reason in a few words (the database keeps « refused »).
    assert "tours" in result.output and "refusé : pas un tableau" in result.output
    assert "refused" not in result.output and "loaded" not in result.output
    engine = sa.create_engine(fresh_pg_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select producer, status, rows_read, rows_accepted, rows_quarantined "
                "from meta.batches order by producer"
            )
        ).all()
        published = conn.execute(sa.text("select count(*) from published.subventions")).scalar()
    engine.dispose()
    assert [r.producer for r in rows] == ["joue-les-tours", "luynes", "tours"]
    assert all(r.rows_read == r.rows_accepted + r.rows_quarantined for r in rows)
    assert published == sum(r.rows_accepted for r in rows)
    assert (env / "publish" / "subventions.csv").exists() and (env / "publish" / "catalog.ttl").exists()

    # The catalogue the run wrote passes the official DCAT-AP 2.1.1 shapes, unmodified.
    data = Graph().parse(env / "publish" / "catalog.ttl")
    conforms, report, _text, _seconds = validate_catalogue(data, catalogue_shapes(*FULL))
    assert conforms, violations(report)

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "joue-les-tours" in status.output and "luynes" in status.output
    assert "refusé : pas un tableau" in status.output and "chargé" in status.output
    report = runner.invoke(app, ["report", "luynes", "subventions"])
    assert report.exit_code == 0 and "garbage.csv — refusé : 0 lues" in report.output
    late = runner.invoke(app, ["status", "--late"])
    assert late.exit_code == 0 and "retard" in late.output

    docs = runner.invoke(app, ["docs"])
    assert docs.exit_code == 0 and (env / "publish" / "dictionnaire.html").exists()

    again = runner.invoke(app, ["run"])
    assert again.exit_code == 0 and "aucun lot" in again.output, again.output


def test_truncated_redrop_is_held_until_approved(env, fresh_pg_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", fresh_pg_url)
    valid = SUBVENTIONS / "exemple-valide.csv"
    runner.invoke(app, ["drop", "tours", "subventions", str(valid)])
    assert runner.invoke(app, ["run", "--dataset", "subventions"]).exit_code == 0
    manifest = env / "publish" / "manifest.json"
    first = json.loads(manifest.read_text(encoding="utf-8"))["subventions"]
    assert first["version"] == 1

    truncated = tmp_path / "subventions-tours.csv"
    truncated.write_text(
        "".join(valid.read_text(encoding="utf-8").splitlines(keepends=True)[:4]), encoding="utf-8"
    )
    runner.invoke(app, ["drop", "tours", "subventions", str(truncated)])
    assert runner.invoke(app, ["run", "--dataset", "subventions"]).exit_code == 0

    engine = sa.create_engine(fresh_pg_url)
    with engine.connect() as conn:
        status = conn.execute(
            sa.text("select status from meta.publications order by version desc limit 1")
        ).scalar()
        published = conn.execute(sa.text("select count(*) from published.subventions")).scalar()
    assert status == "held" and published == 29  # a commune's data wiped by a truncated file is not published
    csv_rows = (env / "publish" / "subventions.csv").read_text(encoding="utf-8").count("\n") - 1
    assert csv_rows == 29
    # The files still hold version 1: the manifest and the catalogue date them by it, not by this run.
    held = json.loads(manifest.read_text(encoding="utf-8"))["subventions"]
    assert (held["version"], held["published_at"]) == (1, first["published_at"])
    catalogue = Graph().parse(env / "publish" / "catalog.ttl")
    modified = {str(o) for o in catalogue.objects(None, DCTERMS.modified)}
    assert any(m.startswith(first["published_at"][:19]) for m in modified), modified

    approved = runner.invoke(app, ["approve", "subventions", "2"])
    assert approved.exit_code == 0, approved.output
    assert "subventions version 2 : approuvé, 3 lignes." in approved.output
    with engine.connect() as conn:
        published = conn.execute(sa.text("select count(*) from published.subventions")).scalar()
    engine.dispose()
    assert published == 3
    assert (env / "publish" / "subventions.csv").read_text(encoding="utf-8").count("\n") - 1 == 3
    approved_entry = json.loads(manifest.read_text(encoding="utf-8"))["subventions"]
    assert approved_entry["version"] == 2 and approved_entry["published_at"] > first["published_at"]


def test_validate_json_prints_only_json_on_stdout(tmp_path):
    """A damaged XLS makes xlrd print a warning; a script reading the JSON must still parse stdout."""
    damaged = tmp_path / "sarthe.xls"
    source = REFERENCE / "real-world" / "scdl-subventions" / "SUBV_DEP72_Sarthe_progos_2018.xls"
    damaged.write_bytes(source.read_bytes() + b"abc")  # no longer a whole number of OLE2 sectors
    territoire = Path(sys.executable).parent / "territoire"
    done = subprocess.run(
        [str(territoire), "validate", str(damaged), "--schema", "scdl-subventions", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    records = json.loads(done.stdout)
    assert records and all({"row", "field", "rule", "message"} <= set(r) for r in records)
    assert "WARNING" in done.stderr and "WARNING" not in done.stdout


def test_demo_initialises_the_embedded_cluster_without_starting_it(env, monkeypatch):
    from resources.postgres_server import stop_server

    monkeypatch.delenv("TERRITOIRE_WAREHOUSE_URL", raising=False)
    try:
        result = runner.invoke(app, ["demo"])
        assert result.exit_code == 0, result.output
        assert (env / "postgres" / "data" / "PG_VERSION").exists()
        assert not (env / "postgres" / "data" / "postmaster.pid").exists()
    finally:
        stop_server(env)


def test_demo_with_a_warehouse_url_makes_no_cluster(env, monkeypatch, pg_url):
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", pg_url)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert not (env / "postgres").exists()
