"""`python -m bot parse`: one message, or a JSON-lines batch on stdin (the fixed contract)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import datetime
from typing import IO, Any

__all__ = ["parse_line", "register", "run"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("parse", help="interpret a natural-language scheduling request (JSON out)",
                              description="Interpret a scheduling request; prints the parse as JSON.")
    p.add_argument("text", nargs="?", default=None, help="the message (omit with --jsonl)")
    p.add_argument("--now", default=None, help="reference time, ISO 8601 (default: the current time)")
    p.add_argument("--tz", default="UTC", help="IANA time zone of the person (default UTC)")
    p.add_argument("--jsonl", action="store_true",
                   help='read {"text","now","tz"} objects, one per line, from stdin; one JSON answer per line')
    p.set_defaults(func=run)


def _unknown(error: str, tz: str = "UTC") -> dict[str, Any]:
    return {"intent": "unknown", "participants": [], "duration_minutes": None, "timezone": tz, "windows": [],
            "hours": None, "buffer_before_minutes": None, "buffer_after_minutes": None, "provider": None,
            "notes": [], "error": error}


def _parse_now(value: Any) -> datetime:
    if value is None or value == "":
        return datetime.now().astimezone()
    if not isinstance(value, str):
        raise ValueError("now must be an ISO 8601 string")
    v = value.strip()
    if v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    return datetime.fromisoformat(v)


def parse_one(text: Any, now: Any, tz: Any) -> dict[str, Any]:
    from bot.language.parser import parse_request

    tz_name = tz if isinstance(tz, str) and tz else "UTC"
    try:
        moment = _parse_now(now)
    except (ValueError, TypeError) as exc:
        return _unknown(f"bad now: {exc}", tz_name)
    if text is None:
        text = ""
    if not isinstance(text, str):
        return _unknown("text must be a string", tz_name)
    try:
        return parse_request(text, now=moment, tz=tz_name).to_json()
    except Exception as exc:
        return _unknown(f"internal error: {type(exc).__name__}", tz_name)


def parse_line(line: str) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return _unknown(f"malformed input line: {str(exc)[:100]}")
    if not isinstance(obj, dict):
        return _unknown("input line is not a JSON object")
    return parse_one(obj.get("text"), obj.get("now"), obj.get("tz"))


def _emit(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()


def run(args: argparse.Namespace) -> int:
    if args.jsonl:
        stdin = sys.stdin
        reconfigure = getattr(stdin, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="replace")
        for line in stdin:
            if not line.strip():
                _emit(sys.stdout, _unknown("empty input line"))
                continue
            _emit(sys.stdout, parse_line(line))
        return 0
    if args.text is None:
        _emit(sys.stdout, _unknown("no text given"))
        return 2
    result = parse_one(args.text, args.now, args.tz)
    _emit(sys.stdout, result)
    return 0 if "error" not in result else 2
