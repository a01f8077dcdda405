"""A file's header against its schema: duplicate, missing, unknown and misordered columns."""

from __future__ import annotations

from dataclasses import dataclass

from quality.schema import TableSchema


@dataclass(frozen=True)
class StructureIssue:
    level: str  # "error" | "warning"
    rule: str
    column: str
    message: str


def check_structure(headers: list[str], schema: TableSchema) -> list[StructureIssue]:
    """Header against schema, columns matched by name as Validata does (frictionless schema_sync)."""
    issues: list[StructureIssue] = []
    seen: set[str] = set()
    for h in headers:
        if h in seen:
            issues.append(
                StructureIssue("error", "duplicate-column", h, f"La colonne « {h} » apparaît plusieurs fois.")
            )
        seen.add(h)
    names = schema.field_names
    lower = {n.lower(): n for n in names}
    for f in schema.fields:
        if f.name in seen:
            continue
        hint = ""
        near = [h for h in headers if h.lower() == f.name.lower() or h.strip() == f.name]
        if near:
            hint = f" (une colonne « {near[0]} » est présente : vérifiez l'orthographe exacte)"
        if f.required:
            issues.append(
                StructureIssue(
                    "error",
                    "missing-required-column",
                    f.name,
                    f"Colonne obligatoire « {f.name} » absente du fichier{hint}.",
                )
            )
        else:
            issues.append(
                StructureIssue(
                    "warning",
                    "missing-column",
                    f.name,
                    f"Colonne facultative « {f.name} » absente du fichier{hint}.",
                )
            )
    known = set(names)
    for h in headers:
        if h not in known:
            near = lower.get(h.lower()) or lower.get(h.strip().lower())
            hint = f" (vouliez-vous dire « {near} » ?)" if near else ""
            issues.append(
                StructureIssue(
                    "warning", "extra-column", h, f"Colonne « {h} » inconnue du schéma, ignorée{hint}."
                )
            )
    present = [h for h in headers if h in known]
    expected = [n for n in names if n in seen]
    if present != expected:
        issues.append(
            StructureIssue(
                "warning",
                "column-order",
                "",
                "Les colonnes ne sont pas dans l'ordre du schéma (" + ", ".join(expected) + ").",
            )
        )
    return issues
