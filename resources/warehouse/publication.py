"""Publication: the consolidated candidate published as a new version, held for approval, or unchanged.

A publication is two steps, so the gate (quality/gate.py) can check the candidate where it lives:
``build_candidate`` consolidates the producers' harmonised rows into ``meta.candidate_<dataset>``
(and the duplicates it resolved into ``meta.candidate_<dataset>_duplicates``); then
``publish_candidate`` diffs it against the current version and publishes it as a new version,
holds it for approval, or does nothing when it is the current version again. Each function runs in
the caller's transaction, and serialises with the others of the dataset on an advisory lock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from quality.holds import recorded_holds
from resources.warehouse.batches import current_batches
from resources.warehouse.consolidation import Candidate, Consolidation, consolidate
from resources.warehouse.holds import find_holds, pending_hold, refresh_hold
from resources.warehouse.names import derived_name, published_columns
from resources.warehouse.versions import (
    current_version,
    diff_tables,
    has_changes,
    next_version,
    publish_version,
)

if TYPE_CHECKING:
    from quality.schema import TableSchema


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


def _producers(holds: list[dict[str, Any]]) -> set[str]:
    return {h["producer"] for h in holds}


def build_candidate(
    conn: psycopg.Connection,
    table: str,
    schema: TableSchema,
    consolidation: Consolidation,
    held: list[str] | None,
) -> Candidate:
    """Consolidate every producer's rows into ``meta.candidate_<dataset>``, in one transaction.

    A row is dropped when a row of *another* producer matches it (same key fields, and within
    ``within_m`` metres on the geography when given) and ranks better (preferred producer, else
    the most recent batch, else producer id order). Rows of one producer never dedup each other:
    duplicates inside a partition are the producer's to fix, and the gate reports them.

    ``held``: producers whose change waits for approval; their rows are the ones of the current
    published version. By default, the producers of the dataset's pending hold.
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('territoire/publish'), hashtext(%s))", (table,))
    if held is None:
        refresh_hold(conn, table)
        pending = pending_hold(conn, table)
        held = [h["producer"] for h in pending["holds"]] if pending else []
    return consolidate(conn, table, published_columns(schema), consolidation, held)


def publish_candidate(
    conn: psycopg.Connection,
    table: str,
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
    candidate = sql.Identifier("meta", derived_name(table, "", prefix="candidate_"))
    published = sql.Identifier("published", table)
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('territoire/publish'), hashtext(%s))", (table,))
    current = current_version(conn, table)
    refresh_hold(conn, table)
    pending = pending_hold(conn, table)
    rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(candidate)).fetchone()[0]
    diff = diff_tables(conn, published_columns(schema), candidate, published, consolidation)
    holds = list(pending["holds"]) if pending else []
    held_version = pending["version"] if pending else None
    new_holds = (
        find_holds(
            conn, table, published_columns(schema), consolidation, max_removed_share, _producers(holds)
        )
        if current is not None
        else []
    )
    if new_holds:
        if pending:
            conn.execute(
                "UPDATE meta.publications SET status = 'superseded' WHERE dataset = %s AND version = %s",
                (table, held_version),
            )
        holds += new_holds
        held_version = next_version(conn, table)
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
        consolidate(conn, table, published_columns(schema), consolidation, [h["producer"] for h in holds])
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(candidate)).fetchone()[0]
        diff = diff_tables(conn, published_columns(schema), candidate, published, consolidation)
    held_for = [h["producer"] for h in holds]
    if current is not None and not has_changes(diff):
        if held_version is not None:
            return Publication(table, held_version, "held", rows, diff, None, held_for, holds)
        return Publication(table, current[0], "unchanged", rows, diff, current[1])
    version = next_version(conn, table)
    published_at = publish_version(conn, published_columns(schema), table, version, rows, diff, {})
    return Publication(table, version, "published", rows, diff, published_at, held_for, holds)


def approve(conn: psycopg.Connection, table: str, dataset: str, version: int) -> Publication:
    """Publish the change held in ``version`` of ``dataset`` (a data-team decision), in one transaction.

    The held producers' current batches are recorded as approved and their change is published on
    top of the current version (every other producer keeps its published rows): as ``version``
    itself when no version came after it, else as a new version (the held one is then marked
    approved, pointing at it).
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('territoire/publish'), hashtext(%s))", (table,))
    row = conn.execute(
        "SELECT status, rows, diff FROM meta.publications WHERE dataset = %s AND version = %s",
        (table, version),
    ).fetchone()
    if row is None:
        raise LookupError(f"Aucune version {version} du jeu {dataset}.")
    if row[0] != "held":
        raise ValueError(
            f"La version {version} du jeu {dataset} n'est pas en attente d'approbation (statut : {row[0]})."
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
    current = current_version(conn, table)
    considered = {
        r[0]
        for r in conn.execute(
            sql.SQL("SELECT batch_id FROM {} UNION SELECT loser_batch_id FROM {} WHERE version = %s").format(
                sql.Identifier("published", table),
                sql.Identifier("published", derived_name(table, "_duplicates")),
            ),
            (current[0] if current else 0,),
        ).fetchall()
    }
    others = [
        producer
        for producer, batch in current_batches(conn, table).items()
        if producer not in approved and batch not in considered
    ]
    candidate = consolidate(conn, table, names, consolidation, others)
    target = sql.Identifier("meta", candidate.table)
    diff = diff_tables(conn, names, target, sql.Identifier("published", table), consolidation)
    latest = conn.execute(
        "SELECT max(version) FROM meta.publications WHERE dataset = %s", (table,)
    ).fetchone()[0]
    if latest == version:
        conn.execute("DELETE FROM meta.publications WHERE dataset = %s AND version = %s", (table, version))
        published_at = publish_version(
            conn, names, table, version, candidate.rows, diff, {"approved": True}, status="approved"
        )
    else:
        new = next_version(conn, table)
        published_at = publish_version(conn, names, table, new, candidate.rows, diff, {"approves": version})
        conn.execute(
            "UPDATE meta.publications SET status = 'approved', published_at = %s, "
            "diff = diff || jsonb_build_object('published_as', %s::int) "
            "WHERE dataset = %s AND version = %s",
            (published_at, new, table, version),
        )
    return Publication(table, version, "approved", candidate.rows, diff, published_at)
