"""Fixtures for the storage tests: every repository test runs on SQLite and on PostgreSQL.

SQLite: a fresh file in tmp_path, migrated with the real Alembic migrations.
PostgreSQL: ``SCHEDBOT_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each
test gets its own freshly migrated schema (search_path ``<schema>,public``; btree_gist lives in public), dropped
afterwards, so parallel runs never collide.  When no PostgreSQL answers, those tests are skipped and the run
ends with a loud banner; set ``SCHEDBOT_REQUIRE_POSTGRES=1`` (CI) to fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from storage.db import make_engine
from storage.migrate import upgrade

PG_URL = os.environ.get("SCHEDBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("SCHEDBOT_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no")

_pg: dict[str, Any] = {"checked": False, "error": None, "skipped": 0}


def _postgres_error() -> str | None:
    """None when PostgreSQL answers (and btree_gist is installed in public), else why not.  Checked once."""
    if not _pg["checked"]:
        _pg["checked"] = True
        try:
            admin = make_engine(PG_URL, poolclass=NullPool, connect_args={"connect_timeout": 3})
            try:
                with admin.begin() as conn:
                    conn.execute(text("SELECT 1"))
                try:
                    with admin.begin() as conn:
                        conn.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public"))
                except Exception:  # a parallel run created it at the same moment
                    with admin.begin() as conn:
                        conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")).one()
            finally:
                admin.dispose()
        except Exception as exc:
            _pg["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return _pg["error"]


@dataclass
class Db:
    backend: str
    engine: Engine
    url: str
    search_path: str | None = None

    def new_engine(self, **kwargs: Any) -> Engine:
        """Another engine on the same database (and schema)."""
        return make_engine(self.url, search_path=self.search_path, **kwargs)


def _sqlite(tmp_path: Path) -> Iterator[Db]:
    url = f"sqlite:///{tmp_path / 'storage-test.db'}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield Db("sqlite", engine, url)
    finally:
        engine.dispose()


def _postgres() -> Iterator[Db]:
    error = _postgres_error()
    if error is not None:
        _pg["skipped"] += 1
        message = f"PostgreSQL at {PG_URL} is not answering ({error}); PostgreSQL tests NOT RUN"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    search_path = f"{schema},public"
    engine = make_engine(PG_URL, search_path=search_path, pool_size=5, max_overflow=70)
    try:
        upgrade(engine)
        yield Db("postgresql", engine, PG_URL, search_path)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:
        yield from _postgres()


@pytest.fixture
def engine(db: Db) -> Engine:
    return db.engine


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    if _pg["error"] is None or not _pg["skipped"]:
        return
    terminalreporter.write_sep("!", "PostgreSQL NOT TESTED", red=True, bold=True)
    terminalreporter.write_line(
        f"{_pg['skipped']} storage test(s) were SKIPPED because PostgreSQL at {PG_URL} did not answer:",
        red=True,
        bold=True,
    )
    terminalreporter.write_line(f"    {_pg['error']}", red=True)
    terminalreporter.write_line(
        "The exclusion constraint and the concurrency guarantees on PostgreSQL are unverified. Start one with "
        "`docker run -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test -p 5432:5432 postgres:16`, or set "
        "SCHEDBOT_TEST_POSTGRES_URL; SCHEDBOT_REQUIRE_POSTGRES=1 turns these skips into failures.",
        red=True,
    )
    terminalreporter.write_sep("!", "PostgreSQL NOT TESTED", red=True, bold=True)
