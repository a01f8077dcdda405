"""The PostGIS warehouse: every SQL statement of the platform lives here.

Layout (one table per dataset, named after the dataset):

- ``harmonised.<dataset>``: the schema's fields, typed, plus lineage ``producer``, ``batch_id``,
  ``source_row``; one *partition* per producer, replaced whole by each accepted batch;
- ``quarantine.<dataset>``: the rejected rows of each producer's latest batch, cells and errors as jsonb;
- ``published.<dataset>``: what analysts read (union of the producers' harmonised rows);
- ``meta.batches``: one row per received file, loaded or refused.

Roles: ``territoire_owner`` (not superuser) owns the schemas and tables; the platform switches to it
with ``SET ROLE`` on every connection when it may. ``territoire_analyst`` may only read ``published``;
give it to people's login roles (``GRANT territoire_analyst TO alice``).

Loads: one transaction per batch takes an advisory lock on (dataset, producer), deletes the
producer's rows and COPYs the new ones (CSV written by pyarrow), then records the batch; any failure
rolls everything back, so readers only ever see the previous version or the new one, whole.

Identifiers from schemas (mixed-case field names) and dataset names are always quoted with
``psycopg.sql``; values always travel as parameters or through COPY, never interpolated.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from dataclasses import field as dc_field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import shapely
import sqlalchemy as sa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from pydantic import PrivateAttr

from quality.holds import recorded_holds
from quality.url_mask import mask_url
from resources.batch_log import OWNER_ROLE
from resources.postgres_server import ensure_server

if TYPE_CHECKING:
    from quality.schema import Field, TableSchema

ANALYST_ROLE = "territoire_analyst"
SCHEMAS = ("harmonised", "quarantine", "published", "meta")
READABLE = ("harmonised", "quarantine", "published")
LINEAGE = ("producer", "batch_id", "source_row")
_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Rows per CSV chunk handed to COPY: small enough that the server parses one chunk while the next
# one is formatted (QueuedLibpqWriter sends from a thread).
_COPY_CHUNK = 50_000

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


@dataclass
class BatchRecord:
    """One row of ``meta.batches``: one received file and what became of it.

    Conservation holds always: ``rows_read == rows_accepted + rows_quarantined`` (a CHECK enforces it).
    """

    batch_id: str
    producer: str
    dataset: str
    file_name: str
    sha256: str
    received_at: datetime
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    status: str = "loaded"
    message: str = ""
    schema_version: str | None = None
    source_url: str | None = None
    http_etag: str | None = None
    http_last_modified: str | None = None
    # The receipt's number in the home's drop sequence: batches of a partition apply in this order.
    sequence: int | None = None


_BATCH_COLUMNS = [f.name for f in fields(BatchRecord)]


def table_name(dataset: str) -> str:
    """The warehouse table name of a dataset: ``-`` becomes ``_``; anything else odd is refused."""
    name = dataset.replace("-", "_")
    if not _DATASET_NAME.match(name):
        raise ValueError(
            f"Nom de jeu de données invalide pour l'entrepôt : {dataset!r} "
            "(attendu : minuscules, chiffres et _ , commençant par une lettre, 63 caractères au plus)."
        )
    return name


def column_type(field: Field) -> str:
    """The PostgreSQL type of a Table Schema field."""
    return _SQL_TYPES.get(field.type, "text")


def _csv_chunks(frame: pd.DataFrame) -> Iterator[bytes]:
    """``frame`` as headerless CSV, index first, in chunks of ``_COPY_CHUNK`` rows.

    pyarrow's C++ writer rather than ``DataFrame.to_csv``: 0.7 s instead of 10 s for a million
    subventions rows, which would otherwise dominate the load. It quotes every string (an empty
    string becomes ``""``, hence FORCE_NULL in the COPY) and writes nulls as empty fields. A frame
    pyarrow cannot type (an object column mixing text and numbers, against the typed-frame contract)
    goes through ``to_csv``, so PostgreSQL still names the offending line and column.
    """
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        for start in range(0, len(frame), _COPY_CHUNK):
            chunk = frame.iloc[start : start + _COPY_CHUNK]
            yield chunk.to_csv(header=False, index=True, lineterminator="\n").encode()
        return
    table = table.add_column(0, "__source_row", pa.array(frame.index.to_numpy()))
    options = pa_csv.WriteOptions(include_header=False)
    for batch in table.to_batches(max_chunksize=_COPY_CHUNK):
        sink = io.BytesIO()
        pa_csv.write_csv(batch, sink, options)
        yield sink.getvalue()


def _geojson_as_ewkt(values: pd.Series) -> pd.Series:
    """GeoJSON geometries as EWKT (COPY cannot call ST_GeomFromGeoJSON); EWKT and nulls pass as they are."""
    is_json = values.astype("string").str.lstrip().str.startswith("{").fillna(False).astype(bool)
    if not is_json.any():
        return values
    try:
        geometries = shapely.from_geojson(values[is_json].to_numpy())
    except shapely.errors.GEOSException as exc:
        raise ValueError(f"GeoJSON illisible dans la colonne {values.name!r} : {exc}") from None
    converted = values.astype(object).copy()
    converted[is_json] = "SRID=4326;" + pd.Series(
        shapely.to_wkt(geometries, rounding_precision=-1), index=values.index[is_json], dtype=object
    )
    return converted


def _comment(*parts: str | None) -> str | None:
    text = " — ".join(p.strip() for p in parts if p and p.strip())
    return text or None


def derived_name(table: str, suffix: str, *, prefix: str = "") -> str:
    """The name of a table derived from a dataset's (history, duplicates, candidate…).

    PostgreSQL silently truncates identifiers beyond 63 bytes, which would make two derived tables
    collide: refuse instead.
    """
    name = f"{prefix}{table}{suffix}"
    if len(name.encode()) > 63:
        raise ValueError(f"Nom de table trop long pour l'entrepôt : {name!r} (63 caractères au plus).")
    return name


@dataclass(frozen=True)
class Consolidation:
    """How rows of different producers that describe the same thing are merged (registry ``consolidation``).

    ``{key: [fields]}`` matches rows on equal key fields (default: the schema's primaryKey, else its
    first uniqueKey); ``within_m: 50`` also asks their geometries to lie within 50 m (geography), and
    alone matches on distance only. ``prefer: [producer ids]`` names the winner in that order (others
    after them); without it, or with ``prefer: latest``, the most recently received batch wins.
    """

    key: tuple[str, ...] = ()
    within_m: float | None = None
    geometry: str | None = None
    prefer: tuple[str, ...] = ()

    @classmethod
    def from_registry(cls, spec: dict[str, Any], schema: TableSchema) -> Consolidation:
        unknown = set(spec) - {"key", "within_m", "prefer"}
        if unknown:
            raise ValueError(
                f"consolidation : clés inconnues {sorted(unknown)} (attendu : key, within_m, prefer)"
            )
        within = spec.get("within_m")
        if "key" in spec:
            key = spec["key"] or []
        elif within is not None:
            key = []
        else:
            key = list(schema.primary_key) or (list(schema.unique_keys[0]) if schema.unique_keys else [])
        key = [key] if isinstance(key, str) else list(key)
        missing = [k for k in key if k not in schema.field_names]
        if missing:
            raise ValueError(f"consolidation : champs de clé absents du schéma {schema.name} : {missing}")
        geometry = None
        if within is not None:
            within = float(within)
            if within <= 0:
                raise ValueError(f"consolidation : within_m doit être positif ({within})")
            geometry = next((f.name for f in schema.fields if f.type in ("geopoint", "geojson")), None)
            if geometry is None:
                raise ValueError(f"consolidation : within_m sans champ géographique dans {schema.name}")
        prefer = spec.get("prefer", "latest")
        prefer = () if prefer == "latest" else tuple([prefer] if isinstance(prefer, str) else prefer)
        return cls(key=tuple(key), within_m=within, geometry=geometry, prefer=prefer)

    @property
    def rule(self) -> str:
        """The rule in words, recorded with every resolved duplicate."""
        parts = []
        if self.key:
            parts.append(f"clé ({', '.join(self.key)}) identique")
        if self.within_m is not None:
            parts.append(f"« {self.geometry} » à moins de {self.within_m:g} m")
        winner = (
            f"producteur préféré dans l'ordre {' > '.join(self.prefer)}, sinon lot le plus récent"
            if self.prefer
            else "lot le plus récent"
        )
        return f"{' et '.join(parts)} ; gagnant : {winner}" if parts else "aucun rapprochement"

    def match_sql(self) -> sql.Composable | None:
        """The join condition between a row ``r`` and a candidate winner ``w``; None: no dedup."""
        conditions = [sql.SQL("r.{0} = w.{0}").format(sql.Identifier(k)) for k in self.key]
        if self.within_m is not None:
            conditions.append(
                sql.SQL("ST_DWithin(r.{0}::geography, w.{0}::geography, {1})").format(
                    sql.Identifier(self.geometry), sql.Literal(self.within_m)
                )
            )
        return sql.SQL(" AND ").join(conditions) if conditions else None

    @property
    def diff_key(self) -> tuple[str, ...]:
        """What identifies a row between two versions (with its producer): the key, else the source row.

        Matching by distance leaves no stable key, and a key may be absent: the source row then.
        """
        return self.key if self.key and self.within_m is None else ("source_row",)

    @property
    def gate_key(self) -> list[str] | None:
        """The key the gate checks unique across the territory (None: the schema's own keys)."""
        return list(self.key) if self.key and self.within_m is None else None


@dataclass(frozen=True)
class Candidate:
    """The consolidated territory waiting for the gate, ``<schema_name>.<table>``."""

    dataset: str
    schema_name: str
    table: str
    rows: int
    duplicates: int


@dataclass(frozen=True)
class Publication:
    """What ``publish_candidate``/``approve`` did: ``published``, ``approved``, ``held`` or ``unchanged``.

    ``diff``: per producer, ``{producer, current, candidate, added, removed, changed}``.
    """

    dataset: str
    version: int
    status: str
    rows: int
    diff: list[dict[str, Any]]
    published_at: datetime | None
    held_for: list[str] = dc_field(default_factory=list)
    # The changes waiting for approval: {producer, batch_id, kind, reason, …} (see Warehouse.holds).
    holds: list[dict[str, Any]] = dc_field(default_factory=list)


def _names(schema: TableSchema | list[str]) -> list[str]:
    """The columns of a published table: the schema's fields and the lineage (or a list already)."""
    return list(schema) if isinstance(schema, list) else [*schema.field_names, *LINEAGE]


def _producers(holds: list[dict[str, Any]]) -> set[str]:
    return {h["producer"] for h in holds}


def _changes(diff: list[dict[str, Any]]) -> bool:
    return any(d["added"] or d["removed"] or d["changed"] for d in diff)


def _comment_columns(conn: psycopg.Connection, schema_name: str, table: str, texts: dict[str, str]) -> None:
    """COMMENT ON COLUMN for each ``column: text``: analysts read these in their SQL client."""
    for column, text in texts.items():
        conn.execute(
            sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                sql.Identifier(schema_name, table, column), sql.Literal(text)
            )
        )


# Dagster builds a fresh resource for every run; within one process (``territoire run``, a test
# session) the connection pool and the knowledge that a dataset's tables exist are shared instead of
# being rebuilt for each of the dozens of partition runs.
_ENGINES: dict[str, sa.Engine] = {}
_ENSURED: set[tuple] = set()
_SET_UP: set[str] = set()


class Warehouse(dg.ConfigurableResource):
    """The PostgreSQL/PostGIS warehouse.

    ``url``: a SQLAlchemy URL (``postgresql+psycopg://…``); when empty, ``TERRITOIRE_WAREHOUSE_URL``;
    when that is empty too, the embedded cluster under ``home`` (``TERRITOIRE_HOME``, else ``./var``).
    The password of the URL never appears in repr, logs or errors.
    """

    url: str | None = None
    home: str | None = None

    _engine: sa.Engine | None = PrivateAttr(default=None)
    _resolved_url: str | None = PrivateAttr(default=None)

    def __repr_args__(self):  # pydantic's repr and str: keep the password out
        for key, value in super().__repr_args__():
            yield key, (mask_url(value) if key == "url" and value else value)

    # -- connections ---------------------------------------------------------------------------------

    def resolved_url(self) -> str:
        """The URL actually used (it may embed a password: never log it, use ``masked_url``)."""
        if self._resolved_url is None:
            url = self.url or os.environ.get("TERRITOIRE_WAREHOUSE_URL")
            if not url:
                url = ensure_server(Path(self.home or os.environ.get("TERRITOIRE_HOME") or "var"))
            self._resolved_url = url
        return self._resolved_url

    @property
    def masked_url(self) -> str:
        return mask_url(self.resolved_url())

    def engine(self) -> sa.Engine:
        """The pooled SQLAlchemy engine.

        Each new connection switches to the owner role if it may, and to Paris time: a producer's
        datetime without offset is local time, and analysts read timestamps in local time.
        """
        if self._engine is None and self.resolved_url() in _ENGINES:
            self._engine = _ENGINES[self.resolved_url()]
        if self._engine is None:
            engine = sa.create_engine(self.resolved_url(), pool_pre_ping=True)

            @sa.event.listens_for(engine, "connect")
            def _become_owner(dbapi_connection, _record):
                with dbapi_connection.cursor() as cur:
                    cur.execute(
                        "SELECT 1 FROM pg_roles "
                        "WHERE rolname = %s AND pg_has_role(current_user, oid, 'MEMBER')",
                        (OWNER_ROLE,),
                    )
                    if cur.fetchone():
                        cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER_ROLE)))
                    cur.execute("SET TIME ZONE 'Europe/Paris'")
                dbapi_connection.commit()

            self._engine = _ENGINES[self.resolved_url()] = engine
        return self._engine

    def dispose(self) -> None:
        """Close pooled connections (tests, and after roles change)."""
        if self._engine is not None:
            self._engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A psycopg connection inside one transaction: committed on success, rolled back on error.

        For the warehouse's own methods and for tests; other modules call the methods. A failure to
        connect becomes a ``ConnectionError`` whose text shows the URL with its password masked.
        """
        try:
            raw = self.engine().raw_connection()
        except (sa.exc.OperationalError, psycopg.OperationalError) as exc:
            reason = str(getattr(exc, "orig", None) or exc)
            raise ConnectionError(
                f"Connexion à l'entrepôt impossible ({self.masked_url}) : {self._scrub(reason)}"
            ) from None
        conn: psycopg.Connection = raw.driver_connection
        try:
            yield conn
            conn.commit()
        except psycopg.OperationalError as exc:
            # The server went away mid-transaction (restart, network): nothing was committed.
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
            raise ConnectionError(
                f"Connexion à l'entrepôt perdue ({self.masked_url}) : {self._scrub(str(exc))} ; "
                "rien n'a été enregistré, relancez le traitement."
            ) from None
        except BaseException:
            conn.rollback()
            raise
        finally:
            raw.close()

    @contextmanager
    def publishing(self, dataset: str) -> Iterator[None]:
        """Serialise whole territory runs of one dataset (candidate, gate, publication).

        Each step is its own transaction; a session-level advisory lock held across them keeps two
        runs from interleaving a candidate of one with the publication of the other.
        """
        with self.transaction() as conn:
            conn.execute(
                "SELECT pg_advisory_lock(hashtext('territoire/territory-run'), hashtext(%s))",
                (table_name(dataset),),
            )
            conn.commit()
            try:
                yield
            finally:
                conn.execute(
                    "SELECT pg_advisory_unlock(hashtext('territoire/territory-run'), hashtext(%s))",
                    (table_name(dataset),),
                )

    def _scrub(self, text: str) -> str:
        password = sa.make_url(self.resolved_url()).password
        return text.replace(str(password), "***") if password else text

    # -- setup ---------------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create roles, schemas and ``meta.batches`` if missing; safe to run any number of times.

        Connected as a superuser (or a CREATEROLE user), it creates ``territoire_owner`` (NOLOGIN,
        not superuser) and ``territoire_analyst``; connected as the owner role itself, it only makes
        sure the schemas and grants exist.
        """
        with self.transaction() as conn:
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
            member = conn.execute("SELECT pg_has_role(session_user, %s, 'MEMBER')", (OWNER_ROLE,)).fetchone()[
                0
            ]
            # A member cannot grant itself the role again without ADMIN OPTION: only grant when needed.
            if not superuser and me[0] != OWNER_ROLE and not member:
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(OWNER_ROLE), sql.Identifier(me[0]))
                )
            owner = sql.Identifier(OWNER_ROLE)
            present = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
            # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists:
            # skip it then, so a non-superuser platform role can run setup once an admin has.
            for schema in [s for s in SCHEMAS if s not in present]:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                        sql.Identifier(schema), owner
                    )
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
            self._migrate_batch_status(conn)
            conn.execute(
                "CREATE INDEX IF NOT EXISTS batches_partition ON meta.batches "
                "(dataset, producer, received_at DESC)"
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
                sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA published GRANT SELECT ON TABLES TO {}").format(
                    analyst
                )
            )
        # Connections opened before the owner role existed did not switch to it.
        self.dispose()
        _SET_UP.add(self.resolved_url())

    # -- DDL per dataset -----------------------------------------------------------------------------

    def ensure_dataset(self, dataset: str, schema: TableSchema) -> None:
        """Create (or complete) the harmonised, quarantine and published tables of ``dataset``.

        Idempotent; a field added by a new schema version becomes a new nullable column. Tables and
        columns carry the schema's titles and descriptions as COMMENTs.
        """
        table = table_name(dataset)
        clash = set(LINEAGE) & set(schema.field_names)
        if clash:
            raise ValueError(f"Le schéma {schema.name} a des champs réservés à l'entrepôt : {sorted(clash)}")
        done = (self.resolved_url(), table, schema.ref, tuple(schema.field_names))
        if done in _ENSURED:
            return
        if self.resolved_url() not in _SET_UP:
            # Runs the daemon launches on a fresh warehouse have no `territoire run` to set it up first.
            self.setup()
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('territoire/ddl'), hashtext(%s))", (table,))
            for schema_name in ("harmonised", "published"):
                self._ensure_typed_table(conn, schema_name, table, schema)
            self._ensure_quarantine_table(conn, table, schema)
            self._ensure_history_tables(conn, table, schema)
        _ENSURED.add(done)

    def _ensure_typed_table(
        self, conn: psycopg.Connection, schema_name: str, table: str, schema, what: str | None = None
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
            if f.type in ("geopoint", "geojson"):
                conn.execute(
                    sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gist ({})").format(
                        sql.Identifier(f"{table}_{f.name}_gist"[:63]), target, sql.Identifier(f.name)
                    )
                )
        what = (
            what
            or {"harmonised": "données harmonisées par producteur", "published": "données publiées"}[
                schema_name
            ]
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
        self._comment_lineage(conn, schema_name, table)

    def _ensure_quarantine_table(self, conn: psycopg.Connection, table: str, schema) -> None:
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
        self._comment_lineage(conn, "quarantine", table)
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

    def _ensure_history_tables(self, conn: psycopg.Connection, table: str, schema) -> None:
        history = derived_name(table, "_history")
        self._ensure_typed_table(conn, "published", history, schema, what="historique des versions publiées")
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
        _comment_columns(conn, "published", duplicates, texts)

    @staticmethod
    def _comment_lineage(conn: psycopg.Connection, schema_name: str, table: str) -> None:
        texts = {
            "producer": "Identifiant du producteur (registre territoire)",
            "batch_id": "Lot d'origine (meta.batches.batch_id)",
            "source_row": "Numéro de ligne dans le fichier d'origine, tel qu'affiché par un tableur",
        }
        _comment_columns(conn, schema_name, table, texts)

    # -- loads ---------------------------------------------------------------------------------------

    def replace_partition(
        self,
        schema: TableSchema,
        dataset: str,
        batch: BatchRecord,
        accepted: pd.DataFrame,
        quarantined: pd.DataFrame,
    ) -> None:
        """Replace ``batch.producer``'s rows of ``dataset`` with this batch, in one transaction.

        ``accepted``: the typed frame (columns = the schema's fields; the index is the source row).
        ``quarantined``: columns ``source_row``, ``cells`` (dict), ``errors`` (list of dicts).
        Two loads of the same partition are serialised by an advisory lock; any failure rolls back
        and leaves the previous version (and ``meta.batches``) untouched.
        """
        table = table_name(dataset)
        if batch.status != "loaded":
            raise ValueError(f"Lot {batch.batch_id} : replace_partition attend un lot « loaded ».")
        if len(accepted) != batch.rows_accepted or len(quarantined) != batch.rows_quarantined:
            raise ValueError(
                f"Lot {batch.batch_id} : {len(accepted)} lignes acceptées et {len(quarantined)} "
                f"en quarantaine fournies, mais le lot annonce {batch.rows_accepted} acceptées "
                f"et {batch.rows_quarantined} en quarantaine."
            )
        missing = [name for name in schema.field_names if name not in accepted.columns]
        if missing:
            raise ValueError(f"Lot {batch.batch_id} : colonnes absentes du cadre accepté : {missing}")
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", (table, batch.producer))
            self._load_harmonised(conn, schema, table, batch, accepted)
            self._load_quarantine(conn, table, batch, quarantined)
            self._insert_batch(conn, batch)

    def _load_harmonised(self, conn, schema, table: str, batch: BatchRecord, accepted: pd.DataFrame) -> None:
        # COPY straight into the table, after deleting the partition, inside the load's transaction:
        # a failed COPY rolls the DELETE back with it, so a temporary staging table adds no safety,
        # while its extra INSERT … SELECT took the load from ~0.9x to ~0.7x of a raw COPY's rate
        # (1M subventions rows). COPY parses the final types itself and names a bad value's column.
        names = [sql.Identifier(name) for name in schema.field_names]
        frame = accepted[schema.field_names]
        if "source_row" in accepted.columns:
            frame = frame.set_axis(accepted["source_row"], axis=0)
        geojson = [f.name for f in schema.fields if f.type == "geojson"]
        if geojson:
            frame = frame.assign(**{name: _geojson_as_ewkt(frame[name]) for name in geojson})
        frame = frame.assign(__producer=batch.producer, __batch_id=batch.batch_id)
        target = sql.Identifier("harmonised", table)
        conn.execute(sql.SQL("DELETE FROM {} WHERE producer = %s").format(target), (batch.producer,))
        # Empty strings are missing values (Table Schema's default missingValues): NULL, like None.
        statement = sql.SQL(
            "COPY {} (source_row, {}, producer, batch_id) FROM STDIN (FORMAT csv, FORCE_NULL ({}))"
        ).format(target, sql.SQL(", ").join(names), sql.SQL(", ").join(names))
        self._copy_csv(conn, statement, frame)

    def _load_quarantine(self, conn, table: str, batch: BatchRecord, quarantined: pd.DataFrame) -> None:
        target = sql.Identifier("quarantine", table)
        conn.execute(sql.SQL("DELETE FROM {} WHERE producer = %s").format(target), (batch.producer,))
        if quarantined.empty:
            return

        def as_json(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False, default=str)

        frame = pd.DataFrame(
            {
                "cells": quarantined["cells"].map(as_json),
                "errors": quarantined["errors"].map(as_json),
                "producer": batch.producer,
                "batch_id": batch.batch_id,
            }
        ).set_axis(quarantined["source_row"], axis=0)
        statement = sql.SQL(
            "COPY {} (source_row, cells, errors, producer, batch_id) FROM STDIN (FORMAT csv)"
        ).format(target)
        self._copy_csv(conn, statement, frame)

    @staticmethod
    def _copy_csv(conn: psycopg.Connection, statement: sql.Composable, frame: pd.DataFrame) -> None:
        """COPY ``frame`` as CSV, its index (the source row) first; NaN/None/NA travel as NULL."""
        with conn.cursor() as cur:
            with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
                for chunk in _csv_chunks(frame):
                    copy.write(chunk)

    @staticmethod
    def _insert_batch(conn: psycopg.Connection, batch: BatchRecord) -> None:
        # A re-run of the same batch (a retried Dagster run) updates its row rather than failing.
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in _BATCH_COLUMNS)
        updates = sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in _BATCH_COLUMNS[1:]
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO meta.batches ({}) VALUES ({}) ON CONFLICT (batch_id) DO UPDATE SET {}, "
                "recorded_at = clock_timestamp()"
            ).format(columns, sql.SQL(", ").join(sql.Placeholder(c) for c in _BATCH_COLUMNS), updates),
            asdict(batch),
        )

    @staticmethod
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

    def record_failed(self, batch: BatchRecord) -> None:
        """Record a file the platform failed on (its own bug): no data row changes, the producer's
        previous partition stays as it was, and the same bytes are not taken up again."""
        if batch.status != "failed":
            raise ValueError(f"Lot {batch.batch_id} : record_failed attend un lot « failed ».")
        with self.transaction() as conn:
            self._insert_batch(conn, batch)

    def record_refused(self, batch: BatchRecord) -> None:
        """Record a refused file (not a table, wrong structure…): no data row changes."""
        if batch.status != "refused":
            raise ValueError(f"Lot {batch.batch_id} : record_refused attend un lot « refused ».")
        with self.transaction() as conn:
            self._insert_batch(conn, batch)

    # -- meta ----------------------------------------------------------------------------------------

    def batch_seen(self, dataset: str, producer: str, sha256: str) -> bool:
        """Whether this exact file (same bytes) was already received for the partition, loaded or refused."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT 1 FROM meta.batches WHERE dataset = %s AND producer = %s AND sha256 = %s LIMIT 1",
                (dataset, producer, sha256),
            ).fetchone()
        return row is not None

    def sequences_seen(self, dataset: str, producer: str) -> set[int]:
        """Drop sequence numbers of the partition's receipts already taken by a batch."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT sequence FROM meta.batches WHERE dataset = %s AND producer = %s "
                "AND sequence IS NOT NULL",
                (dataset, producer),
            ).fetchall()
        return {r[0] for r in rows}

    def batches(self, dataset: str | None = None, producer: str | None = None) -> pd.DataFrame:
        """``meta.batches`` rows, oldest first, optionally for one dataset and/or producer."""
        return self._query(
            "SELECT * FROM meta.batches WHERE (%(dataset)s::text IS NULL OR dataset = %(dataset)s) "
            "AND (%(producer)s::text IS NULL OR producer = %(producer)s) "
            "ORDER BY received_at, sequence NULLS FIRST, recorded_at",
            {"dataset": dataset, "producer": producer},
        )

    def latest_batches(self) -> pd.DataFrame:
        """The most recent batch of each (dataset, producer), loaded or refused."""
        return self._query(
            "SELECT DISTINCT ON (dataset, producer) * FROM meta.batches "
            "ORDER BY dataset, producer, received_at DESC, sequence DESC NULLS LAST, recorded_at DESC"
        )

    def _query(self, query: str | sql.Composable, params: dict[str, Any] | None = None) -> pd.DataFrame:
        with self.transaction() as conn:
            with conn.cursor() as cur:
                cur.execute(query, params)
                names = [d.name for d in cur.description]
                return pd.DataFrame(cur.fetchall(), columns=names)

    # -- publication ---------------------------------------------------------------------------------
    #
    # A publication is two steps, so the gate (quality/gate.py) can check the candidate where it lives:
    # ``build_candidate`` consolidates the producers' harmonised rows into ``meta.candidate_<dataset>``
    # (and the duplicates it resolved into ``meta.candidate_<dataset>_duplicates``); then
    # ``publish_candidate`` diffs it against the current version and publishes it as a new version,
    # holds it for approval, or does nothing when it is the current version again.

    def build_candidate(
        self,
        dataset: str,
        schema: TableSchema,
        consolidation: Consolidation,
        *,
        held: list[str] | None = None,
    ) -> Candidate:
        """Consolidate every producer's rows into ``meta.candidate_<dataset>``, in one transaction.

        A row is dropped when a row of *another* producer matches it (same key fields, and within
        ``within_m`` metres on the geography when given) and ranks better (preferred producer, else
        the most recent batch, else producer id order). Rows of one producer never dedup each other:
        duplicates inside a partition are the producer's to fix, and the gate reports them.

        ``held``: producers whose change waits for approval; their rows are the ones of the current
        published version. By default, the producers of the dataset's pending hold.
        """
        table = table_name(dataset)
        with self.transaction() as conn:
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('territoire/publish'), hashtext(%s))", (table,)
            )
            if held is None:
                self._refresh_hold(conn, table)
                pending = self._pending_hold(conn, table)
                held = [h["producer"] for h in pending["holds"]] if pending else []
            return self._build_candidate(conn, table, _names(schema), consolidation, held)

    @staticmethod
    def _build_candidate(
        conn: psycopg.Connection,
        table: str,
        fields: list[str],
        consolidation: Consolidation,
        held: list[str],
    ) -> Candidate:
        candidate = derived_name(table, "", prefix="candidate_")
        lost = derived_name(table, "_duplicates", prefix="candidate_")
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in fields)
        conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}, {}").format(
                sql.Identifier("meta", candidate), sql.Identifier("meta", lost)
            )
        )
        prefer = list(consolidation.prefer)
        # A held producer contributes what the public already sees from it, not its new batch.
        source = sql.SQL(
            "(SELECT {cols} FROM {harmonised} WHERE NOT (producer = ANY(%(held)s::text[])) "
            "UNION ALL SELECT {cols} FROM {published} WHERE producer = ANY(%(held)s::text[]))"
        ).format(
            cols=columns,
            harmonised=sql.Identifier("harmonised", table),
            published=sql.Identifier("published", table),
        )
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE ranked ON COMMIT DROP AS SELECT {cols}, "
                "row_number() OVER () AS __id, "
                "coalesce(array_position(%(prefer)s::text[], h.producer), %(unranked)s) AS __rank, "
                "coalesce(b.received_at, '-infinity') AS __received "
                "FROM {source} h LEFT JOIN meta.batches b ON b.batch_id = h.batch_id"
            ).format(
                cols=sql.SQL(", ").join(sql.SQL("h.{}").format(sql.Identifier(c)) for c in fields),
                source=source,
            ),
            {"prefer": prefer, "unranked": len(prefer) + 1, "held": list(held)},
        )
        match = consolidation.match_sql()
        conn.execute("CREATE TEMP TABLE lost (loser_id bigint PRIMARY KEY, winner_id bigint) ON COMMIT DROP")
        if match is not None:
            if consolidation.within_m is not None:
                geometry = sql.Identifier(consolidation.geometry)
                conn.execute(sql.SQL("CREATE INDEX ON ranked USING gist (({}::geography))").format(geometry))
            conn.execute("ANALYZE ranked")
            # The best matching row of another producer that ranks better wins; rows are compared
            # once per pair, so a chain A~B~C with A best drops B and C, each to its best match.
            conn.execute(
                sql.SQL(
                    "INSERT INTO lost SELECT DISTINCT ON (r.__id) r.__id, w.__id "
                    "FROM ranked r JOIN ranked w ON w.producer <> r.producer AND {match} "
                    "AND (w.__rank < r.__rank OR (w.__rank = r.__rank AND (w.__received > r.__received "
                    "OR (w.__received = r.__received AND w.producer < r.producer)))) "
                    "ORDER BY r.__id, w.__rank, w.__received DESC, w.producer, w.source_row"
                ).format(match=match)
            )
        rows = conn.execute(
            sql.SQL(
                "CREATE TABLE {target} AS SELECT {cols} FROM ranked r "
                "WHERE NOT EXISTS (SELECT 1 FROM lost WHERE loser_id = r.__id) "
                "ORDER BY producer, source_row"
            ).format(target=sql.Identifier("meta", candidate), cols=columns)
        ).rowcount
        duplicates = conn.execute(
            sql.SQL(
                "CREATE TABLE {target} AS SELECT "
                "w.producer AS winner_producer, w.batch_id AS winner_batch_id, "
                "w.source_row AS winner_source_row, r.producer AS loser_producer, "
                "r.batch_id AS loser_batch_id, r.source_row AS loser_source_row, "
                "%(rule)s::text AS rule, CASE WHEN w.__rank < r.__rank "
                "THEN 'producteur préféré : ' || w.producer "
                "WHEN w.__received > r.__received THEN 'lot le plus récent : ' || w.batch_id "
                "ELSE 'même rang : ordre des identifiants de producteur' END AS reason "
                "FROM lost JOIN ranked r ON r.__id = lost.loser_id "
                "JOIN ranked w ON w.__id = lost.winner_id "
                "ORDER BY r.producer, r.source_row"
            ).format(target=sql.Identifier("meta", lost)),
            {"rule": consolidation.rule},
        ).rowcount
        conn.execute("DROP TABLE ranked, lost")
        return Candidate(dataset=table, schema_name="meta", table=candidate, rows=rows, duplicates=duplicates)

    def publish_candidate(
        self,
        dataset: str,
        schema: TableSchema,
        consolidation: Consolidation,
        *,
        max_removed_share: float = 0.5,
    ) -> Publication:
        """Publish ``meta.candidate_<dataset>`` as a new version, hold changes or do nothing, at once.

        The diff against the current version counts rows added, removed and changed per producer;
        rows are matched on producer + ``consolidation.diff_key`` (the consolidation key when rows are
        matched by key alone, else the source row). Holds are per producer: a producer losing more
        than ``max_removed_share`` of its published rows, or taking over rows another producer
        published, has its change held (a ``held`` version in ``meta.publications`` naming it, the
        rows and why) until ``approve``; the other producers' changes are published without it.
        No change: no new version.
        """
        table = table_name(dataset)
        candidate = sql.Identifier("meta", derived_name(table, "", prefix="candidate_"))
        published = sql.Identifier("published", table)
        with self.transaction() as conn:
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('territoire/publish'), hashtext(%s))", (table,)
            )
            current = self._current_version(conn, table)
            self._refresh_hold(conn, table)
            pending = self._pending_hold(conn, table)
            rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(candidate)).fetchone()[0]
            diff = self._diff(conn, _names(schema), candidate, published, consolidation)
            holds = list(pending["holds"]) if pending else []
            held_version = pending["version"] if pending else None
            new_holds = (
                self._holds(conn, table, _names(schema), consolidation, max_removed_share, _producers(holds))
                if current is not None
                else []
            )
            if new_holds:
                if pending:
                    conn.execute(
                        "UPDATE meta.publications SET status = 'superseded' "
                        "WHERE dataset = %s AND version = %s",
                        (table, held_version),
                    )
                holds += new_holds
                held_version = self._next_version(conn, table)
                conn.execute(
                    "INSERT INTO meta.publications (dataset, version, rows, status, diff) "
                    "VALUES (%s, %s, %s, 'held', %s)",
                    (
                        table,
                        held_version,
                        rows,
                        json.dumps(
                            {
                                "producers": diff,
                                "held_for": [h["producer"] for h in holds],
                                "holds": holds,
                                "consolidation": asdict(consolidation),
                            },
                            default=str,
                        ),
                    ),
                )
                # What may be published now: every producer's change but the held ones.
                self._build_candidate(
                    conn, table, _names(schema), consolidation, [h["producer"] for h in holds]
                )
                rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(candidate)).fetchone()[0]
                diff = self._diff(conn, _names(schema), candidate, published, consolidation)
            held_for = [h["producer"] for h in holds]
            if current is not None and not _changes(diff):
                if held_version is not None:
                    return Publication(table, held_version, "held", rows, diff, None, held_for, holds)
                return Publication(table, current[0], "unchanged", rows, diff, current[1])
            version = self._next_version(conn, table)
            published_at = self._publish_version(conn, _names(schema), table, version, rows, diff, {})
        return Publication(table, version, "published", rows, diff, published_at, held_for, holds)

    def approve(self, dataset: str, version: int) -> Publication:
        """Publish the change held in ``version`` of ``dataset`` (a data-team decision), in one transaction.

        The held producers' current batches are recorded as approved and their change is published on
        top of the current version (every other producer keeps its published rows): as ``version``
        itself when no version came after it, else as a new version (the held one is then marked
        approved, pointing at it).
        """
        table = table_name(dataset)
        with self.transaction() as conn:
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('territoire/publish'), hashtext(%s))", (table,)
            )
            row = conn.execute(
                "SELECT status, rows, diff FROM meta.publications WHERE dataset = %s AND version = %s",
                (table, version),
            ).fetchone()
            if row is None:
                raise LookupError(f"Aucune version {version} du jeu {dataset}.")
            if row[0] != "held":
                raise ValueError(
                    f"La version {version} du jeu {dataset} n'est pas en attente d'approbation "
                    f"(statut : {row[0]})."
                )
            recorded = row[2]
            for hold in recorded.get("holds", []):
                conn.execute(
                    "INSERT INTO meta.approvals (dataset, producer, batch_id, version) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (table, hold["producer"], hold["batch_id"], version),
                )
            spec = recorded.get("consolidation") or {}
            consolidation = Consolidation(
                key=tuple(spec.get("key") or ()),
                within_m=spec.get("within_m"),
                geometry=spec.get("geometry"),
                prefer=tuple(spec.get("prefer") or ()),
            )
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'published' "
                    "AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                ).fetchall()
            ]
            # Only the approved producers' change is added to the current version: a producer whose
            # batch the current version did not consolidate keeps what is published (its new rows go
            # through the gate at the next territory run).
            approved = {h["producer"] for h in recorded_holds(recorded)}
            current = self._current_version(conn, table)
            considered = {
                r[0]
                for r in conn.execute(
                    sql.SQL(
                        "SELECT batch_id FROM {} UNION SELECT loser_batch_id FROM {} WHERE version = %s"
                    ).format(
                        sql.Identifier("published", table),
                        sql.Identifier("published", derived_name(table, "_duplicates")),
                    ),
                    (current[0] if current else 0,),
                ).fetchall()
            }
            others = [
                producer
                for producer, batch in self._current_batches(conn, table).items()
                if producer not in approved and batch not in considered
            ]
            candidate = self._build_candidate(conn, table, names, consolidation, others)
            target = sql.Identifier("meta", candidate.table)
            diff = self._diff(conn, names, target, sql.Identifier("published", table), consolidation)
            latest = conn.execute(
                "SELECT max(version) FROM meta.publications WHERE dataset = %s", (table,)
            ).fetchone()[0]
            if latest == version:
                conn.execute(
                    "DELETE FROM meta.publications WHERE dataset = %s AND version = %s", (table, version)
                )
                published_at = self._publish_version(
                    conn, names, table, version, candidate.rows, diff, {"approved": True}, status="approved"
                )
            else:
                new = self._next_version(conn, table)
                published_at = self._publish_version(
                    conn, names, table, new, candidate.rows, diff, {"approves": version}
                )
                conn.execute(
                    "UPDATE meta.publications SET status = 'approved', published_at = %s, "
                    "diff = diff || jsonb_build_object('published_as', %s::int) "
                    "WHERE dataset = %s AND version = %s",
                    (published_at, new, table, version),
                )
        return Publication(table, version, "approved", candidate.rows, diff, published_at)

    def _publish_version(
        self,
        conn: psycopg.Connection,
        names: list[str],
        table: str,
        version: int,
        rows: int,
        diff: list[dict[str, Any]],
        extra: dict[str, Any],
        *,
        status: str = "published",
    ) -> datetime:
        """Make the candidate ``version``, record it and mark the version it replaces superseded."""
        candidate = sql.Identifier("meta", derived_name(table, "", prefix="candidate_"))
        lost = sql.Identifier("meta", derived_name(table, "_duplicates", prefix="candidate_"))
        published_at = self._apply_version(conn, names, table, candidate, lost, version)
        conn.execute(
            "UPDATE meta.publications SET status = 'superseded', superseded_by = %s "
            "WHERE dataset = %s AND status IN ('published', 'approved') AND version <> %s",
            (version, table, version),
        )
        conn.execute(
            "INSERT INTO meta.publications (dataset, version, published_at, rows, status, diff) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (table, version, published_at, rows, status, json.dumps({"producers": diff, **extra})),
        )
        return published_at

    @staticmethod
    def _pending_hold(conn: psycopg.Connection, table: str) -> dict[str, Any] | None:
        """The dataset's held version still waiting for approval: ``{version, holds}``, or None."""
        row = conn.execute(
            "SELECT version, diff FROM meta.publications WHERE dataset = %s AND status = 'held' "
            "ORDER BY version DESC LIMIT 1",
            (table,),
        ).fetchone()
        if row is None:
            return None
        return {"version": row[0], "holds": recorded_holds(row[1])}

    @staticmethod
    def _current_batches(conn: psycopg.Connection, table: str) -> dict[str, str]:
        """Each producer's batch now in ``harmonised`` (its last loaded batch)."""
        rows = conn.execute(
            "SELECT DISTINCT ON (producer) producer, batch_id FROM meta.batches "
            "WHERE dataset = %s AND status = 'loaded' ORDER BY producer, recorded_at DESC",
            (table,),
        ).fetchall()
        return dict(rows)

    def _refresh_hold(self, conn: psycopg.Connection, table: str) -> None:
        """A hold waits on a producer's batch: when the producer has sent another file since, the held
        change is no longer what it would publish, so the hold is superseded (and re-evaluated)."""
        pending = self._pending_hold(conn, table)
        if pending is None:
            return
        batches = self._current_batches(conn, table)
        if any(h.get("batch_id") and batches.get(h["producer"]) != h["batch_id"] for h in pending["holds"]):
            conn.execute(
                "UPDATE meta.publications SET status = 'superseded' WHERE dataset = %s AND version = %s",
                (table, pending["version"]),
            )

    def _holds(
        self,
        conn: psycopg.Connection,
        table: str,
        names: list[str],
        consolidation: Consolidation,
        max_removed_share: float,
        already: set[str],
    ) -> list[dict[str, Any]]:
        """Producers whose change must wait for the data team: a large removal, or a takeover of rows
        another producer published. Batches already approved, and producers already held, are skipped."""
        batches = self._current_batches(conn, table)
        approved = {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT producer, batch_id FROM meta.approvals WHERE dataset = %s", (table,)
            ).fetchall()
        }
        holds: dict[str, dict[str, Any]] = {}

        def hold(producer: str, kind: str, reason: str, **details: Any) -> None:
            if producer in already or (producer, batches.get(producer)) in approved:
                return
            entry = holds.setdefault(
                producer,
                {"producer": producer, "batch_id": batches.get(producer), "kinds": [], "reasons": []},
            )
            entry["kinds"].append(kind)
            entry["reasons"].append(reason)
            entry.update(details)

        # A removal is the producer's own: published rows its current batch no longer holds. Rows it
        # still sends but loses to another producer are a takeover, the other producer's change.
        own = self._diff(
            conn,
            names,
            sql.Identifier("harmonised", table),
            sql.Identifier("published", table),
            consolidation,
        )
        for d in own:
            if d["current"] and d["removed"] / d["current"] > max_removed_share:
                hold(
                    d["producer"],
                    "removal",
                    f"{d['producer']} retirerait {d['removed']} de ses {d['current']} lignes publiées "
                    f"(plus de {max_removed_share:.0%})",
                    removed=d["removed"],
                    current=d["current"],
                )
        for winner, rows in self._takeovers(conn, table, consolidation).items():
            losers = sorted({r["from"] for r in rows})
            hold(
                winner,
                "takeover",
                f"{winner} reprendrait {len(rows)} ligne(s) publiée(s) par {', '.join(losers)} "
                f"({consolidation.rule})",
                takeover=rows[:200],
                takeover_rows=len(rows),
            )
        for entry in holds.values():
            entry["kind"] = " + ".join(entry.pop("kinds"))
            entry["reason"] = " ; ".join(entry.pop("reasons"))
        return list(holds.values())

    @staticmethod
    def _takeovers(
        conn: psycopg.Connection, table: str, consolidation: Consolidation
    ) -> dict[str, list[dict[str, Any]]]:
        """Rows of the candidate that another producer's published row loses to, by winner.

        A row changes hands when the loser's row (same key, or the very same row) is in the current
        published version and the winner did not publish that key itself.
        """
        duplicates = sql.Identifier("meta", derived_name(table, "_duplicates", prefix="candidate_"))
        candidate = sql.Identifier("meta", derived_name(table, "", prefix="candidate_"))
        published = sql.Identifier("published", table)
        if consolidation.key and consolidation.within_m is None:
            same = sql.SQL(" AND ").join(
                sql.SQL("p.{0} = c.{0}").format(sql.Identifier(k)) for k in consolidation.key
            )
            key = sql.SQL(", ").join(
                sql.SQL("{}, c.{}").format(sql.Literal(k), sql.Identifier(k)) for k in consolidation.key
            )
            loser_published = sql.SQL("p.producer = d.loser_producer AND {}").format(same)
            winner_published = sql.SQL("p.producer = d.winner_producer AND {}").format(same)
        else:
            key = sql.SQL("'source_row', d.loser_source_row")
            loser_published = sql.SQL(
                "p.producer = d.loser_producer AND p.batch_id = d.loser_batch_id "
                "AND p.source_row IS NOT DISTINCT FROM d.loser_source_row"
            )
            winner_published = sql.SQL(
                "p.producer = d.winner_producer AND p.batch_id = d.winner_batch_id "
                "AND p.source_row IS NOT DISTINCT FROM d.winner_source_row"
            )
        rows = conn.execute(
            sql.SQL(
                "SELECT d.winner_producer, d.loser_producer, d.winner_source_row, d.loser_source_row, "
                "json_build_object({key}), d.reason FROM {dup} d JOIN {cand} c "
                "ON c.producer = d.winner_producer AND c.batch_id = d.winner_batch_id "
                "AND c.source_row IS NOT DISTINCT FROM d.winner_source_row "
                "WHERE EXISTS (SELECT 1 FROM {pub} p WHERE {loser}) "
                "AND NOT EXISTS (SELECT 1 FROM {pub} p WHERE {winner}) "
                "ORDER BY d.winner_producer, d.winner_source_row"
            ).format(
                key=key,
                dup=duplicates,
                cand=candidate,
                pub=published,
                loser=loser_published,
                winner=winner_published,
            )
        ).fetchall()
        found: dict[str, list[dict[str, Any]]] = {}
        for winner, loser, winner_row, loser_row, key_values, reason in rows:
            found.setdefault(winner, []).append(
                {
                    "from": loser,
                    "source_row": winner_row,
                    "from_source_row": loser_row,
                    "key": key_values,
                    "why": reason,
                }
            )
        return found

    def current_batches(self, dataset: str) -> dict[str, str]:
        """Each producer's batch now in ``harmonised.<dataset>`` (its last loaded batch)."""
        with self.transaction() as conn:
            return self._current_batches(conn, table_name(dataset))

    def holds(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Changes waiting for approval: ``{dataset, version, producers, holds[{producer, batch_id,
        kind, reason, …}]}`` per held version, for the CLI, the scoreboard and the reports."""
        found = self._query(
            "SELECT dataset, version, diff FROM meta.publications WHERE status = 'held' "
            "AND (%(d)s::text IS NULL OR dataset = %(d)s) ORDER BY dataset, version",
            {"d": table_name(dataset) if dataset else None},
        )
        result = []
        for r in found.itertuples():
            holds = recorded_holds(r.diff)
            result.append(
                {
                    "dataset": r.dataset,
                    "version": int(r.version),
                    "producers": [h["producer"] for h in holds],
                    "holds": holds,
                }
            )
        return result

    def publish(
        self,
        dataset: str,
        schema: TableSchema,
        consolidation: Consolidation | None = None,
        *,
        max_removed_share: float = 0.5,
    ) -> int:
        """Consolidate and publish without the gate (scripts, tests); the published row count after it."""
        consolidation = consolidation or Consolidation.from_registry({}, schema)
        self.build_candidate(dataset, schema, consolidation)
        self.publish_candidate(dataset, schema, consolidation, max_removed_share=max_removed_share)
        with self.transaction() as conn:
            return conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("published", table_name(dataset)))
            ).fetchone()[0]

    def current_publication(self, dataset: str) -> tuple[int, datetime] | None:
        """(version, published_at) of the version ``published.<dataset>`` holds, None before the first."""
        with self.transaction() as conn:
            return self._current_version(conn, table_name(dataset))

    @staticmethod
    def _current_version(conn: psycopg.Connection, table: str) -> tuple[int, datetime] | None:
        row = conn.execute(
            "SELECT version, published_at FROM meta.publications WHERE dataset = %s "
            "AND status IN ('published', 'approved') ORDER BY version DESC LIMIT 1",
            (table,),
        ).fetchone()
        return (row[0], row[1]) if row else None

    @staticmethod
    def _next_version(conn: psycopg.Connection, table: str) -> int:
        return conn.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM meta.publications WHERE dataset = %s", (table,)
        ).fetchone()[0]

    @staticmethod
    def _diff(
        conn: psycopg.Connection,
        schema: TableSchema | list[str],
        candidate: sql.Identifier,
        current: sql.Identifier,
        consolidation: Consolidation,
    ) -> list[dict[str, Any]]:
        """Per producer: rows in each table, rows added, removed and changed (see publish_candidate)."""
        fields = _names(schema)
        key = sql.SQL(", ").join(sql.Identifier(c) for c in consolidation.diff_key)
        everything = sql.SQL(", ").join(sql.Identifier(c) for c in fields)
        side = sql.SQL("SELECT producer, md5(ROW({key})::text) AS k, md5(ROW({all})::text) AS h FROM {t}")
        rows = conn.execute(
            sql.SQL(
                "WITH c AS ({c}), p AS ({p}) "
                "SELECT coalesce(c.producer, p.producer) AS producer, "
                "count(p.producer) AS current, count(c.producer) AS candidate, "
                "count(*) FILTER (WHERE p.producer IS NULL) AS added, "
                "count(*) FILTER (WHERE c.producer IS NULL) AS removed, "
                "count(*) FILTER (WHERE c.h <> p.h) AS changed "
                "FROM c FULL JOIN p ON c.producer = p.producer AND c.k = p.k "
                "GROUP BY 1 ORDER BY 1"
            ).format(
                c=side.format(key=key, all=everything, t=candidate),
                p=side.format(key=key, all=everything, t=current),
            )
        ).fetchall()
        names = ("producer", "current", "candidate", "added", "removed", "changed")
        return [dict(zip(names, r, strict=True)) for r in rows]

    @staticmethod
    def _apply_version(
        conn: psycopg.Connection,
        schema: TableSchema | list[str],
        table: str,
        source: sql.Identifier,
        duplicates: sql.Identifier,
        version: int,
    ) -> datetime:
        """Make ``source`` the published table and record it in the history as ``version``.

        The history is kept as row intervals (SCD type 2): a row identical in both versions (fields
        and lineage, by md5) keeps its interval; the others are closed or opened at this version.
        """
        names = _names(schema)
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in names)
        history = sql.Identifier("published", derived_name(table, "_history"))
        published_at = conn.execute("SELECT now()").fetchone()[0]
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier("published", table)))
        conn.execute(
            sql.SQL("INSERT INTO {} ({cols}) SELECT {cols} FROM {} ORDER BY producer, source_row").format(
                sql.Identifier("published", table), source, cols=columns
            )
        )
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE hashed ON COMMIT DROP AS "
                "SELECT {cols}, md5(ROW({cols})::text) AS row_hash FROM {}"
            ).format(source, cols=columns)
        )
        conn.execute("CREATE INDEX ON hashed (row_hash)")
        conn.execute(
            sql.SQL(
                "UPDATE {h} SET version_to = %(v)s, valid_to = %(t)s WHERE version_to IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM hashed WHERE hashed.row_hash = {h}.row_hash)"
            ).format(h=history),
            {"v": version, "t": published_at},
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO {h} ({cols}, row_hash, version_from, valid_from) "
                "SELECT {cols}, row_hash, %(v)s, %(t)s FROM hashed s WHERE NOT EXISTS "
                "(SELECT 1 FROM {h} o WHERE o.version_to IS NULL AND o.row_hash = s.row_hash)"
            ).format(h=history, cols=columns),
            {"v": version, "t": published_at},
        )
        conn.execute(
            sql.SQL("INSERT INTO {} SELECT %s, * FROM {}").format(
                sql.Identifier("published", derived_name(table, "_duplicates")), duplicates
            ),
            (version,),
        )
        return published_at

    def publications(self, dataset: str) -> pd.DataFrame:
        """``meta.publications`` of ``dataset``, oldest version first."""
        return self._query(
            "SELECT * FROM meta.publications WHERE dataset = %(d)s ORDER BY version",
            {"d": table_name(dataset)},
        )

    def current_rows(self, dataset: str) -> int | None:
        """Rows of the current published version, or None before the first publication."""
        table = table_name(dataset)
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT rows FROM meta.publications WHERE dataset = %s "
                "AND status IN ('published', 'approved') ORDER BY version DESC LIMIT 1",
                (table,),
            ).fetchone()
        return row[0] if row else None

    def read_as_of(self, dataset: str, when: datetime) -> pd.DataFrame:
        """The territory as published at ``when`` (the history's interval query, see its COMMENT)."""
        table = table_name(dataset)
        return self._query(
            sql.SQL(
                "SELECT * FROM {} WHERE valid_from <= %(t)s AND (valid_to IS NULL OR valid_to > %(t)s) "
                "ORDER BY producer, source_row"
            ).format(sql.Identifier("published", derived_name(table, "_history"))),
            {"t": when},
        )

    def published_catalog(self) -> list[dict[str, Any]]:
        """Every table of ``published`` with its COMMENT and its columns (name, type, COMMENT)."""
        rows = self._query(
            "SELECT c.relname AS table_name, obj_description(c.oid, 'pg_class') AS table_comment, "
            "a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type, "
            "col_description(c.oid, a.attnum) AS column_comment "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE n.nspname = 'published' AND c.relkind IN ('r', 'p', 'v') ORDER BY c.relname, a.attnum"
        )
        tables: list[dict[str, Any]] = []
        for name, group in rows.groupby("table_name", sort=True):
            tables.append(
                {
                    "name": f"published.{name}",
                    "comment": group["table_comment"].iloc[0],
                    "columns": [
                        {"name": r.column_name, "type": r.column_type, "comment": r.column_comment}
                        for r in group.itertuples()
                    ],
                }
            )
        return tables

    def read_table(self, schema_name: str, dataset: str) -> pd.DataFrame:
        """A whole table, ordered by producer and source row; geometries as EWKT, numbers as float."""
        if schema_name not in READABLE:
            raise ValueError(f"Schéma inconnu : {schema_name!r} (attendu : {', '.join(READABLE)})")
        table = table_name(dataset)
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (schema_name, table),
            ).fetchall()
        if not rows:
            raise LookupError(f"La table {schema_name}.{table} n'existe pas.")
        # numeric comes back as float (the typed frame's number type; Decimal objects trip JSON and
        # Parquet writers), geometry as EWKT, the harmonised frame's lexical form.
        converters = {"geometry": "ST_AsEWKT({0}) AS {0}", "numeric": "{0}::float8 AS {0}"}
        selected = [sql.SQL(converters.get(udt, "{0}")).format(sql.Identifier(name)) for name, udt in rows]
        return self._query(
            sql.SQL("SELECT {} FROM {} ORDER BY producer, source_row").format(
                sql.SQL(", ").join(selected), sql.Identifier(schema_name, table)
            )
        )
