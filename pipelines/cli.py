"""``territoire``: the command line of the data team and the commune agents.

Exit codes: 0 when the platform did its work (even when the data had errors: those are reported, not
failures), 1 for ``validate`` on an invalid file, 2 for a bad command line (unknown producer, dataset,
schema), 3 when the platform itself failed.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipelines.cli_french import FrenchTyper
from pipelines.registry_index import RegistryIndex, registry_index

if TYPE_CHECKING:
    from contextlib import ExitStack

    from pipelines.registry import Registry

app = FrenchTyper(
    help="territoire — la plateforme de données mutualisée de Tours Métropole Val de Loire.",
    no_args_is_help=True,
    add_completion=False,
)


class _LazyConsole:
    """A rich ``Console`` built on first use: importing rich costs ~0.1 s that ``--help`` need not pay."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    @property
    def real(self) -> Any:
        """The rich ``Console`` itself, for code that uses it as a context manager or type-checks it."""
        if self._console is None:
            from rich.console import Console

            options = dict(self._options)
            if options.pop("wide_when_piped", False):
                # Tables are wide; when the output is not a terminal (CI logs, a pipe) do not wrap them
                # at 80 columns.
                options["width"] = None if sys.stdout.isatty() else 160
            self._console = Console(**options)
        return self._console


# No :emoji: codes: a feed's text reading ":warning:" is shown as written.
console: Any = _LazyConsole(wide_when_piped=True, emoji=False)
err: Any = _LazyConsole(stderr=True, emoji=False)

REPO_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def _home() -> Path:
    from resources.inbox import default_home

    return default_home()


def _registry() -> Registry:
    """The checked registry, for the commands that run the platform (``run``, ``approve``, ``demo``)."""
    from pipelines.registry import load_registry

    return load_registry()


def _index() -> RegistryIndex:
    """The registry's ids as plain data, cached: what the quick commands need (``drop``, ``status``…)."""
    try:
        return registry_index(_home() / "cache")
    except ValueError as exc:  # RegistryError, without importing pydantic to name it
        raise _failure(f"registre invalide : {exc}", code=3) from None


def _fail(message: str, code: int = 2) -> None:
    raise _failure(message, code)


def _failure(message: str, code: int = 2) -> typer.Exit:
    from rich.markup import escape

    # Messages quote files, feeds and servers: their text is shown as is, never read as Rich markup.
    err.print(f"[bold red]Erreur :[/] {escape(message)}")
    return typer.Exit(code)


def _known(what: str, ids: list[str]) -> str:
    return f"{what} connus : " + ", ".join(ids)


def _check_ids(
    registry: Registry | RegistryIndex, *, producer: str | None = None, dataset: str | None = None
) -> None:
    """Exit 2, listing the known ids, on a producer or dataset the registry does not know."""
    if producer is not None and producer not in registry.producer_ids:
        _fail(f"producteur inconnu « {producer} ». " + _known("Producteurs", registry.producer_ids))
    if dataset is not None and dataset not in registry.datasets:
        _fail(f"jeu de données inconnu « {dataset} ». " + _known("Jeux de données", list(registry.datasets)))


@app.command()
def drop(
    producer: Annotated[
        str, typer.Argument(metavar="PRODUCTEUR", help="identifiant du producteur, ex. tours")
    ],
    dataset: Annotated[
        str, typer.Argument(metavar="JEU", help="identifiant du jeu de données, ex. subventions")
    ],
    files: Annotated[
        list[Path], typer.Argument(metavar="FICHIERS", help="fichiers à déposer", exists=True, dir_okay=False)
    ],
) -> None:
    """Dépose des fichiers dans la boîte de réception d'un producteur."""
    from resources.inbox import drop_file

    index = _index()
    _check_ids(index, producer=producer, dataset=dataset)
    if producer not in index.datasets[dataset]["producer_ids"]:
        _fail(
            f"« {producer} » n'a pas de source pour « {dataset} » dans le registre. "
            + _known("Producteurs de ce jeu", index.datasets[dataset]["producer_ids"])
        )
    for path in files:
        target = drop_file(_home(), producer, dataset, path)
        console.print(f"déposé : {path} → {target}", markup=False)


@app.command()
def run(
    dataset: Annotated[str | None, typer.Option(help="ne traiter que ce jeu de données")] = None,
    producer: Annotated[str | None, typer.Option(help="ne traiter que ce producteur")] = None,
    history: Annotated[
        bool, typer.Option("--history", help="garder les exécutions dans l'historique Dagster (interface)")
    ] = False,
) -> None:
    """Matérialise, via Dagster, tout ce qui est en attente, puis publie le territoire."""
    from pipelines.runner import run_pending

    registry = _registry()
    _check_ids(registry, producer=producer, dataset=dataset)
    _prepare_dagster_home()
    try:
        with _demo_feeds():
            outcome = run_pending(
                registry, _home(), dataset=dataset, producer=producer, console=console.real, history=history
            )
    except Exception as exc:  # the platform itself failed: say so, exit 3
        _fail(f"la plateforme a échoué : {exc}", code=3)
    _print_batches(outcome.batches)
    if outcome.batches:
        read = sum(b["rows_read"] for b in outcome.batches)
        accepted = sum(b["rows_accepted"] for b in outcome.batches)
        quarantined = sum(b["rows_quarantined"] for b in outcome.batches)
        conserved = all(b["rows_read"] == b["rows_accepted"] + b["rows_quarantined"] for b in outcome.batches)
        verdict = "conservation vérifiée pour chaque lot" if conserved else "CONSERVATION ROMPUE"
        console.print(
            f"{len(outcome.batches)} lots : {read} lignes lues = {accepted} acceptées "
            f"+ {quarantined} en quarantaine ({verdict})."
        )
    from rich.markup import escape

    for failure in outcome.harvest_failures:
        console.print(f"[yellow]collecte en échec[/] {escape(failure)}")
    for blocked in outcome.blocked:
        console.print(f"[yellow]publication bloquée par la porte qualité[/] {escape(blocked)}")
    console.print(f"Entrepôt : {outcome.warehouse}", markup=False)
    console.print(f"Publication : {_home() / 'publish'}   Rapports : {_home() / 'reports'}", markup=False)
    if outcome.failed:
        _fail("certaines exécutions ont échoué : " + ", ".join(outcome.failed), code=3)


@app.command()
def validate(
    file: Annotated[
        Path,
        typer.Argument(metavar="FICHIER", exists=True, dir_okay=False, help="fichier à valider tel quel"),
    ],
    schema: Annotated[str, typer.Option("--schema", help="schéma, ex. scdl-subventions")],
    format: Annotated[str, typer.Option("--format", help="text ou json")] = "text",
) -> None:
    """Valide un fichier tel quel (mode strict, sans normalisation), comme Validata."""
    from assets.read import RefusedFile
    from quality.schema import available_schemas, load_schema
    from quality.strict import validate_file

    try:
        table_schema = load_schema(schema)
    except (KeyError, FileNotFoundError, ValueError):
        _fail(f"schéma inconnu « {schema} ». " + _known("Schémas", available_schemas()))
    try:
        report = validate_file(file, table_schema)
    except RefusedFile as exc:
        if format == "json":
            print(
                json.dumps(
                    [{"row": None, "field": None, "rule": exc.reason, "value": None, "message": str(exc)}],
                    ensure_ascii=False,
                    indent=1,
                )
            )
        else:
            err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    records = report.to_records()
    if format == "json":
        print(json.dumps(records, ensure_ascii=False, indent=1, default=str))
    else:
        if not records:
            from rich.markup import escape

            console.print(
                f"[green]{escape(file.name)} est valide au regard du schéma {table_schema.name} "
                f"{table_schema.version}.[/]"
            )
        for rec in records:
            console.print(
                f"ligne {rec['row']}, colonne {rec['field']}, règle {rec['rule']} : {rec['message']}",
                markup=False,
            )
    if any(r.get("level", "error") == "error" for r in records):
        raise typer.Exit(1)


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="graine du générateur")] = 37,
) -> None:
    """Écrit les dépôts du territoire de démonstration dans la boîte de réception."""
    from pipelines.demo import generate_demo
    from pipelines.feeds import write_demo_feeds

    registry = _registry()
    inbox = _home() / "inbox"
    producers = [p.model_dump() for p in registry.producers]
    files = generate_demo(inbox, producers, seed=seed)
    console.print(f"{len(files)} fichiers de démonstration déposés dans {inbox}")
    write_demo_feeds(_home() / "feeds", seed=seed)
    console.print(
        "Flux des opérateurs de démonstration (HTTP, CKAN, OpenDataSoft, WFS, GTFS, SQL) : "
        f"{_home() / 'feeds'}"
    )


@app.command()
def status(
    late: Annotated[bool, typer.Option("--late", help="seulement les producteurs en retard")] = False,
) -> None:
    """Tableau de couverture : qui a livré quoi, part de lignes valides, fraîcheur."""
    from rich.table import Table

    from quality.coverage import coverage_cells, late_cells_of

    producers, datasets, batches = _status_inputs()
    now = datetime.now(UTC)
    rows = coverage_cells(producers, datasets, batches, now, str(_home() / "reports"))
    if late:
        cells = late_cells_of(rows, now)
        table = Table(title="Producteurs en retard")
        for column in ("producteur", "jeu", "dernière livraison", "attendue depuis"):
            table.add_column(column)
        for cell in cells:
            due = _date(cell.due) or "jamais livré"
            table.add_row(cell.producer, cell.dataset, _date(cell.last_delivery), due)
        console.print(table)
        console.print(f"{len(cells)} retard(s).")
        return
    table = Table(title="Couverture du territoire")
    for column in ("producteur", "jeu", "attendu", "livré", "lignes valides", "fraîcheur", "rapport"):
        table.add_column(column, overflow="fold")
    for row in rows:
        share = row.get("valid_share")
        table.add_row(
            row["producer"],
            row["dataset"],
            "oui" if row["expected"] else "non",
            "oui" if row["delivered"] else "non",
            f"{share:.0%}" if share is not None else "—",
            "en retard" if row["late"] else ("à jour" if row["delivered"] else "—"),
            row.get("report_url") or "",
        )
    console.print(table)


def _status_inputs() -> tuple[list[dict], list[dict], list[dict]]:
    """Producers, datasets and the batch log as the coverage cells read them (dataset ids, not tables)."""
    from resources.batch_log import read_batches, warehouse_url

    index = _index()
    try:
        batches = read_batches(warehouse_url(_home()))
    except Exception as exc:  # no server, refused connection: say so in French, not a traceback
        from quality.url_mask import mask_urls_in

        # A driver may quote the connection string it was given, password included.
        reason = mask_urls_in((str(exc).strip().splitlines() or [type(exc).__name__])[0])
        raise _failure(f"lecture du journal des lots impossible : {reason}", code=3) from None
    by_table = index.dataset_by_table()
    for batch in batches:
        batch["dataset"] = by_table.get(batch["dataset"], batch["dataset"])
    return index.producers, list(index.datasets.values()), batches


@app.command()
def report(
    producer: Annotated[str, typer.Argument(metavar="PRODUCTEUR", help="identifiant du producteur")],
    dataset: Annotated[str, typer.Argument(metavar="JEU", help="identifiant du jeu de données")],
    batch: Annotated[str | None, typer.Option(help="un lot précis (par défaut le dernier)")] = None,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="ouvrir dans le navigateur")] = False,
) -> None:
    """Affiche le chemin du rapport du dernier lot (ou d'un lot donné) d'un producteur."""
    import webbrowser

    _check_ids(_index(), producer=producer, dataset=dataset)
    folder = _home() / "reports" / producer / dataset
    reports = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if batch:
        reports = [p for p in reports if p.stem == batch]
    if not reports:
        _fail(f"aucun rapport pour {producer} / {dataset}" + (f" (lot {batch})" if batch else ""), code=1)
    chosen = json.loads(reports[-1].read_text(encoding="utf-8"))
    html = reports[-1].with_suffix(".html")
    console.print(
        f"{chosen['file_name']} — {chosen['status']} : {chosen['rows_read']} lues, "
        f"{chosen['rows_accepted']} acceptées, {chosen['rows_quarantined']} en quarantaine",
        markup=False,
    )
    if chosen.get("message"):
        console.print(chosen["message"], markup=False)
    console.print(str(html), markup=False)
    if open_browser:
        webbrowser.open(html.as_uri())


@app.command()
def docs(
    output: Annotated[Path | None, typer.Option(help="fichier HTML à écrire")] = None,
) -> None:
    """Écrit le dictionnaire des données des tables publiées (HTML), tiré des commentaires de l'entrepôt."""
    from pipelines.docs import write_data_dictionary
    from resources.warehouse import Warehouse

    warehouse = Warehouse(home=str(_home()))
    warehouse.setup()
    path = write_data_dictionary(warehouse, output or _home() / "publish" / "dictionnaire.html")
    console.print(f"Dictionnaire des données : {path}")


@app.command()
def approve(
    dataset: Annotated[str, typer.Argument(metavar="JEU", help="identifiant du jeu de données")],
    version: Annotated[int, typer.Argument(metavar="VERSION", help="numéro de la version retenue")],
) -> None:
    """Approuve une version retenue (trop de lignes retirées) : elle est alors publiée."""
    from resources.warehouse import Warehouse

    registry = _registry()
    _check_ids(registry, dataset=dataset)
    warehouse = Warehouse(home=str(_home()))
    try:
        publication = warehouse.approve(registry.dataset(dataset).table, version)
    except (LookupError, ValueError) as exc:
        _fail(str(exc), code=1)
    console.print(
        f"{dataset} version {publication.version} : {publication.status}, {publication.rows} lignes."
    )
    _prepare_dagster_home()
    from pipelines.runner import write_publication_files

    if not write_publication_files(registry, _home(), dataset):
        _fail("la version est approuvée mais l'écriture des fichiers publiés a échoué", code=3)
    console.print(f"Fichiers et catalogue réécrits dans {_home() / 'publish'}.")


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="port de l'interface Dagster")] = 3000,
) -> None:
    """Lance l'interface Dagster (graphe, partitions, contrôles, capteur de la boîte de réception)."""
    import subprocess

    _prepare_dagster_home()
    with _demo_feeds():
        dagster = Path(sys.executable).parent / "dagster"
        command = [str(dagster), "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)]
        raise typer.Exit(subprocess.call(command, env={**os.environ, "TERRITOIRE_HOME": str(_home())}))


def _date(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d") if value else ""


def _demo_feeds() -> ExitStack:
    """The demo territory's operator feeds, served on loopback while the block lasts, when
    ``territoire demo`` wrote them and nothing else points the registry's feeds elsewhere."""
    from contextlib import ExitStack

    from pipelines.feeds import FEEDS_URL_VAR, start_demo_feeds

    stack = ExitStack()
    if (_home() / "feeds").is_dir() and FEEDS_URL_VAR not in os.environ:
        stack.enter_context(start_demo_feeds(_home()))
    return stack


def _prepare_dagster_home() -> Path:
    """Dagster keeps its run history under the platform's home, configured by the repo's dagster.yaml."""
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or _home() / "dagster")
    import shutil

    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copyfile(REPO_DAGSTER_YAML, dagster_home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home


def _print_batches(batches: list[dict]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Lots traités")
    for column in ("jeu", "producteur", "fichier", "lues", "acceptées", "en quarantaine", "statut"):
        table.add_column(
            column, justify="right" if column in ("lues", "acceptées", "en quarantaine") else "left"
        )
    keys = ("dataset", "producer", "file_name", "rows_read", "rows_accepted", "rows_quarantined", "status")
    for b in batches:
        # Cells are Text, not markup: a file name comes from the agent or from a feed's headers.
        table.add_row(*(Text(str(b[key])) for key in keys))
    console.print(table)
    if not batches:
        console.print("Rien de nouveau : aucun lot créé.")


def main() -> None:  # pragma: no cover - console entry point
    app()
