"""The privacy gate itself: a frame in, the frame to publish and the counts of what was held back out."""

from __future__ import annotations

from typing import Any

import pandas as pd

from quality.privacy.cells import text_of
from quality.privacy.contacts import PHONE_HINT, mask_column, mask_emails, mask_phones
from quality.privacy.persons import NATURAL_PERSON, natural_persons
from quality.privacy.rules import PrivacyConfigError, PrivacyRules, free_text_fields, personal_fields

MASKED_VALUE = "[donnée personnelle masquée]"

KINDS = (
    "email_masked",
    "phone_masked",
    "natural_person_withheld",
    "personal_field_withheld",
    "personal_field_masked",
)


def apply_privacy(
    frame: pd.DataFrame, schema: Any, rules: PrivacyRules
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The frame to publish and how many values of each kind were held back (see module doc).

    ``frame`` is a harmonised text frame or a typed frame; it is not modified. ``schema`` is a
    ``quality.schema.TableSchema`` (or None). A declared personal field that the frame lacks is an
    error: a renamed column must not let personal data through silently.
    """
    out = frame.copy()
    counts = dict.fromkeys(KINDS, 0)
    declared = personal_fields(schema, rules)
    missing = [name for name in rules.personal_fields if name not in out.columns]
    if missing:
        raise PrivacyConfigError(f"champs personnels déclarés absents de la table : {', '.join(missing)}")
    declared = [name for name in declared if name in out.columns]
    # Decided on the values as received, before any field of the row is withheld or masked.
    persons = None
    if rules.natural_persons and "nomBeneficiaire" in frame.columns and "nomBeneficiaire" not in declared:
        persons = natural_persons(frame)

    for name in declared:
        column = out[name]
        present = _present(column)
        if _is_text(column) and rules.action == "mask":
            out[name] = column.where(~present, MASKED_VALUE)
            counts["personal_field_masked"] += int(present.sum())
        else:
            out[name] = column.where(~present, "" if _is_text(column) else None)
            counts["personal_field_withheld"] += int(present.sum())

    if persons is not None:
        out.loc[persons, "nomBeneficiaire"] = NATURAL_PERSON
        counts["natural_person_withheld"] = int(persons.sum())

    if rules.scan_text:
        for name in free_text_fields(schema, rules):
            if name in declared or name not in out.columns or not _is_text(out[name]):
                continue
            out[name], emails = mask_column(out[name], "@", mask_emails)
            out[name], phones = mask_column(out[name], PHONE_HINT, mask_phones)
            counts["email_masked"] += emails
            counts["phone_masked"] += phones
    return out, counts


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column) or pd.api.types.is_object_dtype(column)


def _present(column: pd.Series) -> pd.Series:
    present = column.notna()
    if _is_text(column):
        present &= text_of(column).str.strip() != ""
    return present
