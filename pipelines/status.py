"""What ``territoire status`` reports beyond the coverage table: held changes and files still waiting.

``waiting`` lists every file under ``inbox/`` no run has taken yet, the misplaced ones included, each
with why it waits, so an agent whose file "disappeared into the inbox" gets an answer: a folder
written with capitals, a file put straight in the producer's folder, a dataset the registry does not
know, or a dataset whose source for that producer is a harvest, not a drop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from quality.holds import holds_document
from resources.inbox import SAFE_ID, drop_sequence
from resources.registry.index import RegistryIndex


def waiting_files(index: RegistryIndex, home: Path) -> list[dict[str, Any]]:
    """Every file in the inbox, with ``processable`` and a French ``why``."""
    inbox = home / "inbox"
    if not inbox.is_dir():
        return []
    found = []
    for path in sorted(p for p in inbox.rglob("*") if p.is_file() and not p.name.startswith(".")):
        parts = path.relative_to(inbox).parts
        producer = parts[0] if len(parts) > 1 else None
        dataset = parts[1] if len(parts) > 2 else None
        processable, why = _why(index, parts)
        entry = {
            "path": str(path),
            "producer": producer,
            "dataset": dataset,
            "file_name": path.name,
            "processable": processable,
            "why": why,
        }
        if processable and producer and dataset:
            entry["sequence"] = drop_sequence(path)
        found.append(entry)
    return found


def _why(index: RegistryIndex, parts: tuple[str, ...]) -> tuple[bool, str]:
    layout = "inbox/<producteur>/<jeu de données>/<fichier>"
    if len(parts) == 1:
        return False, f"fichier posé directement dans inbox/ : le ranger dans {layout}"
    producer = parts[0]
    producers = set(index.producer_ids)
    if producer not in producers:
        lowered = producer.lower()
        if lowered in producers:
            return False, f"dossier « {producer} » écrit avec des majuscules : le renommer « {lowered} »"
        return False, f"producteur « {producer} » inconnu du registre : le ranger dans {layout}"
    if len(parts) == 2:
        return False, (
            f"fichier posé dans inbox/{producer}/ sans dossier de jeu de données : le ranger dans "
            f"inbox/{producer}/<jeu de données>/ (jeux : {', '.join(_drop_datasets(index, producer))})"
        )
    dataset_id = parts[1]
    if len(parts) > 3:
        return (
            False,
            f"fichier dans un sous-dossier de inbox/{producer}/{dataset_id}/ : le remonter d'un niveau",
        )
    dataset = index.datasets.get(dataset_id)
    if dataset is None:
        lowered = dataset_id.lower()
        if lowered in index.datasets:
            return False, f"dossier « {dataset_id} » écrit avec des majuscules : le renommer « {lowered} »"
        return False, (
            f"jeu de données « {dataset_id} » inconnu du registre (jeux : "
            f"{', '.join(_drop_datasets(index, producer))})"
        )
    kind = dataset.get("sources", {}).get(producer)
    if kind is None:
        return False, f"{producer} n'a pas de source pour « {dataset_id} » dans le registre"
    if kind != "drop":
        return False, (
            f"la source de {producer} pour « {dataset_id} » est une collecte ({kind}), pas un dépôt : "
            "le fichier n'est pas lu"
        )
    if not SAFE_ID.fullmatch(producer) or not SAFE_ID.fullmatch(dataset_id):
        return False, "nom de dossier invalide"
    return True, "en attente du prochain traitement (territoire run, ou le capteur de l'interface Dagster)"


def _drop_datasets(index: RegistryIndex, producer: str) -> list[str]:
    return [d_id for d_id, d in index.datasets.items() if d.get("sources", {}).get(producer) == "drop"]


def status_document(index: RegistryIndex, home: Path, holds: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON ``territoire status --format json`` prints: ``holds`` and ``waiting``."""
    return {
        "holds": holds_document(holds, index.dataset_by_table()),
        "waiting": waiting_files(index, home),
    }


def print_holds(console: Console, holds: list[dict[str, Any]]) -> None:
    """One line per held version (``status_document``'s ``holds``), with the command that approves it."""
    for held in holds:
        console.print(
            f"[yellow]En attente d'approbation[/] {held['dataset']} version {held['version']} "
            f"({', '.join(held['producers'])}) : {held['reason']}. Pour publier : {held['approve']}",
            soft_wrap=True,  # the command must stay whole, to be copied
        )


def print_status_extras(console: Console, document: dict[str, Any]) -> None:
    """Below the coverage table: held changes with their command, then the files still waiting."""
    print_holds(console, document["holds"])
    if not document["holds"]:
        console.print("Aucun changement en attente d'approbation.")
    waiting = document["waiting"]
    if waiting:
        table = Table(title="Fichiers en attente dans la boîte de réception")
        for column in ("fichier", "producteur", "jeu", "pourquoi"):
            table.add_column(column, overflow="fold")
        for w in waiting:
            table.add_row(w["path"], w["producer"] or "", w["dataset"] or "", w["why"])
        console.print(table)
    else:
        console.print("Aucun fichier en attente dans la boîte de réception.")
