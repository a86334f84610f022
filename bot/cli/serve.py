"""`schedbot serve`: migrate the database, then run the HTTP server (health, web chat, Slack, Teams)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the bot's HTTP server (default http://127.0.0.1:3978)",
        description="Migrate the database to the latest schema, then serve GET /healthz and the chat surfaces. "
        "Configuration comes from the environment (DATABASE_URL, HOST, PORT, ...; see README).",
    )
    parser.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: PORT or 3978)")
    parser.add_argument("--no-migrate", action="store_true", help="do not upgrade the database schema first")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import logging

    from aiohttp import web

    from bot.app import build_app
    from bot.config import Settings
    from bot.server import make_web_app

    try:
        settings = Settings.from_env()
        if args.host:
            settings = dataclasses.replace(settings, host=args.host)
        if args.port is not None:
            settings = dataclasses.replace(settings, port=args.port)
        if not args.no_migrate:
            from pathlib import Path

            from storage.migrate import upgrade

            if settings.database_url.startswith("sqlite:///"):
                Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            upgrade(settings.database_url)
        app = build_app(settings)
    except Exception as exc:  # one clear line, never a traceback, for a person starting the bot
        print(f"schedbot serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = f"http://{settings.host}:{settings.port}"
    server = make_web_app(app)
    from bot.adapters.slack.socket_mode import attach_socket_mode

    if attach_socket_mode(server, app):  # SLACK_APP_TOKEN: events over a WebSocket, no public URL needed
        print("Slack: Socket Mode (SLACK_APP_TOKEN is set)", flush=True)
    try:
        web.run_app(
            server,
            host=settings.host,
            port=settings.port,
            print=lambda _: print(_banner(url, settings), flush=True),
        )
    except OSError as exc:
        print(
            f"schedbot serve: cannot listen on {settings.host}:{settings.port} ({exc.strerror or exc})", file=sys.stderr
        )
        return 2
    return 0


def _banner(url: str, settings: Any) -> str:
    lines = [f"schedbot is running on {url} (health: {url}/healthz); Ctrl+C stops it"]
    if settings.demo:
        lines += [
            f"  web chat:            {url}/",
            f"  demo coach's page:   {url}/book/dana",
            "  act as the coach:    schedbot link dana   (prints her sign-in and settings links)",
        ]
    return "\n".join(lines)
