"""Coach settings in conversation: hours (words or a form), buffers, minimum notice, time off, session lengths."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.handlers.format import day_label, duration_label, hours_summary, ranges_text
from bot.handlers.replies import Asker, Choice, Field, Form, Reply
from bot.language import ParsedRequest
from bot.scheduling.model import WEEKDAYS, ClockRange, CoachSettings, WeeklyHours, load_zone

__all__ = ["BUFFERS_FORM_ID", "HOURS_FORM_ID", "CoachFlow", "parse_day_ranges"]

HOURS_FORM_ID = "hours"
BUFFERS_FORM_ID = "buffers"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_BECOME = re.compile(r"\b(?:i'?m|i am|make me|register me as|become|sign me up as)\s+(?:a\s+|an\s+)?(?:coach|mentor)\b")
_SHOW = re.compile(r"^(?:my\s+)?settings$|\b(?:show|see|view|what are|list|check)\b.*\b(?:settings|hours|buffers)\b")
_EDIT_HOURS = re.compile(r"\b(?:edit|change|update|set)\s+(?:my\s+)?(?:working\s+|work\s+|coaching\s+)?hours\b")
_EDIT_BUFFERS = re.compile(r"\b(?:edit|change|update|set)\s+(?:my\s+)?buffers?\b")
_NOTICE = re.compile(r"\bnotice\b")
_LENGTHS = re.compile(r"\bsession\s+(?:lengths?|durations?)\b|\bsessions?\s+(?:are|can be|last)\b")
_TIME_OFF = re.compile(
    r"\b(?:time off|days? off|off on|i'?m off|i am off|i'?ll be off|i will be off|vacation|holidays?|"
    r"out of (?:the )?office|ooo|away on|block out|unavailable on)\b"
)
_QTY = re.compile(r"(\d+(?:\.\d+)?)\s*(minutes?|mins?|m|hours?|hrs?|h|days?|d)?\b")
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a|p)?$")
_OFF_WORDS = frozenset({"", "off", "closed", "none", "-", "no", "day off"})


def _minutes(number: str, unit: str | None, *, default_unit: str = "m") -> int:
    value = float(number)
    u = (unit or default_unit).lower()
    if u.startswith("d"):
        return round(value * 24 * 60)
    if u.startswith("h"):
        return round(value * 60)
    return round(value)


def _clock_minutes(text: str, *, end: bool) -> int:
    match = _CLOCK.match(text.strip().lower())
    if not match:
        raise ValueError(f"'{text.strip()}' is not a time; write times like 09:00 or 9am")
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    meridiem = match.group(3)
    if meridiem:
        if not 1 <= hours <= 12:
            raise ValueError(f"'{text.strip()}' is not a time")
        hours = hours % 12 + (12 if meridiem.startswith("p") else 0)
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise ValueError(f"'{text.strip()}' is not a time of day")
    return hours * 60 + minutes


def parse_day_ranges(text: str) -> tuple[ClockRange, ...]:
    """``"09:00-12:00, 13:00-17:00"`` (also ``9-17``, ``9am-5pm``, ``9 to 5``); blank or ``off`` = a day off."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in _OFF_WORDS:
        return ()
    out: list[ClockRange] = []
    for part in re.split(r"\s*[,;&]\s*|\s+and\s+", cleaned):
        if not part:
            continue
        pieces = re.split(r"\s*(?:-|–|—|to|until)\s*", part)
        if len(pieces) != 2 or not pieces[0] or not pieces[1]:
            raise ValueError(f"'{part}' is not a time range; write e.g. 09:00-12:00, 13:00-17:00")
        start, end = _clock_minutes(pieces[0], end=False), _clock_minutes(pieces[1], end=True)
        if end <= start:
            raise ValueError(f"'{part}': the end must come after the start")
        out.append(ClockRange(start, end))
    out.sort()
    for a, b in itertools.pairwise(out):
        if b.start < a.end:
            raise ValueError(f"{a} and {b} overlap")
    return tuple(out)


def _subtract(ranges: tuple[ClockRange, ...], cut: ClockRange) -> tuple[ClockRange, ...]:
    out: list[ClockRange] = []
    for r in ranges:
        if r.end <= cut.start or r.start >= cut.end:
            out.append(r)
            continue
        if r.start < cut.start:
            out.append(ClockRange(r.start, cut.start))
        if r.end > cut.end:
            out.append(ClockRange(cut.end, r.end))
    return tuple(out)


class CoachFlow:
    """Settings a coach changes by chatting.  Every save is whole (validate first, then one write)."""

    def __init__(
        self, storage: Any, clock: Callable[[], datetime], *, settings_link: Callable[[str], str] | None = None
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.settings_link = settings_link  # person id -> signed link to the web settings page (24 h)

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def current(self, person_id: str) -> CoachSettings | None:
        settings: CoachSettings | None = await self._db(self.storage.coach_settings.get_settings, person_id)
        return settings

    async def _load_or_new(self, asker: Asker, *, timezone: str | None = None) -> tuple[CoachSettings, bool]:
        settings = await self.current(asker.person_id)
        if settings is not None:
            return settings, False
        zone = timezone or asker.timezone
        try:
            load_zone(zone)
        except ValueError:
            zone = "UTC"
        return CoachSettings(timezone=zone), True

    async def _save(self, asker: Asker, settings: CoachSettings) -> None:
        await self._db(self.storage.coach_settings.save_settings, asker.person_id, settings)
        person = await self._db(self.storage.people.get, asker.person_id)
        if person is not None and not person.is_coach:
            await self._db(self.storage.people.update, replace(person, is_coach=True))

    async def _need_coach(self, asker: Asker) -> CoachSettings | list[Reply]:
        settings = await self.current(asker.person_id)
        if settings is None:
            return [Reply("You don't have coaching hours yet. Say \"I'm a coach\" (or set your hours, e.g. "
                          "\"my hours are Mon-Fri 9-17\") first.")]
        return settings

    # --- routing of free text ------------------------------------------------------------------------------

    async def from_text(self, asker: Asker, text: str, parsed: ParsedRequest) -> list[Reply] | None:
        """Replies when ``text`` is a settings command the parser has no intent for; None otherwise."""
        low = text.lower().strip()
        if _BECOME.search(low):
            return await self.become_coach(asker)
        if parsed.intent == "set_hours" or (_EDIT_HOURS.search(low) and not parsed.hours):
            return await self.set_hours(asker, parsed)
        if _EDIT_BUFFERS.search(low) and parsed.buffer_before_minutes is None and parsed.buffer_after_minutes is None:
            return await self.buffers_form(asker)
        if parsed.intent == "set_buffer":
            return await self.set_buffers(asker, parsed)
        if _SHOW.search(low):
            return await self.show(asker)
        if _NOTICE.search(low) and parsed.intent in ("book", "unknown", "set_buffer"):
            return await self.set_notice(asker, low)
        if _LENGTHS.search(low):
            return await self.set_lengths(asker, low)
        if _TIME_OFF.search(low) or any("time off" in note for note in parsed.notes):
            return await self.time_off(asker, parsed)
        return None

    # --- become a coach, show -------------------------------------------------------------------------------

    async def become_coach(self, asker: Asker) -> list[Reply]:
        settings, created = await self._load_or_new(asker)
        await self._save(asker, settings)
        intro = "You're set up as a coach." if created else "You're already a coach."
        text = f"{intro} Your hours ({settings.timezone}):\n" + "\n".join(hours_summary(settings.hours))
        return [Reply(text + "\nChange them by saying e.g. \"my hours are Mon-Thu 9-17\" or with the form.",
                      choices=_settings_choices())]

    async def show(self, asker: Asker) -> list[Reply]:
        got = await self._need_coach(asker)
        if isinstance(got, list):
            return got
        s = got
        today = self.clock().astimezone(load_zone(s.timezone)).date()
        off = [d for d, ranges in sorted(s.hours.overrides.items()) if d >= today]
        lines = [f"Your settings ({s.timezone}):", "Hours: " + "; ".join(hours_summary(s.hours))]
        if off:
            lines.append("Time off / changed days: " + ", ".join(
                f"{day_label(d)} {ranges_text(s.hours.overrides[d])}" for d in off[:10]
            ))
        lines += [
            f"Buffers: {_mins(s.buffer_before)} before, {_mins(s.buffer_after)} after",
            f"Minimum notice: {_mins(s.min_notice)}",
            f"Bookable up to {s.horizon.days} days ahead",
            "Session lengths: " + ", ".join(duration_label(m) for m in s.session_lengths),
        ]
        details: tuple[str, ...] = ()
        if self.settings_link is not None:
            details = (f"Change everything on one page (link valid 24 hours, only for you): "
                       f"{self.settings_link(asker.person_id)}",)
        return [Reply("\n".join(lines), choices=_settings_choices(), details=details, private=True)]

    # --- hours -----------------------------------------------------------------------------------------------

    async def set_hours(self, asker: Asker, parsed: ParsedRequest) -> list[Reply]:
        if not parsed.hours:
            return await self.hours_form(asker)
        settings, _ = await self._load_or_new(asker, timezone=parsed.timezone)
        try:
            given = WeeklyHours.from_mapping(parsed.hours)
        except ValueError as exc:
            return [Reply(f"I couldn't use those hours: {exc}. Try e.g. \"my hours are Mon-Fri 09:00-17:00\".")]
        days = list(settings.hours.days)
        for key in parsed.hours:
            index = WEEKDAYS.index(key.strip().lower()[:3])
            days[index] = given.days[index]
        hours = WeeklyHours(tuple(days), settings.hours.overrides)
        await self._save(asker, replace(settings, hours=hours))
        text = f"Saved. Your hours ({settings.timezone}):\n" + "\n".join(hours_summary(hours))
        return [Reply(text, choices=_settings_choices())]

    async def hours_form(
        self, asker: Asker, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
    ) -> list[Reply]:
        settings, _ = await self._load_or_new(asker)
        fields: list[Field] = []
        for i, key in enumerate(WEEKDAYS):
            current = ", ".join(str(r) for r in settings.hours.days[i])
            fields.append(
                Field(
                    name=key,
                    label=DAY_NAMES[i],
                    value=(values or {}).get(key, current),
                    hint="e.g. 09:00-12:00, 13:00-17:00; leave blank for a day off",
                    required=False,
                    error=(errors or {}).get(key, ""),
                )
            )
        fields.append(
            Field(
                name="timezone",
                label="Time zone",
                value=(values or {}).get("timezone", settings.timezone),
                hint="IANA name, e.g. Europe/Berlin",
                error=(errors or {}).get("timezone", ""),
            )
        )
        form = Form(id=HOURS_FORM_ID, title="Working hours", fields=tuple(fields), submit_label="Save")
        text = "Please fix the marked fields; nothing was saved." if errors else "Your weekly working hours:"
        return [Reply(text, form=form, private=True)]

    async def submit_hours(self, asker: Asker, values: dict[str, str]) -> list[Reply]:
        errors: dict[str, str] = {}
        days: list[tuple[ClockRange, ...]] = []
        for key in WEEKDAYS:
            try:
                days.append(parse_day_ranges(values.get(key, "")))
            except ValueError as exc:
                errors[key] = str(exc)
                days.append(())
        zone = (values.get("timezone") or "").strip()
        settings, _ = await self._load_or_new(asker)
        if not zone:
            zone = settings.timezone
        try:
            load_zone(zone)
        except ValueError:
            errors["timezone"] = f"'{zone}' is not a time zone; use a name like Europe/Berlin"
        if errors:
            return await self.hours_form(asker, values=values, errors=errors)
        if not any(days):
            errors[WEEKDAYS[0]] = "At least one day needs hours, or nobody can book you"
            return await self.hours_form(asker, values=values, errors=errors)
        hours = WeeklyHours(tuple(days), settings.hours.overrides)
        await self._save(asker, replace(settings, hours=hours, timezone=zone))
        return [Reply(f"Saved. Your hours ({zone}):\n" + "\n".join(hours_summary(hours)), replace=True)]

    # --- buffers, notice, lengths ----------------------------------------------------------------------------

    async def set_buffers(self, asker: Asker, parsed: ParsedRequest) -> list[Reply]:
        before, after = parsed.buffer_before_minutes, parsed.buffer_after_minutes
        if before is None and after is None:
            return await self.buffers_form(asker)
        got = await self._need_coach(asker)
        if isinstance(got, list):
            return got
        return await self._save_buffers(asker, got, before, after)

    async def _save_buffers(
        self, asker: Asker, settings: CoachSettings, before: int | None, after: int | None
    ) -> list[Reply]:
        for value in (before, after):
            if value is not None and not 0 <= value <= 240:
                return [Reply("A buffer must be between 0 and 240 minutes.")]
        new = replace(
            settings,
            buffer_before=timedelta(minutes=before) if before is not None else settings.buffer_before,
            buffer_after=timedelta(minutes=after) if after is not None else settings.buffer_after,
        )
        await self._save(asker, new)
        return [Reply(f"Saved. Buffers: {_mins(new.buffer_before)} before and {_mins(new.buffer_after)} after "
                      "each session.", replace=True)]

    async def buffers_form(
        self, asker: Asker, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
    ) -> list[Reply]:
        got = await self._need_coach(asker)
        if isinstance(got, list):
            return got
        v, e = values or {}, errors or {}
        form = Form(
            id=BUFFERS_FORM_ID,
            title="Buffers",
            fields=(
                Field("before", "Minutes free before a session", "number",
                      v.get("before", str(int(got.buffer_before.total_seconds() // 60))), error=e.get("before", "")),
                Field("after", "Minutes free after a session", "number",
                      v.get("after", str(int(got.buffer_after.total_seconds() // 60))), error=e.get("after", "")),
            ),
        )
        text = "Please fix the marked fields; nothing was saved." if errors else "Buffers around your sessions:"
        return [Reply(text, form=form, private=True)]

    async def submit_buffers(self, asker: Asker, values: dict[str, str]) -> list[Reply]:
        got = await self._need_coach(asker)
        if isinstance(got, list):
            return got
        parsed: dict[str, int] = {}
        errors: dict[str, str] = {}
        for key in ("before", "after"):
            raw = (values.get(key) or "0").strip()
            if not raw.isdigit() or not 0 <= int(raw) <= 240:
                errors[key] = "A whole number of minutes from 0 to 240"
            else:
                parsed[key] = int(raw)
        if errors:
            return await self.buffers_form(asker, values=values, errors=errors)
        return await self._save_buffers(asker, got, parsed["before"], parsed["after"])

    async def set_notice(self, asker: Asker, low: str) -> list[Reply]:
        got = await self._need_coach(asker)
        if isinstance(got, list):
            return got
        if re.search(r"\bno (?:minimum )?notice\b", low):
            minutes = 0
        else:
            match = _QTY.search(low)
            if match is None:
                return [Reply("How much notice do you need? e.g. \"minimum notice 4 hours\".")]
            minutes = _minutes(match.group(1), match.group(2), default_unit="h")
        if not 0 <= minutes <= 60 * 24 * 60:
            return [Reply("Minimum notice must be between 0 and 60 days.")]
        await self._save(asker, replace(got, min_notice=timedelta(minutes=minutes)))
        return [Reply(f"Saved. People can book you with at least {_mins(timedelta(minutes=minutes))} notice.")]

    async def set_lengths(self, asker: Asker, low: str) -> list[Reply]:
        got = await self._need_coach(asker)
        if isinstance(got, list):
            return got
        lengths = sorted({_minutes(m.group(1), m.group(2)) for m in _QTY.finditer(low)})
        if not lengths:
            return [Reply("Which lengths? e.g. \"session lengths 30, 45 and 60 minutes\".")]
        if any(not 5 <= m <= 8 * 60 for m in lengths):
            return [Reply("Session lengths must be between 5 minutes and 8 hours.")]
        await self._save(asker, replace(got, session_lengths=tuple(lengths)))
        return [Reply("Saved. Session lengths: " + ", ".join(duration_label(m) for m in lengths) + ".")]

    # --- time off --------------------------------------------------------------------------------------------

    async def time_off(self, asker: Asker, parsed: ParsedRequest) -> list[Reply]:
        got = await self._need_coach(asker)
        if isinstance(got, list):
            return got
        if not parsed.windows:
            return [Reply("Which days are you off? e.g. \"I'm off next Friday\" or \"time off 10-12 March\".")]
        zone = load_zone(got.timezone)
        overrides = dict(got.hours.overrides)
        changed: list[str] = []
        for window in parsed.windows:
            start, end = window.start.astimezone(zone), window.end.astimezone(zone)
            day = start.date()
            for _ in range(400):
                day_start = datetime.combine(day, time.min, tzinfo=zone)
                if day_start >= end:
                    break
                day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
                cut_start, cut_end = max(start, day_start), min(end, day_end)
                if cut_start <= day_start and cut_end >= day_end:
                    overrides[day] = ()
                    changed.append(f"{day_label(day)} (all day)")
                else:
                    a = cut_start.hour * 60 + cut_start.minute
                    b = 1440 if cut_end >= day_end else cut_end.hour * 60 + cut_end.minute
                    if b > a:
                        overrides[day] = _subtract(got.hours.ranges_on(day), ClockRange(a, b))
                        changed.append(f"{day_label(day)} {ClockRange(a, b)}")
                day = _next(day)
        if not changed:
            return [Reply("I couldn't tell which days you mean; try e.g. \"I'm off 2026-03-10 to 2026-03-12\".")]
        await self._save(asker, replace(got, hours=WeeklyHours(got.hours.days, overrides)))
        return [Reply("Got it, no sessions will be offered then: " + ", ".join(changed) + f" ({got.timezone}).")]


def _next(day: date) -> date:
    return day + timedelta(days=1)


def _mins(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes == 0:
        return "0 min"
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day" + ("s" if days != 1 else "")
    return duration_label(minutes)


def _settings_choices() -> tuple[Choice, ...]:
    return (Choice("Edit hours", "settings.hours", "hours"), Choice("Edit buffers", "settings.buffers", "buffers"))
