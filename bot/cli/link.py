"""``schedbot link HANDLE``: print signed links for a person: the web chat as them, and (for coaches) their
settings page.  For the person running the server (e.g. to act as the demo coach Dana); links expire in 24 hours."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "link",
        help="print signed sign-in and settings links for a person (e.g. the demo coach: schedbot link dana)",
        description="Print a signed, expiring link that opens the web chat as the person with this handle, and "
        "their settings page when they coach.  Uses DATABASE_URL, SECRET_KEYS and PUBLIC_URL like `serve`.",
    )
    parser.add_argument("handle", help="the person's handle (the name in their booking link), e.g. dana")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.adapters.web.links import settings_link, signin_link
    from bot.app import build_app
    from bot.config import Settings

    try:
        settings = Settings.from_env()
        app = build_app(settings)
    except Exception as exc:  # one clear line, never a traceback
        print(f"schedbot link: {exc}", file=sys.stderr)
        return 2
    try:
        person = app.storage.people.by_handle(args.handle.lstrip("@"))
        if person is None:
            print(f"schedbot link: nobody has the handle {args.handle!r}", file=sys.stderr)
            return 2
        now = app.clock()
        print(f"Web chat as {person.display_name}: {signin_link(person.id, settings=settings, now=now)}")
        if person.is_coach:
            print(f"Settings page:       {settings_link(person.id, settings=settings, now=now)}")
        return 0
    finally:
        app.storage.close()
