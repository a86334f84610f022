"""Natural-language requests: chat message -> intent, people, duration, time windows, settings.

``parse_request(text, now=..., tz=...)`` is the single entry point; ``python -m bot parse`` and every chat
surface call it. Heavy work happens per call only; importing this package compiles regexes and nothing else.
"""

from __future__ import annotations

from bot.language.model import INTENTS, PROVIDERS, ParsedRequest, Window
from bot.language.parser import parse_request

__all__ = ["INTENTS", "PROVIDERS", "ParsedRequest", "Window", "parse_request"]
