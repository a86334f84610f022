"""Migrations: idempotent, matching the tables, and the `migrate` / `secrets rotate` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from storage.migrate import MIGRATIONS_DIR, current, head, upgrade
from storage.tables import metadata

ROOT = Path(__file__).resolve().parents[3]


def test_migrations_run_twice_are_a_no_op(db: Any) -> None:
    assert current(db.engine) == head()
    again = upgrade(db.engine)
    assert (again.before, again.after, again.changed) == (head(), head(), False)
    if db.backend == "postgresql":
        with db.engine.connect() as conn:
            kind = conn.execute(
                text("SELECT contype FROM pg_constraint WHERE conname = 'bookings_no_overlap'")
            ).scalar()
        assert kind == "x"  # an exclusion constraint


def test_the_migrations_create_exactly_the_tables(db: Any) -> None:
    with db.engine.connect() as conn:
        opts: dict[str, Any] = {"compare_type": True}
        if db.backend == "postgresql":
            opts["include_schemas"] = False
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
    assert diff == []


def test_sqlite_is_wal_with_a_busy_timeout_and_foreign_keys(db: Any) -> None:
    if db.backend != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrations_are_package_data_next_to_the_code() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "alembic.ini").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("0001_*.py"))


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`schedbot ARGS`, i.e. `python -m bot ARGS`, in a subprocess."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    cmd = [sys.executable, "-m", "bot", *args]
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120)


def test_migrate_command_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'fresh.db'}"
    first = _cli("migrate", "--database-url", url)
    assert first.returncode == 0, first.stderr
    assert f"upgraded from (empty database) to {head()}" in first.stdout
    assert current(url) == head()
    second = _cli("migrate", env={"DATABASE_URL": url})
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout


def test_commands_fail_with_one_line_not_a_traceback(tmp_path: Path) -> None:
    bad = _cli("migrate", "--database-url", "mysql://nobody@localhost/x")
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    no_keys = _cli("secrets", "rotate", "--database-url", f"sqlite:///{tmp_path / 'x.db'}", env={"SECRET_KEYS": ""})
    assert no_keys.returncode != 0 and "SECRET_KEYS" in no_keys.stderr and "Traceback" not in no_keys.stderr
    unmigrated = _cli("secrets", "rotate", "--database-url", f"sqlite:///{tmp_path / 'y.db'}", env={"SECRET_KEYS": "k"})
    assert unmigrated.returncode != 0 and "schedbot migrate" in unmigrated.stderr, unmigrated.stderr


def test_secrets_rotate_command(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.scheduling.model import Person
    from storage.store import open_storage

    url = f"sqlite:///{tmp_path / 'rot.db'}"
    store = open_storage(url, secret_keys="old-key-material", migrate=True)
    try:
        store.people.add(Person(id="p", display_name="P"))
        account = store.calendars.add_account("p", "google", "g", now=datetime.now(UTC))
        store.credentials.put(account.id, {"refresh_token": "r"})
    finally:
        store.close()
    done = _cli("secrets", "rotate", "--database-url", url, env={"SECRET_KEYS": "new-key-material,old-key-material"})
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 1 stored credential" in done.stdout
    store = open_storage(url, secret_keys="new-key-material")
    try:
        assert store.credentials.get(account.id) == {"refresh_token": "r"}
    finally:
        store.close()
    wrong = _cli("secrets", "rotate", "--database-url", url, env={"SECRET_KEYS": "unrelated-key"})
    assert wrong.returncode == 1 and "cannot be decrypted with the configured SECRET_KEYS" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
