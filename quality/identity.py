"""Producer identity: does a file name the authority that dropped it?

Which fields name the file's authority is declared per schema in ``quality/identity.yaml`` (a SIRET
or SIREN whose first nine digits are the authority's SIREN, or a commune's INSEE code). Each distinct
value is compared with the producer's registry entry:

- a commune is known by its INSEE code and its SIREN; a commune's SIREN is ``21`` + département +
  ``0`` + the commune's number + a check digit, so when the registry's SIREN is not verified only the
  eight digits the INSEE code gives are compared (a wrong check digit in the registry must not flag
  every file);
- the Métropole by its SIREN, and for INSEE fields by its 22 communes;
- a SIREN starting ``22`` is a département's, ``23`` a région's: said so in the sentence, because
  « a département's file dropped as a commune » is the usual mistake.

Values that are not well-formed identifiers are the validator's business, not this check's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

IDENTITY_FILE = Path(__file__).resolve().parent / "identity.yaml"
# SIREN prefixes of French public authorities (INSEE's legal categories 72xx/73xx are numbered so).
AUTHORITY_KIND = {
    "21": "une commune",
    "22": "un département",
    "23": "une région",
    "24": "une intercommunalité",
    "25": "un syndicat",
    "20": "une intercommunalité ou un syndicat",
}
ROWS_SHOWN = 5


@dataclass(frozen=True)
class ProducerIdentity:
    """What the registry knows of who dropped the file."""

    name: str
    kind: str  # commune | metropole | operator
    insee: str | None = None
    siren: str | None = None
    siren_verified: bool = True
    communes: tuple[str, ...] = field(default_factory=tuple)  # the territory's INSEE codes (Métropole)

    @classmethod
    def from_registry(cls, producer: Any, communes: list[str] | tuple[str, ...] = ()) -> ProducerIdentity:
        return cls(
            name=producer.name,
            kind=producer.kind,
            insee=producer.insee,
            siren=producer.siren,
            siren_verified=bool(getattr(producer, "siren_verified", True)),
            communes=tuple(communes),
        )


@cache
def identity_fields(schema_id: str) -> dict[str, str]:
    """field → ``siret`` | ``siren`` | ``insee`` for a shipped schema (empty when none is declared)."""
    doc = yaml.safe_load(IDENTITY_FILE.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in (doc.get(schema_id) or {}).items()}


def _commune_siren_stem(insee: str) -> str | None:
    """The eight digits of a commune's SIREN its INSEE code gives (``37261`` → ``21370261``)."""
    if not re.fullmatch(r"\d{5}", insee or ""):
        return None  # Corsica's 2A/2B communes are numbered differently
    return f"21{insee[:2]}0{insee[2:]}"


def _siren_is_producer(siren: str, producer: ProducerIdentity) -> bool | None:
    """True/False when the registry can tell, None when it knows nothing to compare with."""
    if producer.siren and (producer.siren_verified or producer.kind != "commune"):
        return siren == producer.siren
    stem = _commune_siren_stem(producer.insee or "") if producer.kind == "commune" else None
    if stem:
        return siren.startswith(stem)
    return None


def _insee_is_producer(code: str, producer: ProducerIdentity) -> bool | None:
    if producer.kind == "commune" and producer.insee:
        return code == producer.insee
    if producer.kind == "metropole" and producer.communes:
        return code in producer.communes
    return None


def check_identity(
    frame: pd.DataFrame, schema_id: str, producer: ProducerIdentity, columns: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One finding per field and foreign value: ``{field, column, value, rows, message}`` (French).

    ``frame`` is the harmonised frame (identifiers in their canonical form); ``columns`` maps a field to
    the header the producer wrote, so the sentence names the column as in their file.
    """
    findings: list[dict[str, Any]] = []
    columns = columns or {}
    for name, kind in identity_fields(schema_id).items():
        if name not in frame.columns:
            continue
        values = frame[name].astype(str).str.strip()
        for value, rows in values[values != ""].groupby(values[values != ""]).groups.items():
            verdict, described = _judge(str(value), kind, producer)
            if verdict is not False:
                continue
            shown = ", ".join(str(r) for r in list(rows)[:ROWS_SHOWN]) + (
                " …" if len(rows) > ROWS_SHOWN else ""
            )
            column = columns.get(name, name)
            findings.append(
                {
                    "field": name,
                    "column": column,
                    "value": str(value),
                    "rows": len(rows),
                    "message": f"La colonne « {column} » désigne {described} et non {producer.name}, "
                    f"qui a déposé le fichier ({len(rows)} ligne(s) : {shown}). Vérifiez que le fichier "
                    "a été déposé au bon nom, ou qu'il vous revient bien de le publier.",
                }
            )
    return findings


def _judge(value: str, kind: str, producer: ProducerIdentity) -> tuple[bool | None, str]:
    if kind in ("siret", "siren"):
        digits = re.sub(r"\D", "", value)
        if len(digits) != (14 if kind == "siret" else 9):
            return None, ""  # malformed: the validator says so
        siren = digits[:9]
        whose = AUTHORITY_KIND.get(siren[:2])
        label = f"le {kind.upper()} {digits}" + (
            f" ({whose}, SIREN {siren})" if whose and kind == "siret" else f" ({whose})" if whose else ""
        )
        return _siren_is_producer(siren, producer), label
    if kind == "insee":
        if not re.fullmatch(r"\d[\dAB]\d{3}", value):
            return None, ""
        return _insee_is_producer(value, producer), f"la commune de code INSEE {value}"
    return None, ""
