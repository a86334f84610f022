"""`schedbot slots REQUEST.json`: the scheduling core's whole input in, proposed slots and reasons out."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["MAX_REQUEST_BYTES", "register", "run", "solve"]

MAX_REQUEST_BYTES = 10 * 1024 * 1024


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "slots",
        help="propose conflict-free slots for a JSON request (see DESIGN.md)",
        description="Read a slot request (JSON, the file or '-' for stdin) and print "
        '{"slots": [...], "explain": [...]}. Nothing is read from storage or calendars.',
    )
    parser.add_argument("request", help="path to the request JSON, or - for standard input")
    parser.add_argument("--indent", type=int, default=None, help="pretty-print the answer")
    parser.set_defaults(func=run)


class RequestError(Exception):
    """A one-line problem with the request, shown to the person as is."""


def _read(source: str) -> bytes:
    if source == "-":
        data = sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1)
    else:
        try:
            with open(source, "rb") as handle:
                data = handle.read(MAX_REQUEST_BYTES + 1)
        except FileNotFoundError:
            raise RequestError(f"{source}: no such file") from None
        except IsADirectoryError:
            raise RequestError(f"{source}: is a directory, not a request file") from None
        except OSError as exc:
            raise RequestError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_REQUEST_BYTES:
        raise RequestError(f"request is larger than {MAX_REQUEST_BYTES // (1024 * 1024)} MB")
    return data


def solve(raw: bytes) -> dict[str, Any]:
    """Decode, validate, read any ICS files the request names, search, and encode the answer."""
    from bot.scheduling import find_slots
    from bot.scheduling.wire import ics_paths, request_from_json, result_to_json, window_from_json

    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError("request is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise RequestError(f"request is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise RequestError("request is nested too deeply") from None
    except ValueError:  # e.g. an integer beyond Python's digit limit for str -> int
        raise RequestError("request is not valid JSON (a number has too many digits)") from None
    try:
        paths = ics_paths(data)
        extra: dict[str, list[Any]] = {}
        if paths:
            from bot.providers.ics import load_ics_file
            from bot.scheduling.model import load_zone

            window = window_from_json(data.get("window") if isinstance(data, dict) else None)
            zones = {
                str(p.get("id")): str(p.get("timezone", "UTC"))
                for p in data.get("participants", [])
                if isinstance(p, dict)
            }
            for pid, files in paths.items():
                zone = zones.get(pid, "UTC")
                load_zone(zone)
                for path in files:
                    extra.setdefault(pid, []).extend(load_ics_file(path, window=window, default_tz=zone))
        request = request_from_json(data, extra_busy=extra)
    except ValueError as exc:  # IcsError is a ValueError too
        raise RequestError(str(exc)) from None
    result = find_slots(request)
    return result_to_json(result, timezone=request.participants[0].timezone)


def run(args: argparse.Namespace) -> int:
    try:
        answer = solve(_read(args.request))
    except RequestError as exc:
        print(f"schedbot slots: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("schedbot slots: request too large to process", file=sys.stderr)
        return 2
    json.dump(answer, sys.stdout, indent=args.indent, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
