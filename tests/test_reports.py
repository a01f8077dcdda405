"""Batch report and scoreboard: files written, French content, escaping, grouping, scores."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from quality.outcome import BatchOutcome
from quality.reports import fr_date, fr_int, fr_percent
from quality.reports.batch import (
    HTML_ROWS_PER_GROUP,
    NORMALISATION_LABELS_FR,
    collapse_ranges,
    error_groups,
    rejected_rows_csv,
    render_batch_report,
    write_batch_report,
)
from quality.reports.fixes import fix_for, refusal_fix
from quality.reports.scoreboard import (
    dataset_quality,
    late_cells,
    producer_scores,
    render_scoreboard,
    scoreboard_rows,
    write_scoreboard,
)

HEADERS = [
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "nomBeneficiaire",
    "idBeneficiaire",
    "objet",
    "montant",
    "nature",
    "Observations",
]
HOSTILE = '<img src="x" onerror="alert(1)">'
ENUM_MESSAGE_TAIL = "n'est pas une valeur autorisée (valeurs admises : aide en numéraire, aide en nature)."


def _row(n: int, **cells: str) -> dict[str, str]:
    base = {
        "nomAttribuant": "Ville de Saint-Avertin",
        "idAttribuant": "21370208700017",
        "dateConvention": "15/03/2024",
        "nomBeneficiaire": f"Association n°{n}",
        "idBeneficiaire": "44306184100047",
        "objet": "Fonctionnement annuel",
        "montant": "1 500,00",
        "nature": "aide en numéraire",
        "Observations": "",
    }
    return {**base, **cells}


def _error(row: int, field: str, rule: str, value: str, tail: str) -> dict[str, object]:
    shown = f"« {value} » " if value else ""
    return {
        "row": row,
        "field": field,
        "rule": rule,
        "value": value,
        "message": f"Colonne « {field} », ligne {row} : {shown}{tail}",
    }


def subventions_report() -> dict[str, object]:
    """A realistic batch: a commune's subventions export with SIRET typos, a bad date, a TOTAL line."""
    luhn = "n'est pas un numéro SIRET valide (14 chiffres dont le dernier est une clé de contrôle)."
    errors = [
        _error(3, "idBeneficiaire", "french-siret-value", "44306184100048", luhn),
        _error(4, "idBeneficiaire", "french-siret-value", "78945612300011", luhn),
        _error(5, "idBeneficiaire", "french-siret-value", "78945612300012", luhn),
        _error(9, "idBeneficiaire", "french-siret-value", "12345678901234", luhn),
        _error(6, "dateConvention", "type", "31/04/2024", "n'est pas une date au format AAAA-MM-JJ."),
        _error(7, "nature", "enum", "numéraire", ENUM_MESSAGE_TAIL),
        _error(
            8, "objet", "maxLength", HOSTILE, "est trop longue (au plus 250 caractères ou éléments attendus)."
        ),
        _error(14, "idBeneficiaire", "required", "", "valeur obligatoire manquante."),
        _error(14, "nomBeneficiaire", "required", "", "valeur obligatoire manquante."),
    ]
    cells = {
        3: _row(3, idBeneficiaire="44306184100048"),
        4: _row(4, idBeneficiaire="78945612300011"),
        5: _row(5, idBeneficiaire="78945612300012"),
        6: _row(6, dateConvention="31/04/2024"),
        7: _row(7, nature="numéraire"),
        8: _row(8, objet=HOSTILE),
        9: _row(9, idBeneficiaire="12345678901234", montant="-250"),
        14: _row(
            14,
            nomBeneficiaire="",
            idBeneficiaire="",
            objet="TOTAL",
            montant="18 250,00",
            Observations="=SOMME(G2:G13)",
        ),
    }
    rejected = [
        {
            "source_row": r,
            "cells": c,
            "errors": [{k: v for k, v in e.items() if k != "row"} for e in errors if e["row"] == r],
        }
        for r, c in cells.items()
    ]
    return {
        "batch_id": "20250312T140501-3f2a9c1d",
        "producer": "saint-avertin",
        "producer_name": "Ville de Saint-Avertin",
        "dataset": "subventions",
        "dataset_title": "Subventions accordées",
        "schema": "scdl-subventions",
        "schema_version": "2.1.1",
        "file_name": "subventions 2024 (export compta).csv",
        "sha256": "3f2a9c1d" + "0" * 56,
        "received_at": "2025-03-12T13:05:01+00:00",
        "status": "loaded",
        "message": "",
        "rows_read": 13,
        "rows_accepted": 5,
        "rows_quarantined": 8,
        "read": {
            "format": "csv",
            "encoding": "cp1252",
            "delimiter": ";",
            "header_line": 1,
            "sheet": None,
            "blank_lines_dropped": 2,
        },
        "normalisations": {"decimal_comma": 9, "date": 12, "whitespace": 3, "mystery_kind": 2},
        "structure": [
            {
                "level": "warning",
                "rule": "extra-column",
                "column": "Observations",
                "message": "La colonne « Observations » ne correspond à aucun champ du schéma "
                "scdl-subventions : elle est conservée dans l'archive mais pas publiée.",
            },
            {
                "level": "error",
                "rule": "missing-required-column",
                "column": "referenceDecision",
                "message": "Colonne obligatoire « referenceDecision » absente du fichier.",
            },
        ],
        "warnings": ["2 lignes entièrement vides ignorées."],
        "errors": errors,
        "rejected_rows": rejected,
    }


def refused_report() -> dict[str, object]:
    report = subventions_report()
    report.update(
        status="refused",
        refusal_reason="binary",
        message="Le fichier « subventions.pdf » n'est pas un tableau (c'est un document PDF) : "
        "il n'a pas été lu.",
        file_name="subventions.pdf",
        rows_read=0,
        rows_accepted=0,
        rows_quarantined=0,
        read={},
        normalisations={},
        structure=[],
        warnings=[],
        errors=[],
        rejected_rows=[],
    )
    return report


class _Text(HTMLParser):
    """The page's visible text and its tags, to assert on what a reader sees (not on markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._skip += tag in ("style", "title")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "title")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def _parse(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def _visible(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", " ".join(_parse(html).text))


# --------------------------------------------------------------------------- batch report


def test_write_batch_report_writes_three_files_where_the_contract_says(tmp_path: Path) -> None:
    report = subventions_report()
    html_path, json_path, csv_path = write_batch_report(report, tmp_path)
    folder = tmp_path / "saint-avertin" / "subventions"
    assert html_path == folder / "20250312T140501-3f2a9c1d.html"
    assert json_path == folder / "20250312T140501-3f2a9c1d.json"
    assert csv_path == folder / "20250312T140501-3f2a9c1d-rejets.csv"
    raw = json_path.read_bytes().decode("utf-8")
    assert "Saint-Avertin" in raw and "\\u00e9" not in raw  # ensure_ascii=False: accents as written
    assert json.loads(raw) == report
    html = html_path.read_text("utf-8")
    assert f'href="{csv_path.name}"' in html  # relative link, works wherever the folder is served
    assert not list(folder.glob(".*.tmp"))


def test_batch_report_refuses_ids_that_would_escape_the_reports_folder(tmp_path: Path) -> None:
    report = {**subventions_report(), "producer": "../../etc"}
    with pytest.raises(ValueError):
        write_batch_report(report, tmp_path)


def test_summary_in_french_with_figures_shares_date_and_normalisations() -> None:
    text = _visible(render_batch_report(subventions_report()))
    assert "subventions 2024 (export compta).csv" in text
    assert "12 mars 2025 à 14 h 05" in text  # 13:05 UTC is 14:05 in Paris in March
    assert "scdl-subventions (version 2.1.1)" in text
    assert "Lignes lues 13" in text
    assert "Lignes acceptées 5 (38,5\u00a0%)" in text
    assert "Lignes mises de côté 8 (61,5\u00a0%)" in text
    assert "virgules décimales converties 9" in text
    assert "dates mises au format AAAA-MM-JJ 12" in text
    assert "mystery_kind 2" in text  # an unknown kind keeps its key
    assert "point-virgule (;)" in text and "cp1252" in text


def test_structure_comes_before_errors_and_errors_are_grouped_biggest_first() -> None:
    html = render_batch_report(subventions_report())
    text = _visible(html)
    assert text.index("Colonnes du fichier") < text.index("Erreurs à corriger")
    # the missing required column (an error) is listed before the extra column (a warning)
    assert text.index("Colonne obligatoire « referenceDecision »") < text.index("La colonne « Observations »")
    headings = [m for m in re.findall(r"<h3[^>]*>(.*?)</h3>", html)]
    assert headings[0].startswith("Colonne « idBeneficiaire » : numéro SIRET invalide — 4 erreurs")
    siret = text[text.index("numéro SIRET invalide") :]
    assert "Lignes 3 à 5 et 9" in siret
    assert "44306184100048" in siret
    assert "annuaire-entreprises.data.gouv.fr" in siret
    assert (
        "Choisissez une valeur de la liste autorisée, écrite exactement ainsi : "
        "aide en numéraire, aide en nature" in text
    )
    assert "JJ/MM/AAAA" in text  # a date error gets the date fix, not the generic one


def test_every_value_from_the_file_is_escaped() -> None:
    html = render_batch_report(subventions_report())
    assert HOSTILE not in html
    assert "&lt;img src=&#34;x&#34; onerror=&#34;alert(1)&#34;&gt;" in html
    assert not [t for t, a in _parse(html).tags if t in ("img", "script", "link", "iframe")]
    assert HOSTILE in _visible(html)  # shown to the reader as text


def test_page_is_self_contained_and_accessible_markup() -> None:
    html = render_batch_report(subventions_report())
    parsed = _parse(html)
    tags = [t for t, _ in parsed.tags]
    assert re.search(r'<html lang="fr">', html)
    assert any(t == "meta" and a.get("name") == "viewport" for t, a in parsed.tags)
    assert tags.count("h1") == 1 and "h2" in tags and "h3" in tags
    assert all(a.get("scope") in ("col", "row") for t, a in parsed.tags if t == "th")
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "@import" not in html and "url(" not in html
    assert not [t for t in tags if t in ("script", "link", "img")]


def test_refused_file_says_why_in_one_sentence_and_what_to_do() -> None:
    html = render_batch_report(refused_report())
    text = _visible(html)
    assert "Fichier refusé" in text
    assert "n'est pas un tableau (c'est un document PDF)" in text
    assert "déposez un export CSV, Excel (.xlsx) ou OpenDocument (.ods)" in text
    assert "Lignes lues" not in text and "Erreurs à corriger" not in text


def test_html_lists_at_most_the_cap_per_group_and_says_so_while_csv_has_all(tmp_path: Path) -> None:
    n = HTML_ROWS_PER_GROUP + 250
    report = subventions_report()
    report["errors"] = [
        _error(r, "montant", "type", "douze", "n'est pas un nombre valide.") for r in range(2, n + 2)
    ]
    report["rejected_rows"] = [
        {
            "source_row": r,
            "cells": _row(r, montant="douze"),
            "errors": [{"field": "montant", "rule": "type", "value": "douze", "message": "x"}],
        }
        for r in range(2, n + 2)
    ]
    report.update(rows_read=n + 10, rows_accepted=10, rows_quarantined=n)
    html_path, _, csv_path = write_batch_report(report, tmp_path)
    html = html_path.read_text("utf-8")
    body = html[html.index('data-rule="type"') :]
    assert body.count('<th scope="row" class="num">') == HTML_ROWS_PER_GROUP
    assert f"… et {fr_int(250)} autres erreurs de ce type" in _visible(html)
    assert "Lignes 2 à 451" in _visible(html)
    lines = csv_path.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == n + 1


def test_rejected_csv_opens_in_french_excel_with_original_cells_and_errors() -> None:
    data = rejected_rows_csv(subventions_report())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [*HEADERS, "erreurs"]
    assert len(rows) == 1 + 8
    by_row = {r[3]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    total = by_row[""]
    assert total["montant"] == "18 250,00" and total["objet"] == "TOTAL"
    assert total["Observations"] == "=SOMME(G2:G13)"  # as written: the agent drops it back
    assert "Colonne « idBeneficiaire », ligne 14 : valeur obligatoire manquante." in total["erreurs"]
    assert "Colonne « nomBeneficiaire », ligne 14" in total["erreurs"]
    assert by_row["Association n°6"]["dateConvention"] == "31/04/2024"
    assert "« 31/04/2024 » n'est pas une date" in by_row["Association n°6"]["erreurs"]


def test_rejected_csv_keeps_a_producer_column_named_erreurs() -> None:
    report = subventions_report()
    for row in report["rejected_rows"]:
        row["cells"]["erreurs"] = "mine"
    rows = list(csv.reader(io.StringIO(rejected_rows_csv(report).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-2:] == ["erreurs", "_erreurs"] and rows[1][-2] == "mine"


def test_collapse_ranges_and_french_numbers() -> None:
    assert collapse_ranges([9, 2, 3, 4, 7, 3]) == "2 à 4, 7 et 9"
    assert collapse_ranges([5, 6]) == "5 et 6"
    assert collapse_ranges(list(range(2, 400, 2)), limit=3) == "2, 4, 6… et 196 autres lignes"
    assert fr_int(1234567) == "1\u202f234\u202f567"
    assert fr_percent(0.125) == "12,5\u00a0%" and fr_percent(1.0) == "100\u00a0%" and fr_percent(None) == "—"
    assert fr_date("2025-07-01T22:30:00Z") == "2 juillet 2025 à 0 h 30"
    assert fr_date("2025-02-01T10:00:00+00:00", with_time=False) == "1er février 2025"


def test_error_groups_over_a_large_frame_stay_fast() -> None:
    n = 300_000
    frame = pd.DataFrame(
        {
            "row": range(2, n + 2),
            "field": ["montant", "idBeneficiaire", "nature"] * (n // 3),
            "rule": ["type", "french-siret-value", "enum"] * (n // 3),
            "value": "x",
            "message": "m",
        }
    )
    start = datetime.now()
    groups = error_groups(frame)
    assert (datetime.now() - start).total_seconds() < 5
    assert [g["count"] for g in groups] == [n // 3] * 3
    assert all(len(g["listed"]) == HTML_ROWS_PER_GROUP for g in groups)


def test_fixes_cover_the_rules_and_fall_back_to_a_generic_sentence() -> None:
    assert "14 chiffres" in fix_for("french-siret-value")
    assert "(limite : 100)" in fix_for("maximum", "… supérieure au maximum autorisé (100).")
    assert "(limite : 250)" in fix_for("maxLength", "… (au plus 250 caractères ou éléments attendus).")
    assert "oui, non" in fix_for("enum", "x (valeures admises) y (valeurs admises : oui, non).")
    assert "une fois" in fix_for("unique")
    assert "l'une ou l'autre" in fix_for("one-of-required")
    generic = fix_for("une-regle-inconnue")
    assert "message de chaque ligne" in generic
    assert fix_for("pattern") != generic and fix_for("required") != generic and fix_for("minimum") != generic
    assert "CSV UTF-8" in refusal_fix("undecodable") and "contactez" in refusal_fix("nouvelle-raison")


def test_every_normalisation_kind_the_harmoniser_counts_has_a_french_label() -> None:
    from assets.harmonise.normalise import KIND_LABELS_FR

    assert set(KIND_LABELS_FR) <= set(NORMALISATION_LABELS_FR)


# --------------------------------------------------------------------------- scoreboard

NOW = datetime(2025, 6, 30, 8, 0, tzinfo=UTC)

PRODUCERS = [
    {"id": "tours", "name": "Ville de Tours", "kind": "commune", "population": 137_087},
    {"id": "saint-avertin", "name": "Ville de Saint-Avertin", "kind": "commune", "population": 14_999},
    {"id": "fondettes", "name": "Ville de Fondettes", "kind": "commune", "population": 10_900},
    {"id": "villandry", "name": "Commune de Villandry", "kind": "commune", "population": 1_100},
    {
        "id": "mobilites-touraine",
        "name": "Syndicat des Mobilités de Touraine",
        "kind": "operator",
        "population": None,
    },
    {"id": "chu-tours", "name": "CHU de Tours", "kind": "operator", "population": None},
]
DATASETS = [
    {
        "id": "subventions",
        "title": "Subventions",
        "schema": "scdl-subventions@2.1.1",
        "frequency": "annual",
        "expected_from": ["tours", "saint-avertin", "fondettes"],
        "licence": "etalab-2.0",
        "description": "Les subventions accordées par les communes du territoire à des personnes morales "
        "de droit privé, "
        "publiées au format national SCDL.",
        "temporal_coverage": "2024",
        "spatial": {"zones": ["epci:243700754"], "granularity": "fr:commune"},
    },
    {
        "id": "arrets-transport",
        "title": "Arrêts de transport",
        "schema": "territoire-arrets@1.0",
        "frequency": "daily",
        "expected_from": ["mobilites-touraine"],
    },
]


def _batches() -> pd.DataFrame:
    b = [
        ("b1", "tours", "subventions", "2024-04-02T09:00:00Z", 400, 300, "loaded", ""),
        ("b2", "tours", "subventions", "2025-04-01T09:00:00Z", 420, 418, "loaded", ""),
        ("b3", "saint-avertin", "subventions", "2024-03-01T09:00:00Z", 120, 60, "loaded", ""),
        (
            "b4",
            "saint-avertin",
            "subventions",
            "2025-06-20T09:00:00Z",
            0,
            0,
            "refused",
            "Le fichier est vide.",
        ),
        ("b5", "mobilites-touraine", "arrets-transport", "2025-06-29T05:00:00Z", 1000, 1000, "loaded", ""),
        ("b6", "villandry", "subventions", "2025-05-01T09:00:00Z", 10, 9, "loaded", ""),
    ]
    frame = pd.DataFrame(
        b,
        columns=[
            "batch_id",
            "producer",
            "dataset",
            "received_at",
            "rows_read",
            "rows_accepted",
            "status",
            "message",
        ],
    )
    frame["file_name"] = frame["batch_id"] + ".csv"
    frame["rows_quarantined"] = frame["rows_read"] - frame["rows_accepted"]
    return frame


def test_scoreboard_cells_expected_delivered_valid_fresh_late_and_links() -> None:
    rows = {
        (r["producer"], r["dataset"]): r
        for r in scoreboard_rows(PRODUCERS, DATASETS, _batches(), NOW, "../reports")
    }
    assert set(rows) == {
        ("tours", "subventions"),
        ("saint-avertin", "subventions"),
        ("fondettes", "subventions"),
        ("villandry", "subventions"),
        ("mobilites-touraine", "arrets-transport"),
    }
    tours = rows[("tours", "subventions")]
    assert tours["expected"] and tours["delivered"] and not tours["late"]
    assert tours["valid_share"] == pytest.approx(418 / 420)
    # b2 quarantined 2 rows: its report shows their cells as sent, so the public page does not link it
    assert (
        tours["public_report_url"] is None and tours["report_url"] == "../reports/tours/subventions/b2.html"
    )
    assert rows[("mobilites-touraine", "arrets-transport")]["public_report_url"] == (
        "../reports/mobilites-touraine/arrets-transport/b5.html"
    )
    avertin = rows[("saint-avertin", "subventions")]  # last file refused; last loaded 16 months ago
    assert avertin["last_status"] == "refused" and avertin["valid_share"] == 0.0 and avertin["late"]
    assert avertin["last_loaded_at"] == datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert (
        rows[("fondettes", "subventions")]["delivered"] is False
        and rows[("fondettes", "subventions")]["late"]
    )
    assert rows[("villandry", "subventions")]["expected"] is False
    assert not rows[("mobilites-touraine", "arrets-transport")]["late"]


def test_late_cells_and_a_daily_feed_going_stale() -> None:
    late = late_cells(PRODUCERS, DATASETS, _batches(), NOW)
    assert [(c.producer, c.dataset) for c in late] == [
        ("fondettes", "subventions"),
        ("saint-avertin", "subventions"),
    ]
    assert late[0].last_delivery is None and late[0].due is None
    assert late[1].due == datetime(2024, 3, 1, 9, tzinfo=UTC) + timedelta(days=395)
    stale = late_cells(PRODUCERS, DATASETS, _batches(), NOW + timedelta(days=3))
    assert ("mobilites-touraine", "arrets-transport") in [(c.producer, c.dataset) for c in stale]


def test_producer_scores_and_dataset_quality_follow_the_documented_formulas() -> None:
    batches = _batches()
    rows = scoreboard_rows(PRODUCERS, DATASETS, batches, NOW)
    scores = {p["id"]: p["score"] for p in producer_scores(PRODUCERS, rows)}
    assert scores == {
        "tours": round(100 * 418 / 420),
        "saint-avertin": 0,
        "fondettes": 0,
        "villandry": 90,
        "mobilites-touraine": 100,
        "chu-tours": None,
    }
    quality = {d["id"]: d for d in dataset_quality(DATASETS, rows, batches)}
    sub = quality["subventions"]
    # description, documentation, licence, frequency, open formats, temporal, spatial: 7; late and a missing
    # producer fail « in time » and « all available ».
    # Validity over the last loaded batches: tours, saint-avertin, villandry.
    assert sub["criteria_met"] == 7
    assert sub["validity"] == pytest.approx((418 + 60 + 9) / (420 + 120 + 10))
    assert sub["score"] == round(100 * (0.5 * 7 / 9 + 0.5 * sub["validity"]))
    arrets = quality["arrets-transport"]  # no description, licence, coverage: 5 criteria
    assert arrets["criteria_met"] == 5 and arrets["score"] == round(100 * (0.5 * 5 / 9 + 0.5))


def test_write_scoreboard_page_sorted_with_trends_links_and_method(tmp_path: Path) -> None:
    path = write_scoreboard(PRODUCERS, DATASETS, _batches(), tmp_path / "publish", "../reports", NOW)
    assert path == tmp_path / "publish" / "index.html"
    html = path.read_text("utf-8")
    text = _visible(html)
    order = re.findall(r'<li class="card" data-producer="([^"]+)"', html)
    assert order == ["mobilites-touraine", "tours", "villandry", "fondettes", "saint-avertin"]
    assert "CHU de Tours" in text[text.index("Sans jeu de données attendu") :]
    # Reports with quarantined rows (b2: 2 rows, b6: 1) hold the cells as sent: not linked here.
    assert 'href="../reports/mobilites-touraine/arrets-transport/b5.html"' in html
    assert "b2.html" not in html and "b6.html" not in html
    assert "rapport transmis au producteur" in text
    assert "fichier refusé" in text and "attendu, jamais reçu" in text and "volontaire" in text
    assert (
        'aria-label="en progrès : lignes valides sur les 2 derniers lots, de 75\u00a0% à 100\u00a0%"' in html
    )
    assert "100 × (0,5 × critères remplis ÷ 9 + 0,5 × part des lignes valides)" in text
    assert "Fréquence de mise à jour respectée" in text
    parsed = _parse(html)
    assert all(a.get("scope") in ("col", "row") for t, a in parsed.tags if t == "th")
    assert not [t for t, _ in parsed.tags if t in ("script", "link", "img")]


def test_scoreboard_with_no_batch_at_all_renders() -> None:
    html = render_scoreboard(PRODUCERS, DATASETS, pd.DataFrame(), "", NOW)
    assert "attendu, jamais reçu" in _visible(html)


def test_a_limit_is_read_from_the_rule_text_not_from_the_quoted_value() -> None:
    message = (
        "Colonne « objet », ligne 8 : « alert(1) » est trop longue "
        "(au plus 250 caractères ou éléments attendus)."
    )
    assert "(limite : 250)" in fix_for("maxLength", message)


# --------------------------------------------------------------------------- batch outcome


def test_batch_outcome_gives_back_the_report_it_was_built_from() -> None:
    report = {
        "batch_id": "subventions-tours-abc",
        "producer": "tours",
        "dataset": "subventions",
        "file_name": "subventions.csv",
        "sha256": "abc",
        "status": "loaded",
        "message": "",
        "rows_read": 3,
        "rows_accepted": 2,
        "rows_quarantined": 1,
        "read": {"encoding": "utf-8"},
        "structure": [{"column": "montant", "rule": "missing-required-column", "level": "error"}],
        "warnings": [],
    }
    outcome = BatchOutcome.from_report(report)
    assert outcome.conserved and outcome.missing_required_columns == ["montant"]
    assert outcome.details == {"read": {"encoding": "utf-8"}, "warnings": []}
    assert list(outcome.to_json().items()) == list(report.items())
    outcome.report_path = "tours/subventions/subventions-tours-abc.html"
    assert list(outcome.to_json())[-1] == "report_path"
