"""The dataset and producer pages' charts: Vega-Lite specs (Altair) rendered to SVG on the server.

Rendered by ``vl-convert`` (Vega's own renderer, embedded; no browser, no script on the page), with
French number and date formats. The SVG is inlined in the page: it draws with presentation attributes
only, so the pages' Content-Security-Policy (no inline style) leaves it intact. Each chart is also
given as a table for screen readers and keyboard users (``Chart.table``). Renders are cached by spec:
a dataset's charts change only with its version.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from quality.french import fr_date, fr_int, fr_number

if TYPE_CHECKING:
    import altair as alt

WIDTH = 480
COLOUR = "#1f4e79"  # 8.9:1 on white
_CACHE_SIZE = 256
_cache: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """A chart as the template shows it: its title, the SVG, and the same numbers as a table."""

    key: str
    title: str
    svg: str
    headers: tuple[str, str]
    table: list[tuple[str, str]] = field(default_factory=list)


def _svg(build: Callable[[], alt.Chart], *inputs: Any) -> str:
    """The chart ``build`` makes, as SVG; keyed by the chart's kind and inputs, so a cached chart costs
    neither Altair's validation nor Vega's rendering."""
    import vl_convert

    key = hashlib.sha256(json.dumps([build.__qualname__, inputs], default=str).encode()).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    spec = build().to_dict()
    svg = vl_convert.vegalite_to_svg(spec, format_locale="fr-FR", time_format_locale="fr-FR")
    # The drawing is described by the figure's caption and table; the SVG itself is decoration to
    # assistive technologies (Vega's English aria-labels would otherwise be read out).
    svg = re.sub(r"^<svg ", '<svg aria-hidden="true" focusable="false" ', svg, count=1)
    svg = re.sub(r' aria-label="[^"]*"', "", svg)
    with _lock:
        _cache[key] = svg
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return svg


def _base(frame: pd.DataFrame, height: int) -> alt.Chart:
    # Altair is imported on the first render, not at the portal's start (about a second saved).
    import altair as alt

    # Room on the left: the reader's font may be wider than the one Vega measured labels with.
    padding = {"left": 24, "top": 5, "right": 12, "bottom": 5}
    return alt.Chart(frame).properties(width=WIDTH, height=height, background="white", padding=padding)


def rows_per_producer(counts: dict[str, int], names: dict[str, str]) -> Chart:
    frame = pd.DataFrame({"producteur": [names.get(p, p) for p in counts], "lignes": list(counts.values())})

    def build() -> alt.Chart:
        import altair as alt

        return (
            _base(frame, max(60, 22 * len(frame)))
            .mark_bar(color=COLOUR)
            .encode(
                x=alt.X("lignes:Q", title="Lignes publiées", axis=alt.Axis(format="~s")),
                y=alt.Y("producteur:N", sort="-x", title=None),
            )
        )

    return Chart(
        "producteurs",
        "Lignes publiées par producteur",
        _svg(build, frame.to_dict("list")),
        ("Producteur", "Lignes"),
        [(names.get(p, p), fr_int(n)) for p, n in counts.items()],
    )


def totals_per_producer(totals: dict[str, float], names: dict[str, str], label: str) -> Chart:
    frame = pd.DataFrame({"producteur": [names.get(p, p) for p in totals], "total": list(totals.values())})

    def build() -> alt.Chart:
        import altair as alt

        return (
            _base(frame, max(60, 22 * len(frame)))
            .mark_bar(color=COLOUR)
            .encode(
                x=alt.X("total:Q", title=f"Total de « {label} »", axis=alt.Axis(format="~s")),
                y=alt.Y("producteur:N", sort="-x", title=None),
            )
        )

    return Chart(
        "totaux",
        f"Total de « {label} » par producteur",
        _svg(build, frame.to_dict("list"), label),
        ("Producteur", f"Total de « {label} »"),
        [(names.get(p, p), fr_number(v, 0)) for p, v in totals.items()],
    )


def distribution(bins: list[Any], label: str) -> Chart:
    frame = pd.DataFrame(
        {"de": [b.low for b in bins], "a": [b.high for b in bins], "lignes": [b.rows for b in bins]}
    )

    def build() -> alt.Chart:
        import altair as alt

        return (
            _base(frame, 160)
            .mark_bar(color=COLOUR, binSpacing=1)
            .encode(
                x=alt.X("de:Q", bin="binned", title=label),
                x2="a:Q",
                y=alt.Y("lignes:Q", title="Lignes"),
            )
        )

    return Chart(
        "distribution",
        f"Répartition de « {label} »",
        _svg(build, frame.to_dict("list"), label),
        (label, "Lignes"),
        [(f"{fr_number(b.low, 0)} à {fr_number(b.high, 0)}", fr_int(b.rows)) for b in bins],
    )


def rows_over_versions(versions: list[Any]) -> Chart:
    frame = pd.DataFrame(
        {
            "version": [f"v{v.version}" for v in versions],
            "lignes": [v.rows for v in versions],
            "ordre": [v.version for v in versions],
        }
    )

    def build() -> alt.Chart:
        import altair as alt

        return (
            _base(frame, 160)
            .mark_bar(color=COLOUR, size=28)
            .encode(
                x=alt.X(
                    "version:O",
                    sort=alt.SortField("ordre"),
                    title="Version publiée",
                    axis=alt.Axis(labelAngle=0),
                ),
                y=alt.Y("lignes:Q", title="Lignes"),
            )
        )

    return Chart(
        "versions",
        "Lignes au fil des versions",
        _svg(build, frame.to_dict("list")),
        ("Version", "Lignes"),
        [(f"{v.version} ({fr_date(v.published_at)})", fr_int(v.rows)) for v in versions],
    )


def valid_share_trend(points: list[tuple[datetime, str, float]]) -> Chart:
    """A producer's valid share per batch, oldest first: (received_at, dataset title, share)."""
    frame = pd.DataFrame(
        {
            "reçu": [p[0].isoformat() for p in points],
            "jeu": [p[1] for p in points],
            "part": [p[2] for p in points],
        }
    )

    def build() -> alt.Chart:
        import altair as alt

        return (
            _base(frame, 160)
            .mark_line(color=COLOUR, point=alt.OverlayMarkDef(color=COLOUR, size=60))
            .encode(
                x=alt.X("reçu:T", title="Lot reçu le"),
                y=alt.Y(
                    "part:Q",
                    title="Lignes valides",
                    scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format="%"),
                ),
            )
        )

    return Chart(
        "tendance",
        "Part de lignes valides, lot après lot",
        _svg(build, frame.to_dict("list")),
        ("Lot", "Lignes valides"),
        [(f"{fr_date(t)} — {title}", f"{round(100 * s)} %") for t, title, s in points],
    )
