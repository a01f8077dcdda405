"""The production code location: the platform's definitions, with the executor of the target.

``TERRITOIRE_EXECUTOR`` chooses where a run's steps execute:

- ``celery``: each step is a task on the broker at ``TERRITOIRE_CELERY_BROKER`` (results at
  ``TERRITOIRE_CELERY_BACKEND``), executed by whichever worker takes it (``deploy/celery/``);
- ``k8s``: each step is a Kubernetes Job (``dagster_k8s.k8s_job_executor``, ``deploy/k8s/``);
- unset or ``multiprocess``: a process per step beside the run, Dagster's default.

The registry, the warehouse and the home come from the environment (``TERRITOIRE_REGISTRY``,
``TERRITOIRE_WAREHOUSE_URL``, ``TERRITOIRE_HOME``), as for ``pipelines.definitions``.
"""

from __future__ import annotations

import os

import dagster as dg

# The platform itself comes through deploy/platform.py, the one module that names its packages.
from deploy.platform import build_definitions

EXECUTOR_VAR = "TERRITOIRE_EXECUTOR"


def executor_for(target: str | None) -> dg.ExecutorDefinition | None:
    """The executor of a deployment target (``celery``, ``k8s``), None for Dagster's default."""
    if target in (None, "", "multiprocess"):
        return None
    if target == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": {"env": "TERRITOIRE_CELERY_BROKER"},
                "backend": {"env": "TERRITOIRE_CELERY_BACKEND"},
            },
            name="celery_executor",
        )
    if target == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    raise ValueError(f"{EXECUTOR_VAR}={target!r}: expected celery, k8s or multiprocess")


def build_code_location(target: str | None = None) -> dg.Definitions:
    definitions = build_definitions()
    executor = executor_for(target if target is not None else os.environ.get(EXECUTOR_VAR))
    if executor is None:
        return definitions
    return dg.Definitions.merge(definitions, dg.Definitions(executor=executor))


defs = build_code_location()
