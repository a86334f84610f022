"""Time zones named in a message: abbreviations ("PST", "CET"), regions ("Pacific time") and cities
("Berlin time")."""

from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = ["find_zone", "load_zone"]

ABBREVIATIONS: dict[str, str] = {
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
    "mst": "America/Denver", "mdt": "America/Denver", "mt": "America/Denver",
    "cst": "America/Chicago", "cdt": "America/Chicago", "ct": "America/Chicago",
    "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
    "akst": "America/Anchorage", "hst": "Pacific/Honolulu",
    "gmt": "Europe/London", "bst": "Europe/London", "wet": "Europe/Lisbon", "west": "Europe/Lisbon",
    "cet": "Europe/Berlin", "cest": "Europe/Berlin", "mez": "Europe/Berlin", "mesz": "Europe/Berlin",
    "eet": "Europe/Athens", "eest": "Europe/Athens", "msk": "Europe/Moscow",
    "ist": "Asia/Kolkata", "jst": "Asia/Tokyo", "kst": "Asia/Seoul", "sgt": "Asia/Singapore",
    "hkt": "Asia/Hong_Kong", "aest": "Australia/Sydney", "aedt": "Australia/Sydney",
    "acst": "Australia/Adelaide", "awst": "Australia/Perth", "nzst": "Pacific/Auckland",
    "nzdt": "Pacific/Auckland", "brt": "America/Sao_Paulo", "art": "America/Argentina/Buenos_Aires",
    "utc": "UTC", "z": "UTC",
}
REGIONS: dict[str, str] = {
    "pacific": "America/Los_Angeles", "mountain": "America/Denver", "central": "America/Chicago",
    "eastern": "America/New_York", "east coast": "America/New_York", "west coast": "America/Los_Angeles",
    "central european": "Europe/Berlin", "western european": "Europe/Lisbon", "eastern european": "Europe/Athens",
    "uk": "Europe/London", "british": "Europe/London", "india": "Asia/Kolkata", "indian": "Asia/Kolkata",
    "japan": "Asia/Tokyo", "new york": "America/New_York", "ny": "America/New_York", "nyc": "America/New_York",
    "sf": "America/Los_Angeles", "san francisco": "America/Los_Angeles", "la": "America/Los_Angeles",
    "munich": "Europe/Berlin", "münchen": "Europe/Berlin", "frankfurt": "Europe/Berlin", "hamburg": "Europe/Berlin",
    "barcelona": "Europe/Madrid", "milan": "Europe/Rome", "milano": "Europe/Rome", "roma": "Europe/Rome",
    "geneva": "Europe/Zurich", "zürich": "Europe/Zurich", "munchen": "Europe/Berlin", "seattle": "America/Los_Angeles",
    "boston": "America/New_York", "washington": "America/New_York", "miami": "America/New_York",
    "atlanta": "America/New_York", "austin": "America/Chicago", "dallas": "America/Chicago",
    "houston": "America/Chicago", "rio": "America/Sao_Paulo", "são paulo": "America/Sao_Paulo",
    "lisboa": "Europe/Lisbon", "londres": "Europe/London", "berlín": "Europe/Berlin", "parís": "Europe/Paris",
    "bangalore": "Asia/Kolkata", "mumbai": "Asia/Kolkata", "delhi": "Asia/Kolkata", "beijing": "Asia/Shanghai",
    "sydney": "Australia/Sydney", "melbourne": "Australia/Melbourne",
    "nueva york": "America/New_York", "nova york": "America/New_York", "nova iorque": "America/New_York",
    "brasília": "America/Sao_Paulo", "brasilia": "America/Sao_Paulo", "méxico": "America/Mexico_City",
    "ciudad de méxico": "America/Mexico_City", "cdmx": "America/Mexico_City", "españa": "Europe/Madrid",
    "espanha": "Europe/Madrid", "spain": "Europe/Madrid", "france": "Europe/Paris", "francia": "Europe/Paris",
    "germany": "Europe/Berlin", "deutschland": "Europe/Berlin", "alemania": "Europe/Berlin",
    "italia": "Europe/Rome", "italy": "Europe/Rome", "portugal": "Europe/Lisbon", "brasil": "America/Sao_Paulo",
    "brazil": "America/Sao_Paulo", "londra": "Europe/London", "parigi": "Europe/Paris", "berlino": "Europe/Berlin",
    "wien": "Europe/Vienna", "köln": "Europe/Berlin", "cologne": "Europe/Berlin",
}

_ABBR_RE = re.compile(r"(?<![\w@<])(" + "|".join(sorted((k for k in ABBREVIATIONS if len(k) > 1), key=len,
                                                          reverse=True)) + r")(?![\w>])", re.IGNORECASE)
# "<place> time": the place is the word(s) right before "time" (at most three), never what comes earlier
_TIME_WORD_RE = re.compile(r"\b(?:(?:standard|daylight|summer|winter|local)\s+)?time(?:\s?zone)?\b", re.IGNORECASE)
_TAIL_WORDS_RE = re.compile(r"(?:(?<=\s)|^)((?:[^\W\d_][\w.'-]*\s+){1,3})$")
# "hora de <place>", "heure de <place>", ...: the place is the word(s) right after
_ZONE_OF_RE = re.compile(
    r"\b(?:hora|heure|ora|horário|horario|zeit|uhrzeit)\s+(?:de|di|del|da|do|in)\s+"
    r"((?:[^\W\d_][\w.'-]*)(?:\s+[^\W\d_][\w.'-]*){0,2})", re.IGNORECASE)
# words that are zoneinfo city names but mean something else before "time" ("christmas time", "same time")
_NOT_PLACES = frozenset((
    "my", "local", "your", "the", "what", "this", "that", "same", "a", "any", "free", "lunch", "half", "full",
    "first", "last", "next", "one", "some", "spare", "good", "meeting", "busy", "easter", "christmas", "general",
    "continental", "north", "south", "east", "west", "center", "midway", "wake", "reunion", "stanley", "casey",
    "davis", "palmer", "troll", "knox", "oral", "act", "virgin", "victoria", "jersey", "summer", "winter"))
_MY_TIME_RE = re.compile(r"\b(?:my time|my timezone|my time zone|my local time|local time)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in available_timezones():
        if "/" not in name or name.startswith(("Etc/", "SystemV/", "US/", "posix", "right")):
            continue
        city = name.rsplit("/", 1)[1].replace("_", " ").lower()
        out.setdefault(city, name)
    return out


@lru_cache(maxsize=256)
def load_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _place(words: str) -> str | None:
    cand = " ".join(words.lower().split()).strip(".'-")
    if not cand or cand in _NOT_PLACES:
        return None
    return REGIONS.get(cand) or ABBREVIATIONS.get(cand) or _cities().get(cand)


def find_zone(text: str) -> tuple[str | None, str | None]:
    """(IANA zone, matched words) named in the text, or (None, None). "my time" gives (None, words).

    The matched words are only the place and the word "time" ("Berlin time", "New York time"), so that the
    caller can remove them without losing a clock time or date said just before ("at quarter past two Berlin
    time")."""
    for m in _TIME_WORD_RE.finditer(text):
        tail = _TAIL_WORDS_RE.search(text[:m.start()])
        if tail is None:
            continue
        spans = [w.start() + tail.start(1) for w in re.finditer(r"\S+", tail.group(1))]
        # the longest run of words ending right before "time" that names a place
        for first in spans:
            zone = _place(text[first:m.start()])
            if zone:
                return zone, text[first:m.end()]
    for m in _ZONE_OF_RE.finditer(text):
        words = list(re.finditer(r"\S+", m.group(1)))
        for k in range(len(words), 0, -1):
            stop = m.start(1) + words[k - 1].end()
            zone = _place(text[m.start(1):stop].rstrip(",.!?"))
            if zone:
                return zone, text[m.start():stop]
    m2 = _ABBR_RE.search(text)
    if m2:
        word = m2.group(1)
        low = word.lower()
        # short ambiguous words must be written in capitals (ET, PT, CT, MT, IST, ...)
        if len(low) <= 3 and word != word.upper() and low not in ("utc", "gmt", "cet", "cest", "pst", "est", "bst"):
            return None, None
        if low in ("est", "art", "west", "ist") and word != word.upper():
            return None, None
        return ABBREVIATIONS[low], word
    if _MY_TIME_RE.search(text):
        return None, _MY_TIME_RE.search(text).group(0)  # type: ignore[union-attr]
    return None, None
