"""What an agent reads names their own columns, says a structure problem once, and never shows a
rule code or an English status (the JSON and the data-* attributes keep the codes for machines)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REFERENCE
from test_reports import DATASETS, NOW, PRODUCERS, _batches, _visible, refused_report, subventions_report

from assets.harmonise.ingest import ingest_file
from quality.reports.batch import render_batch_report
from quality.reports.fixes import RULE_LABELS_FR
from quality.reports.scoreboard import render_scoreboard
from quality.schema import load_schema

NIEVRE = REFERENCE / "real-world-subventions" / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv"
# Words that are codes, not French: statuses as the database keeps them, frequencies as the registry
# writes them, and every rule the validator and the structure check can emit that is not a French word.
ENGLISH_STATUSES = {"loaded", "refused", "failed", "held", "published", "blocked", "unchanged"}
FREQUENCY_CODES = {"annual", "semiannual", "quarterly", "monthly", "weekly", "daily", "irregular"}
RULE_CODES = {
    *RULE_LABELS_FR,
    "unique-keys", "missing-required-column", "missing-column", "extra-column", "duplicate-column",
    "column-order", "one-of-required", "outside-france",
}  # fmt: skip
FRENCH_WORDS = {"format", "type", "minimum", "maximum", "unique"}


def leaked_codes(text: str) -> set[str]:
    """The codes that appear as words in a page's visible text."""
    words = set(re.findall(r"[A-Za-z][A-Za-z-]*[A-Za-z]", text))
    codes = (RULE_CODES - FRENCH_WORDS) | ENGLISH_STATUSES | FREQUENCY_CODES
    return words & codes


def _nievre_report(path: Path = NIEVRE) -> dict:
    schema = load_schema("scdl-subventions")
    context = {"batch_id": "b1", "producer": "fondettes", "dataset": "subventions", "file_name": path.name}
    return ingest_file(path, schema, context=context).report


def _nievre_completed(tmp_path: Path) -> Path:
    """The Nièvre export with the one required column it lacks, so that it loads and its rows are judged."""
    lines = NIEVRE.read_bytes().splitlines()  # cp1252 as published: add bytes, decode nothing
    out = tmp_path / NIEVRE.name
    out.write_bytes(
        b"\r\n".join([lines[0] + b",pourcentageSubvention"] + [x + b",1" for x in lines[1:] if x])
    )
    return out


def test_leak_detector_sees_a_rule_code_and_an_english_status() -> None:
    assert leaked_codes("Colonne X : french-siret-value, statut loaded") == {"french-siret-value", "loaded"}
    assert leaked_codes("valeur supérieure au maximum autorisé, mauvais format, valeur unique") == set()


def test_messages_name_the_agents_columns_with_the_schema_field_in_brackets(tmp_path: Path) -> None:
    report = _nievre_report(_nievre_completed(tmp_path))
    siret = [e for e in report["errors"] if e["field"] == "idAttribuant"]
    assert siret and all(
        e["message"].startswith(
            "Colonne « COLL_SIRET » (idAttribuant : Identification de l'attribuant), ligne "
        )
        for e in siret
    )
    text = _visible(render_batch_report(report))
    assert "Colonne « COLL_SIRET » (idAttribuant : Identification de l'attribuant) :" in text
    assert "Colonne « SUB_NATURE » (nature : Nature de la subvention) :" in text


def test_a_missing_required_column_is_one_line_not_one_per_row() -> None:
    report = _nievre_report()  # the export lacks pourcentageSubvention: refused whole, said once
    assert report["status"] == "refused" and report["rows_in_file"] == 97
    assert report["rows_read"] == report["rows_accepted"] + report["rows_quarantined"]
    text = _visible(render_batch_report(report))
    assert "valeur obligatoire manquante" not in text
    assert text.count("Colonne obligatoire « pourcentageSubvention » (Pourcentage du montant total") == 1


def test_no_rule_code_or_english_status_reaches_an_html_page() -> None:
    pages = {
        "quarantined rows": render_batch_report(subventions_report()),
        "real export, refused": render_batch_report(_nievre_report()),
        "refused file": render_batch_report(refused_report()),
        "scoreboard": render_scoreboard(PRODUCERS, DATASETS, _batches(), "../reports", NOW),
    }
    for name, html in pages.items():
        assert leaked_codes(_visible(html)) == set(), name


def test_every_rule_the_platform_emits_has_a_french_label() -> None:
    from assets.read.strict import STANDARD_RULES
    from quality.validate.checks import CHECKS

    emitted = {n for n in CHECKS if "_" not in n} | set(STANDARD_RULES) | RULE_CODES | {"reference"}
    assert emitted - set(RULE_LABELS_FR) == set()


def test_row_numbers_in_messages_are_grouped_the_french_way() -> None:
    import pandas as pd

    from quality.validate.messages import messages

    out = messages("montant", pd.Series([7, 12345]), pd.Series(["x", "y"]), "n'est pas un nombre.")
    assert list(out) == [
        "Colonne « montant », ligne 7 : « x » n'est pas un nombre.",
        "Colonne « montant », ligne 12\u202f345 : « y » n'est pas un nombre.",
    ]
