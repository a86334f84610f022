"""``parse_request``: a chat message -> :class:`ParsedRequest` (pure: no I/O, no clock reads)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.language.calendar_math import localize
from bot.language.intents import TIME_OFF, detect_intent, detect_provider
from bot.language.model import ParsedRequest, Window
from bot.language.normalize import MAX_CHARS, canonicalize, detect_language, numbers_to_digits
from bot.language.people import find_participants, strip_mentions
from bot.language.settings import parse_buffers, parse_hours
from bot.language.timegrammar import Extraction, extract
from bot.language.zones import find_zone, load_zone

__all__ = ["parse_request"]

_AMPM_RE = re.compile(r"(\d)\s*\.?([ap])\s?\.\s?m\s?\.|(\d)\s*\.?([ap])\s?\.?\s?m\b")
_AMPM2_RE = re.compile(r"(\d)([ap])\b(?![\w'])")
_FIXES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:tmrw|tmr|tmrow|tomorow|tommorow|tommorrow|2morrow|2moro)\b"), "tomorrow"),
    (re.compile(r"\btonite\b"), "tonight"),
    (re.compile(r"\b(?:tdy|2day)\b"), "today"),
    (re.compile(r"\bweek-end\b"), "weekend"),
    (re.compile(r"\bnight-time\b|\bnighttime\b"), "night"),
    (re.compile(r"\bmid-(morning|afternoon|day)\b"), r"mid \1"),
    (re.compile(r"\b(afternoon|morning|evening)ish\b"), r"\1"),
    (re.compile(r"\bthurs?\b\.?"), "thu"),
    (re.compile(r"\ba\.m\.|\ba\.m\b"), "am"),
    (re.compile(r"\bp\.m\.|\bp\.m\b"), "pm"),
)


_NEW_TIME_RE = re.compile(r"\b(?:to|into|until|till|for|instead,? on)\s+(?!be\b|make\b|do\b|a\s|an\s)")


def canonical_text(text: str, lang: str) -> str:
    s = canonicalize(text, lang)
    s = numbers_to_digits(s)
    s = _AMPM_RE.sub(lambda m: f"{m[1] or m[3]}{(m[2] or m[4])}m", s)
    s = _AMPM2_RE.sub(lambda m: f"{m[1]}{m[2]}m", s)
    for rx, rep in _FIXES:
        s = rx.sub(rep, s)
    return s


def _zone_or_utc(tz: str) -> tuple[ZoneInfo, str, list[str]]:
    zone = load_zone(tz) if tz else None
    if zone is None:
        return ZoneInfo("UTC"), "UTC", [f"unknown time zone {tz!r}: used UTC"]
    return zone, tz, []


def parse_request(text: str, *, now: datetime, tz: str) -> ParsedRequest:
    """Interpret one chat message, relative to ``now`` in the person's zone ``tz`` (IANA name)."""
    if not isinstance(text, str):
        text = str(text)
    zone, zone_name, notes = _zone_or_utc(tz)
    if now.tzinfo is None:
        now = localize(now, zone)
    raw = text[:MAX_CHARS]
    if len(text) > MAX_CHARS:
        notes.append(f"message cut to its first {MAX_CHARS} characters")
    participants = find_participants(raw)
    plain = strip_mentions(raw)
    lang = detect_language(plain)
    named, words = find_zone(plain)
    if named and (z := load_zone(named)) is not None:
        zone, zone_name = z, named
        if words:
            notes.append(f"times read in {named} ({words.strip()})")
    if words:
        plain = plain.replace(words, " ")
    canon = canonical_text(plain, lang)
    intent = detect_intent(raw.lower(), canon)
    aware_now = now.astimezone(zone)
    local_now = aware_now.replace(tzinfo=None)
    ex = extract(canon, local_now, aware_now=aware_now)
    if intent == "reschedule":
        # the windows are the new time: what follows "to"/"for"/"until" when that names a time
        for m in _NEW_TIME_RE.finditer(canon):
            tail = extract(canon[m.end():], local_now, aware_now=aware_now)
            if tail.windows:
                ex = Extraction(tail.windows, ex.duration_minutes, tail.notes)
                notes.append("reschedule: the windows are the new time")
                break
    notes.extend(n for n in ex.notes if n not in notes)
    windows: list[Window] = []
    for w in ex.windows:
        s = localize(w.start, zone)
        if w.length is not None:
            e = (s.astimezone(UTC) + timedelta(minutes=w.length)).astimezone(zone)
        else:
            e = localize(w.end, zone)
        if e.astimezone(UTC) <= s.astimezone(UTC):  # same-zone comparisons are wall-clock ones
            e = (s.astimezone(UTC) + timedelta(minutes=30)).astimezone(zone)
        windows.append(Window(s, e))
    if intent == "unknown" and TIME_OFF.search(f"{raw.lower()}\n{canon}"):
        notes.append("time off or blocked time: not a booking; set it with your working hours or in your calendar")
    elif intent == "unknown" and (ex.windows or ex.duration_minutes or participants):
        intent = "book"
        notes.append("assumed you want to book a session")
    hours = None
    before = after = None
    provider = None
    duration = ex.duration_minutes
    if intent == "set_hours":
        hours, hn = parse_hours(canon)
        notes.extend(hn)
        windows, duration = [], None
    elif intent == "set_buffer":
        before, after, bn = parse_buffers(canon)
        notes.extend(bn)
        windows, duration = [], None
    elif intent == "connect":
        provider = detect_provider(raw) or detect_provider(canon)
        if provider is None:
            notes.append("which calendar: Google, Microsoft (Outlook/Office 365/Exchange), iCloud or CalDAV?")
    if lang != "en":
        notes.append(f"language: {lang}")
    return ParsedRequest(
        intent=intent,
        timezone=zone_name,
        participants=tuple(participants),
        duration_minutes=duration,
        windows=tuple(windows),
        hours=hours,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
        provider=provider,
        language=lang,
        notes=tuple(notes),
    )
