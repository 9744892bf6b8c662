"""A throwaway PostgreSQL server for tests (fixtures `pg_server`, `pg_url`): initdb into a
temporary folder, pg_ctl start on a unix socket in that folder (no TCP port, so nothing
else can reach it or collide with it), createdb, and on exit stop it and delete the folder.

`make test` installs Debian's PostgreSQL server (`make postgres`); where its binaries are
missing the tests that need it are skipped with the reason. initdb refuses to run as root,
so as root the server runs as the `postgres` system user in a folder that user owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"  # the server's superuser role (trust authentication on the socket)
PORT = 5432  # only names the socket file (.s.PGSQL.5432) in the private folder
SERVER_PROGRAMS = ("initdb", "pg_ctl", "createdb")


def find_bindir() -> Path | None:
    """The folder of initdb/pg_ctl/createdb: on PATH, else Debian's newest
    /usr/lib/postgresql/<major>/bin, else `pg_config --bindir`."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []

    def major(path: str) -> int:
        version = Path(path).parent.parent.name
        return int(version) if version.isdigit() else 0

    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major, reverse=True)
    candidates += [Path(path).parent for path in debian]
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    for folder in candidates:
        if all((folder / program).is_file() for program in SERVER_PROGRAMS):
            return folder
    return None


def missing_reason() -> str | None:
    """Why no throwaway server can be started here, or None when one can."""
    if find_bindir() is None:
        return (
            "PostgreSQL server binaries (initdb, pg_ctl) not found; `make postgres` installs "
            "Debian's postgresql package"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install -e '.[dev]' installs it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return "running as root without a `postgres` system user to run the server as"
    return None


@dataclass(frozen=True)
class PostgresServer:
    root: Path  # the private folder: data directory, socket and log
    bindir: Path
    run_as: str | None  # the system user running the server, when we are root

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str, *, driver: str = "psycopg") -> str:
        """A SQLAlchemy URL for `database` over the unix socket."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{SUPERUSER}@/{database}?host={self.socket_dir}&port={PORT}"

    def command(self, program: str, *args: str) -> list[str]:
        argv = [str(self.bindir / program), *args]
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else argv

    def run(self, program: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            self.command(program, *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,  # runuser keeps the cwd; postgres must be able to enter it
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{program} {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{tail}"
            )

    def createdb(self, name: str) -> str:
        """A new empty database; returns its URL."""
        self.run("createdb", "-h", str(self.socket_dir), "-p", str(PORT), "-U", SUPERUSER, name)
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a private server; stop it and remove every file of it on exit."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(missing_reason() or "no PostgreSQL binaries")
    run_as = SUPERUSER if os.geteuid() == 0 else None
    # a short path: a unix socket's path must fit in 107 bytes
    root = Path(tempfile.mkdtemp(prefix="cl-pg-"))
    server = PostgresServer(root=root, bindir=bindir, run_as=run_as)
    started = False
    try:
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        data = root / "data"
        server.run(
            "initdb", "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )  # fmt: skip
        options = (
            f"-k {root} -p {PORT} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        server.run(
            "pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        started = True
        yield server
    finally:
        if started:
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                server.run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "-w", "stop")
        _remove(root)


def _remove(root: Path) -> None:
    for _ in range(5):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        time.sleep(0.2)


_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for the session, stopped and deleted at its end; skips
    where PostgreSQL is not installed (`make test` installs it)."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """`postgresql+psycopg://…` of a new, empty database on the session's server."""
    return pg_server.createdb(f"test_{next(_numbers)}")
