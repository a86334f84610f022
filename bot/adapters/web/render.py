"""Pure rendering for the web surface: ``Reply`` -> HTML fragments, and the week-view model (free/busy cells).

No I/O, no clock: everything comes in as arguments.  Text is always escaped; links in text become anchors.
The week view only knows when a session could start and whether that time is free: never what a busy event is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

from bot.handlers.replies import Choice, Field, Form, Reply
from bot.scheduling.intervals import Interval, from_epoch
from bot.scheduling.localtime import local_epoch
from bot.scheduling.model import WeeklyHours, load_zone

__all__ = [
    "WeekCell",
    "WeekDay",
    "WeekView",
    "build_week_view",
    "candidate_starts",
    "format_day",
    "format_range",
    "grid_step",
    "render_choice",
    "render_form",
    "render_reply",
    "render_text",
    "week_start_of",
    "week_window",
]

_URL = re.compile(r"<(https?://[^\s<>|]+)\|([^<>]+)>|(https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])")


# --- replies ----------------------------------------------------------------------------------------------


def render_text(text: str) -> Markup:
    """Escaped text with line breaks kept and http(s) links (plain, or Slack-style ``<url|label>``) clickable."""
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        out.append(str(escape(text[pos : match.start()])))
        url = match.group(1) or match.group(3)
        label = match.group(2) or url
        out.append(f'<a href="{escape(url)}">{escape(label)}</a>')
        pos = match.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out).replace("\n", "<br>\n"))


def render_choice(choice: Choice) -> Markup:
    classes = "choice" + (f" {choice.style}" if choice.style else "")
    attrs = f' data-action="{escape(choice.action)}" data-value="{escape(choice.value)}"'
    if choice.confirm:
        attrs += f' data-confirm="{escape(choice.confirm)}"'
    return Markup(f'<button type="button" class="{classes}"{attrs}>{escape(choice.label)}</button>')


def _field_html(form_dom_id: str, f: Field) -> str:
    fid = f"{form_dom_id}-{f.name}"
    described = []
    if f.hint:
        described.append(f"{fid}-hint")
    if f.error:
        described.append(f"{fid}-error")
    common = f'id="{escape(fid)}" name="{escape(f.name)}"'
    if f.required:
        common += " required"
    if described:
        common += f' aria-describedby="{escape(" ".join(described))}"'
    if f.error:
        common += ' aria-invalid="true"'
    if f.kind == "textarea":
        control = f'<textarea {common} rows="3">{escape(f.value)}</textarea>'
    elif f.kind in ("select", "multiselect"):
        chosen = {v.strip() for v in f.value.split(",")} if f.kind == "multiselect" else {f.value}
        options = "".join(
            f'<option value="{escape(o.value)}"{" selected" if o.value in chosen else ""}>{escape(o.label)}</option>'
            for o in f.options
        )
        multiple = " multiple" if f.kind == "multiselect" else ""
        control = f"<select {common}{multiple}>{options}</select>"
    else:
        kind = {"number": "number", "password": "password", "email": "email"}.get(f.kind, "text")
        control = f'<input type="{kind}" {common} value="{escape(f.value)}">'
    parts = [f'<div class="field{" has-error" if f.error else ""}">']
    parts.append(f'<label for="{escape(fid)}">{escape(f.label)}</label>')
    parts.append(control)
    if f.error:
        parts.append(f'<span class="field-error" id="{escape(fid)}-error" role="alert">{escape(f.error)}</span>')
    if f.hint:
        parts.append(f'<span class="hint" id="{escape(fid)}-hint">{escape(f.hint)}</span>')
    parts.append("</div>")
    return "".join(parts)


def render_form(form: Form, *, dom_id: str) -> Markup:
    """A web form for a ``Form``; the chat script posts it back as ``FormSubmit(form.id, values)``."""
    fields = "".join(_field_html(dom_id, f) for f in form.fields)
    return Markup(
        f'<form class="reply-form" id="{escape(dom_id)}" data-form-id="{escape(form.id)}" novalidate>'
        f"<fieldset><legend>{escape(form.title)}</legend>{fields}"
        f'<button type="submit" class="primary">{escape(form.submit_label)}</button></fieldset></form>'
    )


def render_reply(reply: Reply, *, message_id: str) -> Markup:
    """One chat message from the bot as an HTML fragment (the element's id is ``message_id``)."""
    parts = [f'<div class="msg bot" id="{escape(message_id)}">']
    if reply.text:
        parts.append(f'<p class="text">{render_text(reply.text)}</p>')
    if reply.details:
        items = "".join(f"<li>{render_text(d)}</li>" for d in reply.details)
        parts.append(f'<ul class="details">{items}</ul>')
    if reply.choices:
        buttons = "".join(str(render_choice(c)) for c in reply.choices)
        parts.append(f'<div class="choices" role="group" aria-label="Choices">{buttons}</div>')
    if reply.form is not None:
        parts.append(str(render_form(reply.form, dom_id=f"{message_id}-form")))
    parts.append("</div>")
    return Markup("".join(parts))


# --- week view --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeekCell:
    """A time a session could start: free (bookable) or busy.  Nothing else is known about it."""

    start: datetime  # UTC
    end: datetime  # start + session length
    free: bool
    label: str  # local start time in the viewer's zone, "09:30"

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class WeekDay:
    day: date
    label: str  # "Mon 9 Mar"
    cells: tuple[WeekCell, ...]


@dataclass(frozen=True, slots=True)
class WeekView:
    start: date  # the Monday, in the viewer's zone
    timezone: str  # the viewer's zone
    duration_minutes: int
    step_minutes: int
    days: tuple[WeekDay, ...]

    @property
    def free_count(self) -> int:
        return sum(1 for d in self.days for c in d.cells if c.free)

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=7)

    @property
    def next_start(self) -> date:
        return self.start + timedelta(days=7)

    @property
    def title(self) -> str:
        end = self.start + timedelta(days=6)
        if self.start.month == end.month:
            return f"{self.start.day}–{end.day} {end:%B %Y}"
        return f"{self.start.day} {self.start:%b} – {end.day} {end:%b %Y}"


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_window(start: date, timezone: str) -> Interval:
    """Monday 00:00 to the next Monday 00:00 in ``timezone``."""
    zone = load_zone(timezone)
    monday = week_start_of(start)
    return Interval(from_epoch(local_epoch(monday, 0, zone)), from_epoch(local_epoch(monday + timedelta(7), 0, zone)))


def grid_step(duration_minutes: int) -> int:
    """Minutes between offered start times: half hours, or quarter hours for short sessions."""
    return 30 if duration_minutes >= 30 else 15


def candidate_starts(
    *,
    hours: WeeklyHours,
    coach_timezone: str,
    window: Interval,
    duration_minutes: int,
    step_minutes: int,
    earliest: datetime,
    latest_end: datetime,
) -> list[datetime]:
    """Every start inside the coach's working hours (wall times on the step grid) within ``window``, not
    before ``earliest`` and ending by ``latest_end``: the cells of the week view, free or not."""
    zone = load_zone(coach_timezone)
    first = window.start.astimezone(zone).date() - timedelta(days=1)
    last = window.end.astimezone(zone).date() + timedelta(days=1)
    duration = timedelta(minutes=duration_minutes)
    out: list[datetime] = []
    day = first
    while day <= last:
        for rng in hours.ranges_on(day):
            minute = -(-rng.start // step_minutes) * step_minutes
            while minute + duration_minutes <= rng.end:
                start = from_epoch(local_epoch(day, minute, zone))
                if window.start <= start < window.end and start >= earliest and start + duration <= latest_end:
                    out.append(start)
                minute += step_minutes
        day += timedelta(days=1)
    return sorted(set(out))


def format_day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def format_range(start: datetime, end: datetime, timezone: str) -> str:
    """'Tue 10 Mar, 10:00–10:30' in ``timezone``."""
    zone = load_zone(timezone)
    a, b = start.astimezone(zone), end.astimezone(zone)
    return f"{format_day(a.date())}, {a:%H:%M}–{b:%H:%M}"


def build_week_view(
    start: date,
    *,
    timezone: str,
    coach_timezone: str,
    hours: WeeklyHours,
    duration_minutes: int,
    free_starts: Iterable[datetime],
    now: datetime,
    min_notice: timedelta,
    horizon: timedelta,
) -> WeekView:
    """The week (Monday first, in the viewer's zone) of start times within the coach's hours; a cell is free
    when the slot search offered it (``free_starts``) and busy otherwise."""
    zone = load_zone(timezone)
    monday = week_start_of(start)
    step = grid_step(duration_minutes)
    window = week_window(monday, timezone)
    free = {s.timestamp() for s in free_starts}
    starts = candidate_starts(
        hours=hours,
        coach_timezone=coach_timezone,
        window=window,
        duration_minutes=duration_minutes,
        step_minutes=step,
        earliest=now + min_notice,
        latest_end=now + horizon,
    )
    by_day: dict[date, list[WeekCell]] = {monday + timedelta(days=i): [] for i in range(7)}
    duration = timedelta(minutes=duration_minutes)
    for s in starts:
        local = s.astimezone(zone)
        cells = by_day.get(local.date())
        if cells is not None:
            cells.append(WeekCell(s, s + duration, s.timestamp() in free, f"{local:%H:%M}"))
    days = tuple(WeekDay(d, format_day(d), tuple(cells)) for d, cells in by_day.items())
    return WeekView(monday, timezone, duration_minutes, step, days)
