"""``Warehouse``, the Dagster resource in front of the warehouse: each method one transaction.

The methods open the transaction and hand its connection to the module that holds the SQL
(``setup``, ``ddl``, ``loads``, ``batches``, ``consolidation``, ``publication``, ``reads``); the
package's docstring describes the tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd
import psycopg
import sqlalchemy as sa
from psycopg import sql
from pydantic import PrivateAttr

import resources.warehouse.batches as meta_batches
import resources.warehouse.connection as connection
import resources.warehouse.ddl as ddl
import resources.warehouse.loads as loads
import resources.warehouse.publication as publication
import resources.warehouse.reads as reads
from quality.url_mask import mask_url
from resources.warehouse.batches import BatchRecord
from resources.warehouse.consolidation import Candidate, Consolidation
from resources.warehouse.holds import held_versions
from resources.warehouse.names import LINEAGE, READABLE, table_name
from resources.warehouse.publication import Publication
from resources.warehouse.setup import set_up
from resources.warehouse.versions import current_version

if TYPE_CHECKING:
    from quality.schema import TableSchema

# Dagster builds a fresh resource for every run; within one process (``territoire run``, a test
# session) the knowledge that the warehouse is set up and that a dataset's tables exist is shared
# instead of being checked again for each of the dozens of partition runs.
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
            self._resolved_url = connection.resolve_url(self.url, self.home)
        return self._resolved_url

    @property
    def masked_url(self) -> str:
        return mask_url(self.resolved_url())

    def engine(self) -> sa.Engine:
        """The pooled SQLAlchemy engine, shared by the process (owner role, Paris time)."""
        if self._engine is None:
            self._engine = connection.pooled_engine(self.resolved_url())
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
        with connection.transaction(self.engine(), self.resolved_url()) as conn:
            yield conn

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

    def _query(self, query: str | sql.Composable, params: dict[str, Any] | None = None) -> pd.DataFrame:
        with self.transaction() as conn:
            return connection.frame(conn, query, params)

    # -- setup and DDL -------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create roles, schemas and ``meta.batches`` if missing; safe to run any number of times.

        Connected as a superuser (or a CREATEROLE user), it creates ``territoire_owner`` (NOLOGIN,
        not superuser) and ``territoire_analyst``; connected as the owner role itself, it only makes
        sure the schemas and grants exist.
        """
        with self.transaction() as conn:
            set_up(conn)
        # Connections opened before the owner role existed did not switch to it.
        self.dispose()
        _SET_UP.add(self.resolved_url())

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
            ddl.ensure_tables(conn, table, schema)
        _ENSURED.add(done)

    # -- loads and the batch log ---------------------------------------------------------------------

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
        loads.check_load(schema, batch, accepted, quarantined)
        with self.transaction() as conn:
            loads.replace_partition(conn, schema, table, batch, accepted, quarantined)

    def record_failed(self, batch: BatchRecord) -> None:
        """Record a file the platform failed on (its own bug): no data row changes, the producer's
        previous partition stays as it was, and the same bytes are not taken up again."""
        if batch.status != "failed":
            raise ValueError(f"Lot {batch.batch_id} : record_failed attend un lot « failed ».")
        with self.transaction() as conn:
            meta_batches.insert_batch(conn, batch)

    def record_refused(self, batch: BatchRecord) -> None:
        """Record a refused file (not a table, wrong structure…): no data row changes."""
        if batch.status != "refused":
            raise ValueError(f"Lot {batch.batch_id} : record_refused attend un lot « refused ».")
        with self.transaction() as conn:
            meta_batches.insert_batch(conn, batch)

    def batch_seen(self, dataset: str, producer: str, sha256: str) -> bool:
        """Whether this exact file (same bytes) was already received for the partition, loaded or refused."""
        with self.transaction() as conn:
            return meta_batches.batch_seen(conn, dataset, producer, sha256)

    def sequences_seen(self, dataset: str, producer: str) -> set[int]:
        """Drop sequence numbers of the partition's receipts already taken by a batch."""
        with self.transaction() as conn:
            return meta_batches.sequences_seen(conn, dataset, producer)

    def all_sequences_seen(self) -> dict[tuple[str, str], set[int]]:
        """The sequence numbers taken, of every (dataset, producer): one query for a whole run's look."""
        with self.transaction() as conn:
            return meta_batches.all_sequences_seen(conn)

    def batches(self, dataset: str | None = None, producer: str | None = None) -> pd.DataFrame:
        """``meta.batches`` rows, oldest first, optionally for one dataset and/or producer."""
        return self._query(meta_batches.BATCHES_QUERY, {"dataset": dataset, "producer": producer})

    def clock(self) -> datetime:
        """The database's time: what ``recorded_at`` is compared with, whatever this machine's clock."""
        with self.transaction() as conn:
            return conn.execute("SELECT clock_timestamp()").fetchone()[0]

    def batches_since(self, dataset: str, producer: str, since: datetime) -> pd.DataFrame:
        """The partition's ``meta.batches`` rows recorded at ``since`` (:meth:`clock`) or later."""
        return self._query(
            meta_batches.BATCHES_SINCE_QUERY, {"dataset": dataset, "producer": producer, "since": since}
        )

    def latest_batches(self) -> pd.DataFrame:
        """The most recent batch of each (dataset, producer), loaded or refused."""
        return self._query(meta_batches.LATEST_BATCHES_QUERY)

    def current_batches(self, dataset: str) -> dict[str, str]:
        """Each producer's batch now in ``harmonised.<dataset>`` (its last loaded batch)."""
        with self.transaction() as conn:
            return meta_batches.current_batches(conn, table_name(dataset))

    # -- publication (see publication.py) ------------------------------------------------------------

    def build_candidate(
        self,
        dataset: str,
        schema: TableSchema,
        consolidation: Consolidation,
        *,
        held: list[str] | None = None,
    ) -> Candidate:
        """Consolidate every producer's rows into ``meta.candidate_<dataset>``, in one transaction.

        ``held``: producers whose change waits for approval (default: those of the pending hold);
        see ``publication.build_candidate``.
        """
        table = table_name(dataset)
        with self.transaction() as conn:
            return publication.build_candidate(conn, table, schema, consolidation, held)

    def publish_candidate(
        self,
        dataset: str,
        schema: TableSchema,
        consolidation: Consolidation,
        *,
        max_removed_share: float = 0.5,
    ) -> Publication:
        """Publish ``meta.candidate_<dataset>`` as a new version, hold changes or do nothing, in one
        transaction (see ``publication.publish_candidate``)."""
        table = table_name(dataset)
        with self.transaction() as conn:
            return publication.publish_candidate(
                conn, table, schema, consolidation, max_removed_share=max_removed_share
            )

    def approve(self, dataset: str, version: int) -> Publication:
        """Publish the change held in ``version`` of ``dataset`` (a data-team decision), in one
        transaction (see ``publication.approve``)."""
        table = table_name(dataset)
        with self.transaction() as conn:
            return publication.approve(conn, table, dataset, version)

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

    def holds(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Changes waiting for approval: ``{dataset, version, producers, holds[{producer, batch_id,
        kind, reason, …}]}`` per held version, for the CLI, the scoreboard and the reports."""
        found = self._query(
            "SELECT dataset, version, diff FROM meta.publications WHERE status = 'held' "
            "AND (%(d)s::text IS NULL OR dataset = %(d)s) ORDER BY dataset, version",
            {"d": table_name(dataset) if dataset else None},
        )
        return held_versions(found)

    # -- reads ---------------------------------------------------------------------------------------

    def current_publication(self, dataset: str) -> tuple[int, datetime] | None:
        """(version, published_at) of the version ``published.<dataset>`` holds, None before the first."""
        with self.transaction() as conn:
            return current_version(conn, table_name(dataset))

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
            return reads.current_rows(conn, table)

    def read_as_of(self, dataset: str, when: datetime) -> pd.DataFrame:
        """The territory as published at ``when`` (the history's interval query, see its COMMENT)."""
        table = table_name(dataset)
        with self.transaction() as conn:
            return reads.read_as_of(conn, table, when)

    def published_catalog(self) -> list[dict[str, Any]]:
        """Every table of ``published`` with its COMMENT and its columns (name, type, COMMENT)."""
        with self.transaction() as conn:
            return reads.published_catalog(conn)

    def read_table(self, schema_name: str, dataset: str) -> pd.DataFrame:
        """A whole table, ordered by producer and source row; geometries as EWKT, numbers as float."""
        if schema_name not in READABLE:
            raise ValueError(f"Schéma inconnu : {schema_name!r} (attendu : {', '.join(READABLE)})")
        table = table_name(dataset)
        with self.transaction() as conn:
            return reads.read_table(conn, schema_name, table)
