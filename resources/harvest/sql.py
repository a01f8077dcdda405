"""An operator's database: run one read query and keep its result as a CSV file.

Registry entry: ``{kind: sql, url: "${OPERATOR_DB_URL}" or a SQLAlchemy URL, query: "select ...",
file_name?: "stops.csv"}``. Credentials stay out of the registry: ``${NAME}`` references are
expanded from the environment, and every message and ``source_url`` shows the URL with its password
masked. Rows are streamed from a server-side cursor and written as they come, so a large table does
not sit twice in memory; the CSV bytes are what the archive keeps and what sha256 compares.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from quality.url_mask import mask_url
from resources.harvest.errors import HarvestError
from resources.harvest.harvested import Harvested, previous_sha
from resources.harvest.policy import HttpPolicy
from resources.harvest.settings import expand_url

__all__ = ["expand_url", "harvest_sql"]

FETCH_ROWS = 10_000


def harvest_sql(
    entry: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    policy: HttpPolicy | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Harvested:
    policy = policy or HttpPolicy()
    url = expand_url(str(entry["url"]), environ)
    shown = mask_url(url)
    try:
        password = sa.make_url(url).password
    except sa.exc.ArgumentError as exc:
        raise HarvestError(shown, "URL SQLAlchemy invalide") from exc

    def scrub(text: str) -> str:
        # Drivers sometimes echo the DSN in their errors: never let the password through.
        return text.replace(str(password), "***") if password else text

    engine = sa.create_engine(url, connect_args=_connect_args(url, policy), poolclass=sa.pool.NullPool)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    out = io.BytesIO()
    digest = hashlib.sha256()

    def flush() -> None:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        if out.tell() + len(data) > policy.max_bytes:
            raise HarvestError(
                shown, f"résultat de la requête trop volumineux : plus de {policy.max_bytes} octets"
            )
        digest.update(data)
        out.write(data)

    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(
                sa.text(str(entry["query"]))
            )
            writer.writerow(result.keys())
            for rows in result.partitions(FETCH_ROWS):
                writer.writerows(rows)
                flush()
            flush()
    except HarvestError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise HarvestError(shown, scrub(f"la requête a échoué : {type(cause).__name__}: {cause}")) from None
    finally:
        engine.dispose()
    content = out.getvalue()
    sha = digest.hexdigest()
    return Harvested(
        content=content,
        file_name=str(entry.get("file_name") or "requete.csv"),
        source_url=shown,
        etag=None,
        last_modified=None,
        not_modified=sha == previous_sha(previous),
        sha256=sha,
        media_type="text/csv",
    )


def _connect_args(url: str, policy: HttpPolicy) -> dict[str, Any]:
    backend = sa.make_url(url).get_backend_name()
    if backend == "postgresql":
        # The harvest timeout bounds the query too, on the server, where a stuck query is cancelled.
        return {
            "connect_timeout": max(1, int(policy.timeout)),
            "options": f"-c statement_timeout={max(1, int(policy.timeout * 1000))}",
        }
    if backend in ("mysql", "mariadb"):
        return {"connect_timeout": max(1, int(policy.timeout))}
    return {}
