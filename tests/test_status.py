"""``territoire status``: held changes with their approve command, and every file still in the inbox."""

import json
from pathlib import Path

from conftest import SHARED_SCHEMAS
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()
VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"


def _status(env: Path) -> dict:
    result = runner.invoke(app, ["status", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_status_json_lists_holds_and_waiting_files_with_why(env: Path, tmp_path: Path):
    assert _status(env) == {"holds": [], "waiting": []}
    assert runner.invoke(app, ["drop", "tours", "subventions", str(VALID)]).exit_code == 0
    assert runner.invoke(app, ["run", "--dataset", "subventions"]).exit_code == 0

    truncated = tmp_path / "subventions-tours.csv"
    truncated.write_text("".join(VALID.read_text(encoding="utf-8").splitlines(keepends=True)[:4]))
    runner.invoke(app, ["drop", "tours", "subventions", str(truncated)])
    run = runner.invoke(app, ["run", "--dataset", "subventions"])
    assert run.exit_code == 0 and "territoire approve subventions 2" in run.output

    # Files an agent put in the wrong place, and one waiting properly.
    inbox = env / "inbox"
    for place in (
        "Tours/subventions",
        "tours",
        "fondettes/Subventions",
        "mobilites-touraine/arrets-transport",
    ):
        (inbox / place).mkdir(parents=True, exist_ok=True)
        (inbox / place / "extrait.csv").write_bytes(VALID.read_bytes())
    (inbox / "perdu.csv").write_bytes(b"a\n1\n")
    runner.invoke(app, ["drop", "luynes", "subventions", str(VALID)])

    document = _status(env)
    (held,) = document["holds"]
    assert (held["dataset"], held["version"], held["producers"]) == ("subventions", 2, ["tours"])
    assert held["approve"] == "territoire approve subventions 2" and "tours" in held["reason"]
    why = {
        Path(w["path"]).relative_to(inbox).as_posix(): (w["processable"], w["why"])
        for w in document["waiting"]
    }
    assert why["luynes/subventions/exemple-valide.csv"][0] is True
    assert (
        why["Tours/subventions/extrait.csv"][0] is False
        and "« tours »" in why["Tours/subventions/extrait.csv"][1]
    )
    assert "sans dossier de jeu de données" in why["tours/extrait.csv"][1]
    assert "« subventions »" in why["fondettes/Subventions/extrait.csv"][1]
    assert "collecte (gtfs)" in why["mobilites-touraine/arrets-transport/extrait.csv"][1]
    assert "directement dans inbox/" in why["perdu.csv"][1]
    assert len(why) == 6

    text = runner.invoke(app, ["status"])
    assert text.exit_code == 0
    assert "territoire approve subventions 2" in text.output and "majuscules" in text.output
