"""The warehouse's one-time setup: roles, schemas, the ``meta`` tables and their migrations.

Idempotent, run any number of times; concurrent setups serialise on an advisory lock.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from resources.warehouse.names import ANALYST_ROLE, OWNER_ROLE, SCHEMAS


def set_up(conn: psycopg.Connection) -> None:
    """Create roles, schemas and the ``meta`` tables if missing (see ``Warehouse.setup``)."""
    conn.execute("RESET ROLE")
    conn.execute(sql.SQL("SELECT pg_advisory_xact_lock(hashtext('territoire/setup'))"))
    me = conn.execute(
        "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = session_user"
    ).fetchone()
    _, superuser, createrole = me
    existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles").fetchall()}
    for role in (OWNER_ROLE, ANALYST_ROLE):
        if role not in existing:
            if not (superuser or createrole):
                raise PermissionError(
                    f"Le rôle {role} n'existe pas et {me[0]} ne peut pas le créer "
                    "(ni superutilisateur ni CREATEROLE) : créez-le une fois en administrateur."
                )
            # Roles are cluster-wide: another database's setup may create it concurrently.
            conn.execute(
                sql.SQL(
                    "DO $$ BEGIN CREATE ROLE {} NOLOGIN NOSUPERUSER; "
                    "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                ).format(sql.Identifier(role))
            )
    member = conn.execute("SELECT pg_has_role(session_user, %s, 'MEMBER')", (OWNER_ROLE,)).fetchone()[0]
    # A member cannot grant itself the role again without ADMIN OPTION: only grant when needed.
    if not superuser and me[0] != OWNER_ROLE and not member:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(OWNER_ROLE), sql.Identifier(me[0])))
    owner = sql.Identifier(OWNER_ROLE)
    present = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
    # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists:
    # skip it then, so a non-superuser platform role can run setup once an admin has.
    for schema in [s for s in SCHEMAS if s not in present]:
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(sql.Identifier(schema), owner)
        )
    conn.execute(sql.SQL("SET ROLE {}").format(owner))
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS meta.batches (
            batch_id text PRIMARY KEY,
            producer text NOT NULL,
            dataset text NOT NULL,
            file_name text NOT NULL,
            sha256 text NOT NULL,
            received_at timestamptz NOT NULL,
            rows_read integer NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
            rows_accepted integer NOT NULL DEFAULT 0 CHECK (rows_accepted >= 0),
            rows_quarantined integer NOT NULL DEFAULT 0 CHECK (rows_quarantined >= 0),
            status text NOT NULL CONSTRAINT batches_status_check
                CHECK (status IN ('loaded', 'refused', 'failed')),
            message text NOT NULL DEFAULT '',
            schema_version text,
            source_url text,
            http_etag text,
            http_last_modified text,
            recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT batches_rows_conserved CHECK (rows_read = rows_accepted + rows_quarantined)
        )
        """
    )
    conn.execute("ALTER TABLE meta.batches ADD COLUMN IF NOT EXISTS sequence bigint")
    # now() is the transaction's start: two batches recorded in one transaction (or a run
    # that waited on the partition lock) would share or invert their times.
    conn.execute("ALTER TABLE meta.batches ALTER COLUMN recorded_at SET DEFAULT clock_timestamp()")
    conn.execute(
        "COMMENT ON COLUMN meta.batches.sequence IS 'Numéro du dépôt dans la séquence des dépôts : "
        "les lots d''un producteur s''appliquent dans cet ordre'"
    )
    _migrate_batch_status(conn)
    conn.execute(
        "CREATE INDEX IF NOT EXISTS batches_partition ON meta.batches (dataset, producer, received_at DESC)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS batches_sha256 ON meta.batches (sha256)")
    conn.execute(
        "COMMENT ON TABLE meta.batches IS "
        "'Un lot par fichier reçu : chargé, refusé, ou en échec (erreur de la plateforme).'"
    )
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS meta.publications (
            dataset text NOT NULL,
            version integer NOT NULL CHECK (version > 0),
            created_at timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz,
            rows integer NOT NULL CHECK (rows >= 0),
            status text NOT NULL
                CHECK (status IN ('published', 'held', 'approved', 'superseded')),
            diff jsonb NOT NULL,
            PRIMARY KEY (dataset, version)
        )
        """
    )
    # Superseded versions keep the date they were published (a held one never had one).
    conn.execute("ALTER TABLE meta.publications ADD COLUMN IF NOT EXISTS superseded_by integer")
    conn.execute("ALTER TABLE meta.publications DROP CONSTRAINT IF EXISTS publications_check")
    conn.execute("ALTER TABLE meta.publications DROP CONSTRAINT IF EXISTS publications_dates")
    conn.execute(
        "ALTER TABLE meta.publications ADD CONSTRAINT publications_dates CHECK ("
        "(status NOT IN ('published', 'approved') OR published_at IS NOT NULL) "
        "AND (status <> 'held' OR published_at IS NULL))"
    )
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS meta.approvals (
            dataset text NOT NULL,
            producer text NOT NULL,
            batch_id text NOT NULL,
            version integer NOT NULL,
            approved_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (dataset, producer, batch_id)
        )
        """
    )
    conn.execute(
        "COMMENT ON TABLE meta.approvals IS 'Lots dont le changement retenu (retrait massif, "
        "reprise de lignes d''un autre producteur) a été approuvé par l''équipe données.'"
    )
    conn.execute(
        "COMMENT ON TABLE meta.publications IS 'Une ligne par version de chaque jeu publié : "
        "publiée (la version courante), retenue (held : le changement de certains producteurs "
        "attend une approbation), approuvée, ou remplacée (superseded : par une version "
        "plus récente, superseded_by, ou avant approbation). "
        "diff : lignes ajoutées, retirées et modifiées par producteur.'"
    )
    analyst = sql.Identifier(ANALYST_ROLE)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA published TO {}").format(analyst))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA published TO {}").format(analyst))
    conn.execute(
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA published GRANT SELECT ON TABLES TO {}").format(analyst)
    )


def _migrate_batch_status(conn: psycopg.Connection) -> None:
    """A warehouse set up before ``failed`` existed gets the wider CHECK, once (idempotent)."""
    definition = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'meta.batches'::regclass AND conname = 'batches_status_check'"
    ).fetchone()
    if definition is not None and "'failed'" in definition[0]:
        return
    conn.execute("ALTER TABLE meta.batches DROP CONSTRAINT IF EXISTS batches_status_check")
    conn.execute(
        "ALTER TABLE meta.batches ADD CONSTRAINT batches_status_check "
        "CHECK (status IN ('loaded', 'refused', 'failed'))"
    )
