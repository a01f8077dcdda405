"""A platform failure while one file goes through: which stage it happened in, told in French.

A file the platform cannot handle because of its own bug becomes a ``failed`` batch (see
``assets/producer.py``), never a crashed run: the error, the stage and the line of code are recorded so
the data team can fix the bug, and the producer is told it was not their fault.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import sqlalchemy.exc

from assets.read import RefusedFile

STAGES = {
    "read": "lecture",
    "harmonise": "harmonisation",
    "validate": "validation",
    "privacy": "protection des données personnelles",
    "load": "chargement dans l'entrepôt",
    "report": "rapport de lot",
}


class StageFailure(Exception):
    """An unexpected error at one stage of a file's way; ``__cause__`` is the original error."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"{stage}: {type(cause).__name__}: {cause}")
        self.stage = stage
        self.cause = cause


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Tag any unexpected error raised inside with the stage ``name`` (a refusal is not a failure)."""
    try:
        yield
    except (RefusedFile, StageFailure):
        raise
    except Exception as exc:
        raise StageFailure(name, exc) from exc


def failure_message(file_name: str, exc: BaseException) -> str:
    """What ``meta.batches.message`` says of a failed batch: stage, error and the code line it came from."""
    where = exc.stage if isinstance(exc, StageFailure) else "inconnue"
    cause = exc.cause if isinstance(exc, StageFailure) else exc
    frames = traceback.extract_tb(cause.__traceback__)
    place = f" ({frames[-1].filename}:{frames[-1].lineno}, {frames[-1].name})" if frames else ""
    detail = " ".join(str(cause).split())[:500]
    return (
        f"Le fichier « {file_name} » n'a pas pu être traité à cause d'une erreur de la plateforme, "
        f"pas du fichier : l'équipe données est prévenue et le fichier est conservé. "
        f"Étape : {STAGES.get(where, where)}. Erreur : {type(cause).__name__}: {detail}{place}"
    )


def is_transient(exc: BaseException) -> bool:
    """An outage rather than a bug: the database went away, a deadlock, the network. The file is not
    at fault and neither is the code: the run fails, the file stays in the inbox and is retried."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, psycopg.OperationalError | sqlalchemy.exc.OperationalError | ConnectionError):
            return True
        current = (
            current.cause if isinstance(current, StageFailure) else (current.__cause__ or current.__context__)
        )
    return False
