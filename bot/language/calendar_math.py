"""Small, pure calendar helpers used by the time grammar (dates only; no time zones here)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "add_months",
    "easter",
    "iso_week_monday",
    "last_weekday_of_month",
    "localize",
    "month_range",
    "nth_weekday_of_month",
    "week_monday",
    "weekday_on_or_after",
    "weeks_of_month",
]


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """Attach ``zone`` to a wall time; a wall time skipped by DST moves forward by the gap."""
    aware = naive.replace(tzinfo=zone)
    # round trip through UTC: non-existent wall times (spring forward) come back normalized
    back = aware.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if back.replace(tzinfo=None) != naive:
        return back
    return aware


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year = d.year + y
    month = m + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def month_range(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    return start, add_months(start, 1)


def week_monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def weekday_on_or_after(d: date, wd: int) -> date:
    return d + timedelta(days=(wd - d.weekday()) % 7)


def nth_weekday_of_month(year: int, month: int, wd: int, n: int) -> date | None:
    first = weekday_on_or_after(date(year, month, 1), wd)
    d = first + timedelta(days=7 * (n - 1))
    return d if d.month == month else None


def last_weekday_of_month(year: int, month: int, wd: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - wd) % 7)


def iso_week_monday(year: int, week: int) -> date | None:
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        return None


def weeks_of_month(year: int, month: int) -> list[date]:
    """Mondays of the ISO-style weeks that belong to a month (the week's Thursday falls in the month)."""
    start, end = month_range(year, month)
    monday = week_monday(start)
    out: list[date] = []
    while monday < end:
        if start <= monday + timedelta(days=3) < end:
            out.append(monday)
        monday += timedelta(days=7)
    return out


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)
