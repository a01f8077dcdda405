"""The PostGIS warehouse: every SQL statement of the platform lives in this package.

Layout (one table per dataset, named after the dataset):

- ``harmonised.<dataset>``: the schema's fields, typed, plus lineage ``producer``, ``batch_id``,
  ``source_row``; one *partition* per producer, replaced whole by each accepted batch;
- ``quarantine.<dataset>``: the rejected rows of each producer's latest batch, cells and errors as jsonb;
- ``published.<dataset>``: what analysts read (union of the producers' harmonised rows);
- ``meta.batches``: one row per received file, loaded or refused.

Roles: ``territoire_owner`` (not superuser) owns the schemas and tables; the platform switches to it
with ``SET ROLE`` on every connection when it may. ``territoire_analyst`` may only read ``published``;
give it to people's login roles (``GRANT territoire_analyst TO alice``).

Identifiers from schemas (mixed-case field names) and dataset names are always quoted with
``psycopg.sql``; values always travel as parameters or through COPY, never interpolated.

Modules: ``resource`` (``Warehouse``, the Dagster resource: the one front, each method a
transaction), ``connection`` (URL, pooled engine, transactions), ``names`` (roles, schemas, table
names), ``setup`` (roles, schemas, ``meta`` tables), ``ddl`` (a dataset's tables), ``loads`` (COPY,
partition replacement), ``batches`` (``meta.batches``), ``consolidation`` (merging producers into a
candidate), ``versions`` (diff, history), ``holds`` (changes waiting for approval), ``publication``
(candidate → version), ``reads`` (tables, history, catalogue).
"""

from resources.warehouse.batches import BatchRecord
from resources.warehouse.consolidation import Candidate, Consolidation
from resources.warehouse.ddl import column_type
from resources.warehouse.names import (
    ANALYST_ROLE,
    LINEAGE,
    OWNER_ROLE,
    READABLE,
    SCHEMAS,
    derived_name,
    table_name,
)
from resources.warehouse.publication import Publication
from resources.warehouse.resource import Warehouse

__all__ = [
    "ANALYST_ROLE",
    "LINEAGE",
    "OWNER_ROLE",
    "READABLE",
    "SCHEMAS",
    "BatchRecord",
    "Candidate",
    "Consolidation",
    "Publication",
    "Warehouse",
    "column_type",
    "derived_name",
    "table_name",
]
