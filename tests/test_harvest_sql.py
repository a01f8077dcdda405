"""SQL sources against real MariaDB and PostgreSQL: streamed query result as CSV, secrets masked."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from resources.harvest import HarvestError, HttpPolicy, harvest
from resources.harvest.sql import expand_url, harvest_sql

MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
ROWS = [
    (1, "Association « Les Amis du Cher »", "1500.50", "2024-03-01", None),
    (2, 'Club "Tours Volley", section jeunes', "250.00", "2024-04-15", "première ligne\nseconde ligne"),
    (3, "Comité des fêtes de Joué-lès-Tours", "0.00", "2024-12-31", ""),
]


@pytest.fixture()
def mariadb_table() -> Iterator[str]:
    engine = sa.create_engine(MARIADB_URL)
    table = f"subventions_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"CREATE TABLE {table} (id INT PRIMARY KEY, beneficiaire VARCHAR(200), "
                "montant DECIMAL(12,2), date_convention DATE, note TEXT) CHARACTER SET utf8mb4"
            )
        )
        conn.execute(
            sa.text(f"INSERT INTO {table} VALUES (:i, :b, :m, :d, :n)"),
            [dict(zip("ibmdn", row, strict=True)) for row in ROWS],
        )
    yield table
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {table}"))
    engine.dispose()


def test_mariadb_query_becomes_utf8_csv_with_header(mariadb_table: str) -> None:
    entry = {
        "kind": "sql",
        "url": "${OPERATOR_DB_URL}",
        "file_name": "subventions.csv",
        "query": f"SELECT id, beneficiaire, montant, date_convention, note FROM {mariadb_table} ORDER BY id",
    }
    got = harvest_sql(entry, None, environ={"OPERATOR_DB_URL": MARIADB_URL})
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8"))))
    assert rows[0] == ["id", "beneficiaire", "montant", "date_convention", "note"]
    assert rows[1:] == [[str(r[0]), r[1], r[2], r[3], r[4] or ""] for r in ROWS]
    assert got.sha256 == hashlib.sha256(got.content).hexdigest()
    assert got.file_name == "subventions.csv" and got.media_type == "text/csv"
    assert got.source_url == MARIADB_URL and not got.not_modified

    again = harvest_sql(entry, {"sha256": got.sha256}, environ={"OPERATOR_DB_URL": MARIADB_URL})
    assert again.not_modified and again.content == got.content


def test_postgres_streams_many_rows(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_DB_URL", pg_url)
    query = "SELECT g AS n, 'arrêt ' || g AS nom, g * 0.5 AS x FROM generate_series(1, 25000) AS g ORDER BY g"
    got = harvest({"kind": "sql", "url": "${OPERATOR_DB_URL}", "query": query})
    lines = got.content.decode("utf-8").splitlines()
    assert lines[0] == "n,nom,x" and len(lines) == 25001
    assert lines[1] == "1,arrêt 1,0.5" and lines[-1] == "25000,arrêt 25000,12500.0"
    assert got.file_name == "requete.csv"


def test_password_is_masked_in_errors_and_source_url(pg_url: str) -> None:
    # The local server trusts loopback, so any password connects: enough to see where it could leak.
    with_password = sa.make_url(pg_url).set(password="hunter2-secret").render_as_string(hide_password=False)
    entry = {"kind": "sql", "url": with_password, "query": "SELECT 1 AS un"}
    got = harvest(entry)
    assert "hunter2" not in got.source_url and "***" in got.source_url
    with pytest.raises(HarvestError) as caught:
        harvest({**entry, "query": 'SELECT * FROM "table_absente_hunter2-secret"'})
    message = str(caught.value)
    assert "hunter2-secret" not in message and "***" in message
    assert "la requête a échoué" in message and "UndefinedTable" in message


def test_missing_environment_variable_is_named() -> None:
    with pytest.raises(HarvestError, match="OPERATOR_DB_URL.*n'est pas définie"):
        expand_url("${OPERATOR_DB_URL}", environ={})


def test_unreachable_database_is_a_harvest_error() -> None:
    entry = {"kind": "sql", "url": "mysql+pymysql://root:pw@127.0.0.1:1/test", "query": "SELECT 1"}
    with pytest.raises(HarvestError, match=r"root:\*\*\*@127.0.0.1:1/test: la requête a échoué") as caught:
        harvest(entry, policy=HttpPolicy(timeout=2))
    assert ":pw@" not in str(caught.value)


def test_result_larger_than_the_cap_is_refused(pg_url: str) -> None:
    entry = {"kind": "sql", "url": pg_url, "query": "SELECT repeat('x', 1000) FROM generate_series(1, 50000)"}
    with pytest.raises(HarvestError, match="trop volumineux : plus de 100000 octets"):
        harvest(entry, policy=HttpPolicy(max_bytes=100_000))


def test_a_query_running_past_the_harvest_timeout_is_cancelled(pg_url: str) -> None:
    entry = {"kind": "sql", "url": pg_url, "query": "SELECT pg_sleep(30)"}
    with pytest.raises(HarvestError, match="QueryCanceled"):
        harvest(entry, policy=HttpPolicy(timeout=1))
