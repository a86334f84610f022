"""``schedbot chat --as NAME [--tz ZONE]``: talk to the bot in a terminal, with the same handlers as Slack."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

__all__ = ["register", "run"]

QUIT_WORDS = frozenset({"quit", "exit", "bye", "/quit", "/exit", ":q"})


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="chat with the bot in this terminal",
        description="Chat with the bot as NAME: book sessions, set hours, cancel, reschedule. Buttons become "
        "numbered choices (type the number); forms ask one field per line. Direct messages the bot sends to "
        "other people are shown as '[to NAME] ...'. quit or Ctrl+D leaves. SCHEDBOT_DEMO=1 adds the demo "
        "coach 'dana'.",
    )
    parser.add_argument("--as", dest="name", required=True, metavar="NAME", help="who you are (created if new)")
    parser.add_argument("--tz", default=None, metavar="ZONE",
                        help="your IANA time zone, e.g. America/New_York (default: your stored zone, else UTC)")
    parser.add_argument("--no-migrate", action="store_true", help="do not upgrade the database schema first")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.scheduling.model import load_zone

    if args.tz is not None:
        try:
            load_zone(args.tz)
        except ValueError as exc:
            print(f"schedbot chat: {exc}", file=sys.stderr)
            return 2
    name = " ".join(str(args.name).split())
    if not name:
        print("schedbot chat: --as needs a name", file=sys.stderr)
        return 2
    try:
        app = _build(migrate=not args.no_migrate)
    except Exception as exc:  # one clear line for a person starting the chat
        print(f"schedbot chat: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(chat(app, name=name, tz=args.tz, stdin=sys.stdin, stdout=sys.stdout))
    except KeyboardInterrupt:
        print()
        return 0
    finally:
        app.storage.close()


def _build(*, migrate: bool) -> Any:
    from pathlib import Path

    from bot.app import build_app
    from bot.config import Settings

    settings = Settings.from_env()
    if migrate:
        from storage.migrate import upgrade

        if settings.database_url.startswith("sqlite:///"):
            Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
    return build_app(settings)


async def _who(app: Any, name: str, tz: str | None) -> Any:
    """The person typing: their console identity, else someone with that handle (e.g. the demo coach), else new."""
    from dataclasses import replace

    from bot.handlers.people import person_for, slug
    from bot.scheduling.model import Identity

    storage = app.storage
    identity = Identity(surface="console", external_id=slug(name) or name.lower())
    existing = await asyncio.to_thread(storage.people.by_identity, identity)
    if existing is None:
        by_handle = await asyncio.to_thread(storage.people.by_handle, slug(name))
        if by_handle is not None:
            await asyncio.to_thread(storage.people.link_identity, by_handle.id, identity)
            existing = by_handle
    if existing is not None:
        if tz and tz != existing.timezone:
            existing = replace(existing, timezone=tz)
            await asyncio.to_thread(storage.people.update, existing)
        return existing
    return await person_for(storage, identity, display_name=name, timezone=tz or "UTC")


async def chat(app: Any, *, name: str, tz: str | None, stdin: TextIO, stdout: TextIO) -> int:
    from bot.adapters.console import field_answer, field_prompt, form_header, render_replies
    from bot.handlers.replies import Action, Asker, Choice, FormSubmit, Incoming, Message, Reply

    person = await _who(app, name, tz)
    asker = Asker(person.id, person.display_name, person.timezone, surface="console")
    names: dict[str, str] = {}

    def out(text: str, end: str = "\n") -> None:
        stdout.write(text + end)
        stdout.flush()

    async def read(prompt: str = "> ") -> str | None:
        out(prompt, end="")
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            out("")
            return None
        return line.rstrip("\r\n")

    async def show(replies: list[Reply]) -> tuple[tuple[Choice, ...], list[Any]]:
        for reply in replies:
            if reply.to and reply.to not in names:
                other = await asyncio.to_thread(app.storage.people.get, reply.to)
                names[reply.to] = other.display_name if other else reply.to
        rendered = render_replies(replies, me=asker.person_id, names=names)
        if rendered.text:
            out(rendered.text)
        return rendered.choices, list(rendered.forms)

    out(f"Chatting as {asker.display_name} ({asker.timezone}). Type 'help' for examples, a number to pick a "
        "choice, 'quit' to leave.")
    choices: tuple[Choice, ...] = ()
    while True:
        line = await read()
        if line is None:
            return 0
        text = line.strip()
        if not text:
            continue
        if text.lower() in QUIT_WORDS:
            out("Bye!")
            return 0
        incoming: Incoming
        if text.isdigit() and choices:
            number = int(text)
            if not 1 <= number <= len(choices):
                out(f"Pick a number from 1 to {len(choices)}, or type a message.")
                continue
            picked = choices[number - 1]
            if picked.confirm:
                answer = await read(f"{picked.confirm} [y/N] ")
                if answer is None:
                    return 0
                if answer.strip().lower() not in ("y", "yes"):
                    out("OK, nothing changed.")
                    continue
            incoming = Action(picked.action, picked.value)
        else:
            incoming = Message(text)
        replies = await app.conversation.handle(asker, incoming)
        new_choices, forms = await show(replies)
        choices = new_choices or choices
        while forms:  # fill in each form, field by field; a refused submit comes back with its errors
            form = forms.pop(0)
            out(form_header(form))
            values: dict[str, str] = {}
            for field in form.fields:
                typed = await read(field_prompt(field))
                if typed is None:
                    return 0
                values[field.name] = field_answer(field, typed)
            replies = await app.conversation.handle(asker, FormSubmit(form.id, values))
            new_choices, more_forms = await show(replies)
            choices = new_choices or choices
            forms = more_forms + forms
