"""What a cluster run did, read back from where it left it: the warehouse and Dagster's event log.

``warehouse_facts`` reads a warehouse's batches and a digest of each published table; two warehouses
are the same territory when their facts are equal (``same_territory``). ``steps_per_host`` counts
the steps each Celery worker executed, from the engine event dagster-celery records in the run's
event log when a worker starts a step (its ``Celery worker`` metadata is the worker's node name,
``worker@<host>``). Nothing here starts anything.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import dagster as dg

KEYS = (
    "runs",
    "steps_per_host",
    "batches",
    "rows_read",
    "rows_accepted",
    "rows_quarantined",
    "conservation",
    "identical_to_single_process",
)
WORKER_METADATA = "Celery worker"
# Columns that name a warehouse's own batch, not the data: equal data has other ids in another warehouse.
_OWN_IDS = ("batch_id",)


def _conninfo(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def warehouse_facts(url: str) -> dict[str, Any]:
    """``batches``: per ``dataset/producer`` the sorted (file, sha256, status, read, accepted,
    quarantined) of its batches; ``published``: per published table, its row count and an md5 over its
    rows (as JSON, less the batch ids), in a fixed order."""
    import psycopg

    with psycopg.connect(_conninfo(url), connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT dataset, producer, file_name, sha256, status, rows_read, rows_accepted, "
            "rows_quarantined FROM meta.batches"
        ).fetchall()
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'published' "
                "AND table_name NOT LIKE '%%\\_history' AND table_name NOT LIKE '%%\\_duplicates' "
                "ORDER BY table_name"
            )
        ]
        published = {}
        drop = " - ".join(f"'{column}'" for column in _OWN_IDS)
        for table in tables:
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) "
                f'FROM (SELECT (to_jsonb(t) - {drop})::text AS r FROM published."{table}" t) s'
            ).fetchone()
            published[table] = {"rows": count, "md5": digest}
    batches: dict[str, list] = {}
    for dataset, producer, *rest in rows:
        batches.setdefault(f"{dataset}/{producer}", []).append([str(v) for v in rest])
    return {
        "batches": {key: sorted(value) for key, value in sorted(batches.items())},
        "published": published,
        "totals": _totals(rows),
    }


def _totals(rows: list[tuple]) -> dict[str, Any]:
    read = accepted = quarantined = 0
    conserved = bool(rows)
    for *_, rows_read, rows_accepted, rows_quarantined in rows:
        read, accepted, quarantined = (
            read + rows_read,
            accepted + rows_accepted,
            quarantined + rows_quarantined,
        )
        conserved = conserved and rows_read == rows_accepted + rows_quarantined
    return {
        "batches": len(rows),
        "rows_read": read,
        "rows_accepted": accepted,
        "rows_quarantined": quarantined,
        "conservation": conserved,
    }


def same_territory(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Same batches per producer and the same published rows."""
    return one["batches"] == other["batches"] and one["published"] == other["published"]


def worker_host(node_name: str) -> str:
    """``worker@territoire-w1`` → ``territoire-w1`` (Celery's node name is ``name@host``)."""
    return node_name.rsplit("@", 1)[-1]


def steps_per_host(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for run_id in run_ids:
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            event = record.dagster_event
            metadata = getattr(event.event_specific_data, "metadata", None) or {}
            node = metadata.get(WORKER_METADATA)
            if node is not None:
                counts[worker_host(str(node.value))] += 1
    return dict(sorted(counts.items()))


def summary(runs: int, hosts: dict[str, int], cluster: dict[str, Any], single: dict[str, Any]) -> dict:
    """The demo's last line, with exactly the keys of issue 19, in its order."""
    totals = cluster["totals"]
    line = {
        "runs": runs,
        "steps_per_host": hosts,
        "batches": totals["batches"],
        "rows_read": totals["rows_read"],
        "rows_accepted": totals["rows_accepted"],
        "rows_quarantined": totals["rows_quarantined"],
        "conservation": totals["conservation"],
        "identical_to_single_process": same_territory(cluster, single),
    }
    assert tuple(line) == KEYS
    return line
