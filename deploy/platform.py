"""The platform's names that deploy/ and bench/departement.py use, imported here and nowhere else in them,
so a reorganisation of the platform's packages re-points this one file."""

from assets.keys import asset_key, source_host
from assets.producer import build_dataset_assets
from pipelines.definitions import build_definitions
from pipelines.platform_resources import platform_resources
from pipelines.schedules import HOST_TAG
from pipelines.sensors import ingest_job_name
from resources.registry.load import load_registry
from resources.registry.model import Dataset, Registry

__all__ = [
    "HOST_TAG",
    "Dataset",
    "Registry",
    "asset_key",
    "build_dataset_assets",
    "build_definitions",
    "ingest_job_name",
    "load_registry",
    "platform_resources",
    "source_host",
]
