"""The RGPD gate end to end: personal data in accepted rows never reaches the warehouse nor the files.

A subventions file modelled on the SCDL 2.1.1 valid example is seeded with an individual's e-mail
and mobile numbers inside ``objet``, and with a natural person as beneficiary. It goes through the
real asset graph (dg.materialize, real PostgreSQL); then every place a published value can live is
searched for the seeded values, and the batch report must say what was held back.

The natural person has neither SIRET nor RNA, so the schema's ``one-of-required`` check quarantines
the row before the gate sees it: with SCDL subventions, a beneficiary reaching the accepted rows
always carries an identifier, which ``quality/privacy/`` reads as an organisation (or a sole
trader, public in SIRENE). ``natural_person_withheld`` therefore stays at zero in this run; the
e-mail and phone masks are what protects accepted rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from conftest import SHARED_SCHEMAS
from test_assets import platform  # noqa: F401  (the fixture: store, ingest, publish, engine)

from quality.reports.batch import render_batch_report

EXAMPLE = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"

PERSONAL_EMAIL = "jean.dupont@gmail.com"
NAMED_EMAIL = "marie.martin@asso-loire.fr"
MOBILE = "06 12 34 56 78"
MOBILE_INTL = "+33 7 98 76 54 32"
NATURAL_PERSON = "M. Jean Dupont"
# Must all come out: as written, and as digits only (a normaliser could strip the spaces).
SEEDED = [PERSONAL_EMAIL, NAMED_EMAIL, MOBILE, MOBILE_INTL, "0612345678", "798765432", NATURAL_PERSON]
# Institutional contacts are published on purpose and must stay.
KEPT = ["contact@tours-metropole.fr", "02 47 80 30 00"]


def _seeded_file(folder: Path) -> Path:
    with EXAMPLE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    headers = list(rows[0])
    base = rows[0]  # CEA du personnel d'Antibes: SIRET and RNA, valid
    seeded = [
        {**base, "objet": f"Fonctionnement ; contact : {PERSONAL_EMAIL} ou {MOBILE}"},
        {**rows[2], "objet": f"Tournoi d'été, référente {NAMED_EMAIL}, tél. {MOBILE_INTL}"},
        {**rows[3], "objet": f"Fonctionnement, renseignements {KEPT[0]} ou {KEPT[1]}"},
        {**base, "nomBeneficiaire": NATURAL_PERSON, "idBeneficiaire": "", "rnaBeneficiaire": ""},
    ]
    path = folder / "subventions-2024.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=headers)
        writer.writeheader()
        writer.writerows([*rows[4:10], *seeded])
    return path


def _table_text(engine: sa.Engine, table: str) -> str:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"select t::text from {table} t")).scalars().all()
    assert rows, f"{table} is empty"
    return "\n".join(rows)


def _assert_clean(text: str, where: str) -> None:
    lowered = text.lower()
    for value in SEEDED:
        assert value.lower() not in lowered, f"{value!r} found in {where}"
    assert "dupont" not in lowered, where


def test_personal_data_is_held_back_from_warehouse_files_and_reported(platform, tmp_path):  # noqa: F811
    store, ingest, publish, engine = platform
    store.drop("tours", "subventions", _seeded_file(tmp_path))
    assert ingest("tours").success
    publish()

    harmonised = _table_text(engine, "harmonised.subventions")
    _assert_clean(harmonised, "harmonised.subventions")
    assert harmonised.count("[courriel masqué]") == 2 and harmonised.count("[téléphone masqué]") == 2
    for value in KEPT:
        assert value in harmonised, value
    _assert_clean(_table_text(engine, "published.subventions"), "published.subventions")

    csv_path = store.publish_dir / "subventions.csv"
    parquet_path = store.publish_dir / "subventions.parquet"
    _assert_clean(csv_path.read_text(encoding="utf-8-sig"), csv_path.name)
    published = pd.read_parquet(parquet_path)
    assert len(published) == 9
    _assert_clean(published.astype(str).to_csv(), parquet_path.name)
    assert published["objet"].str.contains("[courriel masqué]", regex=False).sum() == 2

    with engine.connect() as conn:
        batch = conn.execute(
            sa.text("select batch_id, rows_read, rows_accepted, rows_quarantined from meta.batches")
        ).one()
    assert (batch.rows_read, batch.rows_accepted, batch.rows_quarantined) == (10, 9, 1)
    folder = store.reports_dir / "tours" / "subventions"
    report = json.loads((folder / f"{batch.batch_id}.json").read_text(encoding="utf-8"))
    assert report["privacy"] == {"email_masked": 2, "phone_masked": 2}
    html = (folder / f"{batch.batch_id}.html").read_text(encoding="utf-8")
    assert "Données personnelles retenues avant publication" in html
    assert "2 adresses e-mail de particuliers masquées" in html
    assert "2 numéros de téléphone mobile masqués" in html
    # The page lists errors of quarantined rows only: the masked values are not shown there either.
    for value in (PERSONAL_EMAIL, NAMED_EMAIL, MOBILE, MOBILE_INTL):
        assert value not in html


def test_report_words_every_privacy_kind_and_outside_points():
    report = {
        "status": "loaded",
        "rows_read": 12,
        "rows_accepted": 12,
        "rows_quarantined": 0,
        "privacy": {
            "email_masked": 3,
            "natural_person_withheld": 1,
            "phone_masked": 0,
            "personal_field_withheld": 2,
            "personal_field_masked": 1,
            "iban_masked": 4,
        },
        "outside_territory": {"geom": [2, 3, 4, 7, 9, 10], "autre": []},
    }
    html = render_batch_report(report)
    assert "3 adresses e-mail de particuliers masquées" in html
    assert "1 bénéficiaire personne physique anonymisé" in html
    assert "2 valeurs de champs personnels retirées" in html
    assert "1 valeur d&#39;un champ personnel masquée" in html
    assert "4 <code>iban_masked</code>" in html
    assert "phone_masked" not in html and "téléphone" not in html
    assert 'data-outside="geom"' in html and "2 à 4, 7, 9 et 10" in html
    assert 'data-outside="autre"' not in html

    quiet = render_batch_report({**report, "privacy": {"email_masked": 0}, "outside_territory": {}})
    assert "data-privacy" not in quiet and "Points hors du territoire" not in quiet


# Identifiers, keys, a point and a URL that hold what a phone matcher would take, beside a free-text
# field that holds a person's e-mail and mobile number.
BIKE_ROWS = [
    {
        "id_local": "TOUR-0612345678",
        "id_osm": "n0612345678",
        "coordonneesxy": "[0.6123456, 47.3941234]",
        "url_info": "https://www.tours.fr/velo/0612345678",
        "commentaires": "Clés chez jean.dupont@gmail.com ou au 06 12 34 56 78",
    },
    {
        "id_local": "3fa85f64-0612-3456-7806-123456789012",
        "id_osm": "",
        "coordonneesxy": "[0.7061234567, 47.3806123456]",
        "url_info": "",
        "commentaires": "(+33) 6 98 76 54 32, le soir",
    },
]


def test_identifiers_keys_and_geometry_reach_postgresql_and_files_byte_identical(home, fresh_pg_url):
    from pipeline_runs import pipeline_runs

    runs = pipeline_runs(home, fresh_pg_url, "stationnement-cyclable")
    source = home / "velos.csv"
    fields = list(BIKE_ROWS[0]) + ["capacite", "type_accroche", "code_com"]
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(
            {**r, "capacite": "4", "type_accroche": "CADRE", "code_com": "37261"} for r in BIKE_ROWS
        )
    runs.store.drop("tours", "stationnement-cyclable", source)
    assert runs.ingest("tours").success
    runs.publish()
    engine = sa.create_engine(fresh_pg_url)
    try:
        for table in ("harmonised.stationnement_cyclable", "published.stationnement_cyclable"):
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        f"select id_local, id_osm, url_info, ST_X(coordonneesxy) x, ST_Y(coordonneesxy) y, "
                        f"commentaires from {table} order by source_row"
                    )
                ).all()
            for row, sent in zip(rows, BIKE_ROWS, strict=True):
                assert row.id_local == sent["id_local"], table
                assert (row.id_osm or "") == sent["id_osm"] and (row.url_info or "") == sent["url_info"], (
                    table
                )
                assert [row.x, row.y] == json.loads(sent["coordonneesxy"]), table
            assert [r.commentaires for r in rows] == [
                "Clés chez [courriel masqué] ou au [téléphone masqué]",
                "[téléphone masqué], le soir",
            ]
        with (runs.store.publish_dir / "stationnement-cyclable.csv").open(encoding="utf-8", newline="") as f:
            published = list(csv.DictReader(f))
        for row, sent in zip(published, BIKE_ROWS, strict=True):
            for name in ("id_local", "id_osm", "coordonneesxy", "url_info"):
                assert row[name] == sent[name], name
    finally:
        engine.dispose()
        runs.warehouse.dispose()
