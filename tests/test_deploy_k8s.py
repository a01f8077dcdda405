"""Kubernetes on paper, checked: the instance config of deploy/k8s/ builds the Job of one producer's
partition run with dagster-k8s's own launcher, without a cluster (its API client is a stand-in that
keeps what it is asked to create)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

pytest.importorskip("dagster_k8s")

from dagster._core.definitions.reconstruct import ReconstructableRepository  # noqa: E402
from dagster._core.launcher import LaunchRunContext, RunLauncher  # noqa: E402
from dagster._serdes.config_class import ConfigurableClassData  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
IMAGE = "registry.example/territoire:0.1.0"


class KeptJobs:
    """Where the launcher's ``create_namespaced_job_with_retries`` lands instead of a cluster."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, object]] = []

    def create_namespaced_job_with_retries(self, body, namespace: str) -> None:
        self.jobs.append((namespace, body))


def instance_config() -> dict:
    return yaml.safe_load((REPO / "deploy" / "k8s" / "dagster.yaml").read_text())


@pytest.fixture
def launcher(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TERRITOIRE_IMAGE", IMAGE)
    monkeypatch.setenv("TERRITOIRE_K8S_NAMESPACE", "territoire")
    # In a pod the launcher reads the service account's token; here there is no cluster to read.
    monkeypatch.setattr("dagster_k8s.launcher.load_kubernetes_config", lambda **_: None)
    section = instance_config()["run_launcher"]
    data = ConfigurableClassData(section["module"], section["class"], yaml.safe_dump(section["config"]))
    launcher = data.rehydrate(as_type=RunLauncher)
    kept = KeptJobs()
    launcher._api_client = kept
    with dg.instance_for_test() as instance:
        launcher.register_instance(instance)
        yield launcher, instance, kept


def test_instance_config_is_dagster_k8s_with_queued_limits():
    config = instance_config()
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    keys = {limit["key"] for limit in config["concurrency"]["runs"]["tag_concurrency_limits"]}
    assert {"territoire/host", "territoire/dataset", "territoire/partition"} <= keys
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "TERRITOIRE_INSTANCE_URL"}


def test_code_location_steps_run_as_kubernetes_jobs():
    from deploy.code_location import build_code_location

    definitions = build_code_location("k8s")
    assert definitions.resolve_job_def("subventions_ingest").executor_def.name == "k8s"


def test_one_partition_run_becomes_a_kubernetes_job(launcher):
    launcher, instance, kept = launcher
    recon = ReconstructableRepository.for_module(
        "deploy.code_location", "defs", working_directory=str(REPO)
    ).get_reconstructable_job("subventions_ingest")
    run = instance.create_run_for_job(
        job_def=recon.get_definition(),
        job_code_origin=recon.get_python_origin(),
        tags={"dagster/partition": "tours", "territoire/partition": "subventions/tours"},
    )
    launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))

    ((namespace, job),) = kept.jobs
    assert namespace == "territoire"
    assert job.metadata.labels["app.kubernetes.io/part-of"] == "territoire"
    assert job.metadata.labels["dagster/run-id"] == run.run_id
    pod = job.spec.template.spec
    assert pod.service_account_name == "territoire-dagster"
    (container,) = pod.containers
    assert container.image == IMAGE
    # The run process of this very run, for this partition's job, in this code location.
    assert container.args[:3] == ["dagster", "api", "execute_run"]
    assert run.run_id in container.args[3]
    assert "subventions_ingest" in container.args[3]
    env = {e.name: e.value for e in container.env}
    assert env["TERRITOIRE_EXECUTOR"] == "k8s"
    assert env["TERRITOIRE_HOME"] == "/var/lib/territoire"
    assert env["DAGSTER_RUN_JOB_NAME"] == "subventions_ingest"
    assert [source.secret_ref.name for source in container.env_from] == ["territoire-env"]
    assert container.resources.limits == {"cpu": "1", "memory": "1Gi"}
    assert container.resources.requests == {"cpu": "250m", "memory": "512Mi"}
    mounts = {m.mount_path for m in container.volume_mounts}
    assert {"/var/lib/territoire", "/etc/territoire/registry"} <= mounts
