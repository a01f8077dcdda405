"""``territoire``: the command line of the data team and the commune agents.

One module because it is one Typer application: every command is a thin wrapper that imports its work
lazily (``territoire status`` answers without loading Dagster or pandas) and shares the app, the
registry-loading callback, the exit codes below and the French usage errors; commands spread over
modules would each import the app back and register themselves by import side effect.

Exit codes: 0 when the platform did its work (even when the data had errors: those are reported, not
failures), 1 for ``validate`` on an invalid file, 2 for a bad command line (unknown producer, dataset,
schema), 3 when the platform itself failed.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipelines.cli_french import FrenchTyper
from resources.registry.index import RegistryIndex, registry_index

if TYPE_CHECKING:
    from contextlib import ExitStack

    from pipelines.pending import Lookout
    from resources.registry.model import Registry

app = FrenchTyper(
    name="territoire",
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
    from resources.registry.load import load_registry

    try:
        return load_registry()
    except ValueError as exc:  # RegistryError
        raise _registry_failure(exc) from None


def _index() -> RegistryIndex:
    """The registry's ids as plain data, cached: what the quick commands need (``drop``, ``status``…)."""
    try:
        return registry_index(_home() / "cache")
    except ValueError as exc:  # RegistryError, without importing pydantic to name it
        raise _registry_failure(exc) from None


def _registry_failure(exc: Exception) -> typer.Exit:
    """A registry with a mistake: one French line per problem (file, key, what to write), exit 2."""
    for line in str(exc).splitlines():
        err.print(f"[bold red]Registre invalide :[/] {line}", soft_wrap=True, highlight=False)
    return typer.Exit(2)


@app.callback()
def _registry_must_load() -> None:
    """Every command refuses to start on a registry with a mistake (the cached index: no cost)."""
    _index()


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
        # Plain text: no rich import for the command agents run most, and no markup in file names.
        typer.echo(f"déposé : {path} → {target}")


@app.command()
def run(
    dataset: Annotated[str | None, typer.Option(help="ne traiter que ce jeu de données")] = None,
    producer: Annotated[str | None, typer.Option(help="ne traiter que ce producteur")] = None,
    history: Annotated[
        bool, typer.Option("--history", help="garder les exécutions dans l'historique Dagster (interface)")
    ] = False,
) -> None:
    """Matérialise, via Dagster, tout ce qui est en attente, puis publie le territoire."""
    from rich.markup import escape

    from pipelines.quick_exit import skip_final_collection
    from quality.french import fr_int

    skip_final_collection()

    index = _index()
    _check_ids(index, producer=producer, dataset=dataset)
    try:
        with _demo_feeds() as stack:
            # Drops waiting are work for sure: the helper process starts now, its imports running on
            # the other core while this one starts the warehouse, asks the feeds and imports Dagster.
            pool = _early_helper(stack, index, dataset=dataset, producer=producer, history=history)
            # What has work is decided before Dagster and pandas are imported: with nothing new, the
            # run ends here. ``--history`` records every run, so it always goes through Dagster.
            lookout = None
            if not history:
                from pipelines.pending import look_for_work

                lookout = look_for_work(index, _home(), dataset=dataset, producer=producer)
            if lookout is not None and lookout.idle:
                outcome = None
            else:
                outcome = _run_everything(dataset, producer, history, lookout, pool)
    except typer.Exit:
        raise
    except Exception as exc:  # the platform itself failed: say so, exit 3
        _fail(f"la plateforme a échoué : {exc}", code=3)
    if outcome is None:
        _print_nothing_new(index, lookout)
        return
    _print_batches(outcome.batches)
    if outcome.batches:
        read = sum(b["rows_read"] for b in outcome.batches)
        accepted = sum(b["rows_accepted"] for b in outcome.batches)
        quarantined = sum(b["rows_quarantined"] for b in outcome.batches)
        conserved = all(b["rows_read"] == b["rows_accepted"] + b["rows_quarantined"] for b in outcome.batches)
        verdict = "conservation vérifiée pour chaque lot" if conserved else "CONSERVATION ROMPUE"
        console.print(
            f"{fr_int(len(outcome.batches))} lots : {fr_int(read)} lignes lues = "
            f"{fr_int(accepted)} acceptées + {fr_int(quarantined)} en quarantaine ({verdict})."
        )

    for failure in outcome.harvest_failures:
        console.print(f"[yellow]collecte en échec[/] {escape(failure)}")
    for blocked in outcome.blocked:
        console.print(f"[yellow]publication bloquée par la porte qualité[/] {escape(blocked)}")
    _print_run_holds(index, outcome.holds)
    for repaired in outcome.repaired:
        console.print(f"[cyan]réparé[/] {escape(repaired)}", soft_wrap=True)
    for task in outcome.helper_lost:
        console.print(
            f"[yellow]processus auxiliaire en échec[/] pendant {escape(task)} : la tâche a été reprise ici ; "
            "les lots qu'il avait déjà enregistrés figurent dans ce tableau, lus dans le journal des lots.",
            soft_wrap=True,
        )
    for batch in outcome.failed_batches:
        console.print(
            f"[red]lot en échec[/] {escape(batch['dataset'])} / {escape(batch['producer'])} / "
            f"{escape(batch['file_name'])} : {escape(batch['message'])}"
        )
    console.print(f"Entrepôt : {outcome.warehouse}", markup=False)
    console.print(f"Publication : {_home() / 'publish'}   Rapports : {_home() / 'reports'}", markup=False)
    if outcome.failed:
        _fail("certaines exécutions ont échoué : " + ", ".join(outcome.failed), code=3)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def validate(
    file: Annotated[
        Path,
        typer.Argument(metavar="FICHIER", exists=True, dir_okay=False, help="fichier à valider tel quel"),
    ],
    schema: Annotated[str, typer.Option("--schema", help="schéma, ex. scdl-subventions")],
    format: Annotated[
        OutputFormat, typer.Option("--format", help="text (lisible) ou json (machine)")
    ] = OutputFormat.text,
) -> None:
    """Valide un fichier tel quel (mode strict, sans normalisation), comme Validata."""
    from contextlib import redirect_stdout

    from assets.read import RefusedFile
    from assets.read.strict import validate_file
    from quality.schema import available_schemas, load_schema

    try:
        table_schema = load_schema(schema)
    except (KeyError, FileNotFoundError, ValueError):
        _fail(f"schéma inconnu « {schema} ». " + _known("Schémas", available_schemas()))
    try:
        # Libraries that print (xlrd's "WARNING *** …" goes to stdout) must not break the JSON a
        # script reads from stdout: whatever they say goes to stderr.
        with redirect_stdout(sys.stderr):
            report = validate_file(file, table_schema)
    except RefusedFile as exc:
        if format is OutputFormat.json:
            print(
                json.dumps(
                    [{"row": None, "field": None, "rule": exc.reason, "value": None, "message": str(exc)}],
                    ensure_ascii=False,
                    indent=1,
                )
            )
        else:
            err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(1) from None
    records = report.to_records()
    if format is OutputFormat.json:
        print(json.dumps(records, ensure_ascii=False, indent=1, default=str))
    else:
        for line in validation_lines(records):
            console.print(line, markup=False, highlight=False)
        console.print(
            validation_summary(file.name, table_schema, report.rows, records, report.structure),
            markup=False,
            highlight=False,
        )
    if any(r.get("level", "error") == "error" for r in records):
        raise typer.Exit(1)


def validation_lines(records: list[dict[str, Any]]) -> list[str]:
    """One line per problem: structure first (no row: it concerns the whole column), then cells."""
    from quality.french import fr_int

    lines = []
    for rec in records:
        message = str(rec.get("message") or "").strip()
        if rec.get("row") is None:
            lines.append(f"structure — {message}")
        elif message.startswith("Colonne"):  # the validator's message names column and row already
            lines.append(message)
        else:
            lines.append(f"ligne {fr_int(rec['row'])}, colonne « {rec.get('field')} » : {message}")
    return lines


def validation_summary(
    file_name: str, table_schema: Any, rows: int, records: list[dict[str, Any]], structure: list[Any]
) -> str:
    """« 120 lignes lues ; 7 erreurs : 4 numéro SIRET invalide, 3 valeur hors de la liste autorisée. »"""
    from collections import Counter

    from quality.french import fr_int
    from quality.reports.fixes import rule_label

    warnings = sum(1 for s in structure if getattr(s, "level", "") == "warning")
    head = f"{file_name} ({table_schema.name} {table_schema.version}) : {fr_int(rows)} lignes lues ; "
    tail = f" ; {fr_int(warnings)} avertissement(s) de structure." if warnings else "."
    if not records:
        return head + "valide, aucune erreur" + tail
    by_rule = Counter(rule_label(str(r.get("rule"))) for r in records)
    detail = ", ".join(f"{fr_int(n)} {label}" for label, n in by_rule.most_common())
    return head + f"{fr_int(len(records))} erreur(s) : {detail}" + tail


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="graine du générateur")] = 37,
) -> None:
    """Écrit les dépôts du territoire de démonstration dans la boîte de réception."""
    from pipelines.demo import generate_demo
    from pipelines.feeds import write_demo_feeds
    from pipelines.quick_exit import skip_final_collection

    skip_final_collection()  # 0.3 s of the demo's exit

    # The embedded cluster's initdb (1-2 s, part of it waiting on the disk) runs meanwhile, so
    # `territoire run` after the demo only starts the server.
    cluster = _init_cluster_in_background()
    try:
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
    finally:
        if cluster is not None:
            cluster.join()


def _init_cluster_in_background() -> Any:
    """A thread initialising the embedded cluster under the home, when the home uses one (no
    ``TERRITOIRE_WAREHOUSE_URL``). Its failure is left to ``territoire run``, which starts the
    cluster and says in French what is missing."""
    if os.environ.get("TERRITOIRE_WAREHOUSE_URL"):
        return None
    import threading

    from resources.postgres_server import init_cluster

    def init() -> None:
        try:
            init_cluster(_home())
        except Exception:  # noqa: BLE001 - PostgreSQL missing, initdb refused: `run` reports it
            pass

    thread = threading.Thread(target=init, name="initdb", daemon=True)
    thread.start()
    return thread


@app.command()
def status(
    late: Annotated[bool, typer.Option("--late", help="seulement les producteurs en retard")] = False,
    format: Annotated[
        str, typer.Option("--format", help="text ou json (retenues et fichiers en attente)")
    ] = "text",
) -> None:
    """Tableau de couverture : qui a livré quoi, part de lignes valides, fraîcheur, retenues, attente."""
    from rich.table import Table

    from pipelines.status import print_status_extras, status_document
    from quality.coverage import coverage_cells, late_cells_of, report_url
    from quality.french import fr_percent

    document = status_document(_index(), _home(), _read_log("holds"))
    if format == "json":
        print(json.dumps(document, ensure_ascii=False, indent=1, default=str))
        return
    producers, datasets, batches = _status_inputs()
    now = datetime.now(UTC)
    rows = coverage_cells(producers, datasets, batches, now)
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
    reports = _home() / "reports"
    table = Table(title=f"Couverture du territoire (rapports sous {reports})", title_justify="left")
    for column in ("producteur", "jeu", "dernier fichier", "lignes valides", "fraîcheur", "rapport"):
        table.add_column(column, justify="right" if column == "lignes valides" else "left", overflow="fold")
    for row in rows:
        table.add_row(
            row["producer"],
            row["dataset"],
            _last_file(row),
            fr_percent(row.get("valid_share"), 0),
            "en retard" if row["late"] else ("à jour" if row["delivered"] else "—"),
            report_url("", row["producer"], row["dataset"], row["last_batch"]) if row["delivered"] else "",
        )
    console.print(table)
    print_status_extras(console, document)


def _read_log(what: str) -> list[dict]:
    """``meta.batches`` (``batches``) or the held versions (``holds``), read with psycopg alone."""
    from resources.batch_log import read_batches, read_holds, warehouse_url

    try:
        return (read_batches if what == "batches" else read_holds)(warehouse_url(_home()))
    except Exception as exc:  # no server, refused connection: say so in French, not a traceback
        from quality.url_mask import mask_urls_in

        # A driver may quote the connection string it was given, password included.
        reason = mask_urls_in((str(exc).strip().splitlines() or [type(exc).__name__])[0])
        raise _failure(f"lecture du journal des lots impossible : {reason}", code=3) from None


def _last_file(row: dict[str, Any]) -> str:
    """« chargé », « refusé : pas un tableau », « jamais reçu »; « (volontaire) » when not owed."""
    from quality.french import status_label
    from quality.reports.fixes import refusal_phrase

    if not row["delivered"]:
        return "jamais reçu" if row["expected"] else "—"
    text = status_label(row["last_status"])
    if row["last_status"] == "refused":
        text += f" : {refusal_phrase(row.get('last_refusal_reason'))}"
    return text + ("" if row["expected"] else " (volontaire)")


def _status_inputs() -> tuple[list[dict], list[dict], list[dict]]:
    """Producers, datasets and the batch log as the coverage cells read them (dataset ids, not tables)."""
    index = _index()
    batches = _read_log("batches")
    by_table = index.dataset_by_table()
    for batch in batches:
        batch["dataset"] = by_table.get(batch["dataset"], batch["dataset"])
        if batch.get("status") == "refused":
            batch["refusal_reason"] = _refusal_reason(batch)
    return index.producers, list(index.datasets.values()), batches


def _refusal_reason(batch: dict[str, Any]) -> str | None:
    """The refusal's code, kept in the batch's JSON report (meta.batches keeps the sentence only)."""
    from quality.reports.paths import read_batch_report

    report = read_batch_report(
        _home() / "reports", str(batch["producer"]), str(batch["dataset"]), str(batch["batch_id"])
    )
    return None if report is None else report.get("refusal_reason")


@app.command()
def report(
    producer: Annotated[str, typer.Argument(metavar="PRODUCTEUR", help="identifiant du producteur")],
    dataset: Annotated[str, typer.Argument(metavar="JEU", help="identifiant du jeu de données")],
    batch: Annotated[str | None, typer.Option(help="un lot précis (par défaut le dernier)")] = None,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="ouvrir dans le navigateur")] = False,
) -> None:
    """Affiche le chemin du rapport du dernier lot (ou d'un lot donné) d'un producteur."""
    import webbrowser

    from quality.french import fr_int, status_label

    _check_ids(_index(), producer=producer, dataset=dataset)
    folder = _home() / "reports" / producer / dataset
    reports = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if batch:
        reports = [p for p in reports if p.stem == batch]
    if not reports:
        _fail(f"aucun rapport pour {producer} / {dataset}" + (f" (lot {batch})" if batch else ""), code=1)
    chosen = json.loads(reports[-1].read_text(encoding="utf-8"))
    html = reports[-1].with_suffix(".html")
    typer.echo(
        f"{chosen['file_name']} — {status_label(chosen['status'])} : {fr_int(chosen['rows_read'])} lues, "
        f"{fr_int(chosen['rows_accepted'])} acceptées, {fr_int(chosen['rows_quarantined'])} en quarantaine"
    )
    if chosen.get("message"):
        typer.echo(chosen["message"])
    typer.echo(str(html))
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
    from quality.french import fr_int, status_label
    from resources.warehouse import Warehouse

    registry = _registry()
    _check_ids(registry, dataset=dataset)
    warehouse = Warehouse(home=str(_home()))
    try:
        publication = warehouse.approve(registry.dataset(dataset).table, version)
    except (LookupError, ValueError) as exc:
        _fail(str(exc), code=1)
    console.print(
        f"{dataset} version {publication.version} : {status_label(publication.status)}, "
        f"{fr_int(publication.rows)} lignes."
    )
    _prepare_dagster_home()
    from pipelines.publication_run import write_publication_files

    if not write_publication_files(registry, _home(), dataset):
        _fail("la version est approuvée mais l'écriture des fichiers publiés a échoué", code=3)
    console.print(f"Fichiers et catalogue réécrits dans {_home() / 'publish'}.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="adresse d'écoute")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port d'écoute")] = 8000,
) -> None:
    """Lance le portail : l'API du territoire publié (/api/), OGC API – Features (/ogc/), tuiles (/tiles/)."""
    from portal.server import serve as run_portal

    try:
        run_portal(host=host, port=port, home=str(_home()))
    except (LookupError, ConnectionError) as exc:
        _fail(str(exc), code=3)


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="port de l'interface Dagster")] = 3000,
) -> None:
    """Lance l'interface Dagster (graphe, partitions, contrôles, capteur de la boîte de réception)."""
    import subprocess

    _prepare_dagster_home()
    with _demo_feeds():
        dagster = Path(sys.executable).parent / "dagster"
        # The workspace names the code location « territoire » (a module alone would be named after it).
        workspace = REPO_DAGSTER_YAML.with_name("workspace.yaml")
        command = [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]
        console.print(
            f"Interface Dagster : http://127.0.0.1:{port} (adresse 127.0.0.1, port {port}) — "
            "emplacement de code « territoire ». Ctrl+C pour l'arrêter."
        )
        raise typer.Exit(subprocess.call(command, env={**os.environ, "TERRITOIRE_HOME": str(_home())}))


def _run_everything(
    dataset: str | None, producer: str | None, history: bool, lookout: Lookout | None, pool: Any
) -> Any:
    """The run through Dagster, given the feeds' answers already asked for (``lookout``) and the helper
    process already started (``pool``, or None)."""
    from pipelines.runner import run_pending

    registry = _registry()
    _prepare_dagster_home()
    return run_pending(
        registry,
        _home(),
        dataset=dataset,
        producer=producer,
        console=console.real,
        history=history,
        downloads=lookout.downloads if lookout is not None else None,
        # Without an early helper, a second process still takes part of the tasks when there are
        # enough (pipelines/partition_run.py); the console script's main module is guarded, as the
        # spawned process needs.
        helper=None,
        pool=pool,
    )


def _early_helper(
    stack: ExitStack, index: RegistryIndex, *, dataset: str | None, producer: str | None, history: bool
) -> Any:
    """The helper process (``pipelines/helper_process.py``), started when enough drops wait and a core
    is free; shut down when ``stack`` closes. It loads the registry itself, as this command does."""
    from pipelines.helper_process import MIN_SHARED_PARTITIONS, helper_pool, start_helper
    from pipelines.pending import drops_waiting

    if (os.cpu_count() or 1) < 2:
        return None
    if drops_waiting(index, _home(), dataset=dataset, producer=producer) < MIN_SHARED_PARTITIONS:
        return None
    _prepare_dagster_home()  # the helper inherits DAGSTER_HOME, which --history writes to
    pool = stack.enter_context(helper_pool(None, _home(), history))
    start_helper(pool)
    return pool


def _print_nothing_new(index: RegistryIndex, lookout: Lookout) -> None:
    """The summary of a run that found nothing to do: what was checked, feeds down, holds."""
    from rich.markup import escape

    console.print(lookout.summary(), markup=False, highlight=False, soft_wrap=True)
    for failure in lookout.harvest_failures:
        console.print(f"[yellow]collecte en échec[/] {escape(failure)}")
    _print_run_holds(index, lookout.holds)
    console.print(f"Entrepôt : {lookout.warehouse}", markup=False)
    console.print(f"Publication : {_home() / 'publish'}   Rapports : {_home() / 'reports'}", markup=False)


def _print_run_holds(index: RegistryIndex, holds: list[dict]) -> None:
    from pipelines.status import print_holds
    from quality.holds import holds_document

    print_holds(console, holds_document(holds, index.dataset_by_table()))


def _date(value: datetime | None) -> str:
    from quality.french import fr_date

    return fr_date(value, with_time=False) if value else ""


def _demo_feeds() -> ExitStack:
    """The demo territory's operator feeds, served on loopback while the block lasts, when
    ``territoire demo`` wrote them and nothing else points the registry's feeds elsewhere. The files
    already written are served as they are (generating them imports the demo's generators, seconds a
    run with nothing new would pay); a folder missing one of them is written again first."""
    from contextlib import ExitStack

    from pipelines.feed_server import FEEDS_URL_VAR, serve_demo_feeds, written

    stack = ExitStack()
    folder = _home() / "feeds"
    if folder.is_dir() and FEEDS_URL_VAR not in os.environ:
        if written(folder):
            stack.enter_context(serve_demo_feeds(_home()))
        else:
            from pipelines.feeds import start_demo_feeds

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
    from quality.french import fr_int, status_label
    from quality.reports.fixes import refusal_phrase

    for b in batches:
        status = status_label(b["status"])
        if b["status"] == "refused":
            status += f" : {refusal_phrase(b.get('refusal_reason'))}"
        # Cells are Text, not markup: a file name comes from the agent or from a feed's headers.
        cells = (b["dataset"], b["producer"], b["file_name"], fr_int(b["rows_read"] or 0))
        cells += (fr_int(b["rows_accepted"] or 0), fr_int(b["rows_quarantined"] or 0), status)
        table.add_row(*(Text(str(cell)) for cell in cells))
    console.print(table)
    if not batches:
        console.print("Rien de nouveau : aucun lot créé.")


def main() -> None:  # pragma: no cover - console entry point
    app()
