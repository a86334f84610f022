"""Participants: Slack mentions, Teams mentions, e-mail addresses and plain names after with/for."""

from __future__ import annotations

import re

from bot.language.lexicon import MONTHS, PHRASES, WEEKDAYS

__all__ = ["find_participants", "strip_mentions"]

SLACK_RE = re.compile(r"<@[UW][A-Z0-9]{2,20}(?:\|[^<>|]{0,80})?>")
SLACK_GROUP_RE = re.compile(r"<!subteam\^[A-Z0-9]{2,20}(?:\|[^<>|]{0,80})?>")
TEAMS_RE = re.compile(r"<at[^<>]{0,80}>([^<>]{1,80})</at>", re.IGNORECASE)
EMAIL_RE = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+\b")
_NAME = r"[A-ZÀ-ÖØ-Þ][\w'’-]{1,30}"
NAME_AFTER_RE = re.compile(
    rf"(?:\b(?:with|w/|for|and|invite|inviting|including|plus|con|y|mit|und|avec|et|com|e|para|für|pour|per)\s+"
    rf"|,\s*)((?:{_NAME})(?:\s+(?:{_NAME}|(?:van|von|de|da|di|del|der|le|la)\b)){{0,3}})")
# a name typed with "@" but not picked from the mention list ("grab 20 mins with @Dana")
AT_NAME_RE = re.compile(r"(?<![\w<@.])@([A-Za-zÀ-ÖØ-öø-ÿ][\w.'’-]{0,30}[\w])")
# a name as the subject of a question about time ("is Lee free", "when is Omar available", "Can Sam and I ...")
SUBJECT_RE = re.compile(
    rf"\b(?:[Ii]s|[Aa]re|[Cc]an|[Cc]ould|[Ww]ill|[Dd]oes|[Hh]as|[Ii]st|[Hh]at|[Ee]st-ce que)\s+({_NAME}(?:\s+{_NAME})?)"
    r"(?=\s+(?:free|available|around|busy|open|(?:and|&) (?:I|me)\b|frei|verfügbar|libre|disponible|"
    r"dispon[íi]vel|livre|libero|libera|disponibile))")

_STOP = {w.lower() for w in (*MONTHS, *WEEKDAYS)}
for _table in PHRASES.values():
    for _k, _v in _table.items():
        if _v in WEEKDAYS or _v in MONTHS or _v in ("today", "tomorrow", "next", "this", "tonight"):
            _STOP.add(_k)
_STOP |= {
    "me", "i", "us", "we", "you", "my", "our", "the", "a", "an", "zoom", "teams", "slack", "google", "meet",
    "outlook", "skype", "webex", "office", "exchange", "icloud", "caldav", "cortana", "today", "tomorrow",
    "tonight", "next", "this", "everyone", "everybody", "all", "team", "them", "him", "her", "someone",
    "pst", "est", "cet", "utc", "gmt", "bst", "pt", "et", "ct", "mt", "am", "pm", "noon", "easter",
    "christmas", "halloween", "thanksgiving", "hi", "hey", "hello", "please", "thanks", "ok", "okay", "can",
    "could", "would", "let's", "lets", "book", "schedule", "set", "find", "cancel", "move", "reschedule",
    "morning", "afternoon", "evening", "night", "lunch", "mittag", "semana", "woche", "semaine", "settimana",
    "berlin", "london", "paris", "tokyo", "new", "york", "mañana", "morgen", "demain", "domani", "amanhã",
    "hoy", "heute", "oggi", "hoje", "él", "ella", "ich", "je", "io", "eu", "yo", "ihm", "ihr", "lui", "elle",
    "year", "year's", "years", "eve", "day", "there", "it", "that", "anyone", "anybody", "he", "she",
    "they", "du", "sie", "er", "tu", "il", "vous", "usted", "você", "lei",
}


def strip_mentions(text: str) -> str:
    """The text with Slack/Teams mention markup replaced by plain names (for the time grammar)."""
    text = SLACK_RE.sub(" ", text)
    text = SLACK_GROUP_RE.sub(" ", text)
    return TEAMS_RE.sub(lambda m: " " + m.group(1) + " ", text)


def find_participants(text: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for m in SLACK_RE.finditer(text):
        found.append((m.start(), m.group(0)))
    for m in SLACK_GROUP_RE.finditer(text):
        found.append((m.start(), m.group(0)))
    for m in TEAMS_RE.finditer(text):
        name = m.group(1).strip()
        if name:
            found.append((m.start(), name))
    plain = TEAMS_RE.sub(lambda m: "\x00" * len(m.group(0)), SLACK_RE.sub(lambda m: "\x00" * len(m.group(0)), text))
    for m in EMAIL_RE.finditer(plain):
        found.append((m.start(), m.group(0)))
    plain = EMAIL_RE.sub(lambda m: "\x00" * len(m.group(0)), plain)
    for m in AT_NAME_RE.finditer(plain):
        if m.group(1).lower() not in _STOP and m.group(1).lower() not in ("here", "channel", "everyone"):
            found.append((m.start(), m.group(1)))
    for m in SUBJECT_RE.finditer(plain):
        words = m.group(1).split()
        while words and words[-1].lower() in _STOP:
            words.pop()
        if words and words[0].lower() not in _STOP:
            found.append((m.start(1), " ".join(words)))
    for m in NAME_AFTER_RE.finditer(plain):
        words = m.group(1).split()
        # drop trailing/leading stop words ("with Dana Tomorrow")
        while words and words[-1].lower().strip("'’") in _STOP:
            words.pop()
        while words and words[0].lower().strip("'’") in _STOP:
            words.pop(0)
        if not words:
            continue
        while words and words[-1].lower() in ("van", "von", "de", "da", "di", "del", "der", "le", "la"):
            words.pop()
        if not words:
            continue
        name = re.sub(r"['’]s?$", "", " ".join(words))
        if m.group(0).lstrip().startswith(",") and not _after_name(found, m.start()):
            continue
        if name and name.lower() not in _STOP:
            found.append((m.start(1), name))
    found.sort()
    out: list[str] = []
    for _, name in found:
        if name not in out:
            out.append(name)
    return out


def _after_name(found: list[tuple[int, str]], pos: int) -> bool:
    return any(p < pos for p, _ in found)
