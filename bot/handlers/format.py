"""How times, durations and hours read in chat: "Tue 24 Nov 14:00-14:30 (Europe/Berlin)".  Pure functions."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.scheduling.model import WEEKDAYS, ClockRange, WeeklyHours, load_zone

__all__ = [
    "day_label",
    "duration_label",
    "hours_summary",
    "range_label",
    "ranges_text",
    "slot_label",
    "when_label",
    "window_label",
]


def _local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(load_zone(tz))


def day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def range_label(start: datetime, end: datetime, tz: str, *, zone: bool = True) -> str:
    """``Tue 24 Nov 14:00-14:30 (Europe/Berlin)``; an end on another day shows its date too."""
    a, b = _local(start, tz), _local(end, tz)
    if b.date() == a.date():
        end_text = f"{b:%H:%M}"
    elif b.date() == a.date() + timedelta(days=1) and (b.hour, b.minute) == (0, 0):
        end_text = "24:00"
    else:
        end_text = f"{day_label(b.date())} {b:%H:%M}"
    text = f"{day_label(a.date())} {a:%H:%M}-{end_text}"
    return f"{text} ({tz})" if zone else text


def slot_label(start: datetime, end: datetime, tz: str, other_tz: str | None = None) -> str:
    """In ``tz``; when ``other_tz`` (the coach's zone) differs, its wall-clock time too."""
    text = range_label(start, end, tz)
    if other_tz and other_tz != tz:
        a, b = _local(start, other_tz), _local(end, other_tz)
        same_day = a.date() == _local(start, tz).date()
        other = f"{a:%H:%M}-{b:%H:%M}" if same_day else f"{day_label(a.date())} {a:%H:%M}-{b:%H:%M}"
        text += f" / {other} {other_tz}"
    return text


def when_label(start: datetime, end: datetime, tz: str) -> str:
    return range_label(start, end, tz)


def duration_label(minutes: int) -> str:
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if minutes > 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min"


def ranges_text(ranges: tuple[ClockRange, ...]) -> str:
    return ", ".join(str(r) for r in ranges) if ranges else "off"


def hours_summary(hours: WeeklyHours) -> list[str]:
    """One line per run of weekdays with the same hours: ``Mon-Fri 09:00-17:00``, ``Sat-Sun off``."""
    lines: list[str] = []
    i = 0
    while i < 7:
        j = i
        while j + 1 < 7 and hours.days[j + 1] == hours.days[i]:
            j += 1
        days = WEEKDAYS[i].title() if i == j else f"{WEEKDAYS[i].title()}-{WEEKDAYS[j].title()}"
        lines.append(f"{days} {ranges_text(hours.days[i])}")
        i = j + 1
    return lines


def window_label(start: datetime, end: datetime, tz: str) -> str:
    """A requested window in words: ``on Fri 6 Mar``, ``Mon 9 Mar to Sun 15 Mar``, ``Tue 3 Mar 12:00-17:00``."""
    a, b = _local(start, tz), _local(end, tz)
    if (a.hour, a.minute, b.hour, b.minute) == (0, 0, 0, 0):
        last = (b - timedelta(days=1)).date()
        if last <= a.date():
            return f"on {day_label(a.date())}"
        return f"between {day_label(a.date())} and {day_label(last)}"
    return f"on {range_label(start, end, tz, zone=False)}"


def ago_label(seconds: float) -> str:
    """``just now`` / ``5 min ago`` / ``3 h ago`` / ``4 days ago``."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h ago"
    return f"{hours // 24} days ago"


def sync_status_label(status: str, last_synced_at: datetime | None, last_error: str | None, *, now: datetime) -> str:
    """A calendar account's state: ``synced 2 min ago`` / ``needs reconnecting`` / ``not synced yet``."""
    if status == "needs_reconnect":
        return "needs reconnecting"
    if last_synced_at is None:
        return "not synced yet" + (f" ({last_error})" if last_error else "")
    synced = "synced " + ago_label(max(0.0, (now - last_synced_at).total_seconds()))
    return synced + (f", last try failed: {last_error}" if last_error else "")
