"""The embedded PostgreSQL/PostGIS cluster the platform runs on when no warehouse URL is configured.

``ensure_server(home)`` initialises a cluster under ``home/postgres/`` on first use, starts it if it is
not running and returns a SQLAlchemy URL of its ``territoire`` database (PostGIS enabled).
``stop_server(home)`` stops it; ``init_cluster(home)`` only initialises it. Production points
``TERRITOIRE_WAREHOUSE_URL`` at a real server instead.

Layout of ``home/postgres/``: ``data/`` (the cluster), ``run/`` (unix socket), ``port`` (the TCP port
on 127.0.0.1 chosen at first start), ``password`` (the superuser's password, mode 0600), ``server.log``,
``.lock`` (serialises concurrent callers, e.g. Dagster's multiprocess executor).

PostgreSQL refuses to run as root: when the platform runs as root, initdb and pg_ctl run as the
``postgres`` system user (``runuser``), which owns ``home/postgres``.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

DATABASE = "territoire"
SUPERUSER = "postgres"
SYSTEM_USER = "postgres"
PG_ROOT = Path("/usr/lib/postgresql")
PACKAGES_HINT = "apt-get install postgresql-15 postgresql-15-postgis-3 postgresql-15-postgis-3-scripts"


# The URL of each cluster this process already made sure of: ``territoire run`` builds a warehouse
# resource for each of its dozens of Dagster runs, and each asked again (``pg_ctl status``, two
# connections: tens of ms) for a server it had just found running.
_READY: dict[Path, tuple[str, int]] = {}


class PostgresNotAvailable(RuntimeError):
    """PostgreSQL or PostGIS is missing, or the embedded cluster could not start."""


def _bin_dir() -> Path:
    """The newest installed server's binaries (Debian keeps them off the PATH)."""
    override = os.environ.get("TERRITOIRE_PG_BIN")
    candidates = [Path(override)] if override else []

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)

    candidates += sorted(PG_ROOT.glob("*/bin"), key=version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresNotAvailable(
        "PostgreSQL n'est pas installé (initdb et pg_ctl introuvables dans /usr/lib/postgresql/*/bin). "
        f"Installez-le : « {PACKAGES_HINT} », ou indiquez un serveur existant avec "
        "TERRITOIRE_WAREHOUSE_URL. / PostgreSQL is not installed (no initdb/pg_ctl under "
        f"/usr/lib/postgresql/*/bin): install it with `{PACKAGES_HINT}` or set TERRITOIRE_WAREHOUSE_URL."
    )


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(args: list[str | Path], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a server binary, as the ``postgres`` system user when we are root."""
    command = [str(a) for a in args]
    if _as_root():
        command = ["runuser", "-u", SYSTEM_USER, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise PostgresNotAvailable(
            f"La commande PostgreSQL a échoué / PostgreSQL command failed: {' '.join(command)}\n"
            f"{result.stdout}{result.stderr}"
        )
    return result


def _give_to_server_user(path: Path) -> None:
    """Make ``path`` owned by the server's system user and every parent traversable by it.

    Only the search bit (o+x) is added to parents, never read: the server must reach its data
    directory, it need not list anything on the way.
    """
    if not _as_root():
        return
    account = pwd.getpwnam(SYSTEM_USER)
    os.chown(path, account.pw_uid, account.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.chown(name, account.pw_uid, account.pw_gid)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(parent, mode | stat.S_IXOTH)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server does: connections of a just-stopped server in TIME_WAIT do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def _locked(base: Path) -> Iterator[None]:
    with open(base / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _initdb(bin_dir: Path, base: Path) -> None:
    data = base / "data"
    password = secrets.token_urlsafe(24)
    password_file = base / "password"
    password_file.write_text(password)
    os.chmod(password_file, 0o600)
    data.mkdir(mode=0o700)
    (base / "run").mkdir(mode=0o700, exist_ok=True)
    # initdb reads the password itself, as the server user: hand it a copy it owns, then remove it.
    init_password = base / "run" / "initdb-password"
    init_password.write_text(password)
    _give_to_server_user(base)
    os.chown(password_file, os.getuid(), os.getgid())
    try:
        # Local socket in a 0700 directory: trust is safe there. TCP needs the password.
        _run(
            [
                bin_dir / "initdb",
                "-D",
                data,
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={init_password}",
            ]
        )
    finally:
        init_password.unlink(missing_ok=True)


def _running(bin_dir: Path, data: Path) -> bool:
    return _run([bin_dir / "pg_ctl", "status", "-D", data], check=False).returncode == 0


def _start(bin_dir: Path, base: Path) -> int:
    port_file = base / "port"
    port = int(port_file.read_text()) if port_file.exists() else 0
    if not port or not _port_is_free(port):
        port = _free_port()
        port_file.write_text(str(port))
    log = base / "server.log"
    log.touch()
    _give_to_server_user(log)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='{base / 'run'}'"
    try:
        _run([bin_dir / "pg_ctl", "start", "-w", "-t", "60", "-D", base / "data", "-l", log, "-o", options])
    except PostgresNotAvailable as exc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise PostgresNotAvailable(f"{exc}\n--- {log} ---\n{tail}") from None
    return port


def _ensure_database(url_kwargs: dict[str, object]) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **url_kwargs) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    with psycopg.connect(dbname=DATABASE, autocommit=True, **url_kwargs) as conn:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
        if not available:
            raise PostgresNotAvailable(
                "L'extension PostGIS n'est pas installée sur ce serveur PostgreSQL. Installez-la : "
                f"« {PACKAGES_HINT} ». / PostGIS is not installed: `{PACKAGES_HINT}`."
            )
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def ensure_server(home: Path | str) -> str:
    """Start (initialising on first use) the embedded cluster under ``home/postgres``; return its URL.

    The URL is ``postgresql+psycopg://postgres:<password>@127.0.0.1:<port>/territoire``; the
    password lives in ``home/postgres/password`` (0600) — mask it before logging the URL.
    """
    base = Path(home).resolve() / "postgres"
    known = _READY.get(base)
    if known is not None and _still_running(base, known[1]):
        return known[0]
    bin_dir = _bin_dir()
    base.mkdir(parents=True, exist_ok=True)
    with _locked(base):
        _init_if_missing(bin_dir, base)
        if _running(bin_dir, base / "data"):
            port = int((base / "port").read_text())
        else:
            port = _start(bin_dir, base)
        password = (base / "password").read_text().strip()
        _ensure_database({"host": "127.0.0.1", "port": port, "user": SUPERUSER, "password": password})
    url = f"postgresql+psycopg://{SUPERUSER}:{password}@127.0.0.1:{port}/{DATABASE}"
    _READY[base] = (url, port)
    return url


def init_cluster(home: Path | str) -> None:
    """Initialise the cluster under ``home/postgres`` if there is none yet, without starting it.

    ``initdb`` takes a second or two, part of it waiting on the disk: ``territoire demo`` has it
    done while it writes the demo files, so the first ``territoire run`` only starts the server.
    """
    bin_dir = _bin_dir()
    base = Path(home).resolve() / "postgres"
    base.mkdir(parents=True, exist_ok=True)
    with _locked(base):
        _init_if_missing(bin_dir, base)


def _init_if_missing(bin_dir: Path, base: Path) -> None:
    if not (base / "data" / "PG_VERSION").exists():
        if (base / "data").exists():
            shutil.rmtree(base / "data")  # a half-made cluster from an interrupted initdb
        _initdb(bin_dir, base)


def _still_running(base: Path, port: int) -> bool:
    """Whether the cluster this process found running still looks so: its pid file is there, its
    port is still the one remembered and something listens on it. A stopped or removed cluster
    fails this and is started again; anything subtler (a crashed server's stale pid file and its
    port taken by another program) shows at connection."""
    port_file = base / "port"
    return (
        (base / "data" / "postmaster.pid").exists()
        and port_file.exists()
        and port_file.read_text().strip() == str(port)
        and not _port_is_free(port)
    )


def stop_server(home: Path | str) -> None:
    """Stop the embedded cluster under ``home/postgres`` if it is running (fast shutdown)."""
    base = Path(home).resolve() / "postgres"
    if not (base / "data" / "PG_VERSION").exists():
        return
    _READY.pop(base, None)
    bin_dir = _bin_dir()
    with _locked(base):
        if _running(bin_dir, base / "data"):
            _run([bin_dir / "pg_ctl", "stop", "-w", "-m", "fast", "-D", base / "data"])
