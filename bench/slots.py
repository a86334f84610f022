"""Slot-search benchmarks (from the issue):

* One coach, 5 calendars, 2,000 busy events, a 60-day window, 15-minute steps, 30-minute sessions, timed
  against Python's ``sorted()`` of the same intervals in the same run: target at most 3x.
* Twenty participants with 500 events each over 14 days: target at most 50 ms.

The data is deterministic (``random.Random(seed)``).  Building a request is not timed: it is the input.
``find_slots(request)`` is timed whole, explanations included.
"""

from __future__ import annotations

import cProfile
import io
import os
import platform
import pstats
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bench import Budget, Timing, measure
from bot.scheduling import (
    BusyEvent,
    ClockRange,
    Interval,
    Participant,
    SlotRequest,
    SlotResult,
    WeeklyHours,
    find_slots,
)

__all__ = [
    "COACH_ZONE",
    "Target",
    "Workload",
    "coach_workload",
    "generate_calendars",
    "group_workload",
    "profile",
    "run",
]

COACH_ZONE = "America/New_York"
COACH_FIRST_DAY = date(2026, 2, 16)  # a Monday; 60 days run to 2026-04-17 and cross the 2026-03-08 DST change
GROUP_FIRST_DAY = date(2026, 3, 2)  # a Monday; 14 days cross the same change
GROUP_ZONES = ("America/New_York", "America/Toronto", "America/Chicago", "America/Detroit", "America/Bogota")

# Mon-Fri 09:00-12:00 and 13:00-17:00.
WORK_HOURS = WeeklyHours(tuple((ClockRange(540, 720), ClockRange(780, 1020)) if i < 5 else () for i in range(7)))
_DURATIONS = (30, 30, 45, 60, 60, 90)  # minutes; short meetings are the most common

Pair = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Calendars:
    """Generated busy time: one list of events per calendar, and the same intervals as datetime pairs."""

    events: tuple[tuple[BusyEvent, ...], ...]
    pairs: tuple[Pair, ...]  # (start, end) aware datetimes in the calendar's zone, in the same order as the events
    first_day: date
    days: int
    zone: str

    @property
    def all_events(self) -> tuple[BusyEvent, ...]:
        return tuple(ev for cal in self.events for ev in cal)


def generate_calendars(
    rng: random.Random,
    *,
    zone: str,
    first_day: date,
    days: int,
    calendars: int,
    per_calendar: int,
    meetings_per_weekday: float,
    all_day_per_calendar: int = 1,
) -> Calendars:
    """``calendars`` x ``per_calendar`` busy events inside the local days ``first_day`` .. ``first_day + days``.

    The mix, per calendar, in the order they are drawn:

    * all-day events (most of them transparent, like holidays and birthdays);
    * opaque meetings inside working hours (30-90 min on a 15-minute grid), ``meetings_per_weekday`` a weekday
      over all calendars together, one in ten of them tentative; some run across lunch or past 17:00;
    * 15 % copies of another calendar's meeting (the same invitation in two calendars), a third of them
      moved by 15 minutes so that they only partly overlap;
    * 15 % transparent blocks at any time (focus time, reminders);
    * the rest outside working hours: early mornings, evenings and weekends.

    Each calendar's events are ordered by start, as calendar APIs return them; calendars follow each other.
    Every datetime is aware, in ``zone``.
    """
    tz = ZoneInfo(zone)
    day_list = [first_day + timedelta(days=i) for i in range(days)]
    weekdays = [d for d in day_list if d.weekday() < 5]
    weekends = [d for d in day_list if d.weekday() >= 5] or day_list

    def at(day: date, minute: int) -> datetime:
        return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)

    def meeting(day: date, earliest: int, latest_start: int) -> tuple[datetime, datetime]:
        start = earliest + 15 * rng.randrange((latest_start - earliest) // 15 + 1)
        return at(day, start), at(day, start) + timedelta(minutes=rng.choice(_DURATIONS))

    Raw = tuple[datetime, datetime, str, bool, str]  # start, end, transparency, all_day, status
    n_meetings = round(meetings_per_weekday * len(weekdays) / calendars)
    n_mirrors = round(per_calendar * 0.15)
    n_transparent = round(per_calendar * 0.15)
    n_outside = per_calendar - all_day_per_calendar - n_meetings - n_mirrors - n_transparent
    if n_outside < 0:
        raise ValueError("too few events per calendar for that many meetings")

    primaries: list[list[Raw]] = []
    for _ in range(calendars):
        cal: list[Raw] = []
        for _ in range(all_day_per_calendar):
            day = rng.choice(day_list)
            transparency = "transparent" if rng.random() < 0.7 else "opaque"
            cal.append((at(day, 0), at(day + timedelta(days=1), 0), transparency, True, "confirmed"))
        for _ in range(n_meetings):
            start, end = meeting(rng.choice(weekdays), 9 * 60, 16 * 60 + 30)
            cal.append((start, end, "opaque", False, "tentative" if rng.random() < 0.1 else "confirmed"))
        for _ in range(n_transparent):
            start, end = meeting(rng.choice(day_list), 8 * 60, 18 * 60)
            cal.append((start, end, "transparent", False, "confirmed"))
        for _ in range(n_outside):
            kind = rng.random()
            if kind < 0.35:  # early morning, ends by 09:00
                start, end = meeting(rng.choice(weekdays), 6 * 60, 7 * 60 + 30)
            elif kind < 0.75:  # evening
                start, end = meeting(rng.choice(weekdays), 17 * 60, 21 * 60)
            else:  # weekend
                start, end = meeting(rng.choice(weekends), 8 * 60, 20 * 60)
            cal.append((start, end, "opaque", False, "confirmed"))
        primaries.append(cal)

    out: list[list[Raw]] = [list(cal) for cal in primaries]
    for index, cal in enumerate(out):
        others = [ev for j, other in enumerate(primaries) if j != index or calendars == 1 for ev in other if not ev[3]]
        for _ in range(n_mirrors):
            start, end, transparency, _, status = rng.choice(others)
            if rng.random() < 1 / 3:
                shift = timedelta(minutes=rng.choice((-15, 15)))
                start, end = start + shift, end + shift
            cal.append((start, end, transparency, False, status))
        cal.sort(key=lambda ev: (ev[0], ev[1]))

    events = tuple(
        tuple(
            BusyEvent(Interval(start, end), transparency=transparency, all_day=all_day, status=status, source=f"cal{i}")  # type: ignore[arg-type]
            for start, end, transparency, all_day, status in cal
        )
        for i, cal in enumerate(out)
    )
    pairs = tuple((start, end) for cal in out for start, end, *_ in cal)
    return Calendars(events, pairs, first_day, days, zone)


@dataclass(frozen=True, slots=True)
class Workload:
    """A request and the busy intervals it carries, as the datetime pairs they arrived as."""

    name: str
    request: SlotRequest
    pairs: tuple[Pair, ...]
    calendars: tuple[Calendars, ...]

    @property
    def events(self) -> int:
        return len(self.pairs)


def _window(first_day: date, days: int, zone: str) -> Interval:
    tz = ZoneInfo(zone)
    last = first_day + timedelta(days=days)
    return Interval(
        datetime(first_day.year, first_day.month, first_day.day, tzinfo=tz),
        datetime(last.year, last.month, last.day, tzinfo=tz),
    )


def coach_workload(*, seed: int = 20260308, calendars: int = 5, per_calendar: int = 400, days: int = 60) -> Workload:
    """One coach in New York, ``calendars`` x ``per_calendar`` busy events over ``days`` days from 16 Feb 2026."""
    rng = random.Random(seed)
    cals = generate_calendars(
        rng,
        zone=COACH_ZONE,
        first_day=COACH_FIRST_DAY,
        days=days,
        calendars=calendars,
        per_calendar=per_calendar,
        meetings_per_weekday=4,
    )
    window = _window(COACH_FIRST_DAY, days, COACH_ZONE)
    coach = Participant(
        id="coach",
        timezone=COACH_ZONE,
        hours=WORK_HOURS,
        busy=cals.all_events,
        buffer_before=timedelta(minutes=10),
        buffer_after=timedelta(minutes=10),
    )
    request = SlotRequest(
        now=window.start,
        duration=timedelta(minutes=30),
        window=window,
        participants=(coach,),
        step=timedelta(minutes=15),
        horizon=timedelta(days=days),
    )
    return Workload(f"coach {calendars}x{per_calendar} {days}d", request, cals.pairs, (cals,))


def group_workload(
    *,
    seed: int = 14,
    participants: int = 20,
    per_participant: int = 500,
    days: int = 14,
    required: int | None = None,
) -> Workload:
    """``participants`` people in North and South American zones, each with one calendar of
    ``per_participant`` events over ``days`` days from 2 Mar 2026; the first one (New York) hosts."""
    rng = random.Random(seed)
    people: list[Participant] = []
    all_cals: list[Calendars] = []
    for i in range(participants):
        zone = GROUP_ZONES[i % len(GROUP_ZONES)]
        cals = generate_calendars(
            rng,
            zone=zone,
            first_day=GROUP_FIRST_DAY,
            days=days,
            calendars=1,
            per_calendar=per_participant,
            meetings_per_weekday=1.5,
        )
        all_cals.append(cals)
        buffer = timedelta(minutes=10 if i == 0 else 0)
        people.append(
            Participant(
                id=f"p{i:02d}",
                timezone=zone,
                hours=WORK_HOURS,
                busy=cals.all_events,
                buffer_before=buffer,
                buffer_after=buffer,
            )
        )
    window = _window(GROUP_FIRST_DAY, days, GROUP_ZONES[0])
    request = SlotRequest(
        now=window.start,
        duration=timedelta(minutes=30),
        window=window,
        participants=tuple(people),
        step=timedelta(minutes=15),
        required=required,
    )
    need = "all" if required is None else f"{required} of {participants}"
    pairs = tuple(p for c in all_cals for p in c.pairs)
    return Workload(f"group {participants}x{per_participant} {days}d, {need}", request, pairs, tuple(all_cals))


# --- running -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    timing: Timing
    ratio_to: Timing | None = None
    result: SlotResult | None = None


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    text: str  # the figure, e.g. "2.4x sorted() (target <= 3x)"
    passed: bool

    def line(self) -> str:
        return f"{self.name}: {self.text}: {'PASS' if self.passed else 'FAIL'}"


def _epoch_pairs(pairs: Sequence[Pair]) -> list[tuple[int, int]]:
    return [(int(a.timestamp()), int(b.timestamp())) for a, b in pairs]


def _describe(calendars: Calendars) -> str:
    events = calendars.all_events
    opaque = sum(ev.transparency == "opaque" for ev in events)
    return (
        f"{len(events)} events: {opaque} opaque, {len(events) - opaque} transparent, "
        f"{sum(ev.status == 'tentative' for ev in events)} tentative, {sum(ev.all_day for ev in events)} all-day"
    )


def run(*, budget: Budget, out: Callable[[str], None] = print, seed_shuffle: int = 1) -> list[Target]:
    """Run every slot benchmark, print the table, and return the verdicts against the targets."""
    out(
        f"Python {platform.python_version()} ({platform.python_implementation()}, {platform.system()} "
        f"{platform.machine()}), gc enabled; each case: {budget.warmup} warm-up runs, then up to "
        f"{budget.max_runs} runs or ~{budget.seconds:g} s in {budget.passes} blocks, cases alternating block by block"
    )
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        cpus = os.cpu_count() or 1
        busy = "  <- a busy machine: expect noisy figures" if load > cpus / 2 else ""
        out(f"load average {load:.2f} on {cpus} CPUs{busy}")
    targets: list[Target] = []

    # --- one coach, 60 days ---------------------------------------------------------------------------
    coach = coach_workload()
    req = coach.request
    cal = coach.calendars[0]
    out("")
    out(
        f"[slots-60d] one coach ({COACH_ZONE}), {len(cal.events)} calendars x {len(cal.events[0])} = "
        f"{coach.events} busy events ({_describe(cal).split(': ', 1)[1]})"
    )
    out(
        f"  window {cal.first_day} .. {cal.first_day + timedelta(days=cal.days)} ({cal.days} days, crosses the "
        f"2026-03-08 DST change), Mon-Fri 09:00-12:00 + 13:00-17:00, buffers 10/10 min, 30-min sessions, 15-min steps"
    )
    # The official comparison keeps the arrival order (calendar after calendar, each in start order) for both
    # sides; the same comparison with the events shuffled (one permutation for both) is shown for information.
    pairs = list(coach.pairs)
    order = list(range(len(pairs)))
    random.Random(seed_shuffle).shuffle(order)
    shuffled = [pairs[i] for i in order]
    coach_events = req.participants[0].busy
    shuffled_req = replace(
        req, participants=(replace(req.participants[0], busy=tuple(coach_events[i] for i in order)),)
    )
    intervals = [ev.interval for ev in coach_events]
    epochs = _epoch_pairs(pairs)
    variants = {
        "find_slots, max_results=10": req,
        "find_slots, max_results=5 (spread)": replace(req, max_results=5),
        "find_slots, max_results=1000 (all)": replace(req, max_results=1000),
        "find_slots, max_results=10, shuffled": shuffled_req,
    }
    results = {label: find_slots(r) for label, r in variants.items()}
    baseline = "sorted(datetime pairs)  [baseline]"
    cases: dict[str, Callable[[], object]] = {
        baseline: lambda: sorted(pairs),
        "sorted(datetime pairs, shuffled)": lambda: sorted(shuffled),
        "sorted(Interval objects)": lambda: sorted(intervals),
        "sorted(epoch-int pairs)": lambda: sorted(epochs),
    }
    for label, r in variants.items():
        cases[label] = partial(find_slots, r)
    timings = measure(cases, budget)
    base = timings[baseline]
    base_shuffled = timings["sorted(datetime pairs, shuffled)"]
    rows = [
        Row(
            label,
            t,
            None if label == baseline else base_shuffled if label.endswith("shuffled") else base,
            results.get(label),
        )
        for label, t in timings.items()
    ]
    _table(rows, out)
    out("  (x sorted: against sorted() of the pairs in the same order; shuffled rows against the shuffled sort)")
    ratio = timings["find_slots, max_results=10"].median_ms / base.median_ms
    ratio5 = timings["find_slots, max_results=5 (spread)"].median_ms / base.median_ms
    targets.append(Target("slots-60d", f"{ratio:.1f}x sorted() (target <= 3x)", ratio <= 3))
    targets.append(Target("slots-60d spread (max 5)", f"{ratio5:.1f}x sorted() (target <= 3x)", ratio5 <= 3))

    # --- twenty participants, 14 days -------------------------------------------------------------------
    for required, key in ((None, "group-20x500-14d all"), (15, "group-20x500-14d 15 of 20")):
        group = group_workload(required=required)
        out("")
        need = "all required" if required is None else f"{required} of 20 required"
        out(
            f"[{key}] {len(group.request.participants)} participants x {len(group.calendars[0].all_events)} events = "
            f"{group.events}, {group.calendars[0].days} days from {group.calendars[0].first_day} "
            f"(zones: {', '.join(GROUP_ZONES)}), {need}"
        )
        result = find_slots(group.request)
        t = measure(_group_cases(list(group.pairs), group.request), budget)
        base_g = t["sorted(datetime pairs)  [info]"]
        _table(
            [
                Row("sorted(datetime pairs)  [info]", base_g),
                Row("find_slots, max_results=10", t["find_slots"], base_g, result),
            ],
            out,
        )
        med = t["find_slots"].median_ms
        targets.append(
            Target(key, f"{med:.1f} ms median, p95 {t['find_slots'].p95_ms:.1f} ms (target <= 50 ms)", med <= 50)
        )

    out("")
    for target in targets:
        out(target.line())
    return targets


def _group_cases(pairs: list[Pair], request: SlotRequest) -> dict[str, Callable[[], object]]:
    return {"sorted(datetime pairs)  [info]": partial(sorted, pairs), "find_slots": partial(find_slots, request)}


def _table(rows: Sequence[Row], out: Callable[[str], None]) -> None:
    out(f"  {'case':<38} {'runs':>5} {'median ms':>10} {'p95 ms':>9} {'x sorted':>9} {'slots':>6} {'explain':>8}")
    for row in rows:
        ratio = f"{row.timing.median_ms / row.ratio_to.median_ms:.2f}" if row.ratio_to is not None else "1.00"
        slots = str(len(row.result.slots)) if row.result is not None else ""
        explain = str(len(row.result.explain)) if row.result is not None else ""
        out(
            f"  {row.label:<38} {row.timing.runs:>5} {row.timing.median_ms:>10.3f} {row.timing.p95_ms:>9.3f} "
            f"{ratio:>9} {slots:>6} {explain:>8}"
        )


def profile(*, repeat: int = 20, top: int = 30, out: Callable[[str], None] = print) -> None:
    """cProfile of the targeted cases, sorted by cumulative time (profiling inflates the times; read ratios)."""
    cases = {
        "slots-60d, max_results=10": coach_workload().request,
        "group 20x500 14d, all": group_workload().request,
        "group 20x500 14d, 15 of 20": group_workload(required=15).request,
    }
    for label, request in cases.items():
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(repeat):
            find_slots(request)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(top)
        out(f"\n=== cProfile: {label} ({repeat} calls) ===")
        out(buf.getvalue().rstrip())


if __name__ == "__main__":  # pragma: no cover
    run(budget=Budget())
    sys.exit(0)
