"""Property tests of the slot search against a brute-force, minute-by-minute reference.

The reference does not reuse the core's algorithm: it walks every minute of a small window, reads the local
wall clock with ``datetime.fromtimestamp`` and decides, per minute and per person, whether that minute is
workable (hours or override, policy, busy time widened by buffers, daily and weekly limits).  Wall-clock rules
use the documented DST semantics: a range ``[a, b)`` on local date D covers the instants of D from the first one
whose wall time reached ``a`` up to (not including) the first one whose wall time reached ``b``; so a time in a
spring-forward gap maps to the jump and an ambiguous time means its first occurrence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.scheduling import find_slots
from bot.scheduling.intervals import Interval
from bot.scheduling.model import WEEKDAYS, BusyEvent, Participant, Policy, SlotRequest, WeeklyHours

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
]

# Window starts near DST changes (both hemispheres, 30-minute shifts), each with a zone that changes then.
BASE_DAYS = [
    (datetime(2026, 3, 7, 12, tzinfo=UTC), "America/New_York"),
    (datetime(2026, 3, 8, tzinfo=UTC), "America/New_York"),
    (datetime(2026, 3, 8, tzinfo=UTC), "America/St_Johns"),
    (datetime(2026, 3, 28, 12, tzinfo=UTC), "Europe/Berlin"),
    (datetime(2026, 3, 29, tzinfo=UTC), "Europe/Berlin"),
    (datetime(2026, 4, 4, tzinfo=UTC), "Australia/Lord_Howe"),
    (datetime(2026, 4, 4, tzinfo=UTC), "Australia/Sydney"),
    (datetime(2026, 4, 4, 12, tzinfo=UTC), "Pacific/Chatham"),
    (datetime(2026, 9, 26, 12, tzinfo=UTC), "Pacific/Chatham"),
    (datetime(2026, 10, 3, tzinfo=UTC), "Australia/Lord_Howe"),
    (datetime(2026, 10, 3, tzinfo=UTC), "Australia/Sydney"),
    (datetime(2026, 10, 24, 12, tzinfo=UTC), "Europe/Berlin"),
    (datetime(2026, 10, 31, 12, tzinfo=UTC), "America/New_York"),
    (datetime(2026, 11, 1, tzinfo=UTC), "America/New_York"),
    (datetime(2026, 6, 15, tzinfo=UTC), "Asia/Kolkata"),
    (datetime(2026, 6, 15, tzinfo=UTC), "Asia/Kathmandu"),
]

MIN = 60
DAY = 86400


@dataclass(frozen=True)
class Ev:
    start: int  # epoch seconds
    end: int
    transparency: str
    all_day: bool
    status: str
    kind: str


@dataclass(frozen=True)
class Person:
    pid: str
    zone: str
    hours: dict[int, list[tuple[int, int]]]  # weekday -> ranges (minutes)
    overrides: dict[date, list[tuple[int, int]]]
    busy: list[Ev]
    before: int  # minutes
    after: int
    all_day_blocks: bool
    tentative_blocks: bool
    max_per_day: int | None
    max_per_week: int | None


@dataclass(frozen=True)
class Case:
    people: list[Person]
    w0: int
    w1: int
    now: int  # may carry seconds
    notice: int  # minutes
    horizon: int  # minutes
    step: int
    duration: int
    required: int | None
    weekdays: frozenset[int]
    earliest: int | None
    latest: int | None


# --- strategies ----------------------------------------------------------------------------------------------


# Typical working days, one crossing midnight and some that touch the small hours in which clocks change.
TYPICAL_HOURS = [
    [(0, 1440)],
    [(540, 1020)],
    [(480, 720), (780, 1080)],
    [(0, 180), (1200, 1440)],
    [(60, 240), (600, 1320)],
    [(90, 150), (420, 1380)],
]


@st.composite
def clock_ranges(draw: st.DrawFn, granularity: int = 30) -> list[tuple[int, int]]:
    choice = draw(st.integers(0, len(TYPICAL_HOURS) + 1))
    if choice < len(TYPICAL_HOURS):
        return list(TYPICAL_HOURS[choice])
    out = []
    for _ in range(draw(st.integers(0, 2))):
        a = draw(st.integers(0, 1440 // granularity - 1)) * granularity
        b = draw(st.integers(a // granularity + 1, 1440 // granularity)) * granularity
        out.append((a, b))
    return out


@st.composite
def busy_events(draw: st.DrawFn, w0: int, w1: int) -> list[Ev]:
    out = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["event", "booking"]))
        if kind == "booking" and draw(st.booleans()):  # bookings up to a week away, for weekly limits
            start = w0 + draw(st.integers(-7 * 24 * 12, 7 * 24 * 12)) * 300
        else:
            start = w0 + draw(st.integers(-3 * 12, (w1 - w0) // 300)) * 300
        length = draw(st.integers(0, 48)) * 300
        all_day = draw(st.booleans())
        out.append(
            Ev(
                start=start,
                end=start + (DAY if all_day and draw(st.booleans()) else length),
                transparency=draw(st.sampled_from(["opaque", "opaque", "opaque", "transparent"])),
                all_day=all_day,
                status=draw(st.sampled_from(["confirmed", "confirmed", "tentative", "cancelled"])),
                kind=kind,
            )
        )
    return out


@st.composite
def cases(draw: st.DrawFn) -> Case:
    base, base_zone = draw(st.sampled_from(BASE_DAYS))
    w0 = int(base.timestamp()) + draw(st.integers(0, 24 * 12)) * 300
    w1 = w0 + (2 * 24 * 12 - draw(st.integers(0, 2 * 24 * 12 - 12))) * 300  # 2 days .. 1 hour
    people = []
    for index in range(draw(st.integers(1, 3))):
        zone = base_zone if draw(st.integers(0, 2)) < 2 else draw(st.sampled_from(ZONES))
        granularity = draw(st.sampled_from([15, 30, 60]))
        if draw(st.booleans()):
            every = draw(clock_ranges(granularity))
            hours = {d: every for d in range(7)}
        else:
            hours = {d: draw(clock_ranges(granularity)) for d in range(7)}
        overrides = {}
        first = datetime.fromtimestamp(w0, UTC).date() - timedelta(days=1)
        for offset in range(4):
            if draw(st.integers(0, 3)) == 3:
                overrides[first + timedelta(days=offset)] = draw(clock_ranges(granularity))
        people.append(
            Person(
                pid=f"p{index}",
                zone=zone,
                hours=hours,
                overrides=overrides,
                busy=draw(busy_events(w0, w1)),
                before=draw(st.sampled_from([0, 0, 5, 15, 30, 60])),
                after=draw(st.sampled_from([0, 0, 10, 15, 45])),
                all_day_blocks=draw(st.booleans()),
                tentative_blocks=draw(st.booleans()),
                max_per_day=draw(st.sampled_from([None] * 6 + [0, 1, 1, 2])),
                max_per_week=draw(st.sampled_from([None] * 5 + [0, 1, 2, 2, 3])),
            )
        )
    earliest = draw(st.sampled_from([None, None, None, 0, 6 * 60, 8 * 60 + 30, 10 * 60]))
    latest = draw(st.sampled_from([None, None, None, 12 * 60, 18 * 60, 20 * 60 + 30, 1440]))
    if earliest is not None and latest is not None and latest <= earliest:
        latest = None
    weekdays = frozenset(range(7))
    if draw(st.integers(0, 3)) == 3:
        weekdays = frozenset(draw(st.sets(st.integers(0, 6), min_size=2)))
    return Case(
        people=people,
        w0=w0,
        w1=w1,
        now=w0 - draw(st.integers(-6 * 12, 24 * 12)) * 300 + draw(st.sampled_from([0, 0, 1, 59])),
        notice=draw(st.sampled_from([0, 0, 0, 15, 60, 240])),
        horizon=draw(st.sampled_from([30 * 24 * 60, 30 * 24 * 60, 24 * 60, 120, 0])),
        step=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90])),
        duration=draw(st.sampled_from([15, 30, 45, 60, 90, 120])),
        required=draw(st.one_of(st.none(), st.integers(1, len(people)), st.just(1))),
        weekdays=weekdays,
        earliest=earliest,
        latest=latest,
    )


# --- building the request ------------------------------------------------------------------------------------


def _pairs(ranges: list[tuple[int, int]]) -> list[list[str]]:
    return [[f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"] for a, b in ranges]


def to_request(case: Case, *, max_results: int, ranking: str | None) -> SlotRequest:
    participants = tuple(
        Participant(
            id=p.pid,
            timezone=p.zone,
            hours=WeeklyHours.from_mapping(
                {WEEKDAYS[d]: _pairs(r) for d, r in p.hours.items()},
                {d.isoformat(): _pairs(r) for d, r in p.overrides.items()},
            ),
            busy=tuple(
                BusyEvent(
                    Interval(datetime.fromtimestamp(e.start, UTC), datetime.fromtimestamp(e.end, UTC)),
                    transparency=e.transparency,  # type: ignore[arg-type]
                    all_day=e.all_day,
                    status=e.status,  # type: ignore[arg-type]
                    kind=e.kind,  # type: ignore[arg-type]
                )
                for e in p.busy
            ),
            buffer_before=timedelta(minutes=p.before),
            buffer_after=timedelta(minutes=p.after),
            all_day_blocks=p.all_day_blocks,
            tentative_blocks=p.tentative_blocks,
            max_per_day=p.max_per_day,
            max_per_week=p.max_per_week,
        )
        for p in case.people
    )
    return SlotRequest(
        now=datetime.fromtimestamp(case.now, UTC),
        duration=timedelta(minutes=case.duration),
        window=Interval(datetime.fromtimestamp(case.w0, UTC), datetime.fromtimestamp(case.w1, UTC)),
        participants=participants,
        step=timedelta(minutes=case.step),
        min_notice=timedelta(minutes=case.notice),
        horizon=timedelta(minutes=case.horizon),
        required=case.required,
        max_results=max_results,
        policy=Policy(weekdays=case.weekdays, earliest=case.earliest, latest=case.latest),
        ranking=ranking,  # type: ignore[arg-type]
    )


# --- the brute-force reference ---------------------------------------------------------------------------------


def _blocks(p: Person, e: Ev) -> bool:
    if e.status == "cancelled" or e.transparency == "transparent":
        return False
    if e.all_day and not p.all_day_blocks:
        return False
    return not (e.status == "tentative" and not p.tentative_blocks)


def _clock(w0: int, w1: int, zone: ZoneInfo) -> list[tuple[date, int]]:
    """(local date, running maximum of the wall minute within that date) for every minute of [w0, w1)."""
    start = w0 - 26 * 3600  # a local day lasts at most 25 hours: the date of w0 starts after this
    running: dict[date, int] = {}
    out: list[tuple[date, int]] = []
    for x in range(start, w1, MIN):
        local = datetime.fromtimestamp(x, zone)
        day = local.date()
        wall = max(running.get(day, -1), local.hour * 60 + local.minute)
        running[day] = wall
        if x >= w0:
            out.append((day, wall))
    return out


def reference_ok(case: Case, p: Person) -> list[int]:
    """1 for every minute of the window in which ``p`` could be in a session, else 0."""
    zone = ZoneInfo(p.zone)
    clock = _clock(case.w0, case.w1, zone)
    blocking = [e for e in p.busy if _blocks(p, e)]
    per_day = Counter(datetime.fromtimestamp(e.start, zone).date() for e in blocking if e.kind == "booking")
    per_week: Counter[tuple[int, int]] = Counter()
    for d, n in per_day.items():
        per_week[d.isocalendar()[:2]] += n
    widened = []
    for e in blocking:
        if e.end == e.start:
            continue  # an empty event holds no time, so it has no buffers either
        if e.kind == "booking":
            gap = max(p.before, p.after) * MIN
            widened.append((e.start - gap, e.end + gap))
        else:
            widened.append((e.start - p.after * MIN, e.end + p.before * MIN))
    earliest = 0 if case.earliest is None else case.earliest
    latest = 1440 if case.latest is None else case.latest
    out = []
    for i, (day, wall) in enumerate(clock):
        x = case.w0 + i * MIN
        ranges = p.overrides[day] if day in p.overrides else p.hours[day.weekday()]
        ok = (
            any(a <= wall < b for a, b in ranges)
            and day.weekday() in case.weekdays
            and earliest <= wall < latest
            and not any(a <= x < b for a, b in widened)
            and not (p.max_per_day is not None and per_day[day] >= p.max_per_day)
            and not (p.max_per_week is not None and per_week[day.isocalendar()[:2]] >= p.max_per_week)
        )
        out.append(1 if ok else 0)
    return out


def reference_candidates(case: Case) -> list[tuple[int, tuple[str, ...]]]:
    """Every aligned start time, in order, with who is free for the whole session."""
    sums = {p.pid: [0, *accumulate(reference_ok(case, p))] for p in case.people}
    host = ZoneInfo(case.people[0].zone)
    now = -(-case.now // 1)
    lowest = now + case.notice * MIN
    highest = now + case.horizon * MIN
    needed = len(case.people) if case.required is None else case.required
    out = []
    n = case.duration
    for i in range(0, (case.w1 - case.w0) // MIN - n + 1):
        t = case.w0 + i * MIN
        if not lowest <= t <= highest:
            continue
        local = datetime.fromtimestamp(t, host)
        if (local.hour * 60 + local.minute) % case.step:
            continue
        free = tuple(p.pid for p in case.people if sums[p.pid][i + n] - sums[p.pid][i] == n)
        if len(free) >= needed:
            out.append((t, free))
    return out


# --- the properties --------------------------------------------------------------------------------------------


def _direct_checks(case: Case, slots: list[tuple[int, int, tuple[str, ...]]]) -> None:
    """Invariants stated directly, without the reference."""
    host = ZoneInfo(case.people[0].zone)
    needed = len(case.people) if case.required is None else case.required
    by_id = {p.pid: p for p in case.people}
    now = case.now
    for start, end, members in slots:
        assert end - start == case.duration * MIN
        assert case.w0 <= start and end <= case.w1
        assert start >= now + case.notice * MIN
        assert start <= now + case.horizon * MIN
        local = datetime.fromtimestamp(start, host)
        assert local.second == 0 and (local.hour * 60 + local.minute) % case.step == 0
        assert len(members) >= needed
        assert len(set(members)) == len(members)
        for pid in members:
            p = by_id[pid]
            for e in p.busy:
                if not _blocks(p, e):
                    continue
                if e.start == e.end:
                    continue  # an empty event holds no time
                if e.kind == "booking":
                    gap = max(p.before, p.after) * MIN
                    assert end + gap <= e.start or start - gap >= e.end
                else:
                    assert end + p.after * MIN <= e.start or start - p.before * MIN >= e.end
    starts = [s for s, _, _ in slots]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_earliest_ranking_matches_brute_force(case: Case) -> None:
    result = find_slots(to_request(case, max_results=1000, ranking="earliest"))
    got = [(int(s.start.timestamp()), int(s.end.timestamp()), s.participants) for s in result.slots]
    _direct_checks(case, got)
    expected = reference_candidates(case)
    assert [(t, members) for t, _, members in got] == expected
    for line in result.explain:
        assert "\n" not in line and line.strip() == line and line


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 5))
def test_spread_ranking_offers_valid_slots_on_distinct_days_first(case: Case, limit: int) -> None:
    result = find_slots(to_request(case, max_results=limit, ranking=None))
    got = [(int(s.start.timestamp()), int(s.end.timestamp()), s.participants) for s in result.slots]
    _direct_checks(case, got)
    candidates = reference_candidates(case)
    allowed = set(candidates)
    assert all((t, members) in allowed for t, _, members in got)
    assert len(got) == min(limit, len(candidates))
    host = ZoneInfo(case.people[0].zone)
    days_available = {datetime.fromtimestamp(t, host).date() for t, _ in candidates}
    days_offered = {datetime.fromtimestamp(t, host).date() for t, _, _ in got}
    assert len(days_offered) == min(limit, len(days_available))


@st.composite
def clock_change_cases(draw: st.DrawFn) -> Case:
    """One person, no busy time, hours whose edges sit in the small hours around a clock change."""
    base, zone = draw(st.sampled_from(BASE_DAYS))
    w0 = int(base.timestamp()) - 12 * 3600
    edges = st.integers(0, 20).map(lambda q: q * 15)  # 00:00 .. 05:00
    ranges = []
    for _ in range(draw(st.integers(1, 2))):
        a, b = sorted(draw(st.tuples(edges, edges)))
        ranges.append((a, b + 15 if b == a else b))
    if draw(st.booleans()):
        ranges.append((draw(edges), 1440))
    person = Person(
        pid="solo",
        zone=zone,
        hours={d: ranges for d in range(7)},
        overrides={},
        busy=[],
        before=0,
        after=0,
        all_day_blocks=True,
        tentative_blocks=True,
        max_per_day=None,
        max_per_week=None,
    )
    return Case(
        people=[person],
        w0=w0,
        w1=w0 + 2 * DAY,
        now=w0 - DAY,
        notice=0,
        horizon=10 * 24 * 60,
        step=draw(st.sampled_from([15, 20, 30, 45, 60, 90])),
        duration=draw(st.sampled_from([15, 30, 60])),
        required=None,
        weekdays=frozenset(range(7)),
        earliest=None,
        latest=None,
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clock_change_cases())
def test_hours_and_steps_around_clock_changes_match_brute_force(case: Case) -> None:
    result = find_slots(to_request(case, max_results=1000, ranking="earliest"))
    got = [(int(s.start.timestamp()), int(s.end.timestamp()), s.participants) for s in result.slots]
    _direct_checks(case, got)
    assert [(t, members) for t, _, members in got] == reference_candidates(case)
