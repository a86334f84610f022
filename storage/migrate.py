"""Run the Alembic migrations programmatically: ``upgrade(url)`` and ``current(url)``.

The migration scripts are located relative to this file, so they work from a source tree and from an
installed package alike (``storage/migrations`` is declared package data).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine

from storage.db import make_engine

__all__ = ["MIGRATIONS_DIR", "UpgradeResult", "alembic_config", "current", "head", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at ``storage/migrations``; no ini file is read."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision shipped with this code."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return revision


@contextmanager
def _engine(target: str | URL | Engine) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()


def _current(conn: Connection) -> str | None:
    options: dict[str, object] = {}
    if conn.dialect.name == "postgresql":
        options["version_table_schema"] = conn.exec_driver_sql("SELECT current_schema()").scalar()
    return MigrationContext.configure(conn, opts=options).get_current_revision()


def current(target: str | URL | Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with _engine(target) as engine, engine.connect() as conn:
        revision = _current(conn)
        conn.rollback()
        return revision


def upgrade(target: str | URL | Engine, revision: str = "head") -> UpgradeResult:
    """Upgrade the database (a URL, or an engine, e.g. one with a PostgreSQL search_path) to ``revision``.

    Running it again is a no-op.  Returns the revisions before and after.
    """
    with _engine(target) as engine:
        before = current(engine)
        with engine.connect() as conn:
            command.upgrade(alembic_config(conn), revision)
            if conn.in_transaction():
                conn.commit()
        return UpgradeResult(before, current(engine))
