"""The registry's typed model: territory, producers, datasets and their sources, every sub-block typed.

It is the territory's data inventory ("cartographie des données"): who holds what, who must publish
it, where it comes from and under which licence. Everything downstream (Dagster partitions, the
sensor, schedules, the CLI, the scoreboard) is generated from it. ``load.py`` reads the YAML into it.

Each dataset's ``privacy``, ``consolidation``, ``publication`` and ``geometry`` blocks are models that
forbid unknown keys: a typo such as ``max_remove_share`` would otherwise be ignored and the default
silently apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from quality.frequency import Frequency

ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
DATASET_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"

SourceKind = Literal["drop", "http", "ckan", "opendatasoft", "wfs", "gtfs", "sql"]


class RegistryError(ValueError):
    """A registry file that cannot be used; the message names the file and the entry."""


class PrivacyBlock(BaseModel):
    """RGPD rules (quality/privacy/): personal fields to withhold or mask; text is always scanned."""

    model_config = ConfigDict(extra="forbid")

    personal_fields: list[str] = Field(default_factory=list)
    action: Literal["mask", "withhold"] = "withhold"
    scan_text: bool = True
    natural_persons: bool = True
    # The prose fields the gate scans (quality/privacy/ checks they are plain strings).
    free_text: list[str] | None = None


class ConsolidationBlock(BaseModel):
    """How duplicates across producers are resolved in the territory: a key, or points within a
    distance, the preferred producers first (resources/warehouse/'s ``Consolidation``)."""

    model_config = ConfigDict(extra="forbid")

    key: str | list[str] | None = None
    within_m: Annotated[float, Field(gt=0)] | None = None
    prefer: str | list[str] = "latest"

    @property
    def key_fields(self) -> list[str]:
        key = self.key or []
        return [key] if isinstance(key, str) else list(key)

    @property
    def preferred(self) -> list[str]:
        """The producers preferred in order; none for ``latest`` (the latest batch wins)."""
        if self.prefer == "latest":
            return []
        return [self.prefer] if isinstance(self.prefer, str) else list(self.prefer)


class PublicationBlock(BaseModel):
    """When a publication is held for the data team: more than this share of the rows removed."""

    model_config = ConfigDict(extra="forbid")

    max_removed_share: Annotated[float, Field(ge=0, le=1)] = 0.5


class GeometryBlock(BaseModel):
    """A point geometry built from a pair of lon/lat (or x/y) columns of the schema."""

    model_config = ConfigDict(extra="forbid")

    lon: str
    lat: str
    name: str = "geom"


BLOCKS: dict[str, type[BaseModel]] = {
    "privacy": PrivacyBlock,
    "consolidation": ConsolidationBlock,
    "publication": PublicationBlock,
    "geometry": GeometryBlock,
}


class Territory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str
    siren: str
    base_url: str
    homepage: str | None = None


class Producer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str
    kind: Literal["commune", "metropole", "operator"]
    insee: Annotated[str, Field(pattern=r"^\d[\dAB]\d{3}$")] | None = None
    siren: Annotated[str, Field(pattern=r"^\d{9}$")] | None = None
    siren_verified: bool = True
    postcode: str | None = None
    population: int | None = None
    sector: str | None = None


class Source(BaseModel):
    """Where one producer's data for one dataset comes from.

    Kind-specific settings (``url``, ``dataset``, ``resource``, ``where``, ``type_name``, ``query``…)
    are kept as extra fields and read by the matching harvest client. ``allow_hosts: [host, host:port]``
    names the other hosts a feed may send the harvest to (a CDN, a portal's file store); no other is
    ever reached.
    """

    model_config = ConfigDict(extra="allow")

    producer: str
    kind: SourceKind
    schedule: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    sheet: str | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SourceSelector(Source):
    """A source entry as written: either ``producer: id`` or ``producers: communes|operators|[ids]``."""

    producer: str | None = None  # type: ignore[assignment]
    producers: str | list[str] | None = None

    @model_validator(mode="after")
    def _one_of_producer_or_selector(self) -> SourceSelector:
        if (self.producer is None) == (self.producers is None):
            raise ValueError("give exactly one of `producer` or `producers`")
        return self


class Dataset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=DATASET_PATTERN)]
    title: str
    description: str = ""
    schema_ref: str = Field(alias="schema")
    licence: Literal["etalab-2.0", "odbl-1.0"] = "etalab-2.0"
    frequency: Frequency = "annual"
    theme: str = "GOVE"
    keywords: list[str] = Field(default_factory=list)
    expected_from: str | list[str] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    privacy: PrivacyBlock = Field(default_factory=PrivacyBlock)
    consolidation: ConsolidationBlock = Field(default_factory=ConsolidationBlock)
    publication: PublicationBlock = Field(default_factory=PublicationBlock)
    geometry: GeometryBlock | None = None

    @field_validator("geometry", mode="before")
    @classmethod
    def _empty_geometry_is_none(cls, value: Any) -> Any:
        # ``geometry: {}`` has always meant "no lon/lat pair", as leaving the key out does.
        return None if value == {} else value

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Dataset:
        """A copy; with ``update`` (a dataset with overridden rules), validated again, so that its
        blocks are typed as the loaded ones are (pydantic's own copy would keep plain dicts)."""
        if not update:
            return super().model_copy(deep=deep)
        aliases = {name: f.alias for name, f in type(self).model_fields.items() if f.alias}
        changes = {aliases.get(key, key): value for key, value in update.items()}
        return type(self).model_validate({**self.model_dump(by_alias=True, exclude_unset=True), **changes})

    @property
    def schema_name(self) -> str:
        return self.schema_ref.split("@", 1)[0]

    @property
    def table(self) -> str:
        """The warehouse table name: SQL identifiers take `_` where our ids take `-`."""
        return self.id.replace("-", "_")

    def source_for(self, producer: str) -> Source | None:
        return next((s for s in self.sources if s.producer == producer), None)

    @property
    def producer_ids(self) -> list[str]:
        return [s.producer for s in self.sources]


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    territory: Territory
    producers: list[Producer]
    datasets: dict[str, Dataset]

    @cached_property
    def producer_by_id(self) -> dict[str, Producer]:
        return {p.id: p for p in self.producers}

    def producer(self, producer_id: str) -> Producer:
        try:
            return self.producer_by_id[producer_id]
        except KeyError:
            raise KeyError(
                f"unknown producer {producer_id!r}; known: {', '.join(self.producer_ids)}"
            ) from None

    def dataset(self, dataset_id: str) -> Dataset:
        try:
            return self.datasets[dataset_id]
        except KeyError:
            known = ", ".join(self.datasets)
            raise KeyError(f"unknown dataset {dataset_id!r}; known: {known}") from None

    @property
    def producer_ids(self) -> list[str]:
        return [p.id for p in self.producers]

    def expected_producers(self, dataset: Dataset) -> list[str]:
        """Who must deliver ``dataset``: an explicit list, or a rule such as ``communes >= 3500``."""
        rule = dataset.expected_from
        if isinstance(rule, list):
            return rule
        return select_producers(self.producers, rule)


def select_producers(producers: list[Producer], selector: str | list[str]) -> list[str]:
    """Producer ids matching ``communes``, ``operators``, ``communes >= N`` or an explicit list."""
    if isinstance(selector, list):
        return selector
    match = re.fullmatch(r"\s*(communes|operators|all)\s*(?:>=\s*(\d+))?\s*", selector)
    if not match:
        raise ValueError(
            f"unknown producer selector {selector!r} (communes, operators, all, 'communes >= N')"
        )
    kind, minimum = match.group(1), match.group(2)
    chosen = [
        p
        for p in producers
        if kind == "all"
        or (kind == "communes" and p.kind == "commune")
        or (kind == "operators" and p.kind == "operator")
    ]
    if minimum is not None:
        chosen = [p for p in chosen if (p.population or 0) >= int(minimum)]
    return [p.id for p in chosen]
