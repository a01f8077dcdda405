"""The results table: markdown for bench/README.md."""

from __future__ import annotations

import os
import platform

import pandas as pd

from bench.common import HERE, Row


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "GiB":
        return f"{value:.2f} GiB"
    return f"{value:.1f} {unit}"


def table_markdown(rows: list[Row], day: str) -> str:
    lines = [
        f"Run of {day} on {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, pandas {pd.__version__}.",
        "",
        "| measure | figure | reference (same run) | reference figure | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "to measure" if r.met is None else ("yes" if r.met else "**no**")
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}x"
        ref_unit = r.unit if r.measure.startswith(("strict", "reading", "warehouse", "streaming")) else "GiB"
        lines.append(
            f"| {r.measure} | {_fmt(r.figure, r.unit)} | {r.reference or '—'} | "
            f"{_fmt(r.reference_figure, ref_unit)} | {ratio} | {r.target} | {met} |"
        )
    notes = [f"- {r.measure}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def write_readme(markdown: str) -> None:
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- results -->", "<!-- /results -->"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{markdown}\n{end}{after}", encoding="utf-8")
