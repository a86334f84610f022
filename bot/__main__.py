"""The `schedbot` command line (also `python -m bot`).

Each subcommand lives in its own module that exposes ``register(subparsers)``; the module is imported
only when the command line is built, never at package import time.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

# Modules that contribute subcommands, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "bot.cli.serve",
    "bot.cli.chat",
    "bot.cli.migrate",
    "bot.cli.slots",
    "bot.language.cli",
    "bot.cli.secrets",
    "bot.cli.link",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="schedbot",
        description="Chat-first scheduler: book sessions, set hours, run slot polls.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
