"""``schedbot migrate``: upgrade the database to the newest schema (a no-op when it is already there)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["database_url", "error_line", "register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="create or upgrade the database schema",
        description="Upgrade the database named by --database-url or DATABASE_URL to the newest schema.",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="sqlite:///path/to/file.db or postgresql://user@host/db (default: $DATABASE_URL, else sqlite:///var/schedbot.db)",
    )
    parser.set_defaults(func=run)


def database_url(args: argparse.Namespace) -> str:
    """--database-url, else DATABASE_URL, else the embedded SQLite default (read at run time)."""
    from pathlib import Path

    from bot.config import Settings

    url: str | None = getattr(args, "database_url", None)
    chosen = url.strip() if url and url.strip() else Settings.from_env().database_url
    if chosen.startswith("sqlite:///"):  # the embedded default lives in ./var, created on first use
        Path(chosen.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return chosen


def error_line(exc: BaseException) -> str:
    """One line that says what went wrong, without a traceback or SQLAlchemy's boilerplate."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def run(args: argparse.Namespace) -> int:
    try:
        from storage.db import display_url
        from storage.migrate import head, upgrade

        url = database_url(args)
        shown = display_url(url)
        result = upgrade(url)
    except Exception as exc:
        print(f"schedbot migrate: error: {error_line(exc)}", file=sys.stderr)
        return 1
    target = head()
    if result.changed:
        print(f"{shown}: upgraded from {result.before or '(empty database)'} to {result.after} (head)")
    else:
        print(f"{shown}: already at {result.after} (head {target}); nothing to do")
    return 0
