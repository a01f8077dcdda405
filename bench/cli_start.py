"""``python -m bench.cli_start``: how fast the quick commands answer, beside ``python -c pass``.

Each command runs as a person runs it (the ``territoire`` console script, a new process), best of
``REPEAT`` after one warm-up run that leaves Python's bytecode cache written (the measurement is of a
normal installation, not of ``PYTHONDONTWRITEBYTECODE=1``, which recompiles every module at every
start). ``status`` and ``report`` read the demo territory: ``BENCH_DEMO_HOME`` when it points at one
(``make demo`` leaves ``var/``), else one is made with ``territoire demo && territoire run`` (~1 min).
Also measured: each heavy dependency's import time (``python -X importtime``), which is what a command
pays when it imports it, and which heavy modules each command actually loaded.

Writes ``bench/results/cli-start-<date>.json`` and the table between ``<!-- cli-start -->`` markers of
``bench/README.md``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPEAT = 5
SMALL_FILE = ROOT.parent / "shared" / "schemas" / "scdl-subventions" / "exemple-valide.csv"
HEAVY = (
    "typer", "rich.console", "pydantic", "yaml", "psycopg", "sqlalchemy", "jinja2", "pyarrow", "pandas",
    "shapely", "pyproj", "geopandas", "frictionless", "dagster", "great_expectations",
)  # fmt: skip
TARGETS = {"--help": 0.5, "drop": 0.5, "status": 1.0}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "TERRITOIRE_HOME": str(home)}


def _best(argv: list[str], env: dict[str, str], repeat: int = REPEAT) -> tuple[float, int]:
    subprocess.run(argv, env=env, cwd=ROOT, capture_output=True)  # warm-up: bytecode written
    best, code = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True)
        best = min(best, time.perf_counter() - started)
        code = done.returncode
    return best, code


def import_seconds(module: str, env: dict[str, str]) -> float:
    """Cumulative import time of ``module`` alone in a fresh interpreter, best of 3."""
    best = float("inf")
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        pattern = re.compile(rf"^import time:\s+\d+ \|\s+(\d+) \| {re.escape(module)}$", re.M)
        found = pattern.findall(done.stderr)
        if found:
            best = min(best, int(found[-1]) / 1e6)
    return best


def loaded_heavy(argv: list[str], env: dict[str, str]) -> list[str]:
    """The heavy modules a command imported (top-level names in ``-X importtime``'s output)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], env=env, cwd=ROOT, capture_output=True, text=True
    )
    names = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", done.stderr, re.M))
    return [m for m in HEAVY if m in names]


def _demo_home() -> tuple[Path, bool]:
    given = os.environ.get("BENCH_DEMO_HOME")
    if given and (Path(given) / "postgres").is_dir():
        return Path(given), False
    home = Path(tempfile.mkdtemp(prefix="territoire-cli-bench-"))
    territoire = str(Path(sys.executable).parent / "territoire")
    for command in ("demo", "run"):
        subprocess.run([territoire, command], env=_env(home), cwd=ROOT, capture_output=True, check=True)
    return home, True


def measure() -> dict:
    territoire = str(Path(sys.executable).parent / "territoire")
    script = [territoire]
    home, made = _demo_home()
    env = _env(home)
    scratch = Path(tempfile.mkdtemp(prefix="territoire-cli-drop-"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [*script, "--help"],
        "drop": [*script, "drop", "tours", "subventions", str(SMALL_FILE)],
        "status": [*script, "status"],
        "report": [*script, "report", "tours", "subventions"],
        "validate": [*script, "validate", str(SMALL_FILE), "--schema", "scdl-subventions"],
    }
    rows = []
    try:
        for name, argv in commands.items():
            # A drop goes to a scratch home: the demo territory's inbox stays as the run left it.
            run_env = _env(scratch) if name == "drop" else env
            seconds, code = _best(argv, run_env)
            heavy = loaded_heavy(argv[1:] if argv[0] == sys.executable else argv, run_env)
            target = TARGETS.get(name)
            rows.append(
                {
                    "command": name if name.startswith("python") else f"territoire {name}",
                    "seconds": round(seconds, 3),
                    "exit": code,
                    "target_s": target,
                    "met": None if target is None else seconds <= target,
                    "heavy_imports": heavy,
                }
            )
            print(f"{name}: {seconds:.3f} s (exit {code}); imports {', '.join(heavy) or '—'}", flush=True)
        imports = {}
        for module in HEAVY:
            imports[module] = round(import_seconds(module, env), 3)
            print(f"import {module}: {imports[module]:.3f} s", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if made:
            subprocess.run(
                [sys.executable, "-c", "import sys; from pathlib import Path; "
                 "from resources.postgres_server import stop_server; stop_server(Path(sys.argv[1]))",
                 str(home)],
                cwd=ROOT, capture_output=True,
            )  # fmt: skip
            shutil.rmtree(home, ignore_errors=True)
    day = date.today().isoformat()
    return {"date": day, "cpu_count": os.cpu_count(), "commands": rows, "imports": imports}


def markdown(result: dict) -> str:
    lines = [
        f"Run of {result['date']}, {result['cpu_count']} cores (shared), best of {REPEAT} after a warm-up.",
        "",
        "| command | wall time | target | met | heavy modules it imported |",
        "|---|---|---|---|---|",
    ]
    for row in result["commands"]:
        target = "—" if row["target_s"] is None else f"<= {row['target_s']} s"
        met = "—" if row["met"] is None else ("yes" if row["met"] else "**no**")
        heavy = ", ".join(row["heavy_imports"]) or "none"
        lines.append(f"| `{row['command']}` | {row['seconds']:.2f} s | {target} | {met} | {heavy} |")
    lines += ["", "| heavy dependency | import time alone |", "|---|---|"]
    lines += [f"| `{m}` | {s:.2f} s |" for m, s in result["imports"].items()]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = HERE / "README.md"
    content = readme.read_text(encoding="utf-8")
    start, end = "<!-- cli-start -->", "<!-- /cli-start -->"
    if start not in content:
        content += f"\n## Command-line start times (`python -m bench.cli_start`)\n\n{start}\n{end}\n"
    before, rest = content.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def main() -> int:
    result = measure()
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"cli-start-{result['date']}.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    text = markdown(result)
    write_readme(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
