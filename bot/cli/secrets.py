"""``schedbot secrets rotate``: re-encrypt every stored credential under the first of SECRET_KEYS."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from bot.cli.migrate import database_url, error_line

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "secrets",
        help="manage the encryption of stored credentials",
        description="Manage the encryption of stored calendar credentials (SECRET_KEYS).",
    )
    actions = parser.add_subparsers(dest="secrets_command", metavar="ACTION")
    actions.required = True
    rotate = actions.add_parser(
        "rotate",
        help="re-encrypt every stored credential with the first of SECRET_KEYS",
        description=(
            "Re-encrypt every stored credential with the first key of SECRET_KEYS (comma-separated; every key "
            "decrypts).  Put the new key first, run this, then drop the old key."
        ),
    )
    rotate.add_argument("--database-url", metavar="URL", help="default: $DATABASE_URL, else sqlite:///var/schedbot.db")
    rotate.set_defaults(func=run)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "secrets_command", None) not in (None, "rotate"):
        print(f"schedbot secrets: error: unknown action {args.secrets_command!r}", file=sys.stderr)
        return 2
    keys = os.environ.get("SECRET_KEYS", "")
    if not keys.strip():
        print("schedbot secrets rotate: error: SECRET_KEYS is not set (comma-separated keys)", file=sys.stderr)
        return 1
    try:
        from sqlalchemy import inspect

        from storage.db import display_url
        from storage.migrate import current
        from storage.store import open_storage

        url = database_url(args)
        store = open_storage(url, secret_keys=keys)
        try:
            if current(store.engine) is None or not inspect(store.engine).has_table("credentials"):
                print(
                    f"schedbot secrets rotate: error: {display_url(url)} has no schema yet; run `schedbot migrate`",
                    file=sys.stderr,
                )
                return 1
            count = store.credentials.rotate_all()
        finally:
            store.close()
    except Exception as exc:
        print(f"schedbot secrets rotate: error: {error_line(exc)}", file=sys.stderr)
        return 1
    noun = "credential" if count == 1 else "credentials"
    print(f"re-encrypted {count} stored {noun} with the first of SECRET_KEYS")
    return 0
