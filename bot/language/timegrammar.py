"""The time grammar: canonical (English) text -> time windows, durations and notes.

How it works (a small Duckling-style pipeline, all regular expressions compiled at import):

1. *Atoms*: recognizers find dates, weekdays, day ranges (weeks, months, ...), clock times, time ranges,
   parts of day, instants ("now", "in 2 hours") and durations. Overlapping candidates are resolved
   longest-first.
2. *Merges*: neighbouring atoms separated only by filler words are combined: a date and a clock time
   make a moment, a part of day disambiguates a clock time, "A to B" makes a range, a duration after
   "for" stretches a moment into a range, a weekday inside a week picks a day of that week.
3. *Windows*: what is left is resolved against ``now`` in local wall time and turned into windows; a
   clock time or part of day that stands alone applies to every date that has none ("Tue or Wed
   afternoon").

Everything here works on naive local wall times; the caller localizes them per local date with zoneinfo.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from bot.language.calendar_math import (
    add_months,
    easter,
    iso_week_monday,
    last_weekday_of_month,
    month_range,
    nth_weekday_of_month,
    week_monday,
    weekday_on_or_after,
    weeks_of_month,
)
from bot.language.lexicon import MONTHS, WEEKDAYS

__all__ = ["Extraction", "RawWindow", "extract"]

DEFAULT_MINUTES = 30
MAX_DAY_WINDOWS = 31

# parts of day: (start hour, end hour) on the day; end may be 24
PODS: dict[str, tuple[float, float]] = {
    "morning": (8, 12), "early morning": (6, 9), "late morning": (10, 12), "mid morning": (9, 11),
    "afternoon": (12, 17), "early afternoon": (12, 14), "late afternoon": (15, 18), "mid afternoon": (13, 16),
    "evening": (18, 22), "early evening": (17, 19), "late evening": (20, 23),
    "night": (20, 24), "late night": (21, 24), "early night": (19, 22),
    "lunch": (11, 13), "after lunch": (13, 17), "before lunch": (8, 12),
    "daytime": (8, 18), "am": (8, 12), "pm": (12, 17), "business hours": (9, 17),
}


# ---------------------------------------------------------------- data model
@dataclass(frozen=True)
class Clock:
    h: int
    m: int = 0
    s: int = 0
    mer: str | None = None  # "am" | "pm"
    h24: bool = False  # written in 24-hour style (leading zero, "16h00", > 12)


@dataclass
class Frame:
    a: int
    b: int
    kind: str  # date | days | time | trange | pod | instant | irange | dur | num | year | wd | wdset | week
    d: date | None = None
    d2: date | None = None  # exclusive end of a day range
    t: Clock | None = None
    t2: Clock | None = None
    pod: str | None = None
    i1: datetime | None = None  # naive local instants
    i2: datetime | None = None
    minutes: int | None = None  # duration
    wd: int | None = None  # weekday that can be re-anchored in a week
    wdays: frozenset[int] | None = None  # day filter for day ranges ("weekdays")
    open_end: str | None = None  # "after" | "before"
    year_given: bool = False
    mdm: tuple[int, int] | None = None  # (month, day) without year, for weekday consistency
    wd_bare: bool = False  # a weekday named alone ("friday"): can be re-anchored in a week
    wdr: tuple[int, int] | None = None  # a weekday range ("Tue to Thu") that can be placed in a week
    offset: bool = False  # a date computed as an offset ("two weeks from now")
    notes: list[str] = field(default_factory=list)
    prio: int = 0

    @property
    def has_date(self) -> bool:
        return self.d is not None

    @property
    def has_time(self) -> bool:
        return self.t is not None or self.pod is not None or self.open_end is not None


@dataclass(frozen=True)
class RawWindow:
    start: datetime  # naive local
    end: datetime
    length: int | None = None  # a point in time: the end is start + length minutes of elapsed time


@dataclass
class Extraction:
    windows: list[RawWindow]
    duration_minutes: int | None
    notes: list[str]


@dataclass
class Ctx:
    now: datetime  # naive local wall time
    aware: datetime | None = None  # the same instant, aware (for elapsed-time arithmetic across DST)

    def fix(self, t: datetime) -> datetime:
        """``t`` was computed as now + a sub-day delta in wall time; redo it in elapsed time."""
        if self.aware is None or self.aware.tzinfo is None:
            return t
        zone = self.aware.tzinfo
        moved = (self.aware.astimezone(UTC) + (t - self.now)).astimezone(zone)
        return moved.replace(tzinfo=None)

    @property
    def today(self) -> date:
        return self.now.date()


# ---------------------------------------------------------------- regex vocabulary
MONW = (r"(?:january|february|march|april|june|july|august|september|october|november|december|"
        r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec|may)\.?")
WDW = (r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tues|tue|thurs|thur|thu|mon|wed|fri|"
       r"sat|sun)s?(?![a-z])\.?")
DAYN = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
YEAR = r"(?:19|20)\d\d"
ORDN = r"(?:\d{1,2}(?:st|nd|rd|th)|last|\d(?:st|nd|rd|th) last|last but one)"
UNIT = (r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|hr|h|days?|d|nights?|weeks?|wks?|w|fortnights?|"
        r"months?|mos?|years?|yrs?|y|business days?|working days?|weekends?|min|'|m)")
NUMQ = (r"(?:\d+(?:\.\d+)?|a couple of|couple of|a couple|a few|few|several|some|an|a|another|1/2|1/4|3/4|"
        r"half an?|half|a quarter of an?|quarter of an?|3 quarters of an?|3-quarters of an?|"
        r"\d+ and an? half|\d+ and half|\d+\.5)")
CLK = (r"(?:(?:half|quarter|a quarter|3 quarters|\d{1,2})(?: min(?:ute)?s?)? (?:past|after|to) "
       r"(?:\d{1,2}|noon|midnight)(?: ?[ap]m)?|noon|midnight|midday|"
       r"\d{1,2}(?:[:.]\d{2}){1,2}(?: ?[ap]m)?|\d{1,2} ?[ap]m|\d{1,2}h\d{2}|\d{1,2}(?: ?o'clock)?)")
POD_WORDS = (r"(?:(?:early |late |mid[- ]?)?(?:morning|afternoon|evening|night)|tonight|lunch ?time|lunch|"
             r"daytime|noon)")
FILL = re.compile(r"^[\s,;.@]*(?:(?:on|at|in|the|of|for|around|about|approximately|by|during|sometime|"
                  r"this|a|an|until|-|\(|\)|,)[\s,;.@]*)*$")
RANGE_SEP = re.compile(
    r"^\s*(?:-|–|/|to|till|til|until|through|thru|and|up to|to the|till the|until the|through the|and the|"
    r"until and including)\s*(?:the\s+|on\s+)?$")
RANGE_PRE = re.compile(r"(?:from|between|starting|start|beginning|btw|btwn|since)\s+(?:the\s+)?$")

_MONTH_WORD = re.compile(MONW)


def _mon(word: str) -> int:
    return MONTHS[word.rstrip(".")]


def _wday(word: str) -> int:
    w = word.rstrip(".")
    if w.endswith("s") and w[:-1] in WEEKDAYS:
        w = w[:-1]
    return WEEKDAYS[w]


def _num(s: str) -> int:
    return int(re.sub(r"\D", "", s))


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _future_md(ctx: Ctx, month: int, day: int) -> date | None:
    """The next (month, day) on or after today, skipping years where it does not exist (Feb 29)."""
    for y in range(ctx.today.year, ctx.today.year + 9):
        d = _safe_date(y, month, day)
        if d is not None and d >= ctx.today:
            return d
    return None


def _future_dom(ctx: Ctx, day: int) -> date | None:
    m = date(ctx.today.year, ctx.today.month, 1)
    for _ in range(14):
        d = _safe_date(m.year, m.month, day)
        if d is not None and d >= ctx.today:
            return d
        m = add_months(m, 1)
    return None


def _future_month(ctx: Ctx, month: int) -> int:
    return ctx.today.year if month >= ctx.today.month else ctx.today.year + 1


def _year2(y: str) -> int:
    v = int(y)
    if len(y) <= 2:
        return 2000 + v if v < 70 else 1900 + v
    return v


# ---------------------------------------------------------------- recognizers
Handler = Callable[[re.Match[str], Ctx], "Frame | None"]
_RULES: list[tuple[re.Pattern[str], Handler, int]] = []


def rule(pattern: str, prio: int = 0) -> Callable[[Handler], Handler]:
    rx = re.compile(pattern)

    def deco(fn: Handler) -> Handler:
        _RULES.append((rx, fn, prio))
        return fn

    return deco


def _F(m: re.Match[str], kind: str, **kw: object) -> Frame:
    return Frame(m.start(), m.end(), kind, **kw)  # type: ignore[arg-type]


def _day(m: re.Match[str], d: date | None, **kw: object) -> Frame | None:
    if d is None:
        return None
    return _F(m, "date", d=d, d2=d + timedelta(days=1), **kw)


def _days(m: re.Match[str], d: date | None, d2: date | None, **kw: object) -> Frame | None:
    if d is None or d2 is None or d2 <= d:
        return None
    return _F(m, "days", d=d, d2=d2, **kw)


# --- numeric dates
@rule(r"(?<![\d/.:-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d/:])")
def _iso_date(m: re.Match[str], ctx: Ctx) -> Frame | None:
    return _day(m, _safe_date(int(m[1]), int(m[2]), int(m[3])), year_given=True)


@rule(r"(?<![\d/.:-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/:]|\.\d)")
def _mdy_date(m: re.Match[str], ctx: Ctx) -> Frame | None:
    a, b, y = int(m[1]), int(m[3]), _year2(m[4])
    if m[2] == "." or a > 12:  # European day.month.year, or day first when it cannot be a month
        a, b = b, a
    return _day(m, _safe_date(y, a, b), year_given=True)


@rule(r"(?<![\d/.:,$-])(\d{1,2})/(\d{1,2})(?![\d/]| ?h\b| ?hours?| ?of an)")
def _md_slash(m: re.Match[str], ctx: Ctx) -> Frame | None:
    a, b = int(m[1]), int(m[2])
    if a > 12:
        a, b = b, a
    if not (1 <= a <= 12 and 1 <= b <= 31):
        return None
    return _day(m, _future_md(ctx, a, b), mdm=(a, b))


@rule(r"(?:(?<=\bon )|(?<=\bfor )|(?<=day )|(?<=fri )|(?<=mon )|(?<=tue )|(?<=wed )|(?<=thu )|(?<=sat )|(?<=sun ))"
      r"(\d{1,2})[.-](\d{1,2})(?![\d:]|\.\d| ?[ap]m)")
def _md_dash(m: re.Match[str], ctx: Ctx) -> Frame | None:
    a, b = int(m[1]), int(m[2])
    if not (1 <= a <= 12 and 1 <= b <= 31):
        return None
    return _day(m, _future_md(ctx, a, b), mdm=(a, b))


@rule(rf"(?<![\w/-])((?:\d{{1,4}}|{MONW}))[-/]((?:\d{{1,4}}|{MONW}))[-/]((?:\d{{1,4}}|{MONW}))(?![\w/])")
def _mixed_date(m: re.Match[str], ctx: Ctx) -> Frame | None:
    parts = [m[1], m[2], m[3]]
    months = [p for p in parts if not p.isdigit()]
    if len(months) != 1:
        return None
    month = _mon(months[0])
    nums = [p for p in parts if p.isdigit()]
    years = [p for p in nums if len(p) == 4]
    if len(years) != 1:
        return None
    days = [p for p in nums if len(p) != 4]
    return _day(m, _safe_date(int(years[0]), month, int(days[0])), year_given=True)


# --- month name dates
@rule(rf"\b({MONW})[ ./-]?(?:the )?({DAYN})(?![\d:]| ?[ap]m\b| ?(?:hours?|minutes?|mins?|days?|h\b))"
      rf"(?:(?:,| of| in)? ?({YEAR}|'\d\d)(?!\d))?")
def _month_day(m: re.Match[str], ctx: Ctx) -> Frame | None:
    month, day = _mon(m[1]), _num(m[2])
    if m[3]:
        return _day(m, _safe_date(_year2(m[3].lstrip("'")), month, day), year_given=True)
    return _day(m, _future_md(ctx, month, day), mdm=(month, day))


@rule(rf"(?<![$\d])(?:the )?({DAYN})\.? ?(?:(?:day )?of )?({MONW})(?:(?:,| of| in)? ?({YEAR})(?!\d))?")
def _day_month(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[2] == "may" and not re.search(r"\d", m[1]):
        return None
    month, day = _mon(m[2]), _num(m[1])
    if m[3]:
        return _day(m, _safe_date(int(m[3]), month, day), year_given=True)
    return _day(m, _future_md(ctx, month, day), mdm=(month, day))


# --- holidays
def _holiday(name: str, year: int) -> date | None:
    n = name.replace("'s", "").replace("’s", "")
    fixed = {"christmas": (12, 25), "xmas": (12, 25), "christmas day": (12, 25), "christmas eve": (12, 24),
             "new year": (1, 1), "new year day": (1, 1), "new years": (1, 1), "new years day": (1, 1),
             "halloween": (10, 31), "valentine day": (2, 14), "valentines": (2, 14),
             "saint patrick": (3, 17), "st patrick": (3, 17), "st. patrick": (3, 17), "saint patrick day": (3, 17),
             "st patrick day": (3, 17), "international workers day": (5, 1), "international workers' day": (5, 1),
             "may day": (5, 1), "independence day": (7, 4), "new year eve": (12, 31), "new years eve": (12, 31),
             "boxing day": (12, 26)}
    if n in fixed:
        return _safe_date(year, *fixed[n])
    if n in ("easter", "easter sunday"):
        return easter(year)
    if n == "easter monday":
        return easter(year) + timedelta(days=1)
    if n == "good friday":
        return easter(year) - timedelta(days=2)
    if n == "thanksgiving":
        return nth_weekday_of_month(year, 11, 3, 4)
    if n == "labor day":
        return nth_weekday_of_month(year, 9, 0, 1)
    if n == "memorial day":
        return last_weekday_of_month(year, 5, 0)
    return None


HOLIDAYS_RX = (r"(?:christmas eve|christmas day|christmas|xmas|new year'?s? eve|new year'?s?(?: day)?|halloween|"
            r"valentine'?s?(?: day)?|(?:saint|st\.?) patrick'?s?(?: day)?|international workers'? day|may day|"
            r"independence day|boxing day|easter sunday|easter monday|easter|good friday|thanksgiving|"
            r"labor day|memorial day)")


def _holiday_key(txt: str) -> str:
    name = txt.replace("new year's", "new years").replace("new year'", "new year").replace("'", "")
    return re.sub(r"\s+", " ", name)


def _next_holiday(name: str, ctx: Ctx) -> date | None:
    for y in (ctx.today.year, ctx.today.year + 1):
        d = _holiday(name, y)
        if d is not None and d >= ctx.today:
            return d
    return None


_DR_SEP = r" ?(?:-|–|to|till|til|until|through|thru|and)(?: the)? ?"
_REL_MONTH = r"(?:in |of )?(?:the )?(?:this|next|current|coming|following) month"


def _month_anchor(txt: str, ctx: Ctx) -> tuple[int, int | None]:
    txt = txt.strip()
    mm = re.search(r"(this|next|current|coming|following) month", txt)
    if mm:
        b = _rel_base(ctx, mm[1], "month")
        return b.month, b.year
    return _mon(re.search(MONW, txt)[0]), None  # type: ignore[index]


def _dom_range(m: re.Match[str], ctx: Ctx, d1: int, d2: int, month_txt: str, year: str | None) -> Frame | None:
    month, year_rel = _month_anchor(month_txt, ctx)
    if year:
        y = _year2(year)
    elif year_rel is not None:
        y = year_rel
    else:
        y = _future_month(ctx, month)
        first = _safe_date(y, month, d1)
        if first is not None and first < ctx.today and month == ctx.today.month and d2 < ctx.today.day:
            y += 1
    s = _safe_date(y, month, d1)
    if s is None:
        return None
    e = _safe_date(y, month, d2)
    if e is None or e < s:
        nm = add_months(date(y, month, 1), 1)
        e = _safe_date(nm.year, nm.month, d2)
    if e is None:
        return None
    return _days(m, s, e + timedelta(days=1))


@rule(rf"\b(?:from |between )?(?:the )?({DAYN}){_DR_SEP}({DAYN})(?: day)?,? (?:of )?(?:the )?({MONW}|{_REL_MONTH})"
      rf"(?:,? (?:of |in )?({YEAR}))?(?![\w])")
def _dom_dom_month(m: re.Match[str], ctx: Ctx) -> Frame | None:
    return _dom_range(m, ctx, _num(m[1]), _num(m[2]), m[3], m[4])


@rule(rf"\b({MONW}),? (?:between |from )?(?:the )?({DAYN}){_DR_SEP}(?:(?:{MONW}) )?({DAYN})(?![\d:]| ?[ap]m\b)"
      rf"(?:,? (?:of |in )?({YEAR}))?")
def _month_dom_dom(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if re.search(r"\d(?:st|nd|rd|th)?\.?\s*(?:of\s*)?$", m.string[:m.start()]):
        return None
    return _dom_range(m, ctx, _num(m[2]), _num(m[3]), m[1], m[4])


@rule(rf"\bfrom (?:the )?({DAYN}) (?:to|till|until|through) (?:the )?({MONW}) ({DAYN})\b")
def _dom_to_month_dom(m: re.Match[str], ctx: Ctx) -> Frame | None:
    return _dom_range(m, ctx, _num(m[1]), _num(m[3]), m[2], None)


@rule(rf"(?<![\d/])(\d{{1,2}})/(\d{{1,2}}) ?(?:-|to|till|until|through) ?(\d{{1,2}})/(\d{{1,2}})"
      rf"(?:/(\d{{2,4}})|,? ({YEAR}))?(?![\d/])")
def _md_md(m: re.Match[str], ctx: Ctx) -> Frame | None:
    m1, d1, m2, d2 = int(m[1]), int(m[2]), int(m[3]), int(m[4])
    yr = m[5] or m[6]
    if yr:
        y = _year2(yr)
        s = _safe_date(y, m1, d1)
    else:
        s = _future_md(ctx, m1, d1)
        y = s.year if s else ctx.today.year
    if s is None:
        return None
    e = _safe_date(y, m2, d2)
    if e is not None and e < s:
        e = _safe_date(y + 1, m2, d2)
    if e is None:
        return None
    return _days(m, s, e + timedelta(days=1))


@rule(rf"\b(?:the )?(?:weekend|long weekend) (?:of|around) ({HOLIDAYS_RX})(?: ({YEAR}))?\b|"
      rf"\b({HOLIDAYS_RX})(?: ({YEAR}))? (?:long )?weekend\b")
def _holiday_weekend(m: re.Match[str], ctx: Ctx) -> Frame | None:
    name = _holiday_key(m[1] or m[3])
    yr = m[2] or m[4]
    hol = _holiday(name, int(yr)) if yr else _next_holiday(name, ctx)
    if hol is None:
        return None
    wd = hol.weekday()
    if wd in (3, 4):
        s, e = hol, hol + timedelta(days=7 - wd)
    elif wd == 0:
        s, e = hol - timedelta(days=2), hol + timedelta(days=1)
    else:
        sat = hol - timedelta(days=(wd - 5) % 7) if wd >= 5 else weekday_on_or_after(hol, 5)
        s, e = sat, sat + timedelta(days=2)
    return _days(m, s, e)


@rule(r"\bthe ides of march\b")
def _ides(m: re.Match[str], ctx: Ctx) -> Frame | None:
    return _day(m, _future_md(ctx, 3, 15))


# --- months and years
@rule(rf"\b({MONW})[ ,/-]*({YEAR})\b|\b({YEAR})[ ,/-]*({MONW})(?![\w-])")
def _month_year(m: re.Match[str], ctx: Ctx) -> Frame | None:
    mon, yr = (m[1], m[2]) if m[1] else (m[4], m[3])
    s, e = month_range(int(yr), _mon(mon))
    return _days(m, s, e, year_given=True)


@rule(rf"(?<![\d/.-])({YEAR}) ?- ?(\d{{1,2}})(?![\d/-])|(?<![\d/.-])(\d{{1,2}}) ?[-/] ?({YEAR})(?![\d/-])")
def _num_month_year(m: re.Match[str], ctx: Ctx) -> Frame | None:
    yr, mon = (m[1], m[2]) if m[1] else (m[4], m[3])
    if not 1 <= int(mon) <= 12:
        return None
    s, e = month_range(int(yr), int(mon))
    return _days(m, s, e, year_given=True)


@rule(rf"\b(?:(next|this|last|following|coming|upcoming|the following) )?({MONW})(?![\w'])"
      rf"(?: (next year|this year|in (?:1|a) year))?", prio=-1)
def _month(m: re.Match[str], ctx: Ctx) -> Frame | None:
    word = m[2].rstrip(".")
    pre = m.string[max(0, m.start() - 12):m.start()]
    if word in ("may", "march", "sat", "sun") and not m[1] and not m[3] and not re.search(
            r"\b(in|of|during|until|till|through|since|by|for|early|mid|late|from|to|end|beginning|start)\s*"
            r"(the\s*)?$", pre):
        return None
    month = _mon(word)
    year = _future_month(ctx, month)
    if m[1] in ("next", "following", "the following") and month == ctx.today.month:
        year += 1
    if m[1] == "last":
        year = ctx.today.year if month < ctx.today.month else ctx.today.year - 1
    if m[3] == "next year" or (m[3] and "year" in m[3] and m[3] != "this year"):
        year = ctx.today.year + 1
    if m[3] == "this year":
        year = ctx.today.year
    s, e = month_range(year, month)
    return _days(m, s, e)


@rule(rf"\b(early|mid|middle of|late|beginning of|the beginning of|start of|the start of|end of|the end of)"
      rf"[ -]({MONW})(?: ({YEAR}))?\b")
def _month_part(m: re.Match[str], ctx: Ctx) -> Frame | None:
    month = _mon(m[2])
    year = int(m[3]) if m[3] else _future_month(ctx, month)
    s, e = month_range(year, month)
    part = m[1].replace("the ", "")
    if part in ("early", "beginning of", "start of"):
        return _days(m, s, s + timedelta(days=10))
    if part in ("mid", "middle of"):
        return _days(m, s + timedelta(days=10), s + timedelta(days=20))
    return _days(m, s + timedelta(days=20), e)


@rule(r"\b(?:in |during )?(?:the )?(?:year )?((?:19|20)\d\d)(?![\d:/-])", prio=-2)
def _year(m: re.Match[str], ctx: Ctx) -> Frame | None:
    y = int(m[1])
    return _F(m, "year", d=date(y, 1, 1), d2=date(y + 1, 1, 1), year_given=True)


# --- relative days
_REL_DAYS = {
    "today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1, "day after tomorrow": 2,
    "the day after tomorrow": 2, "day before yesterday": -2, "the day before yesterday": -2,
    "the day after": 1, "the next day": 1, "next day": 1, "this day": 0, "otd": 0, "the following day": 1,
    "tomorrows": 1, "tomorrow's": 1, "today's": 0,
}


@rule(r"\b(?:the day after tomorrow|day after tomorrow|the day before yesterday|day before yesterday|"
      r"the day after|the next day|the following day|next day|this day|today's|today|tonight|"
      r"tomorrow's|tomorrows|tomorrow|yesterday|otd)\b")
def _rel_day(m: re.Match[str], ctx: Ctx) -> Frame | None:
    word = m[0]
    d = ctx.today + timedelta(days=_REL_DAYS[word])
    f = _day(m, d)
    if f is not None and word == "tonight":
        f.pod = "night"
    return f


@rule(r"\b(?:(?:the )?end of (?:the )?day|eod|(?:the )?end of (?:today|tomorrow|(?:this |the )?" + WDW + r"))\b")
def _end_of_day(m: re.Match[str], ctx: Ctx) -> Frame | None:
    txt = m[0]
    d = ctx.today
    if "tomorrow" in txt:
        d += timedelta(days=1)
    else:
        wm = re.search(WDW, txt.replace("end of", ""))
        if wm and "today" not in txt and wm[0] != "day":
            wd = _wday(wm[0])
            d = weekday_on_or_after(ctx.today, wd)
    start = datetime.combine(d, time(23, 59, 59))
    return _F(m, "instant", i1=start, i2=datetime.combine(d + timedelta(days=1), time()))


@rule(r"\b(?:right now|just now|now|at the moment|at present|at the present time|at this time|"
      r"at the minute|currently|asap|immediately)\b")
def _now(m: re.Match[str], ctx: Ctx) -> Frame | None:
    return _F(m, "instant", i1=ctx.now, prio=-1)


# --- weekdays
def _next_wd(ctx: Ctx, wd: int, *, include_today: bool = False) -> date:
    d = weekday_on_or_after(ctx.today, wd)
    if d == ctx.today and not include_today:
        d += timedelta(days=7)
    return d


@rule(rf"\b(this (?:coming |upcoming )?|next |coming |upcoming |the coming |the following |following |"
      rf"last |past |previous |that )?({WDW})(?: (after next|after the next|next)\b)?")
def _weekday(m: re.Match[str], ctx: Ctx) -> Frame | None:
    word = m[2].rstrip(".")
    if word in ("sat", "sun") and not m[1]:
        # "sun", "sat" are words too; accept only as a day name next to other date words
        tail = m.string[m.end():m.end() + 12]
        head = m.string[max(0, m.start() - 6):m.start()]
        if not re.match(r"[ ,]*(\d|the \d|at|morning|afternoon|evening|" + MONW + ")", tail) and \
                not re.search(r"\b(on|next|this|by|until|or|and)\s$", head) and (m.start() or m.end() < len(m.string)):
            return None
    wd = _wday(word)
    mod = (m[1] or "").strip()
    post = m[3]
    notes: list[str] = []
    if mod in ("last", "past", "previous"):
        d = weekday_on_or_after(ctx.today, wd)
        if d >= ctx.today:
            d -= timedelta(days=7)
        return _day(m, d)
    if mod.startswith("this"):
        d = week_monday(ctx.today) + timedelta(days=wd)
        if d < ctx.today:
            d += timedelta(days=7)
        if "coming" in mod or "upcoming" in mod:
            d = _next_wd(ctx, wd)
    elif mod in ("following", "the following"):
        d = week_monday(ctx.today) + timedelta(days=7 + wd)
    elif mod in ("next", "coming", "upcoming", "the coming") or post == "next":
        d = _next_wd(ctx, wd)
        if mod == "next" or post == "next":
            notes.append(f"assumed 'next {calendar.day_name[wd]}' means the coming one, {d.isoformat()}")
    else:
        d = _next_wd(ctx, wd)
    if post in ("after next", "after the next"):
        d = _next_wd(ctx, wd) + timedelta(days=7)
    f = _day(m, d, notes=notes)
    if f is not None:
        f.wd = wd
        if not mod and not post:
            f.wd_bare = True
            f.prio = -1
    return f


@rule(rf"\b(?:(?:the )?(next|this|coming|upcoming|following|the following|current|last) week(?:'s)?,?(?: on)? "
      rf"({WDW})|({WDW}),?(?: of| in| on)? (?:the )?(next|this|coming|upcoming|following|current|last) week)\b")
def _week_weekday(m: re.Match[str], ctx: Ctx) -> Frame | None:
    mod = m[1] or m[4]
    wd = _wday(m[2] or m[3])
    monday = week_monday(ctx.today)
    if mod in ("next", "coming", "upcoming", "following", "the following"):
        monday += timedelta(days=7)
    elif mod == "last":
        monday -= timedelta(days=7)
    return _day(m, monday + timedelta(days=wd))


@rule(rf"\b({WDW}),? (?:the )?({DAYN})(?![\d:/.]| ?[ap]m\b| ?(?:hours?|minutes?|days?|weeks?|h\b|{MONW}|of))")
def _weekday_dom(m: re.Match[str], ctx: Ctx) -> Frame | None:
    wd, day = _wday(m[1]), _num(m[2])
    if not 1 <= day <= 31:
        return None
    mm = date(ctx.today.year, ctx.today.month, 1)
    for _ in range(60):
        d = _safe_date(mm.year, mm.month, day)
        if d is not None and d >= ctx.today and d.weekday() == wd:
            return _day(m, d)
        mm = add_months(mm, 1)
    return _day(m, _future_dom(ctx, day))


@rule(rf"\b(\d+) ({WDW}) (?:from now|from today|later|after|hence)\b")
def _n_weekdays(m: re.Match[str], ctx: Ctx) -> Frame | None:
    n, wd = int(m[1]), _wday(m[2])
    return _day(m, _next_wd(ctx, wd) + timedelta(days=7 * (n - 1)))


@rule(r"\b(?:(?:on |during |any |every |all )?(?:weekdays|week days|every weekday|any weekday|each weekday|"
      r"working days|business days|workdays)|(?:any |every |each )weekday)\b", prio=-1)
def _weekdays(m: re.Match[str], ctx: Ctx) -> Frame | None:
    start = ctx.today
    return _F(m, "wdset", d=start, d2=start + timedelta(days=7), wdays=frozenset(range(5)))


# --- day of month
@rule(rf"\b(?:on|for|by|until|till|at|from) (?:the )?({DAYN})(?![\d:/.]| ?[ap]m\b| ?(?:hours?|hrs?|minutes?|mins?|"
      rf"days?|weeks?|months?|years?|h\b|d\b|w\b|o'clock|people|persons?|%|min|'|to \d|till|-|pm|am|and|or|in the|"
      rf"(?:of )?{MONW}))")
def _dom(m: re.Match[str], ctx: Ctx) -> Frame | None:
    day = _num(m[1])
    if not re.search(r"(st|nd|rd|th)$", m[1]) and not re.search(r"\b(on|for) (the )?\d", m[0]):
        return None
    return _day(m, _future_dom(ctx, day), prio=-1)


@rule(rf"\bthe ({DAYN})(?:st|nd|rd|th)?\b(?! ?(?:hours?|minutes?|days?|weeks?|(?:day )?(?:of )?{MONW}))", prio=-1)
def _the_dom(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if not re.search(r"(st|nd|rd|th)$", m[1]):
        return None
    return _day(m, _future_dom(ctx, _num(m[1])), prio=-1)


@rule(rf"\b(?:the )?({DAYN})(?: day)? of (?:the )?(next|this|current|coming|following|last) month\b")
def _dom_rel_month(m: re.Match[str], ctx: Ctx) -> Frame | None:
    base = date(ctx.today.year, ctx.today.month, 1)
    if m[2] in ("next", "coming", "following"):
        base = add_months(base, 1)
    elif m[2] == "last":
        base = add_months(base, -1)
    return _day(m, _safe_date(base.year, base.month, _num(m[1])))


# --- weeks, weekends, months, years (relative)
def _rel_base(ctx: Ctx, word: str, unit: str) -> date:
    """Start of the week/month/year named by this|next|last|... relative to today."""
    step = {"this": 0, "current": 0, "the current": 0, "next": 1, "coming": 1, "upcoming": 1, "the coming": 1,
            "following": 1, "the following": 1, "last": -1, "previous": -1, "past": -1, "the next": 1,
            "the upcoming": 1, "": 0, "the": 0, "my": 0}.get(word.strip(), 0)
    if unit == "week":
        return week_monday(ctx.today) + timedelta(days=7 * step)
    if unit == "month":
        return add_months(date(ctx.today.year, ctx.today.month, 1), step)
    return date(ctx.today.year + step, 1, 1)


@rule(r"\b(this|current|the current|next|coming|the coming|upcoming|the upcoming|following|the following|last|"
      r"previous|past|the next) (week|month|year)\b")
def _rel_period(m: re.Match[str], ctx: Ctx) -> Frame | None:
    s = _rel_base(ctx, m[1], m[2])
    e = s + timedelta(days=7) if m[2] == "week" else add_months(s, 1 if m[2] == "month" else 12)
    f = _days(m, s, e)
    if f is not None:
        f.kind = "week" if m[2] == "week" else "days"
    return f


@rule(r"\b(?:the )?(week|month|weekend) after (?:the )?next\b")
def _after_next(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[1] == "month":
        s = add_months(date(ctx.today.year, ctx.today.month, 1), 2)
        return _days(m, s, add_months(s, 1))
    if m[1] == "week":
        s = week_monday(ctx.today) + timedelta(days=14)
        return _F(m, "week", d=s, d2=s + timedelta(days=7))
    sat = weekday_on_or_after(ctx.today, 5) + timedelta(days=14)
    return _days(m, sat, sat + timedelta(days=2))


@rule(r"\b(?:(this|next|the|my|on|coming|the coming|last|on the|upcoming|following|the following) )?"
      r"(?:weekend|week ?end|wkend)\b")
def _weekend(m: re.Match[str], ctx: Ctx) -> Frame | None:
    mod = (m[1] or "").replace("the ", "").strip()
    sat = weekday_on_or_after(ctx.today, 5)
    if ctx.today.weekday() == 6:
        sat = ctx.today - timedelta(days=1)
    notes: list[str] = []
    if mod in ("next", "following"):
        if ctx.today.weekday() < 5:
            notes.append(f"assumed 'next weekend' means the weekend of {sat.isoformat()}")
        else:
            sat += timedelta(days=7)
    elif mod == "last":
        sat -= timedelta(days=7)
    start = max(sat, ctx.today)
    return _days(m, start, sat + timedelta(days=2), notes=notes)


@rule(r"\b(?:this |the )?(?:working week|work week|workweek|business week)\b|\bnext (?:working week|work week|"
      r"workweek|business week)\b")
def _work_week(m: re.Match[str], ctx: Ctx) -> Frame | None:
    s = week_monday(ctx.today) + timedelta(days=7 if m[0].startswith("next") else 0)
    return _F(m, "week", d=s, d2=s + timedelta(days=5), wdays=frozenset(range(5)))


@rule(r"\b(?:later|sometime later|later on) (?:this|in the) (week|month)\b")
def _later_this(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[1] == "week":
        mon = week_monday(ctx.today)
        return _days(m, max(ctx.today, mon + timedelta(days=3)), mon + timedelta(days=7))
    s = date(ctx.today.year, ctx.today.month, 1)
    return _days(m, max(ctx.today, s + timedelta(days=15)), add_months(s, 1))


@rule(r"\b(early|earlier|mid|middle of|late|beginning of|the beginning of|start of|the start of) ?(?:in |of )?"
      r"(this|current|next|coming|the coming|upcoming|the upcoming|following|the following|the) week\b")
def _week_part(m: re.Match[str], ctx: Ctx) -> Frame | None:
    """Early week: Monday to Wednesday; mid week: Tuesday to Thursday; late week: Thursday to Sunday."""
    mon = _rel_base(ctx, m[2], "week")
    first, last = {"mid": (1, 3), "middle of": (1, 3), "late": (3, 6)}.get(m[1], (0, 2))
    return _days(m, mon + timedelta(days=first), mon + timedelta(days=last + 1))


@rule(r"\b(?:(?:sometime |some time )?later(?: on)? today|today,? later(?: on)?|later on|later)\b(?! (?:this|in|"
      r"than|that|next|on \w))", prio=-1)
def _later_today(m: re.Match[str], ctx: Ctx) -> Frame | None:
    """ "later today": from now to the end of the day."""
    if "today" not in m[0] and not re.search(r"\b(?:free|available|around|busy|open)\s*$",
                                             m.string[max(0, m.start() - 20):m.start()]):
        return None
    return _F(m, "instant", i1=ctx.now, i2=datetime.combine(ctx.today + timedelta(days=1), time()))


@rule(r"\b(after|before) (?:the |my )?(lunch ?time|lunch|lunch break)\b")
def _around_lunch(m: re.Match[str], ctx: Ctx) -> Frame | None:
    return _F(m, "pod", pod=f"{m[1]} lunch")


@rule(r"\b(?:(?:the )?rest|remainder|remaining) (?:of )?(?:the |this |my |current |the current )?(week|month|year)\b")
def _rest_of(m: re.Match[str], ctx: Ctx) -> Frame | None:
    s = _rel_base(ctx, "this", m[1])
    e = s + timedelta(days=7) if m[1] == "week" else add_months(s, 1 if m[1] == "month" else 12)
    return _days(m, ctx.today, e)


@rule(r"\ball (week|month|day)(?: long)?\b", prio=-1)
def _all_week(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[1] == "day":
        return None
    s = _rel_base(ctx, "this", m[1])
    e = s + timedelta(days=7) if m[1] == "week" else add_months(s, 1)
    return _days(m, s, e)


@rule(r"\b(?:at )?(?:the )?(beginning|start|end|middle) of (?:the )?(this|current|next|coming|the coming|"
      r"upcoming|following|last)? ?(week|month|year)\b")
def _part_of_period(m: re.Match[str], ctx: Ctx) -> Frame | None:
    s = _rel_base(ctx, m[2] or "this", m[3])
    if m[3] == "week":
        if m[1] in ("beginning", "start"):
            return _days(m, s, s + timedelta(days=3))
        if m[1] == "middle":
            return _days(m, s + timedelta(days=2), s + timedelta(days=4))
        return _days(m, s + timedelta(days=4), s + timedelta(days=7))
    e = add_months(s, 1) if m[3] == "month" else add_months(s, 12)
    n = (e - s).days
    if m[1] in ("beginning", "start"):
        return _days(m, s, s + timedelta(days=10 if m[3] == "month" else n // 3))
    if m[1] == "middle":
        return _days(m, s + timedelta(days=10), s + timedelta(days=20))
    return _days(m, s + timedelta(days=20) if m[3] == "month" else e - timedelta(days=n // 3), e)


@rule(r"\b(?:the )?eom\b")
def _eom(m: re.Match[str], ctx: Ctx) -> Frame | None:
    s = date(ctx.today.year, ctx.today.month, 1)
    return _days(m, s + timedelta(days=20), add_months(s, 1))


@rule(r"(?<!\ba )(?<!\b1 )\b(?:(?:the )?week (?:beginning on|starting on|commencing on|starting from|of|beginning|"
      r"starting|commencing)|w/c) (.{1,24})")
def _week_of(m: re.Match[str], ctx: Ctx) -> Frame | None:
    sub = _atoms(m[1], ctx, kinds=("date",))
    if not sub or sub[0].a != 0 or sub[0].d is None:
        return None
    s = week_monday(sub[0].d)
    return Frame(m.start(), m.start(1) + sub[0].b, "week", d=s, d2=s + timedelta(days=7))


@rule(r"\bmonth of (?:the )?(.{1,24})")
def _month_of(m: re.Match[str], ctx: Ctx) -> Frame | None:
    sub = _atoms(m[1], ctx, kinds=("date",))
    if not sub or sub[0].a != 0 or sub[0].d is None:
        return None
    s, e = month_range(sub[0].d.year, sub[0].d.month)
    return Frame(m.start(), m.start(1) + sub[0].b, "days", d=s, d2=e)


def _period_anchor(txt: str, ctx: Ctx) -> tuple[str, int, int | None] | None:
    """'october 2014' / 'this month' / 'next year' / '2021' -> (unit, year, month)."""
    txt = txt.strip()
    mm = re.fullmatch(rf"({MONW})(?:,? ({YEAR}))?", txt)
    if mm:
        month = _mon(mm[1])
        return "month", int(mm[2]) if mm[2] else _future_month(ctx, month), month
    mm = re.fullmatch(r"(?:the )?(this|current|next|last|coming|following) (month|year)", txt)
    if mm:
        s = _rel_base(ctx, mm[1], mm[2])
        return mm[2], s.year, (s.month if mm[2] == "month" else None)
    mm = re.fullmatch(rf"(?:the year )?({YEAR})", txt)
    if mm:
        return "year", int(mm[1]), None
    return None


_ANCHOR = rf"(?:{MONW}(?:,? {YEAR})?|(?:the )?(?:this|current|next|last|coming|following) (?:month|year)|{YEAR})"


@rule(rf"\b(?:the )?({ORDN}|first|last) (week|weekend|week-end|wkend|({WDW})|day|month)(?:s)? (?:of|in) "
      rf"(?:the )?({_ANCHOR})(?![\w])|\b(?:the )?({ORDN}|first|last) (week) ()((?:this|next|last) year)\b")
def _nth_in_period(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[5]:
        anchor = _period_anchor(m[8], ctx)
        ordw, what, wdname = m[5], "week", None
    else:
        anchor = _period_anchor(m[4], ctx)
        ordw, what, wdname = m[1], m[2], m[3]
    if anchor is None:
        return None
    unit, year, month = anchor
    last = "last" in ordw
    n = 1 if ordw in ("last", "first") else _num(ordw.split()[0]) if ordw != "last but one" else 2
    if ordw == "last but one":
        last = True
    if wdname:
        wd = _wday(wdname)
        if month is None:
            return None
        if last:
            d: date | None = last_weekday_of_month(year, month, wd) - timedelta(days=7 * (n - 1))
        else:
            d = nth_weekday_of_month(year, month, wd, n)
        return _day(m, d)
    if what == "day":
        if month is None:
            s, e = date(year, 1, 1), date(year + 1, 1, 1)
        else:
            s, e = month_range(year, month)
        return _day(m, e - timedelta(days=n) if last else s + timedelta(days=n - 1))
    if what == "month":
        if unit != "year" or not 1 <= n <= 12:
            return None
        mo = 13 - n if last else n
        s, e = month_range(year, mo)
        return _days(m, s, e)
    if what in ("weekend", "week-end", "wkend"):
        if month is None:
            return None
        sats = [d for d in (date(year, month, k) for k in range(1, calendar.monthrange(year, month)[1] + 1))
                if d.weekday() == 5]
        if len(sats) < n:
            return None
        sat = sats[-n] if last else sats[n - 1]
        return _days(m, sat, sat + timedelta(days=2))
    # weeks
    if month is None:
        mondays = [d for d in (iso_week_monday(year, w) for w in range(1, 54)) if d is not None]
    else:
        mondays = weeks_of_month(year, month)
    if len(mondays) < n:
        return None
    s = mondays[-n] if last else mondays[n - 1]
    return _F(m, "week", d=s, d2=s + timedelta(days=7))


@rule(rf"\b(?:the )?(first|last) (\d+) (weeks|days|months) of (?:the )?({_ANCHOR})(?![\w])")
def _first_n_weeks(m: re.Match[str], ctx: Ctx) -> Frame | None:
    anchor = _period_anchor(m[4], ctx)
    if anchor is None:
        return None
    _unit, year, month = anchor
    n = int(m[2])
    if m[3] == "weeks":
        if month is None:
            mondays = [d for d in (iso_week_monday(year, w) for w in range(1, 54)) if d is not None]
        else:
            mondays = weeks_of_month(year, month)
        if len(mondays) < n:
            return None
        sel = mondays[-n:] if m[1] == "last" else mondays[:n]
        return _days(m, sel[0], sel[-1] + timedelta(days=7))
    if month is None:
        s, e = date(year, 1, 1), date(year + 1, 1, 1)
    else:
        s, e = month_range(year, month)
    if m[3] == "days":
        return _days(m, e - timedelta(days=n), e) if m[1] == "last" else _days(m, s, s + timedelta(days=n))
    return None


@rule(rf"\b(?:the )?(?:iso )?week (\d{{1,2}})(?:,? (?:of |in )?({YEAR}))?\b")
def _week_number(m: re.Match[str], ctx: Ctx) -> Frame | None:
    year = int(m[2]) if m[2] else ctx.today.year
    s = iso_week_monday(year, int(m[1]))
    if s is None:
        return None
    return _F(m, "week", d=s, d2=s + timedelta(days=7))


@rule(rf"\b({ORDN}|first) ({WDW})(?: (?:of|in) (?:the )?(next|this|following|coming) month)\b")
def _nth_wd_rel_month(m: re.Match[str], ctx: Ctx) -> Frame | None:
    s = _rel_base(ctx, m[3], "month")
    wd = _wday(m[2])
    if "last" in m[1]:
        return _day(m, last_weekday_of_month(s.year, s.month, wd))
    n = 1 if m[1] == "first" else _num(m[1])
    return _day(m, nth_weekday_of_month(s.year, s.month, wd, n))


@rule(rf"\b(?:(?:the )?(?:next|following|coming|this) )?({HOLIDAYS_RX})(?: ({YEAR}))?\b")
def _holiday_rule(m: re.Match[str], ctx: Ctx) -> Frame | None:
    name = _holiday_key(m[1])
    if m[2]:
        return _day(m, _holiday(name, int(m[2])), year_given=True)
    return _day(m, _next_holiday(name, ctx))


# --- offsets ("in 3 days", "2 weeks from tomorrow", "30 min later")
def _qty(q: str) -> float | None:
    q = q.strip()
    table = {"a": 1, "an": 1, "another": 1, "a couple of": 2, "couple of": 2, "a couple": 2, "a few": 3,
             "few": 3, "several": 3, "some": 3, "1/2": 0.5, "1/4": 0.25, "3/4": 0.75, "half an": 0.5, "half a": 0.5,
             "half": 0.5, "a quarter of an": 0.25, "a quarter of a": 0.25, "quarter of an": 0.25,
             "quarter of a": 0.25, "3 quarters of an": 0.75, "3-quarters of an": 0.75, "3 quarters of a": 0.75}
    if q in table:
        return float(table[q])
    mm = re.fullmatch(r"(\d+) and an? half|(\d+) and half", q)
    if mm:
        return int(mm[1] or mm[2]) + 0.5
    try:
        return float(q)
    except ValueError:
        return None


def _unit_minutes(u: str) -> float | None:
    u = u.strip().rstrip(".")
    if u in ("'", "m", "min", "mins", "minute", "minutes"):
        return 1
    if u in ("s", "sec", "secs", "second", "seconds"):
        return 1 / 60
    if u in ("h", "hr", "hrs", "hour", "hours"):
        return 60
    if u in ("d", "day", "days", "night", "nights", "business day", "business days", "working day",
             "working days"):
        return 1440
    if u in ("weekend", "weekends"):
        return 2880
    if u in ("w", "wk", "wks", "week", "weeks"):
        return 10080
    if u in ("fortnight", "fortnights"):
        return 20160
    if u in ("mo", "mos", "month", "months"):
        return 43200
    if u in ("y", "yr", "yrs", "year", "years"):
        return 525600
    return None


def _shift(base: datetime, qty: float, unit: str) -> datetime:
    u = unit.strip()
    if u.startswith(("month", "mo")):
        return datetime.combine(add_months(base.date(), int(qty)), base.time())
    if u.startswith(("y", "yr", "year")):
        return datetime.combine(add_months(base.date(), int(12 * qty)), base.time())
    if u.startswith(("business", "working")):
        d = base.date()
        left = int(qty)
        while left > 0:
            d += timedelta(days=1)
            if d.weekday() < 5:
                left -= 1
        return datetime.combine(d, base.time())
    mins = _unit_minutes(u) or 0
    return base + timedelta(minutes=qty * mins)


_OFFSET_Q = rf"({NUMQ}) ?-?(?:more )?({UNIT})(?![a-z])"
_COMPOUND = r"((?:(?:\d+|a|an|one) ?(?:years?|months?|weeks?|days?|hours?|minutes?|mins?),? (?:and )?){1,3}" \
    r"(?:\d+|a|an|one) ?(?:years?|months?|weeks?|days?|hours?|minutes?|mins?))"


def _is_day_unit(unit: str) -> bool:
    u = unit.strip()
    return u.startswith(("d", "night", "w", "fortnight", "mo", "y", "business", "working", "weekend"))


@rule(rf"\b(?:in|within|after) (?:another )?{_OFFSET_Q}(?:'s)?(?: time)?(?: from (?:now|today))?\b")
def _in_offset(m: re.Match[str], ctx: Ctx) -> Frame | None:
    q, unit = _qty(m[1]), m[2]
    if q is None or unit in ("'",):
        return None
    if m[0].startswith("within"):
        end = _shift(ctx.now, q, unit)
        if _is_day_unit(unit):
            return _days(m, ctx.today, end.date() + timedelta(days=1))
        return _F(m, "irange", i1=ctx.now, i2=ctx.fix(end))
    t = _shift(ctx.now, q, unit)
    if _is_day_unit(unit):
        return _day(m, t.date(), offset=True)
    return _F(m, "instant", i1=ctx.fix(t))


@rule(rf"\b{_OFFSET_Q} (from now|from right now|from today|from tomorrow|from tmrw|from yesterday|later|hence|"
      rf"after today|after tomorrow|ago|before today|from (?:this|that) (?:day|moment)|in the future|"
      rf"from now on|after that|afterwards|on)\b")
def _offset_from(m: re.Match[str], ctx: Ctx) -> Frame | None:
    q, unit, ref = _qty(m[1]), m[2], m[3]
    if q is None or ref == "on":
        return None
    base = ctx.now
    if "tomorrow" in ref or "tmrw" in ref:
        base = datetime.combine(ctx.today + timedelta(days=1), time())
    elif "yesterday" in ref:
        base = datetime.combine(ctx.today - timedelta(days=1), time())
    if ref in ("ago", "before today"):
        q = -q
    t = _shift(base, q, unit)
    if ref == "in the future":
        return _days(m, ctx.today + timedelta(days=1), t.date() + timedelta(days=1))
    if _is_day_unit(unit) or "today" in ref or "tomorrow" in ref:
        return _day(m, t.date(), offset=True)
    return _F(m, "instant", i1=ctx.fix(t) if base == ctx.now else t)


@rule(rf"\b{_COMPOUND} (later|from now|hence|ago)\b")
def _compound_offset(m: re.Match[str], ctx: Ctx) -> Frame | None:
    d = ctx.today
    sign = -1 if m[2] == "ago" else 1
    for q, u in re.findall(r"(\d+|a|an|one) ?(years?|months?|weeks?|days?|hours?|minutes?|mins?)", m[1]):
        n = 1 if q in ("a", "an", "one") else int(q)
        d = _shift(datetime.combine(d, time()), sign * n, u).date()
    return _day(m, d, offset=True)


@rule(r"\b(?:a )?fortnight(?:'s)? (?:later|from now|hence)\b|\bin a fortnight(?:'s)?(?: time)?\b")
def _fortnight(m: re.Match[str], ctx: Ctx) -> Frame | None:
    return _day(m, ctx.today + timedelta(days=14))


@rule(rf"\b(?:the )?(?:next|coming|following|upcoming) ({NUMQ}) ?({UNIT})(?![a-z])|"
      rf"\b(?:the )?({NUMQ}) (?:next|coming|following|upcoming) (days|weeks|months|hours|minutes|years)(?![a-z])|"
      rf"\b(?:the )?next (hour|minute|fortnight|couple (?:of )?(?:days|weeks|hours))\b")
def _next_n(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[5]:
        w = m[5]
        if w.startswith("couple"):
            q, unit = 2.0, w.split()[-1]
        else:
            q, unit = 1.0, w
        after = False
    else:
        qq = _qty(m[1] or m[3])
        if qq is None:
            return None
        q, unit = qq, (m[2] or m[4])
        after = bool(m[3])
    if unit.startswith(("w", "fortnight")) and not after and not (m[5] and m[5].startswith("couple")):
        s = week_monday(ctx.today) + timedelta(days=7)
        return _days(m, s, s + timedelta(minutes=q * (_unit_minutes(unit) or 0)))
    if unit.startswith(("business", "working")):
        e = _shift(ctx.now, q, unit).date() + timedelta(days=1)
        return _days(m, ctx.today + timedelta(days=1), e)
    if _is_day_unit(unit):
        s = ctx.today + timedelta(days=1)
        e = _shift(datetime.combine(s, time()), q, unit).date()
        return _days(m, s, e)
    return _F(m, "irange", i1=ctx.now, i2=ctx.fix(_shift(ctx.now, q, unit)))


@rule(rf"\b(?:less than|within|no later than|in less than) ({NUMQ}) ?({UNIT}) (?:from|after) (today|tomorrow|now)\b")
def _within_from(m: re.Match[str], ctx: Ctx) -> Frame | None:
    q = _qty(m[1])
    if q is None:
        return None
    base = ctx.today + timedelta(days=1 if m[3] == "tomorrow" else 0)
    e = _shift(datetime.combine(base, time()), q, m[2]).date()
    return _days(m, base, e)


@rule(rf"(?<!for )\b({NUMQ}) ?({UNIT}) (after|before|from) (.{{2,40}})")
def _offset_anchor(m: re.Match[str], ctx: Ctx) -> Frame | None:
    q = _qty(m[1])
    if q is None:
        return None
    sub = _atoms(m[4], ctx, kinds=("date",))
    if not sub or sub[0].a != 0 or sub[0].d is None:
        return None
    sign = -1 if m[3] == "before" else 1
    t = _shift(datetime.combine(sub[0].d, time()), sign * q, m[2])
    return Frame(m.start(), m.start(4) + sub[0].b, "date", d=t.date(), d2=t.date() + timedelta(days=1), offset=True)


# --- clock times
def _clock(h: int, mi: int = 0, s: int = 0, mer: str | None = None, h24: bool = False) -> Clock | None:
    if mer and not 1 <= h <= 12 and not (h == 0 and mer == "am"):
        if h > 12:
            mer = None
        else:
            return None
    if not (0 <= h <= 24 and 0 <= mi < 60 and 0 <= s < 60):
        return None
    if h == 24:
        h = 0
    return Clock(h % 24, mi, s, mer, h24 or h > 12 or h == 0)


@rule(r"(?<![\d:.])(\d{1,2})[:.](\d{2})(?::(\d{2}))?(?: ?([ap]m))?(?: ?o'?clock)?(?![\d:]|\.\d|%)")
def _hhmm(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[0][len(m[1])] == "." and not m[4]:
        pre = m.string[max(0, m.start() - 6):m.start()]
        if not re.search(r"\b(at|@|from|to|until|till|and|-)\s?$", pre) and not re.match(
                r"\s*-\s*\d", m.string[m.end():]):
            return None
    c = _clock(int(m[1]), int(m[2]), int(m[3] or 0), m[4], h24=m[1].startswith("0") and len(m[1]) == 2)
    return _F(m, "time", t=c) if c else None


@rule(r"(?<![\d:.])(\d{1,2}) ?([ap]m)\b")
def _h_ampm(m: re.Match[str], ctx: Ctx) -> Frame | None:
    c = _clock(int(m[1]), 0, 0, m[2])
    return _F(m, "time", t=c) if c else None


@rule(r"(?<![\d:.])(\d{1,2})(\d{2}) ?([ap]m)\b|(?<=at )(\d{1,2})(\d{2})(?= in the (?:morning|evening|afternoon))")
def _hmm_ampm(m: re.Match[str], ctx: Ctx) -> Frame | None:
    h, mi = (m[1], m[2]) if m[1] else (m[4], m[5])
    c = _clock(int(h), int(mi), 0, m[3])
    return _F(m, "time", t=c) if c else None


@rule(r"(?<![\d:.])(\d{1,2}) ?h ?(\d{2})(?: ?([ap]m))?\b")
def _h_h_mm(m: re.Match[str], ctx: Ctx) -> Frame | None:
    before = m.string[max(0, m.start() - 5):m.start()]
    if not m[3] and not re.search(r"(?:\b(?:at|from|to|until|till|by|around)|@|-)\s?$", before):
        return None
    if re.search(r"\b(a|an|for|of)\s$", before) or re.match(
            r"\s*(?:-?long |of )?(?:call|meeting|session|slot|chat|appointment|block|sync|talk|interview|workshop)",
            m.string[m.end():]):
        return None
    c = _clock(int(m[1]), int(m[2]), 0, m[3], h24=not m[3])
    return _F(m, "time", t=c) if c else None


@rule(r"(?<![\d:.])(\d{1,2}) (\d{2}) ?([ap]m)\b")
def _h_sp_mm(m: re.Match[str], ctx: Ctx) -> Frame | None:
    c = _clock(int(m[1]), int(m[2]), 0, m[3])
    return _F(m, "time", t=c) if c else None


@rule(r"(?<![\d:.])(\d{1,2}) ?o'?clock\b")
def _oclock(m: re.Match[str], ctx: Ctx) -> Frame | None:
    c = _clock(int(m[1]))
    return _F(m, "time", t=c) if c else None


@rule(r"\b(?:12 )?(noon|midday|mid-day|midnight|mid night)\b")
def _noon(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if "night" in m[1]:
        return _F(m, "time", t=Clock(0, 0, 0, "am", True))
    return _F(m, "time", t=Clock(12, 0, 0, "pm", True))


@rule(r"\b(half|a quarter|quarter|3 quarters|\d{1,2})(?: min(?:ute)?s?)? (past|after|to|before) "
      r"(\d{1,2}|noon|midnight)(?: ?([ap]m))?(?! ?(?:hours?|minutes?|days?|weeks?|people))")
def _rel_clock(m: re.Match[str], ctx: Ctx) -> Frame | None:
    q = {"half": 30, "a quarter": 15, "quarter": 15, "3 quarters": 45}.get(m[1])
    if q is None:
        q = int(m[1])
        if m[2] in ("to", "before") and "min" not in m[0]:
            return None
        if m[2] == "after" and "min" not in m[0]:
            return None
    if q >= 60:
        return None
    if m[3] == "noon":
        h, mer, h24 = 12, "pm", True
    elif m[3] == "midnight":
        h, mer, h24 = 0, "am", True
    else:
        h, mer, h24 = int(m[3]), m[4], False
    if m[2] in ("past", "after"):
        c = _clock(h, q, 0, mer, h24)
    else:
        hh = (h - 1) % 24 if not mer else (h - 1 if h > 1 else 12)
        if mer == "pm" and h == 12:
            mer = "am"
        elif mer == "am" and h == 12:
            mer = "pm"
        elif mer and h == 1:
            hh = 12
            mer = "pm" if mer == "am" else "am"
        c = _clock(hh, 60 - q, 0, mer, h24 and hh > 12)
        if h == 12 and m[3] == "noon":
            c = Clock(11, 60 - q, 0, "am", True)
    return _F(m, "time", t=c) if c else None


@rule(r"\b(?:at|@|around|about|arround|by|for|from|approximately|approx\.?|after|before|until|till)\s?(\d{1,2})"
      r"(?!\w|[/:]|\.\d| ?(?:days?|weeks?|months?|years?|hours?|hrs?|h\b|minutes?|mins?|min\b|people|persons?"
      r"|guests?|%|/|of\b|to \d|-\s?\d|and \d|or \d|am\b|pm\b|x\b))", prio=-1)
def _at_hour(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[0].startswith(("for", "from")) and not re.match(
            r"\s*(?:,\s*)?(?:in the|tonight|this|tomorrow|today|o'?clock|on|at|pm|am)", m.string[m.end():]):
        return None
    c = _clock(int(m[1]))
    if c is None or int(m[1]) > 24:
        return None
    return _F(m, "time", t=c, prio=-1)


@rule(r"(?<![\d:./-])(\d{1,2})(?![\d:/]|st|nd|rd|th| ?(?:%|/))", prio=-5)
def _bare_num(m: re.Match[str], ctx: Ctx) -> Frame | None:
    return _F(m, "num", minutes=int(m[1]), prio=-5)


# --- time ranges
_TR_ATOM = (r"(?:(?:half|quarter|a quarter|\d{1,2}) past \d{1,2}|\d{1,2}(?:[:.]\d{2}){0,2}(?: ?[ap]m)?"
            r"(?: ?o'?clock)?|\d{1,2}h\d{2}|noon|midnight)")


@rule(rf"(?:\b(from|between|btw|btwn)\s+)?(?<![\d:./-])({_TR_ATOM})(?: (in the (?:morning|afternoon|evening)))?"
      rf"\s*(-|to|till|til|until|and|through)\s*({_TR_ATOM})(?: ?(in the (?:morning|afternoon|evening)|in the [ap]m))?"
      rf"(?![\d/:]|st\b|nd\b|rd\b|th\b| ?(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|people|"
      rf"next month|this month|in next))")
def _time_range(m: re.Match[str], ctx: Ctx) -> Frame | None:
    pre, a, pod1, sep, b, pod2 = m[1], m[2], m[3], m[4], m[5], m[6]
    if sep == "and" and not pre:
        return None
    has_marker = any(x and re.search(r"[:.]|[ap]m|o'?clock|h\d|noon|midnight|past", x) for x in (a, b)) \
        or pod1 or pod2
    before = m.string[max(0, m.start() - 14):m.start()]
    if not has_marker:
        if not pre and not re.search(r"(morning|afternoon|evening|night|tonight|today|tomorrow|at|day)\s*$",
                                     before):
            return None
        if not pre and not re.search(r"(morning|afternoon|evening|night|tonight|today|tomorrow|at|day|"
                                     + WDW + r")\s*$", before) and not re.match(
                r"\s*(?:,\s*)?(in the|this|tonight|tomorrow|today|on|pm|am|" + WDW + ")", m.string[m.end():]):
            return None
    c1, c2 = _parse_tr_atom(a), _parse_tr_atom(b)
    if c1 is None or c2 is None:
        return None
    pod = None
    if pod2:
        pod = pod2.replace("in the ", "")
        if pod in ("am", "pm"):
            c1 = replace(c1, mer=c1.mer or pod) if not c1.h24 else c1
            c2 = replace(c2, mer=c2.mer or pod) if not c2.h24 else c2
            pod = None
    if pod1:
        c1 = _apply_pod(c1, pod1.replace("in the ", ""))
    f = _F(m, "trange", t=c1, t2=c2, pod=pod)
    return f


def _parse_tr_atom(s: str) -> Clock | None:
    s = s.strip()
    if s == "noon":
        return Clock(12, 0, 0, "pm", True)
    if s == "midnight":
        return Clock(0, 0, 0, "am", True)
    mm = re.fullmatch(r"(half|quarter|a quarter|\d{1,2}) past (\d{1,2})", s)
    if mm:
        q = {"half": 30, "quarter": 15, "a quarter": 15}.get(mm[1])
        return _clock(int(mm[2]), q if q is not None else int(mm[1]))
    mm = re.fullmatch(r"(\d{1,2})h(\d{2})", s)
    if mm:
        return _clock(int(mm[1]), int(mm[2]), h24=True)
    mm = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?(?:[:.](\d{2}))?(?: ?([ap]m))?(?: ?o'?clock)?", s)
    if mm:
        return _clock(int(mm[1]), int(mm[2] or 0), int(mm[3] or 0), mm[4],
                      h24=bool(mm[2]) and mm[1].startswith("0") and len(mm[1]) == 2)
    return None


@rule(rf"\b(after|from|since|starting at|starting from|starting|later than|no earlier than|before|by|until|till|"
      rf"up to|no later than|earlier than) ({CLK})(?![\d/:]| ?(?:days?|weeks?|hours?|minutes?))")
def _open_range(m: re.Match[str], ctx: Ctx) -> Frame | None:
    sub = _atoms(m[2], ctx, kinds=("time",))
    if not sub or sub[0].t is None or sub[0].b != len(m[2]):
        if re.fullmatch(r"\d{1,2}", m[2]) and m[1] in ("after", "before", "until", "till"):
            c = _clock(int(m[2]))
            if c is None:
                return None
        else:
            return None
    else:
        c = sub[0].t
    kind = "after" if m[1] in ("after", "since", "later than", "no earlier than", "starting at", "starting from",
                               "starting", "from") else "before"
    if m[1] in ("from", "starting", "starting at", "starting from", "by"):
        # "from 3pm" on its own is a point; it becomes open only when nothing closes it
        return _F(m, "time", t=c, prio=-1)
    return _F(m, "time", t=c, open_end=kind)


# --- parts of day
@rule(r"\b(?:(this|today|tomorrow|next|yesterday|every|each|in the|during the|the)\s?)?"
      r"(early |late |mid[- ]?)?(morning|afternoon|evening|night|tonight|tonite|lunch ?time|lunch|daytime|"
      r"day time|business hours|working hours|office hours|[ap]m)(?:ish|s)?\b")
def _pod(m: re.Match[str], ctx: Ctx) -> Frame | None:
    pre, mod, word = (m[1] or "").strip(), (m[2] or "").strip().replace("-", " "), m[3]
    if word in ("am", "pm"):
        before = m.string[max(0, m.start() - 12):m.start()]
        if pre not in ("in the",) and not re.search(WDW + r"\s*$|day\s*$", before):
            return None
    if word in ("tonight", "tonite"):
        word, pre = "night", "today"
        if mod == "late":
            mod = "late"
    word = {"lunch time": "lunch", "lunchtime": "lunch", "day time": "daytime", "working hours": "business hours",
            "office hours": "business hours"}.get(word, word)
    name = f"{mod} {word}".strip() if mod else word
    if mod == "mid" and word in ("morning", "afternoon"):
        return _F(m, "time", t=Clock(10 if word == "morning" else 14, 0, 0, None, True))
    if name not in PODS:
        name = word
    f = _F(m, "pod", pod=name)
    if pre in ("this", "today"):
        f.kind, f.d, f.d2 = "date", ctx.today, ctx.today + timedelta(days=1)
    elif pre == "tomorrow" or (pre == "next" and word in ("morning", "afternoon", "evening", "night")):
        d = ctx.today + timedelta(days=1)
        f.kind, f.d, f.d2 = "date", d, d + timedelta(days=1)
    elif pre == "yesterday":
        d = ctx.today - timedelta(days=1)
        f.kind, f.d, f.d2 = "date", d, d + timedelta(days=1)
    return f


# --- durations
_DUR_ALL = re.compile(r"\b(?:all|whole|full|entire|the whole|the entire|a full|a whole)[ -](day|week|month|night)\b")


@rule(r"\b(an? |1 |\d+ )?(hour|hr) and (?:a )?half\b|\b(\d+|an?) and (?:a )?half (hours?|hrs?|days?|weeks?|minutes?)\b"
      r"|\b(\d+)\s?h\s?(\d{1,2})(?:m(?:in)?)?\b(?! ?[ap]m)")
def _dur_half(m: re.Match[str], ctx: Ctx) -> Frame | None:
    if m[2]:
        n = 1 if not m[1] or m[1].strip() in ("a", "an") else int(m[1])
        return _F(m, "dur", minutes=n * 60 + 30)
    if m[4]:
        n = 1 if m[3] in ("a", "an") else int(m[3])
        mins = _unit_minutes(m[4]) or 0
        return _F(m, "dur", minutes=int((n + 0.5) * mins))
    return _F(m, "dur", minutes=int(m[5]) * 60 + int(m[6]))


@rule(rf"(?<![\w:./])(?:({NUMQ})[ -]?({UNIT})(?![\w])(?:,? (?:and )?(?:(\d+|a|an) ?({UNIT})(?![\w]))){{0,1}})")
def _duration(m: re.Match[str], ctx: Ctx) -> Frame | None:
    q = _qty(m[1])
    u = _unit_minutes(m[2])
    if q is None or u is None:
        return None
    if m[2] in ("m", "'", "d", "w", "h", "y", "s") and not re.match(r"\d", m[1]):
        return None
    if m[2] == "m" and m.string[m.end():m.end() + 1] == ".":
        return None
    total = q * u
    if m[3] and m[4]:
        u2 = _unit_minutes(m[4])
        q2 = 1 if m[3] in ("a", "an") else int(m[3])
        if u2 is not None and u2 < u:
            total += q2 * u2
        else:
            return _F(m, "dur", minutes=round(q * u))
    return _F(m, "dur", minutes=round(total))


@rule(r"\b(?:all|whole|full|entire|the whole|the entire|a full|a whole)[ -](day|week|month|night)(?: long)?\b|"
      r"\b(?:for|lasts?|last) the (hour|day|week)\b", prio=-2)
def _dur_all(m: re.Match[str], ctx: Ctx) -> Frame | None:
    word = m[1] or m[2]
    return _F(m, "dur", minutes={"day": 1440, "night": 1440, "week": 10080, "month": 43200, "hour": 60}[word])


# ---------------------------------------------------------------- atom selection
def _atoms(text: str, ctx: Ctx, kinds: tuple[str, ...] | None = None) -> list[Frame]:
    cands: list[Frame] = []
    for rx, fn, prio in _RULES:
        for m in rx.finditer(text):
            if m.end() == m.start():
                continue
            try:
                f = fn(m, ctx)
            except (ValueError, OverflowError, KeyError, IndexError):
                f = None
            if f is None:
                continue
            if kinds is not None and f.kind not in kinds:
                continue
            f.prio = min(f.prio, prio) if prio < 0 else f.prio
            cands.append(f)
    cands.sort(key=lambda f: (-(f.b - f.a), -f.prio, f.a))
    taken: list[Frame] = []
    used = bytearray(len(text) + 1)
    for f in cands:
        if any(used[f.a:f.b]):
            continue
        for k in range(f.a, f.b):
            used[k] = 1
        taken.append(f)
    taken.sort(key=lambda f: f.a)
    return taken


# ---------------------------------------------------------------- merging
def _apply_pod(c: Clock, pod: str) -> Clock:
    if c.mer or c.h24:
        return c
    p = pod.split()[-1] if pod else ""
    h = c.h
    if p in ("morning", "am"):
        return replace(c, mer="am")
    if p in ("afternoon", "evening", "pm"):
        return replace(c, mer="pm")
    if p in ("night", "tonight"):
        if h == 12:
            return replace(c, h=0, h24=True)
        return replace(c, mer="am" if h <= 4 else "pm")
    if p == "lunch":
        return replace(c, mer="pm" if h <= 5 or h == 12 else "am")
    return c


def _hour24(c: Clock) -> int:
    if c.mer == "am":
        return 0 if c.h == 12 else c.h
    if c.mer == "pm":
        return c.h if c.h == 12 else c.h + 12
    return c.h


def _business(c: Clock, notes: list[str]) -> Clock:
    """A bare clock time with nothing to place it: read it within business hours, and say so."""
    if c.mer or c.h24 or c.h == 0 or c.h > 12:
        return c
    if 1 <= c.h <= 6:
        notes.append(f"assumed {c.h}{f':{c.m:02d}' if c.m else ''} means {c.h + 12}:{c.m:02d}")
        return replace(c, mer="pm")
    if c.h == 12:
        return replace(c, mer="pm")
    if c.h == 7:
        notes.append(f"assumed {c.h}{f':{c.m:02d}' if c.m else ''} means 07:{c.m:02d}")
    return replace(c, mer="am")


def _closest_meridiem(anchor: Clock, loose: Clock, *, loose_is_end: bool) -> Clock:
    """Read an ambiguous clock (no am/pm, 12 h) so that the span between it and ``anchor`` is shortest."""
    if loose.mer or loose.h24 or loose.h > 12:
        return loose
    a = _hour24(anchor) * 60 + anchor.m
    best: Clock | None = None
    best_span = 10**9
    for cand in (replace(loose, mer="am"), replace(loose, mer="pm")):
        c = _hour24(cand) * 60 + cand.m
        span = ((c - a) if loose_is_end else (a - c)) % 1440 or 1440
        if span < best_span:
            best, best_span = cand, span
    return best or loose


def _end_after(start: Clock, end: Clock) -> Clock:
    """Resolve an ambiguous range end: the reading that gives the shortest positive span."""
    return _closest_meridiem(start, end, loose_is_end=True)


def _start_before(start: Clock, end: Clock) -> Clock:
    return _closest_meridiem(end, start, loose_is_end=False)


def _can_hold_date(f: Frame) -> bool:
    return f.kind in ("time", "trange", "pod") and f.d is None and f.i1 is None


def _merge_pair(a: Frame, b: Frame, gap: str, text: str) -> Frame | None:
    """Combine two neighbouring frames into one, or None."""
    span = (min(a.a, b.a), max(a.b, b.b))
    # durations: "from 10am for 3 hours", "for 3 hours from 10am", "for 10 days from 18th dec"
    if a.kind == "dur" or b.kind == "dur":
        dur, other = (a, b) if a.kind == "dur" else (b, a)
        if other.kind in ("time", "date", "instant") and other.minutes is None and (
                re.search(r"\b(for|from|starting|start)\b", gap + text[max(0, span[0] - 6):span[0]])):
            if other.kind == "date" and (dur.minutes or 0) < 1440:
                return None
            if other.kind == "time" and other.open_end:
                return None
            return replace(other, a=span[0], b=span[1], minutes=dur.minutes, notes=other.notes + dur.notes)
        return None
    if a.kind == "num" and b.kind == "num":
        return None
    if a.kind == "num" or b.kind == "num":
        num, other = (a, b) if a.kind == "num" else (b, a)
        val = num.minutes or 0
        if other.t is None and other.kind in ("pod", "date") and other.pod and 0 < val <= 12:
            c = _apply_pod(Clock(val), other.pod)
            return replace(other, a=span[0], b=span[1], kind="date" if other.d else "time", t=c)
        if other.t is None and other.kind == "pod" and 0 < val <= 24:
            return replace(other, a=span[0], b=span[1], kind="time", t=_apply_pod(_clock(val) or Clock(val),
                                                                                    other.pod or ""))
        return None
    # weekday inside an explicit week or date
    if a.wdr is not None or b.wdr is not None:
        rf_, other = (a, b) if a.wdr is not None else (b, a)
        if other.kind == "week" and other.d is not None and rf_.wdr is not None:
            d = other.d + timedelta(days=rf_.wdr[0])
            e = other.d + timedelta(days=rf_.wdr[1] + 1)
            return replace(rf_, a=span[0], b=span[1], kind="days", d=d, d2=e, wdr=None)
        return None
    if a.wd is not None or b.wd is not None:
        wdf, other = (a, b) if a.wd is not None else (b, a)
        if other.kind == "week" and other.d is not None and wdf.t is None and wdf.wd_bare:
            d = other.d + timedelta(days=wdf.wd or 0)
            return replace(wdf, a=span[0], b=span[1], kind="date", d=d, d2=d + timedelta(days=1), wd=None,
                           wd_bare=False)
        if other.kind == "date" and other.offset and other.d is not None and wdf.t is None and wdf.wd_bare:
            sunday = other.d - timedelta(days=(other.d.weekday() + 1) % 7)
            d = sunday + timedelta(days=((wdf.wd or 0) + 1) % 7)
            return replace(other, a=span[0], b=span[1], d=d, d2=d + timedelta(days=1), offset=False)
        if other.kind == "date" and other.d is not None and other.wd is None and wdf.t is None \
                and wdf.pod is None and not other.has_time and not other.offset:
            d = other.d
            if other.mdm and d.weekday() != wdf.wd:
                alt = _safe_date(d.year + 1, *other.mdm)
                if alt is not None and alt.weekday() == wdf.wd:
                    d = alt
            return replace(other, a=span[0], b=span[1], d=d, d2=d + timedelta(days=1))
    if a.kind == "year" or b.kind == "year":
        yf, other = (a, b) if a.kind == "year" else (b, a)
        if other.kind == "date" and other.d and not other.year_given and other.mdm and yf.d:
            yd = _safe_date(yf.d.year, *other.mdm)
            if yd is not None:
                return replace(other, a=span[0], b=span[1], d=yd, d2=yd + timedelta(days=1), year_given=True)
        return None
    # a day and an instant inside it: "today in 2 hours"
    for df, other in ((a, b), (b, a)):
        if df.kind == "date" and df.d is not None and df.d2 is not None and df.i1 is None and not df.has_time \
                and df.pod is None and other.kind == "instant" and other.i1 is not None \
                and df.d <= other.i1.date() < df.d2:
            return replace(other, a=span[0], b=span[1])
    # date + time-of-day
    if a.d is not None and a.i1 is None and _can_hold_date(b) and not (a.t and b.t):
        return _combine_date_time(a, b, span)
    if b.d is not None and b.i1 is None and _can_hold_date(a) and not (a.t and b.t):
        return _combine_date_time(b, a, span)
    if a.kind == "date" and a.has_time and b.kind in ("time", "pod", "trange") and b.d is None:
        return _combine_date_time(a, b, span)
    if b.kind == "date" and b.has_time and a.kind in ("time", "pod", "trange") and a.d is None:
        return _combine_date_time(b, a, span)
    # time + pod
    if (a.kind in ("time", "trange") and b.kind == "pod") or (b.kind in ("time", "trange") and a.kind == "pod"):
        tf, pf = (a, b) if a.kind != "pod" else (b, a)
        if tf.pod:
            return None
        return replace(tf, a=span[0], b=span[1], pod=pf.pod)
    # a day range and a set of weekdays / a part of day on several days
    if (a.kind == "wdset" and b.kind in ("week", "days")) or (b.kind == "wdset" and a.kind in ("week", "days")):
        ws, rng = (a, b) if a.kind == "wdset" else (b, a)
        return replace(rng, a=span[0], b=span[1], kind="days", wdays=ws.wdays, pod=rng.pod or ws.pod,
                       t=rng.t or ws.t, t2=rng.t2 or ws.t2)
    if (a.kind == "wdset" and b.kind == "pod") or (b.kind == "wdset" and a.kind == "pod"):
        ws, pf = (a, b) if a.kind == "wdset" else (b, a)
        return replace(ws, a=span[0], b=span[1], pod=pf.pod)
    if a.kind in ("week", "days") and b.kind == "pod" and b.d is None:
        return replace(a, a=span[0], b=span[1], pod=b.pod)
    if b.kind in ("week", "days") and a.kind == "pod" and a.d is None:
        return replace(b, a=span[0], b=span[1], pod=a.pod)
    return None


def _combine_date_time(df: Frame, tf: Frame, span: tuple[int, int]) -> Frame | None:
    pod = tf.pod or df.pod
    t, t2 = tf.t or df.t, tf.t2 or df.t2
    if df.t and tf.t:
        return None
    kind = "date" if df.kind in ("date", "year") else df.kind
    if df.kind == "year":
        return None
    return replace(df, a=span[0], b=span[1], kind=kind, t=t, t2=t2, pod=pod,
                   open_end=tf.open_end or df.open_end, minutes=tf.minutes or df.minutes,
                   notes=df.notes + tf.notes)


def _range_of(a: Frame, b: Frame, span: tuple[int, int], ctx: Ctx) -> Frame | None:
    """'A to B' for two frames."""
    # weekday to weekday: anchored later in a week, else from the next first weekday
    if a.wd_bare and b.wd_bare and a.wd is not None and b.wd is not None and not a.has_time and not b.has_time:
        s = _next_wd(ctx, a.wd, include_today=True)
        e = s + timedelta(days=(b.wd - a.wd) % 7 + 1)
        return Frame(span[0], span[1], "days", d=s, d2=e, wdr=(a.wd, b.wd))
    # plain days
    if a.kind in ("date", "days", "week") and b.kind in ("date", "days", "week") and not a.has_time \
            and not b.has_time and a.d and b.d and a.d2 and b.d2:
        a_start: date = a.d
        if b.year_given and not a.year_given and a.mdm:
            ad = _safe_date(b.d.year, *a.mdm)
            if ad is not None and ad <= b.d:
                a_start = ad
        end = b.d2 if b.kind != "days" or (b.d2 - b.d).days > 1 else b.d + timedelta(days=1)
        if b.kind in ("days", "week") and (b.d2 - b.d).days >= 7 and a.kind in ("date", "week"):
            end = b.d  # "from Feb 1st to March", "from week 31 to week 35": until the last period begins
        if end <= a_start and b.mdm and not b.year_given:
            alt = _safe_date(a_start.year + (1 if b.mdm[0] < a_start.month else 0), *b.mdm)
            if alt is not None and alt >= a_start:
                end = alt + timedelta(days=1)
        if end <= a_start and b.wd is not None:
            cand = a_start + timedelta(days=(b.wd - a_start.weekday()) % 7)
            end = cand + timedelta(days=1)
        if end <= a_start:
            return None
        return Frame(span[0], span[1], "days", d=a_start, d2=end, notes=a.notes + b.notes)
    # moments
    if b.kind == "time" and b.d is None and a.d is not None and a.t is None and a.i1 is None:
        return None  # "6 jan 2017 - 6:37am" is a date and its time, not a range
    a_dt = _frame_start(a, ctx)
    if a_dt is None:
        return None
    if b.kind in ("time",) and b.d is None and b.t is not None:
        bt = b.t if not (b.pod) else _apply_pod(b.t, b.pod)
        ca = a.t
        if ca is not None and not (ca.mer or ca.h24) and (bt.mer or bt.h24):
            ca = _start_before(ca, bt)
            a_dt = _frame_start(replace(a, t=ca), ctx)
            if a_dt is None:
                return None
        start_clock = Clock(a_dt.hour, a_dt.minute, a_dt.second, None, True)
        bt = _end_after(start_clock, bt)
        e = datetime.combine(a_dt.date(), time(_hour24(bt), bt.m, bt.s))
        if e <= a_dt:
            e += timedelta(days=1)
        return Frame(span[0], span[1], "irange", i1=a_dt, i2=e, notes=a.notes + b.notes)
    b_dt = _frame_start(b, ctx, after=a_dt)
    if b_dt is None:
        return None
    if b.t is None and b.kind in ("date",) and b.i1 is None:
        b_dt = datetime.combine(b.d2 or (b_dt.date() + timedelta(days=1)), time())
    if b_dt <= a_dt:
        return None
    return Frame(span[0], span[1], "irange", i1=a_dt, i2=b_dt, notes=a.notes + b.notes)


def _frame_start(f: Frame, ctx: Ctx, after: datetime | None = None) -> datetime | None:
    if f.i1 is not None:
        return f.i1
    notes: list[str] = []
    if f.d is not None:
        if f.t is not None:
            c = _apply_pod(f.t, f.pod) if f.pod else _business(f.t, notes)
            return datetime.combine(f.d, time(_hour24(c), c.m, c.s))
        return datetime.combine(f.d, time())
    if f.t is not None:
        base = after.date() if after else ctx.today
        c = _apply_pod(f.t, f.pod) if f.pod else f.t
        if after is not None and not (c.mer or c.h24):
            c = _end_after(Clock(after.hour, after.minute, 0, None, True), c)
        elif not (c.mer or c.h24):
            c = _business(c, notes)
        dt = datetime.combine(base, time(_hour24(c), c.m, c.s))
        if after is not None and dt <= after:
            dt += timedelta(days=1)
        return dt
    return None


def _merge(frames: list[Frame], text: str, ctx: Ctx) -> list[Frame]:
    changed = True
    rounds = 0
    while changed and rounds < 12:
        changed = False
        rounds += 1
        if _merge_tight(frames, text):
            changed = True
            continue
        # ranges: A <sep> B, optionally preceded by from/between
        i = 0
        while i + 1 < len(frames):
            a, b = frames[i], frames[i + 1]
            gap = text[a.b:b.a]
            if RANGE_SEP.match(gap) and a.kind not in ("dur", "num", "year", "pod", "wdset") \
                    and b.kind not in ("dur", "num", "year", "wdset", "pod"):
                sep = gap.strip()
                pre = text[max(0, a.a - 14):a.a]
                ok = sep != "and" or RANGE_PRE.search(pre)
                if ok and not (a.kind == "trange" or b.kind == "trange"):
                    r = _range_of(a, b, (a.a, b.b), ctx)
                    if r is not None:
                        frames[i:i + 2] = [r]
                        changed = True
                        break
            i += 1
    return frames


def _merge_tight(frames: list[Frame], text: str) -> bool:
    changed = False
    i = 0
    while i + 1 < len(frames):
        a, b = frames[i], frames[i + 1]
        gap = text[a.b:b.a]
        if (FILL.match(gap) and not RANGE_SEP.match(gap)) or gap.strip() in (",", "") or (
                (a.kind == "dur" or b.kind == "dur") and re.fullmatch(
                    r"[\s,]*(?:(?:for|from|starting|starting from|start at|beginning|on|at|,)\s*)*", gap)):
            merged = _merge_pair(a, b, gap, text)
            if merged is not None:
                frames[i:i + 2] = [merged]
                changed = True
                continue
        i += 1
    return changed


# ---------------------------------------------------------------- windows
def _pod_window(d: date, pod: str) -> tuple[datetime, datetime]:
    s, e = PODS.get(pod, PODS.get(pod.split()[-1], (8, 12)))
    start = datetime.combine(d, time()) + timedelta(hours=s)
    end = datetime.combine(d, time()) + timedelta(hours=e)
    return start, end


def _windows_for(f: Frame, ctx: Ctx, duration: int | None, notes: list[str]) -> list[RawWindow]:
    length = timedelta(minutes=f.minutes or duration or DEFAULT_MINUTES)
    notes.extend(n for n in f.notes if n not in notes)
    if f.i1 is not None:
        end = f.i2 or f.i1 + (timedelta(minutes=f.minutes) if f.minutes else length)
        if f.i2 is None:
            return [RawWindow(f.i1, end, length=f.minutes or duration or DEFAULT_MINUTES)]
        return [RawWindow(f.i1, end)]
    if f.kind == "num" or f.kind == "dur" or (f.kind == "year" and f.d is None):
        return []
    # date-less times: today, or tomorrow when already past
    if f.d is None:
        if f.kind == "wdset":
            return []
        d = ctx.today
        probe = replace(f, d=d, d2=d + timedelta(days=1))
        ws = _windows_for(probe, ctx, duration, [])
        if ws and ws[-1].end <= ctx.now and f.t is not None and not f.open_end:
            d += timedelta(days=1)
            probe = replace(f, d=d, d2=d + timedelta(days=1))
            ws = _windows_for(probe, ctx, duration, [])
        _collect_notes(f, notes)
        return ws
    days: list[date] = []
    d2 = f.d2 or f.d + timedelta(days=1)
    multi = (d2 - f.d).days > 1
    if multi and (f.has_time or f.wdays):
        k = f.d
        while k < d2 and len(days) < MAX_DAY_WINDOWS:
            if f.wdays is None or k.weekday() in f.wdays:
                days.append(k)
            k += timedelta(days=1)
        if not f.has_time:
            return [RawWindow(datetime.combine(x, time()), datetime.combine(x + timedelta(days=1), time()))
                    for x in days]
    elif multi:
        start = datetime.combine(f.d, time())
        end = datetime.combine(d2, time())
        if f.minutes and f.minutes >= 1440:
            end = start + timedelta(minutes=f.minutes)
        return [RawWindow(start, end)]
    else:
        days = [f.d]
    out: list[RawWindow] = []
    for day in days:
        out.extend(_day_windows(f, day, length, notes))
    _collect_notes(f, notes)
    return out


def _collect_notes(f: Frame, notes: list[str]) -> None:
    for n in f.notes:
        if n not in notes:
            notes.append(n)


def _day_windows(f: Frame, day: date, length: timedelta, notes: list[str]) -> list[RawWindow]:
    midnight = datetime.combine(day, time())
    if f.t is not None:
        c = _apply_pod(f.t, f.pod) if f.pod else f.t
        if f.t2 is not None:
            c2 = _apply_pod(f.t2, f.pod) if f.pod else f.t2
            if not (c.mer or c.h24) and (c2.mer or c2.h24):
                c = _start_before(c, c2)
            elif not (c.mer or c.h24):
                c = _business(c, notes)
            c2 = _end_after(c, c2)
            s = midnight + timedelta(hours=_hour24(c), minutes=c.m, seconds=c.s)
            e = midnight + timedelta(hours=_hour24(c2), minutes=c2.m, seconds=c2.s)
            if e <= s:
                e += timedelta(days=1)
            return [RawWindow(s, e)]
        if not (c.mer or c.h24):
            c = _business(c, notes)
        s = midnight + timedelta(hours=_hour24(c), minutes=c.m, seconds=c.s)
        if f.open_end == "after":
            return [RawWindow(s, midnight + timedelta(days=1))]
        if f.open_end == "before":
            return [RawWindow(midnight, s)] if s > midnight else []
        if f.minutes and f.minutes >= 1440:
            return [RawWindow(s, s + timedelta(minutes=f.minutes))]
        return [RawWindow(s, s + length, length=int(length.total_seconds() // 60))]
    if f.pod is not None:
        s, e = _pod_window(day, f.pod)
        return [RawWindow(s, e)]
    end = midnight + timedelta(days=1)
    if f.minutes and f.minutes >= 1440:
        end = midnight + timedelta(minutes=f.minutes)
    return [RawWindow(midnight, end)]


def extract(text: str, now: datetime, *, aware_now: datetime | None = None) -> Extraction:
    """Find the time windows, the duration and assumptions in canonical text, relative to local ``now``."""
    ctx = Ctx(now.replace(microsecond=0), aware_now.replace(microsecond=0) if aware_now else None)
    frames = _atoms(text, ctx)
    frames = _merge(frames, text, ctx)
    notes: list[str] = []
    # duration: the first duration that is not part of a moment
    duration: int | None = None
    for f in frames:
        if f.kind == "dur" and f.minutes:
            duration = f.minutes
            break
    if duration is None:
        mm = _DUR_ALL.search(text)
        if mm:
            duration = {"day": 1440, "week": 10080, "month": 43200, "night": 1440}[mm[1]]
    # a list of dates shares the time said after the last one ("Tue or Wed afternoon")
    for k in range(len(frames) - 2, -1, -1):
        f, g = frames[k], frames[k + 1]
        if f.kind == "date" and f.d is not None and not f.has_time and g.kind == "date" and g.has_time \
                and g.d is not None and re.fullmatch(r"\s*(?:,|or|and|/|&)\s*(?:(?:or|and)\s*)?(?:on\s*)?",
                                                      text[f.b:g.a]):
            frames[k] = replace(f, t=g.t, t2=g.t2, pod=g.pod, open_end=g.open_end)
    # lone times of day apply to every date without one ("Tue or Wed afternoon")
    dated = [f for f in frames if f.kind in ("date", "days", "week") and f.d is not None and not f.has_time]
    timed = [f for f in frames if f.kind in ("time", "trange", "pod") and f.d is None and f.i1 is None]
    if dated and len(timed) == 1:
        t = timed[0]
        frames = [f for f in frames if f is not t]
        frames = [(_combine_date_time(f, t, (f.a, f.b)) or f) if f in dated else f for f in frames]
    elif not dated and timed:
        wds = [f for f in frames if f.kind == "wdset"]
        if wds and len(timed) == 1:
            frames = [f for f in frames if f is not timed[0]]
            frames = [replace(f, pod=timed[0].pod, t=timed[0].t, t2=timed[0].t2) if f.kind == "wdset" else f
                      for f in frames]
    windows: list[RawWindow] = []
    for f in frames:
        if f.kind in ("num", "dur"):
            continue
        if f.kind == "wdset":
            f = replace(f, kind="days")
        windows.extend(_windows_for(f, ctx, duration, notes))
    return Extraction(windows=windows, duration_minutes=duration, notes=notes)
