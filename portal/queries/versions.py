"""Published versions of a dataset, and the one a request reads (current, by number or by date).

A version was published when it has a date: the current one ('published' or 'approved') and those a
newer one replaced ('superseded' with superseded_by); a held version never had one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True)
class Version:
    version: int
    published_at: datetime
    rows: int


@dataclass(frozen=True)
class Snapshot:
    """The version a request reads, and whether it is the current one (read from ``published.<t>``)."""

    table: str
    version: int
    published_at: datetime
    rows: int
    current: bool


async def current_versions(conn: psycopg.AsyncConnection) -> dict[str, Version]:
    """The current published version of every dataset table that has one."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (dataset) dataset, version, published_at, rows FROM meta.publications "
        "WHERE published_at IS NOT NULL ORDER BY dataset, version DESC",
    )
    return {r[0]: Version(r[1], r[2], r[3]) for r in await cur.fetchall()}


async def versions(conn: psycopg.AsyncConnection, table: str) -> list[Version]:
    cur = await conn.execute(
        "SELECT version, published_at, rows FROM meta.publications "
        "WHERE dataset = %s AND published_at IS NOT NULL ORDER BY version",
        (table,),
    )
    return [Version(*r) for r in await cur.fetchall()]


async def snapshot(
    conn: psycopg.AsyncConnection, table: str, *, version: int | None = None, as_of: datetime | None = None
) -> Snapshot | None:
    """The version asked for (the current one by default, else by number or by date); None when there
    is no such published version."""
    known = await versions(conn, table)
    if not known:
        return None
    current = known[-1]
    if version is not None:
        chosen = next((v for v in known if v.version == version), None)
    elif as_of is not None:
        chosen = next((v for v in reversed(known) if v.published_at <= as_of), None)
    else:
        chosen = current
    if chosen is None:
        return None
    return Snapshot(table, chosen.version, chosen.published_at, chosen.rows, chosen is current)
