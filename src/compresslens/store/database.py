"""Engine creation and schema migration: SQLite file (WAL) by default, any SQLAlchemy URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, delete, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DataError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import Session, sessionmaker

from compresslens.errors import (
    CompressLensError,
    DatabaseUnavailableError,
    DatabaseValueError,
    DuplicateNameError,
    WriteConflictError,
)

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest migration's revision (a test checks it against alembic's head): a database
# already there opens with one small query, without importing alembic (0.3 s of start-up).
HEAD_REVISION = "0004"
CONNECT_TIMEOUT_S = 10  # PostgreSQL: give up on an unreachable host instead of hanging


def _refused(exc: DataError) -> str:
    statement = (exc.statement or "").split()
    table = statement[2] if statement[:2] == ["INSERT", "INTO"] else None
    lines = str(exc.orig or exc).strip().splitlines()
    reason = " ".join([lines[0], *(line.strip() for line in lines[1:] if "DETAIL" in line)])
    where = f" for table {table!r}" if table else ""
    return f"the workspace database refused a value{where}: {reason}; nothing was written"


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


@contextmanager
def translated_errors() -> Iterator[None]:
    """Errors of writers colliding, as the store's own: a name another writer took at the
    same moment is a DuplicateNameError, any other collision (a key, a lock held past the
    busy timeout, a deadlock) a WriteConflictError; the transaction was rolled back."""
    try:
        yield
    except IntegrityError as exc:
        reason = _first_line(exc)
        if "unique" in reason.lower() and "name" in reason:
            raise DuplicateNameError(
                f"another writer stored the same name at the same moment ({reason}); "
                "nothing was written"
            ) from exc
        raise WriteConflictError(
            f"the write collided with another writer ({reason}); nothing was written: run it again"
        ) from exc
    except OperationalError as exc:
        reason = _first_line(exc)
        if any(word in reason.lower() for word in ("locked", "deadlock", "serializ", "busy")):
            raise WriteConflictError(
                f"the workspace database was busy with other writers ({reason}); nothing "
                "was written: run it again"
            ) from exc
        raise DatabaseUnavailableError(
            f"the workspace database failed during a write ({reason}); nothing was written"
        ) from exc


def is_database_url(location: str) -> bool:
    """A workspace location with a scheme (postgresql://…, sqlite:///…) names a database."""
    return "://" in location


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_or_ignore(session: Session, table: type[Any], key: Any, **values: Any) -> bool:
    """Add a row unless one with its primary key (or any unique column's value) exists, also
    when another writer is adding it at the same moment: INSERT … ON CONFLICT DO NOTHING on
    SQLite and PostgreSQL (a look-up first would let two writers both insert, and the second
    fail on the key). Returns whether this call inserted it."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = import_module(f"sqlalchemy.dialects.{dialect}")
        key_columns = table.__table__.primary_key.columns
        statement = module.insert(table).values(**values).on_conflict_do_nothing()
        # RETURNING, not rowcount: the ORM's insert path reports -1 rows on PostgreSQL
        return session.execute(statement.returning(*key_columns)).first() is not None
    if session.get(table, key) is None:
        session.add(table(**values))
        session.flush()
        return True
    return False


def upsert(session: Session, table: type[Any], conflict: Sequence[str], **values: Any) -> None:
    """Insert a row, or update the one holding the same `conflict` columns, in one statement:
    two writers replacing the same row at once both succeed (the later one wins) where a
    delete-then-insert would make the second fail on the unique key."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        session.execute(delete(table).where(*(getattr(table, c) == values[c] for c in conflict)))
        session.add(table(**values))
        return
    module = import_module(f"sqlalchemy.dialects.{dialect}")
    statement = module.insert(table).values(**values)
    changed = {k: statement.excluded[k] for k in values if k not in conflict}
    session.execute(statement.on_conflict_do_update(index_elements=list(conflict), set_=changed))


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL mode and enforced foreign keys."""
    try:
        parsed = make_url(url)
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        engine = create_engine(parsed, future=True, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        hint = (
            "; PostgreSQL needs the psycopg driver: pip install 'compresslens[postgres]'"
            if isinstance(exc, ImportError) and "postgres" in url
            else ""
        )
        raise DatabaseUnavailableError(
            f"cannot open the workspace database {url!r}: {exc}{hint}"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%': a URL's percent-escapes (a password, a socket folder)
    # must be doubled or setting the option raises
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to the newest revision; refuse a database made by a newer release."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    current = current_revision(engine)
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise CompressLensError(
            f"the workspace database is at schema revision {current!r}, which this version of "
            "compresslens does not know; upgrade compresslens to open it"
        )
    if current == script.get_current_head():
        return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at HEAD_REVISION already (False for a new, empty one)."""
    with engine.connect() as connection:  # an unreachable database raises here
        try:
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            return list(versions.scalars()) == [HEAD_REVISION]
        except (OperationalError, ProgrammingError):  # no version table yet
            return False


def not_ours(engine: Engine, reason: Exception | str) -> str:
    shown = engine.url.render_as_string(hide_password=True)
    if isinstance(reason, Exception):
        reason = str(getattr(reason, "orig", None) or reason).strip().splitlines()[0]
    return f"{shown} is not a compresslens database ({reason}); it was left untouched"


SQLITE_HEADER = b"SQLite format 3\x00"


def refuse_foreign_sqlite_file(engine: Engine) -> None:
    """Read a SQLite file's header, and the tables of a file not in WAL mode, without writing:
    the engine's first connection turns on WAL, which rewrites the header of any other file."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return
    file = Path(path)
    if not file.is_file() or file.stat().st_size == 0:
        return  # a new workspace
    with file.open("rb") as handle:
        header = handle.read(100)
    if not header.startswith(SQLITE_HEADER):
        raise DatabaseUnavailableError(not_ours(engine, "it is not an SQLite file"))
    if len(header) > 18 and header[18] == 2:
        return  # WAL mode: as compresslens leaves its own files (tables checked once opened)
    connection = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = sorted(name for (name,) in connection.execute(query))
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnavailableError(not_ours(engine, str(exc))) from None
    finally:
        connection.close()
    if tables and "alembic_version" not in tables:
        raise DatabaseUnavailableError(not_ours(engine, f"it holds the tables {tables[:5]}"))


def refuse_foreign_sqlite(engine: Engine) -> None:
    """A SQLite file that holds another application's tables is not made a workspace."""
    if engine.dialect.name != "sqlite":
        return  # a server database may hold other schemas' tables; its owner chose the URL
    with engine.connect() as connection:
        query = text("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = sorted(connection.execute(query).scalars())
    if tables and "alembic_version" not in tables:
        raise DatabaseUnavailableError(not_ours(engine, f"it holds the tables {tables[:5]}"))


class Database:
    """The metadata store's connection: one engine, short transactional sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        refuse_foreign_sqlite_file(self.engine)
        try:
            if not schema_is_current(self.engine):
                refuse_foreign_sqlite(self.engine)
                upgrade_to_head(self.engine)
        except OperationalError as exc:
            self.engine.dispose()
            shown = self.engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise DatabaseUnavailableError(
                f"cannot connect to the workspace database {shown}: {reason}"
            ) from exc
        except DatabaseError as exc:  # SQLite: "file is not a database", before any write
            self.engine.dispose()
            raise DatabaseUnavailableError(not_ours(self.engine, exc)) from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose changes commit together or not at all."""
        try:
            with self._sessions() as session, session.begin():
                yield session
        except DataError as exc:  # PostgreSQL: a string too long, NaN in JSON, a NUL byte…
            raise DatabaseValueError(_refused(exc)) from exc

    @contextmanager
    def reader(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
