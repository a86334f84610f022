"""Alembic environment.

``storage.migrate`` passes an open connection in ``config.attributes["connection"]``; the ``alembic`` command
line instead gives a URL (``sqlalchemy.url`` in the ini file, else ``DATABASE_URL``).

On PostgreSQL the version table lives in the connection's current schema (the first of its search_path), so
that a database holding several schemas (tests, tenants) keeps one version per schema.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from storage.db import make_engine
from storage.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    schema: str | None = None
    if connection.dialect.name == "postgresql":
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite DDL is transactional once pysqlite no longer manages BEGIN (see storage.db).
        transactional_ddl=True,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table_schema=schema,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("no database: set sqlalchemy.url or DATABASE_URL")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
