"""Engine factory and transaction helpers for SQLite (the embedded default) and PostgreSQL.

SQLite
    ``sqlite:///path/to/file.db``: WAL journal, a 10 s busy timeout, foreign keys on.  pysqlite's own
    transaction handling is switched off (``isolation_level = None``) and SQLAlchemy emits ``BEGIN`` itself,
    so a write transaction can take the write lock up front with ``BEGIN IMMEDIATE``: every transaction
    begins with ``BEGIN IMMEDIATE`` unless the connection was opened through :func:`read_tx`, which uses a
    plain (deferred) ``BEGIN``.  Taking the lock first means a read-then-write transaction never fails
    half-way with ``SQLITE_BUSY`` and the overlap check and the insert see the same database.

PostgreSQL
    ``postgresql://`` (or ``postgres://``) is rewritten to ``postgresql+psycopg://`` (psycopg 3); connections
    are pinged before use.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.types import TypeDecorator

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "DEFAULT_DATABASE_URL",
    "UTCDateTime",
    "display_url",
    "is_sqlite",
    "make_engine",
    "normalize_url",
    "read_tx",
    "write_tx",
]

#: Where the embedded default database lives when neither ``--database-url`` nor ``DATABASE_URL`` says.
DEFAULT_DATABASE_URL = "sqlite:///var/schedbot.db"
BUSY_TIMEOUT_SECONDS = 10.0

_BEGIN_OPTION = "schedbot_sqlite_begin"


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL; ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
        raise ValueError(f"bad database URL {_safe(url)!r}: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {backend!r}: use sqlite:///path or postgresql://...")
    return parsed


def _safe(url: str | URL) -> str:
    try:
        return display_url(url)
    except Exception:
        return "<unparseable URL>"


def display_url(url: str | URL) -> str:
    """The URL with any password masked, for messages and logs."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | URL, *, search_path: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``, configured as described in the module docstring.

    ``search_path`` (PostgreSQL only) sets the schema search path of every connection, e.g. ``"t_123,public"``
    (tests run each in their own schema).  Other keyword arguments go to :func:`sqlalchemy.create_engine`.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if search_path:
        connect_args["options"] = f"-c search_path={search_path}"
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, connect_args=connect_args, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not memory:
        parent = os.path.dirname(os.path.abspath(database))
        os.makedirs(parent, exist_ok=True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", BUSY_TIMEOUT_SECONDS)
    connect_args.setdefault("check_same_thread", False)
    if not memory:
        # Many short-lived connections are cheap on SQLite; let each thread have its own.
        kwargs.setdefault("pool_size", 5)
        kwargs.setdefault("max_overflow", 64)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from pysqlite (see SQLAlchemy's "Transactions with SQLite and the sqlite3 driver").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql("BEGIN" if mode == "DEFERRED" else "BEGIN IMMEDIATE")

    return engine


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite): commits on success, rolls back on any error."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction (a deferred ``BEGIN`` on SQLite, so readers never wait for the writer)."""
    with engine.connect() as conn:
        conn.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        with conn.begin():
            yield conn


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL stores ``timestamptz``.  SQLite has no time zone type: values are stored as naive UTC text in
    one fixed format, so comparisons in SQL stay correct, and get ``tzinfo=UTC`` back when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: give it a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
