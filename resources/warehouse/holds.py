"""Holds: a producer's change that waits for the data team (a large removal, a takeover of rows
another producer published), kept in a ``held`` version of ``meta.publications`` until approved."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from quality.holds import recorded_holds
from resources.batch_log import held_version
from resources.warehouse.batches import current_batches
from resources.warehouse.consolidation import Consolidation
from resources.warehouse.names import derived_name
from resources.warehouse.versions import diff_tables

if TYPE_CHECKING:
    import pandas as pd


def pending_hold(conn: psycopg.Connection, table: str) -> dict[str, Any] | None:
    """The dataset's held version still waiting for approval: ``{version, holds}``, or None."""
    row = conn.execute(
        "SELECT version, diff FROM meta.publications WHERE dataset = %s AND status = 'held' "
        "ORDER BY version DESC LIMIT 1",
        (table,),
    ).fetchone()
    if row is None:
        return None
    return {"version": row[0], "holds": recorded_holds(row[1])}


def refresh_hold(conn: psycopg.Connection, table: str) -> None:
    """A hold waits on a producer's batch: when the producer has sent another file since, the held
    change is no longer what it would publish, so the hold is superseded (and re-evaluated)."""
    pending = pending_hold(conn, table)
    if pending is None:
        return
    batches = current_batches(conn, table)
    if any(h.get("batch_id") and batches.get(h["producer"]) != h["batch_id"] for h in pending["holds"]):
        conn.execute(
            "UPDATE meta.publications SET status = 'superseded' WHERE dataset = %s AND version = %s",
            (table, pending["version"]),
        )


def find_holds(
    conn: psycopg.Connection,
    table: str,
    names: list[str],
    consolidation: Consolidation,
    max_removed_share: float,
    already: set[str],
) -> list[dict[str, Any]]:
    """Producers whose change must wait for the data team: a large removal, or a takeover of rows
    another producer published. Batches already approved, and producers already held, are skipped."""
    batches = current_batches(conn, table)
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
    own = diff_tables(
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
    for winner, rows in _takeovers(conn, table, consolidation).items():
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


def held_versions(found: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows ``(dataset, version, diff)`` of held versions as ``Warehouse.holds`` returns them."""
    return [held_version(r.dataset, r.version, r.diff) for r in found.itertuples()]
