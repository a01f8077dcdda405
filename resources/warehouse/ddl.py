"""A dataset's tables, created or completed idempotently: harmonised, quarantine, published, its
history and its resolved duplicates, each table and column with its COMMENT for analysts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from quality.geo import GEOMETRY_TYPES
from resources.warehouse.names import derived_name

if TYPE_CHECKING:
    from quality.schema import Field, TableSchema

_SQL_TYPES = {
    "string": "text",
    "number": "numeric",
    "integer": "bigint",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
    "time": "time",
    "year": "integer",
    "yearmonth": "text",
    "duration": "interval",
    "geopoint": "geometry(Point, 4326)",
    "geojson": "geometry(Geometry, 4326)",
    "array": "jsonb",
    "object": "jsonb",
    "any": "text",
}


def column_type(field: Field) -> str:
    """The PostgreSQL type of a Table Schema field."""
    return _SQL_TYPES.get(field.type, "text")


def _comment(*parts: str | None) -> str | None:
    text = " — ".join(p.strip() for p in parts if p and p.strip())
    return text or None


def comment_columns(conn: psycopg.Connection, schema_name: str, table: str, texts: dict[str, str]) -> None:
    """COMMENT ON COLUMN for each ``column: text``: analysts read these in their SQL client."""
    for column, text in texts.items():
        conn.execute(
            sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                sql.Identifier(schema_name, table, column), sql.Literal(text)
            )
        )


def ensure_tables(conn: psycopg.Connection, table: str, schema: TableSchema) -> None:
    """Create (or complete) every table of the dataset whose warehouse name is ``table``.

    A field added by a new schema version becomes a new nullable column. Two setups of one dataset
    serialise on an advisory lock.
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('territoire/ddl'), hashtext(%s))", (table,))
    for schema_name in ("harmonised", "published"):
        _ensure_typed_table(conn, schema_name, table, schema)
    _ensure_quarantine_table(conn, table, schema)
    _ensure_history_tables(conn, table, schema)


def _ensure_typed_table(
    conn: psycopg.Connection, schema_name: str, table: str, schema, what: str | None = None
) -> None:
    target = sql.Identifier(schema_name, table)
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(column_type(f))) for f in schema.fields
    ]
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ({}, producer text NOT NULL, batch_id text NOT NULL, "
            "source_row integer)"
        ).format(target, sql.SQL(", ").join(columns))
    )
    for f in schema.fields:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                target, sql.Identifier(f.name), sql.SQL(column_type(f))
            )
        )
    conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (producer)").format(
            sql.Identifier(f"{table}_producer"), target
        )
    )
    for f in schema.fields:
        if f.type in GEOMETRY_TYPES:
            conn.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist ({})").format(
                    sql.Identifier(f"{table}_{f.name}_gist"[:63]), target, sql.Identifier(f.name)
                )
            )
    what = (
        what
        or {"harmonised": "données harmonisées par producteur", "published": "données publiées"}[schema_name]
    )
    conn.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            target,
            sql.Literal(
                _comment(
                    schema.title,
                    schema.description,
                    f"({what}, schéma {schema.name} {schema.version})",
                )
            ),
        )
    )
    for f in schema.fields:
        conn.execute(
            sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                sql.Identifier(schema_name, table, f.name), sql.Literal(_comment(f.title, f.description))
            )
        )
    _comment_lineage(conn, schema_name, table)


def _ensure_quarantine_table(conn: psycopg.Connection, table: str, schema) -> None:
    target = sql.Identifier("quarantine", table)
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (producer text NOT NULL, batch_id text NOT NULL, "
            "source_row integer, cells jsonb NOT NULL, errors jsonb NOT NULL)"
        ).format(target)
    )
    conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (producer)").format(
            sql.Identifier(f"{table}_producer"), target
        )
    )
    conn.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            target,
            sql.Literal(
                f"Lignes rejetées du dernier lot de chaque producteur ({schema.title or schema.name})"
            ),
        )
    )
    _comment_lineage(conn, "quarantine", table)
    conn.execute(
        sql.SQL("COMMENT ON COLUMN {} IS {}").format(
            sql.Identifier("quarantine", table, "cells"),
            sql.Literal("Cellules de la ligne telles que reçues : {colonne: valeur}"),
        )
    )
    conn.execute(
        sql.SQL("COMMENT ON COLUMN {} IS {}").format(
            sql.Identifier("quarantine", table, "errors"),
            sql.Literal("Règles enfreintes : liste de {field, rule, value, message}"),
        )
    )


def _ensure_history_tables(conn: psycopg.Connection, table: str, schema) -> None:
    history = derived_name(table, "_history")
    _ensure_typed_table(conn, "published", history, schema, what="historique des versions publiées")
    target = sql.Identifier("published", history)
    extra = {
        "version_from": ("integer", "Première version publiée contenant cette ligne (meta.publications)"),
        "version_to": ("integer", "Première version qui ne la contient plus ; vide : version courante"),
        "valid_from": ("timestamptz", "Date de publication de version_from"),
        "valid_to": ("timestamptz", "Date de publication de version_to ; vide : toujours publiée"),
        "row_hash": ("text", "Empreinte md5 de la ligne (champs et lignage) qui l'identifie"),
    }
    for column, (kind, text) in extra.items():
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                target, sql.Identifier(column), sql.SQL(kind)
            )
        )
        conn.execute(
            sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                sql.Identifier("published", history, column), sql.Literal(text)
            )
        )
    conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (row_hash) WHERE version_to IS NULL").format(
            sql.Identifier(derived_name(table, "_history_open")), target
        )
    )
    conn.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (valid_from, valid_to)").format(
            sql.Identifier(derived_name(table, "_history_valid")), target
        )
    )
    conn.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            target,
            sql.Literal(
                _comment(
                    schema.title,
                    f"(historique des versions publiées, schéma {schema.name} {schema.version}). "
                    "Le territoire tel qu'il était publié à une date T : SELECT * FROM "
                    f"published.{history} WHERE valid_from <= T AND (valid_to IS NULL OR valid_to > T); "
                    "à la version V : WHERE version_from <= V AND (version_to IS NULL OR version_to > V)",
                )
            ),
        )
    )
    duplicates = derived_name(table, "_duplicates")
    target = sql.Identifier("published", duplicates)
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (version integer NOT NULL, "
            "winner_producer text NOT NULL, winner_batch_id text NOT NULL, winner_source_row integer, "
            "loser_producer text NOT NULL, loser_batch_id text NOT NULL, loser_source_row integer, "
            "rule text NOT NULL, reason text NOT NULL)"
        ).format(target)
    )
    conn.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            target,
            sql.Literal(
                f"Doublons entre producteurs résolus à chaque version de published.{table} : "
                "la ligne gardée (winner), la ligne écartée (loser), la règle et la raison"
            ),
        )
    )
    texts = {
        "version": "Version publiée (meta.publications) où le doublon a été résolu",
        "winner_producer": "Producteur de la ligne publiée",
        "winner_batch_id": "Lot de la ligne publiée (meta.batches.batch_id)",
        "winner_source_row": "Ligne du fichier d'origine de la ligne publiée",
        "loser_producer": "Producteur de la ligne écartée",
        "loser_batch_id": "Lot de la ligne écartée",
        "loser_source_row": "Ligne du fichier d'origine de la ligne écartée",
        "rule": "Règle de rapprochement déclarée au registre (clé, distance, préférence)",
        "reason": "Pourquoi cette ligne a gagné : producteur préféré ou lot le plus récent",
    }
    comment_columns(conn, "published", duplicates, texts)


def _comment_lineage(conn: psycopg.Connection, schema_name: str, table: str) -> None:
    texts = {
        "producer": "Identifiant du producteur (registre territoire)",
        "batch_id": "Lot d'origine (meta.batches.batch_id)",
        "source_row": "Numéro de ligne dans le fichier d'origine, tel qu'affiché par un tableur",
    }
    comment_columns(conn, schema_name, table, texts)
