"""How the platform runs a Dagster job in its own process: what every in-process run shares.

``territoire run``, ``territoire approve`` and the helper process all materialise assets the same way:
the failure stays in the result (the caller sums it up in French), Dagster's console log is off (the
command line shows its own progress and table), and the instance keeps the runs on disk only when
``--history`` asks for the UI to show them.
"""

from __future__ import annotations

import dagster as dg

# The console shows progress and the final table; failures are summarised by the CLI, not Dagster's log.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def materialize_quietly(
    assets: list, selection: list, *, instance: dg.DagsterInstance, resources: dict, **kwargs
) -> dg.ExecuteInProcessResult:
    """``dg.materialize`` of ``selection``, its failure kept in the result, Dagster's console log off."""
    return dg.materialize(
        assets,
        selection=selection,
        instance=instance,
        resources=resources,
        raise_on_error=False,
        run_config=QUIET,
        **kwargs,
    )


def dagster_instance(history: bool) -> dg.DagsterInstance:
    """The instance under ``DAGSTER_HOME`` when the runs are to be kept for the UI, else one in memory."""
    return dg.DagsterInstance.get() if history else dg.DagsterInstance.ephemeral()


def step_error(result: dg.ExecuteInProcessResult):
    """The error of the first failed step, if a step failed (rather than the run itself)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            return (
                error.cause
                if error.cls_name == "DagsterExecutionStepExecutionError" and error.cause
                else error
            )
    return None
