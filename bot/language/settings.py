"""Coach settings: weekly hours and buffers, from canonical (English, digits) text."""

from __future__ import annotations

import re

from bot.language.lexicon import WEEKDAYS

__all__ = ["parse_buffers", "parse_hours"]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tues|tue|thurs|thur|thu|mon|wed|fri|sat|sun)s?\.?"
_DAY_RANGE = rf"{_DAY}(?:\s*(?:-|–|to|through|thru|till|until)\s*{_DAY})?"
_DAYSPEC = (rf"(?:(?:on |every |each )?(?:weekdays|week days|every weekday|workdays|business days|working days|"
            rf"weekends?|every day|daily|each day|all week|7 days a week)|(?:on |every |each )?{_DAY_RANGE}"
            rf"(?:\s*(?:,|and|&|/|\+)\s*{_DAY_RANGE})*)")
_T = r"(?:\d{1,2}(?:[:.h]\d\d)?(?: ?[ap]m)?|noon|midnight)"
_TR = rf"(?:from |between )?({_T})\s*(?:-|–|to|till|until|and)\s*({_T})"
_ITEM_RE = re.compile(rf"(?P<days>\b{_DAYSPEC}\b)|(?P<tr>{_TR})|(?P<off>\b(?:off|closed|no hours|unavailable|"
                      rf"not available|not working|day off|free)\b)")


def _days_of(spec: str) -> list[int]:
    s = spec.strip()
    if re.search(r"weekdays|week days|weekday|workdays|business days|working days", s):
        return [0, 1, 2, 3, 4]
    if "weekend" in s:
        return [5, 6]
    if re.search(r"every day|daily|each day|all week|7 days", s):
        return list(range(7))
    out: list[int] = []
    for part in re.split(r"\s*(?:,|and|&|/|\+)\s*", s):
        names = re.findall(_DAY, part)
        if not names:
            continue
        a = WEEKDAYS[names[0].rstrip(".").rstrip("s") if names[0].rstrip(".") not in WEEKDAYS
                     else names[0].rstrip(".")]
        if len(names) >= 2:
            b_name = names[-1].rstrip(".")
            b = WEEKDAYS[b_name if b_name in WEEKDAYS else b_name.rstrip("s")]
            k = a
            while True:
                out.append(k)
                if k == b:
                    break
                k = (k + 1) % 7
        else:
            out.append(a)
    return sorted(set(out), key=out.index)


def _clock(t: str) -> tuple[int, int, str | None]:
    t = t.strip()
    if t == "noon":
        return 12, 0, "x"
    if t == "midnight":
        return 0, 0, "x"
    m = re.fullmatch(r"(\d{1,2})(?:[:.h](\d\d))?(?: ?([ap]m))?", t)
    if not m:
        return 0, 0, None
    h, mi, mer = int(m[1]), int(m[2] or 0), m[3]
    if mer == "pm" and h < 12:
        h += 12
    elif mer == "am" and h == 12:
        h = 0
    elif mer is None and (h > 12 or m[1].startswith("0")):
        mer = "x"
    return h, mi, mer


def _range(a: str, b: str) -> tuple[str, str] | None:
    h1, m1, mer1 = _clock(a)
    h2, m2, mer2 = _clock(b)
    if mer1 is None and mer2 is None and h1 <= 6:
        h1 += 12  # "1-5" are afternoon hours
    if mer1 is None and mer2 in ("am", "pm") and h1 < 12:
        # "9-12pm", "1-5pm": the start takes the reading that gives the shorter positive span
        cands = [h1, h1 + 12]
        h1 = min(cands, key=lambda h: ((h2 * 60 + m2) - (h * 60 + m1)) % 1440 or 1440)
    s = h1 * 60 + m1
    if mer2 is None and h2 < 12:
        for cand in (h2, h2 + 12):
            if cand * 60 + m2 > s:
                h2 = cand
                break
    e = h2 * 60 + m2
    if h2 == 0 and m2 == 0:
        e = 1440
    if not (0 <= s < e <= 1440):
        return None
    return f"{s // 60:02d}:{s % 60:02d}", ("24:00" if e == 1440 else f"{e // 60:02d}:{e % 60:02d}")


def parse_hours(canonical: str) -> tuple[dict[str, list[list[str]]], list[str]]:
    """Weekly hours for the weekdays mentioned: {"mon": [["09:00", "17:00"]], ...} plus notes."""
    items: list[tuple[str, object]] = []
    for m in _ITEM_RE.finditer(canonical):
        if m.group("days"):
            days = _days_of(m.group("days"))
            if days:
                items.append(("days", days))
        elif m.group("tr"):
            r = _range(m.group(3), m.group(4))
            if r:
                items.append(("range", r))
        elif m.group("off"):
            items.append(("off", None))
    hours: dict[str, list[list[str]]] = {}
    notes: list[str] = []
    current: list[int] | None = None
    pending: list[tuple[str, str]] = []
    assigned_current = False
    for kind, val in items:
        if kind == "days":
            days = val if isinstance(val, list) else []
            if pending and (current is None or assigned_current):
                for d in days:
                    hours.setdefault(DAY_KEYS[d], []).extend([list(p) for p in pending])
                pending = []
                current, assigned_current = days, True
                continue
            current, assigned_current = days, False
        elif kind == "range" and isinstance(val, tuple):
            if current is None:
                pending.append(val)
            else:
                for d in current:
                    hours.setdefault(DAY_KEYS[d], []).append([val[0], val[1]])
                assigned_current = True
        elif kind == "off" and current is not None and not assigned_current:
            for d in current:
                hours[DAY_KEYS[d]] = []
            assigned_current = True
    if pending and not hours:
        for d in range(5):
            hours[DAY_KEYS[d]] = [list(p) for p in pending]
        notes.append("no days named: assumed Monday to Friday")
    for k, spans in hours.items():
        hours[k] = [list(x) for x in sorted({(a, b) for a, b in spans})]
    ordered = {k: hours[k] for k in DAY_KEYS if k in hours}
    return ordered, notes


_BDUR = r"(\d+|an?|half an?|one)\s?-?(minutes?|mins?|min|m|hours?|hrs?|hr|h)\b"


def _minutes(q: str, unit: str) -> int:
    n = 0.5 if q.startswith("half") else 1.0 if q in ("a", "an", "one") else float(q)
    return round(n * (60 if unit.startswith("h") else 1))


def parse_buffers(canonical: str) -> tuple[int | None, int | None, list[str]]:
    """(before, after, notes) as said; ``None`` for a side that was not mentioned."""
    s = canonical
    notes: list[str] = []
    if re.search(r"\b(no|remove|without|zero|clear|disable|delete) (the )?(buffers?|padding|breaks?|gaps?)\b", s) or \
            re.search(r"\bbuffers? (off|to 0|to zero|of 0)\b", s):
        return 0, 0, notes
    before: int | None = None
    after: int | None = None
    for m in re.finditer(_BDUR + r"(?: of)?(?: buffer| break| padding| gap| pause)?s?\s*(?:,\s*)?"
                         r"(before and after|after and before|on (?:either|each|both) sides?|either side|around|"
                         r"before|after|between|in between)?", s):
        mins = _minutes(m[1], m[2])
        where = m[3] or ""
        if "before and after" in where or "after and before" in where or "side" in where or where == "around":
            before, after = mins, mins
        elif where == "before":
            before = mins
        elif where == "after":
            after = mins
        elif "between" in where:
            after = mins
            notes.append(f"assumed a {mins}-minute gap after each session")
        elif re.search(r"\b(buffer|padding|break|gap|pause|margin)", s) and before is None and after is None:
            before, after = mins, mins
    return before, after, notes
