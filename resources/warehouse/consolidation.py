"""Consolidation: rows of different producers that describe the same thing, merged into one candidate.

``Consolidation`` turns the registry's typed ``consolidation`` block into a rule for one schema;
``consolidate`` builds ``meta.candidate_<dataset>`` (what the gate checks) and
``meta.candidate_<dataset>_duplicates`` (the rows it dropped, each with its winner, the rule and the reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from quality.geo import GEOMETRY_TYPES
from resources.registry.model import ConsolidationBlock
from resources.warehouse.names import derived_name

# "w is a more recent batch than r": by the drop sequence when both files were dropped (the order the
# agents made them, whatever order the runs archived them in, one process or many); by the time
# received otherwise (harvests, batches from before sequences existed).
_NEWER = sql.SQL(
    "(CASE WHEN w.__sequence IS NOT NULL AND r.__sequence IS NOT NULL THEN w.__sequence > r.__sequence "
    "ELSE w.__received > r.__received END)"
)
_OLDER = sql.SQL(
    "(CASE WHEN w.__sequence IS NOT NULL AND r.__sequence IS NOT NULL THEN w.__sequence < r.__sequence "
    "ELSE w.__received < r.__received END)"
)

if TYPE_CHECKING:
    from quality.schema import TableSchema


@dataclass(frozen=True)
class Consolidation:
    """How rows of different producers that describe the same thing are merged (registry ``consolidation``).

    ``{key: [fields]}`` matches rows on equal key fields (default: the schema's primaryKey, else its
    first uniqueKey); ``within_m: 50`` also asks their geometries to lie within 50 m (geography), and
    alone matches on distance only. ``prefer: [producer ids]`` names the winner in that order (others
    after them); without it, or with ``prefer: latest``, the most recently dropped (or received) batch wins.
    """

    key: tuple[str, ...] = ()
    within_m: float | None = None
    geometry: str | None = None
    prefer: tuple[str, ...] = ()

    @classmethod
    def from_registry(
        cls, spec: ConsolidationBlock | Mapping[str, Any], schema: TableSchema
    ) -> Consolidation:
        """The rule for ``schema`` from the registry's typed block (a plain mapping is validated first)."""
        if not isinstance(spec, ConsolidationBlock):
            unknown = set(spec) - set(ConsolidationBlock.model_fields)
            if unknown:
                raise ValueError(
                    f"consolidation : clés inconnues {sorted(unknown)} (attendu : key, within_m, prefer)"
                )
            spec = ConsolidationBlock.model_validate(dict(spec))
        within = spec.within_m
        if "key" in spec.model_fields_set:
            key = spec.key_fields  # given, even empty: the registry chose (distance only, or none)
        elif within is not None:
            key = []
        else:
            key = list(schema.primary_key) or (list(schema.unique_keys[0]) if schema.unique_keys else [])
        missing = [k for k in key if k not in schema.field_names]
        if missing:
            raise ValueError(f"consolidation : champs de clé absents du schéma {schema.name} : {missing}")
        geometry = None
        if within is not None:
            geometry = next((f.name for f in schema.fields if f.type in GEOMETRY_TYPES), None)
            if geometry is None:
                raise ValueError(f"consolidation : within_m sans champ géographique dans {schema.name}")
        return cls(key=tuple(key), within_m=within, geometry=geometry, prefer=tuple(spec.preferred))

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


def consolidate(
    conn: psycopg.Connection,
    table: str,
    fields: list[str],
    consolidation: Consolidation,
    held: list[str],
) -> Candidate:
    """Build ``meta.candidate_<table>`` and its ``_duplicates`` in the caller's transaction (columns
    ``fields``); ``held`` producers contribute their published rows instead of their new batch."""
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
            "coalesce(b.received_at, '-infinity') AS __received, b.sequence AS __sequence "
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
                "AND (w.__rank < r.__rank OR (w.__rank = r.__rank AND ({newer} "
                "OR (NOT {newer} AND NOT {older} AND w.producer < r.producer)))) "
                "ORDER BY r.__id, w.__rank, w.__sequence DESC NULLS LAST, w.__received DESC, "
                "w.producer, w.source_row"
            ).format(match=match, newer=_NEWER, older=_OLDER)
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
            "WHEN {newer} THEN 'lot le plus récent : ' || w.batch_id "
            "ELSE 'même rang : ordre des identifiants de producteur' END AS reason "
            "FROM lost JOIN ranked r ON r.__id = lost.loser_id "
            "JOIN ranked w ON w.__id = lost.winner_id "
            "ORDER BY r.producer, r.source_row"
        ).format(target=sql.Identifier("meta", lost), newer=_NEWER),
        {"rule": consolidation.rule},
    ).rowcount
    conn.execute("DROP TABLE ranked, lost")
    return Candidate(dataset=table, schema_name="meta", table=candidate, rows=rows, duplicates=duplicates)
