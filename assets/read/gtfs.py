"""GTFS feeds as frames: stops with the lines that serve them, routes, and the feed's broken references.

Pure: zip bytes in, frames out. Cells stay text, as in a staged frame, and every frame's index is the
row number in its file as a person sees it (header on line 1, first stop on line 2), so a consistency
error names the file and row an operator can open. Files may start with a UTF-8 BOM (many exports
do) and may sit in one sub-folder of the zip.

The zip is untrusted: its central directory is checked (sizes, ratios, names) by
:func:`assets.read.safety.inspect_zip` before anything is inflated, and only the ``.txt`` members we need
are read, in memory, never extracted.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from assets.read.limits import MAX_IN_MEMORY_BYTES
from assets.read.safety import UnsafeFile, inspect_zip
from assets.read.staged import RefusedFile, StagedTable
from quality.errors import FILE_ERROR_COLUMNS

REQUIRED_FILES = ("stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
REQUIRED_COLUMNS = {
    "stops.txt": ("stop_id",),
    "routes.txt": ("route_id",),
    "trips.txt": ("route_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_id"),
}
FIRST_DATA_LINE = 2
# location_type 0/empty (stop or platform) and 1 (station) are places a traveller looks for; 2-4
# (entrances, generic nodes, boarding areas) are not published as stops.
PUBLISHED_LOCATION_TYPES = ("", "0", "1")
# Consistency errors listed one by one in a batch report; beyond, a count (a broken export can have
# thousands, and the first ones are enough to find the cause).
MAX_LISTED_ERRORS = 20


class GtfsError(Exception):
    """A feed that cannot be read; ``reason`` is a short code, the message a French sentence naming the
    feed, ``detail`` the same sentence without the name (for a caller that names the file itself)."""

    def __init__(self, reason: str, name: str, detail: str) -> None:
        super().__init__(f"flux GTFS « {name} » : {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class GtfsFeed:
    """The tables of one feed we use, as text frames indexed by source row."""

    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame

    def consistency_errors(self) -> pd.DataFrame:
        """References to things the feed does not define: ``[file, row, field, rule, value, message]``."""
        stop_ids = self.stops["stop_id"]
        parts = [
            _dangling(self.stop_times, "stop_times.txt", "stop_id", stop_ids, "stops.txt", "l'arrêt"),
            _dangling(
                self.stop_times, "stop_times.txt", "trip_id", self.trips["trip_id"], "trips.txt", "le trajet"
            ),
            _dangling(self.trips, "trips.txt", "route_id", self.routes["route_id"], "routes.txt", "la ligne"),
        ]
        if "parent_station" in self.stops:
            with_parent = self.stops[self.stops["parent_station"] != ""]
            parts.append(
                _dangling(with_parent, "stops.txt", "parent_station", stop_ids, "stops.txt", "la station")
            )
        duplicated = self.stops[stop_ids.duplicated(keep="first")]
        parts.append(
            _errors(
                duplicated,
                "stops.txt",
                "stop_id",
                "unique",
                "stops.txt ligne "
                + duplicated.index.astype(str)
                + " : l'identifiant d'arrêt « "
                + duplicated["stop_id"]
                + " » est déjà utilisé plus haut dans le fichier",
            )
        )
        errors = pd.concat(parts, ignore_index=True)
        return errors.astype({"row": "int64"})[FILE_ERROR_COLUMNS]


def read_gtfs(data: bytes, name: str = "gtfs.zip") -> GtfsFeed:
    """Read a GTFS zip; stops gain ``lat``, ``lon`` and ``routes`` (short names, ``;``-joined)."""
    try:
        entries = inspect_zip(io.BytesIO(data))  # type: ignore[arg-type]  # zipfile takes any binary file
    except UnsafeFile as exc:
        raise GtfsError(exc.reason, name, f"refusé : {exc}") from None
    members: dict[str, zipfile.ZipInfo] = {}
    for info in entries:
        base = PurePosixPath(info.filename.replace("\\", "/")).name
        if base in REQUIRED_FILES and not info.is_dir():
            if base in members:
                raise GtfsError("ambiguous", name, f"le fichier {base} y figure deux fois")
            members[base] = info
    missing = [f for f in REQUIRED_FILES if f not in members]
    if missing:
        raise GtfsError("missing-file", name, f"fichier(s) obligatoire(s) absent(s) : {', '.join(missing)}")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tables = {file: _read_table(archive, members[file], name) for file in REQUIRED_FILES}
    stops = tables["stops.txt"]
    return GtfsFeed(
        stops=_stops_with_routes(stops, tables["routes.txt"], tables["trips.txt"], tables["stop_times.txt"]),
        routes=tables["routes.txt"],
        trips=tables["trips.txt"],
        stop_times=tables["stop_times.txt"],
    )


def read_gtfs_stops(path: Path) -> StagedTable:
    """The stops of the GTFS zip at ``path`` as a staged frame, the ingest ``reader`` for gtfs sources.

    Cells are text and the index is the row number in ``stops.txt``. ``position`` is the
    ``stop_lon, stop_lat`` geopoint (the coordinate columns are folded into it) and ``routes`` the
    lines serving the stop. A feed that cannot be read raises :class:`RefusedFile`; broken references
    between its files are warnings naming file and row, since the stops themselves are still usable.
    """
    size = path.stat().st_size
    if size > MAX_IN_MEMORY_BYTES:
        raise RefusedFile(path, "too-large", f"le flux GTFS fait {size} octets, au-delà de la limite")
    try:
        feed = read_gtfs(path.read_bytes(), path.name)
    except GtfsError as exc:
        raise RefusedFile(path, exc.reason, f"flux GTFS {exc.detail}") from None
    stops = feed.stops
    warnings: list[str] = []
    if "location_type" in stops:
        kept = stops["location_type"].isin(PUBLISHED_LOCATION_TYPES)
        if not kept.all():
            left = stops.index[~kept]
            warnings.append(
                f"stops.txt : {len(left)} emplacement(s) qui ne sont ni des arrêts ni des stations "
                f"(location_type 2 à 4 : entrées, nœuds, zones d'embarquement) ne sont pas publiés "
                f"(lignes {_listed(left)})."
            )
        stops = stops[kept]
    lon, lat = stops["lon"], stops["lat"]
    position = (lon + ", " + lat).where((lon != "") | (lat != ""), "")
    frame = stops.drop(columns=["lat", "lon", "stop_lat", "stop_lon"], errors="ignore")
    frame.insert(frame.columns.get_loc("stop_name") + 1, "position", position.astype(object))

    errors = feed.consistency_errors()
    if not errors.empty:
        warnings.append(
            f"Le flux GTFS contient {len(errors)} référence(s) incohérente(s) entre ses fichiers : "
            "les arrêts sont publiés, mais l'opérateur doit corriger son export."
        )
        warnings.extend(errors["message"].head(MAX_LISTED_ERRORS))
        if len(errors) > MAX_LISTED_ERRORS:
            warnings.append(f"… et {len(errors) - MAX_LISTED_ERRORS} autre(s) incohérence(s) du même genre.")
    return StagedTable(
        frame=frame,
        format="gtfs",
        encoding="utf-8",
        delimiter=",",
        header_line=1,
        sheet="stops.txt",
        warnings=warnings,
    )


def _listed(rows: pd.Index, shown: int = 10) -> str:
    listed = ", ".join(str(r) for r in rows[:shown])
    return listed + (" …" if len(rows) > shown else "")


def _read_table(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> pd.DataFrame:
    file = PurePosixPath(info.filename).name
    try:
        with archive.open(info) as handle:
            frame = pd.read_csv(
                handle, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=True
            )
    except (UnicodeDecodeError, pd.errors.ParserError, zipfile.BadZipFile) as exc:
        raise GtfsError("unreadable", name, f"{file} est illisible ({exc})") from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(REQUIRED_COLUMNS[file]), dtype=object)
    frame.columns = [str(c).strip() for c in frame.columns]
    absent = [c for c in REQUIRED_COLUMNS[file] if c not in frame.columns]
    if absent:
        raise GtfsError("missing-column", name, f"colonne(s) {', '.join(absent)} absente(s) de {file}")
    # Object dtype of str, like a staged frame, whatever pandas' default string dtype is.
    frame = frame.astype(object).apply(lambda column: column.str.strip())
    frame.index = pd.RangeIndex(FIRST_DATA_LINE, FIRST_DATA_LINE + len(frame))
    return frame


def _stops_with_routes(
    stops: pd.DataFrame, routes: pd.DataFrame, trips: pd.DataFrame, stop_times: pd.DataFrame
) -> pd.DataFrame:
    label = routes.get("route_short_name", pd.Series("", index=routes.index))
    for fallback in ("route_long_name", "route_id"):
        if fallback in routes:
            label = label.where(label != "", routes[fallback])
    route_labels = pd.DataFrame({"route_id": routes["route_id"], "label": label}).drop_duplicates("route_id")

    served = (
        stop_times[["trip_id", "stop_id"]]
        .drop_duplicates()
        .merge(trips[["trip_id", "route_id"]].drop_duplicates("trip_id"), on="trip_id")
        .merge(route_labels, on="route_id")[["stop_id", "label"]]
    )
    # A station (location_type 1) is served by every line serving one of its platforms.
    if "parent_station" in stops:
        parents = stops.loc[stops["parent_station"] != "", ["stop_id", "parent_station"]]
        via_parent = served.merge(parents, on="stop_id")[["parent_station", "label"]]
        served = pd.concat(
            [served, via_parent.rename(columns={"parent_station": "stop_id"})], ignore_index=True
        )
    served = served.drop_duplicates()
    # Natural order of line names: 2 before 10, letters after.
    served["key"] = np.where(served["label"].str.isdigit(), served["label"].str.zfill(12), served["label"])
    by_stop = served.sort_values(["stop_id", "key"]).groupby("stop_id", sort=False)["label"].agg(";".join)

    out = stops.copy()
    out["lat"] = stops.get("stop_lat", pd.Series("", index=stops.index))
    out["lon"] = stops.get("stop_lon", pd.Series("", index=stops.index))
    out["routes"] = out["stop_id"].map(by_stop).fillna("").astype(object)
    first = ["stop_id", "stop_name", "lat", "lon", "routes"]
    if "stop_name" not in out:
        out["stop_name"] = ""
    return out[first + [c for c in out.columns if c not in first]]


def _dangling(
    frame: pd.DataFrame, file: str, field: str, known: pd.Series, target: str, what: str
) -> pd.DataFrame:
    bad = frame[~frame[field].isin(known)]
    message = (
        file
        + " ligne "
        + bad.index.astype(str)
        + " : "
        + what
        + " « "
        + bad[field]
        + " » ("
        + field
        + ") n'existe pas dans "
        + target
    )
    return _errors(bad, file, field, "reference", message)


def _errors(bad: pd.DataFrame, file: str, field: str, rule: str, message: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": file,
            "row": bad.index.to_numpy(dtype="int64"),
            "field": field,
            "rule": rule,
            "value": bad[field].to_numpy(dtype=object),
            "message": np.asarray(message, dtype=object),
        },
        columns=FILE_ERROR_COLUMNS,
    )
