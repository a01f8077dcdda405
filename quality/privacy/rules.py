"""A dataset's privacy rules (the registry's ``privacy:`` block) and the fields they apply to.

Personal fields are declared by the registry or by the schema (``"x-personal": true``); free-text
fields are declared by the registry or derived from the schema, and a declared one is checked against
the same rule, so that a registry typo cannot send the gate into a key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from quality.privacy.cells import fold

Action = Literal["withhold", "mask"]
ACTIONS: tuple[str, ...] = ("withhold", "mask")

PERSONAL_MARKER = "x-personal"


class PrivacyConfigError(ValueError):
    """A registry ``privacy:`` block that cannot be applied."""


class PrivacyBlock(Protocol):
    """The registry's typed ``privacy:`` block (``resources/registry/model.py``), already validated."""

    personal_fields: list[str]
    action: str
    scan_text: bool
    natural_persons: bool
    free_text: list[str] | None


@dataclass(frozen=True)
class PrivacyRules:
    """A dataset's privacy rules, from its registry entry's ``privacy:`` block."""

    personal_fields: tuple[str, ...] = ()
    action: Action = "withhold"
    scan_text: bool = True  # look for personal e-mails and phone numbers in the free-text fields
    natural_persons: bool = True  # withhold grant beneficiaries who are natural persons
    free_text: tuple[str, ...] | None = None  # None: derived from the schema (derived_free_text)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise PrivacyConfigError(
                f"privacy.action « {self.action} » inconnue : valeurs possibles {', '.join(ACTIONS)}"
            )

    @classmethod
    def from_config(cls, config: PrivacyBlock | Mapping[str, Any] | None) -> PrivacyRules:
        """The registry's typed block, or a plain ``{personal_fields: [...], action: mask|withhold,
        scan_text: bool, natural_persons: bool, free_text: [...]}``.

        Every key is optional; no block at all still scans the derived free-text fields and grant
        beneficiaries.
        """
        if config is not None and not isinstance(config, Mapping):
            return cls(
                personal_fields=tuple(config.personal_fields),
                action=config.action,  # type: ignore[arg-type]  # checked in __post_init__
                scan_text=config.scan_text,
                natural_persons=config.natural_persons,
                free_text=tuple(config.free_text) if config.free_text is not None else None,
            )
        config = dict(config or {})
        unknown = set(config) - {"personal_fields", "action", "scan_text", "natural_persons", "free_text"}
        if unknown:
            raise PrivacyConfigError(f"clés inconnues dans privacy : {', '.join(sorted(unknown))}")
        fields = config.get("personal_fields") or []
        if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
            raise PrivacyConfigError("privacy.personal_fields doit être une liste de noms de champs")
        free_text = config.get("free_text")
        if free_text is not None and (
            isinstance(free_text, str) or not all(isinstance(f, str) for f in free_text)
        ):
            raise PrivacyConfigError("privacy.free_text doit être une liste de noms de champs")
        for flag in ("scan_text", "natural_persons"):
            if not isinstance(config.get(flag, True), bool):
                raise PrivacyConfigError(f"privacy.{flag} doit valoir true ou false")
        return cls(
            personal_fields=tuple(fields),
            action=config.get("action", "withhold"),
            scan_text=config.get("scan_text", True),
            natural_persons=config.get("natural_persons", True),
            free_text=tuple(free_text) if free_text is not None else None,
        )


def personal_fields(schema: Any, rules: PrivacyRules) -> list[str]:
    """Fields declared personal by the registry or by the schema (``"x-personal": true``)."""
    declared = [f.name for f in getattr(schema, "fields", []) if f.descriptor.get(PERSONAL_MARKER) is True]
    return list(dict.fromkeys([*rules.personal_fields, *declared]))


# Words of a field name that say it identifies, codes or links something: never free text.
IDENTIFIER_WORDS = frozenset(
    """
    id uid uuid identifiant code codepostal cp ref reference num numero no siret siren rna insee url uri
    lien link email mail courriel tel telephone phone matricule serie version parent
    """.split()
)


def _name_words(name: str) -> set[str]:
    """``idBeneficiaire`` → {id, beneficiaire}; ``EQUIP_CODE`` → {equip, code}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^a-z0-9]+", fold(spaced)) if w}


def derived_free_text(schema: Any) -> list[str]:
    """Fields that can only be free text: string, no format, pattern nor enum, in no key, and not
    named like an identifier, a code, a reference, a number or a link (``idBeneficiaire``,
    ``EQUIP_CODE``, ``referenceDecision``, ``num_serie``, ``url_info``)."""
    return [f.name for f in getattr(schema, "fields", []) if _may_be_free_text(f, schema) is None]


def free_text_fields(schema: Any, rules: PrivacyRules) -> list[str]:
    """The fields the gate scans: the registry's ``free_text``, else :func:`derived_free_text`.

    A declared field the schema has not, or that holds a type, format, pattern, enum or key, is a
    configuration error: the gate must never rewrite a value whose form the schema fixes.
    """
    if rules.free_text is None:
        return derived_free_text(schema)
    if schema is None:
        return list(rules.free_text)
    problems = []
    for name in rules.free_text:
        try:
            field = schema.field(name)
        except KeyError:
            problems.append(f"« {name} » n'est pas un champ du schéma")
            continue
        reason = _may_be_free_text(field, schema)
        if reason:
            problems.append(f"« {name} » {reason}")
    if problems:
        raise PrivacyConfigError("privacy.free_text : " + " ; ".join(problems))
    return list(rules.free_text)


def _may_be_free_text(field: Any, schema: Any) -> str | None:
    """Why ``field`` cannot be free text, or None when it can."""
    keys = set(getattr(schema, "primary_key", None) or [])
    for unique in getattr(schema, "unique_keys", None) or []:
        keys.update([unique] if isinstance(unique, str) else unique)
    if field.type != "string":
        return f"est de type {field.type}"
    if field.format not in (None, "default"):
        return f"a le format {field.format}"
    for constraint in ("pattern", "enum"):
        if constraint in field.constraints:
            return f"a une contrainte {constraint}"
    if field.descriptor.get("unique") or field.constraints.get("unique") or field.name in keys:
        return "est une clé"
    if _name_words(field.name) & IDENTIFIER_WORDS:
        return "est nommé comme un identifiant"
    return None
