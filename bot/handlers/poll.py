"""Slot polls in conversation: "poll 30 min with @amy @bo @cy next week" (any surface) or Slack's ``/poll``.

Flow: the organizer names the invitees (and maybe a length and a window); candidate times come from the slot
search over everyone's connected calendars (the organizer must be free; all invitees free first, else as many as
possible); the organizer sees up to five with "Create poll" / "Change".  Creating stores the ``Poll``, posts the
poll message (one line per option with its tally, Yes / If need be / No buttons per option) and sends each invitee
a copy by direct message.  A vote replaces the clicked message with the live tally; the organizer, whose earlier
message the Reply model cannot address, gets a short "Amy voted" note with the tally instead.  "Close and book"
books the winner (``bot.scheduling.polls.tally``) with the organizer as host and tells every invitee; when that
time was taken meanwhile the runner-up is offered.

Actions: ``poll.duration`` (value ``sid:minutes``), ``poll.create`` / ``poll.change`` (value ``sid``),
``poll.vote`` (value ``poll_id:option_id:y|m|n`` plus ``:p`` on the organizer's copy), ``poll.close`` (value
``poll_id``, or ``poll_id:option_id`` to book that option).  Form id: ``poll:<sid>`` (the "Change" dialog).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.handlers.format import day_label, duration_label, range_label, window_label
from bot.handlers.people import UnknownPerson, find_names, resolve_person
from bot.handlers.replies import Asker, Choice, Field, Form, Reply
from bot.handlers.state import EXPIRED_TEXT
from bot.language import ParsedRequest, parse_request
from bot.scheduling.intervals import Interval
from bot.scheduling.model import (
    BusyEvent,
    CoachSettings,
    Participant,
    Person,
    Poll,
    PollOption,
    Slot,
    SlotRequest,
    Vote,
    VoteChoice,
    WeeklyHours,
    load_zone,
)
from bot.scheduling.polls import OptionTally, Tally, tally
from bot.scheduling.ports import BusyUnavailable, CoachSettingsRepository
from bot.scheduling.search import find_slots
from bot.services.booking import Taken

if TYPE_CHECKING:
    from bot.handlers.conversation import Conversation

__all__ = [
    "DEFAULT_DURATION",
    "FORM_PREFIX",
    "MAX_OPTIONS",
    "answer",
    "change",
    "close",
    "create",
    "pick_duration",
    "start_poll",
    "submit_change",
    "vote",
]

DEFAULT_DURATION = 30
MAX_OPTIONS = 5
MIN_OPTIONS = 3  # fewer with everyone free: fall back to times when most people are
DEFAULT_DAYS = 7
FORM_PREFIX = "poll:"
KIND = "poll"
STEP = timedelta(minutes=15)
MIN_NOTICE = timedelta(hours=1)
DURATIONS = (15, 30, 45, 60)

_CODES: dict[str, VoteChoice] = {"y": VoteChoice.YES, "m": VoteChoice.IF_NEED_BE, "n": VoteChoice.NO}
_CHOICE_WORDS: dict[VoteChoice, str] = {VoteChoice.YES: "yes", VoteChoice.IF_NEED_BE: "if need be",
                                        VoteChoice.NO: "no"}
_DURATION_ANSWER = re.compile(r"^\s*(\d{1,3})\s*(?:m|min|mins|minutes?)?\s*$|^\s*(\d)\s*(?:h|hr|hrs|hours?)\s*$")
_AT_NAME = re.compile(r"(?<![\w<@.])@([A-Za-z][\w.'-]{0,30}[\w])")
_WITH_LIST = re.compile(r"\bwith\s+(.+)$", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|&|\band\b|\s)\s*", re.IGNORECASE)
_STOP_WORDS_TEXT = (
    "next this today tomorrow monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat "
    "sun morning afternoon evening tonight week weeks month on at for in from min mins minute minutes hour "
    "hours h m between before after until"
)
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_WORKDAY = WeeklyHours(tuple(((CoachSettings().hours.days[i]) if i < 5 else ()) for i in range(7)))


# ------------------------------------------------------------------------------------------------ helpers


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _interval(pair: Sequence[Any]) -> Interval:
    return Interval(datetime.fromisoformat(str(pair[0])), datetime.fromisoformat(str(pair[1])))


def _short(start: datetime, tz: str) -> str:
    local = start.astimezone(load_zone(tz))
    return f"{day_label(local.date())} {local:%H:%M}"


def _names_after_with(text: str) -> list[str]:
    """Plain lowercase names the parser leaves out: "poll with amy, bo and cy next week"."""
    match = _WITH_LIST.search(text)
    if match is None:
        return []
    out: list[str] = []
    for word in _SPLIT.split(match.group(1)):
        cleaned = word.strip().lstrip("@").rstrip(".,!?;:")
        if not cleaned:
            continue
        if cleaned.lower() in _STOP_WORDS or cleaned[0].isdigit():
            break
        if cleaned not in out:
            out.append(cleaned)
    return out


async def _resolve_all(conv: Conversation, refs: Sequence[str], asker: Asker) -> tuple[list[Person], list[str]]:
    """Every name resolved, or the messages for the ones that could not be."""
    people: list[Person] = []
    problems: list[str] = []
    for ref in refs:
        try:
            person = await resolve_person(conv.storage, ref, asker=asker)
        except UnknownPerson as exc:
            problems.append(str(exc))
            continue
        if all(p.id != person.id for p in people):
            people.append(person)
    return people, problems


def _split_names(text: str) -> list[str]:
    parts = re.split(r"\s*(?:,|;|\n|\band\b|&)\s*", text.strip())
    return [p.strip().lstrip("@") if not p.strip().startswith("<") else p.strip() for p in parts if p.strip()]


async def _zone(conv: Conversation, person_id: str) -> str:
    return await conv._zone_of(person_id)


async def _name(conv: Conversation, person_id: str) -> str:
    return await conv._name(person_id)


async def _names(conv: Conversation, ids: Sequence[str]) -> str:
    return await conv._names(list(ids))


# ------------------------------------------------------------------------------------------------ start


async def start_poll(conv: Conversation, asker: Asker, parsed: ParsedRequest, text: str) -> list[Reply]:
    refs = list(parsed.participants) or _names_after_with(text) or find_names(text)
    # every "@name" typed counts, even one the parser took for a word ("@eve" as in New Year's Eve)
    for match in _AT_NAME.finditer(text):
        if match.group(1).lower() not in {r.lower().lstrip("@") for r in refs}:
            refs.append(match.group(1))
    lowered = text.lower()
    refs.sort(key=lambda r: lowered.find(r.lower()) if r.lower() in lowered else len(lowered))
    if not refs:
        return [Reply("Who should I ask? Name the invitees, e.g. \"poll 30 min with @amy @bo @cy next week\".",
                      private=True)]
    people, problems = await _resolve_all(conv, refs, asker)
    if problems:
        return [Reply(" ".join(problems) + " Nothing was created; try again with their @handle or full name.",
                      private=True)]
    invitees = [p.id for p in people if p.id != asker.person_id]
    if not invitees:
        return [Reply("A poll needs at least one invitee besides you, e.g. \"poll 30 min with @amy @bo\".",
                      private=True)]
    state: dict[str, Any] = {
        "kind": KIND,
        "step": "awaiting_details",
        "owner": asker.person_id,
        "invitees": invitees,
        "duration": parsed.duration_minutes,
        "windows": [[_iso(w.start), _iso(w.end)] for w in parsed.windows],
    }
    sid = await conv.states.new(state)
    if not parsed.duration_minutes:
        state["need"] = "duration"
        await conv.states.save(sid, state)
        await conv.states.set_pending(asker.person_id, sid)
        names = await _names(conv, invitees)
        choices = tuple(
            Choice(duration_label(m), "poll.duration", f"{sid}:{m}", style="primary" if m == DEFAULT_DURATION else None)
            for m in DURATIONS
        )
        return [Reply(f"How long should the meeting with {names} be? Pick one or type it; "
                      f"{duration_label(DEFAULT_DURATION)} is the usual.", choices=choices)]
    return await _propose(conv, asker, sid, state)


async def _load_draft(conv: Conversation, asker: Asker, sid: str) -> dict[str, Any] | list[Reply]:
    state = await conv.states.load(sid)
    if state is None or state.get("kind") != KIND:
        return [Reply(EXPIRED_TEXT, private=True)]
    if state.get("owner") != asker.person_id:
        return [Reply(f"Only {await _name(conv, str(state.get('owner')))} can change this poll.", private=True)]
    return state


async def pick_duration(conv: Conversation, asker: Asker, value: str) -> list[Reply]:
    sid, _, minutes_text = value.partition(":")
    loaded = await _load_draft(conv, asker, sid)
    if isinstance(loaded, list):
        return loaded
    if loaded.get("step") != "awaiting_details" or not minutes_text.isdigit():
        return [Reply(EXPIRED_TEXT, private=True)]
    minutes = int(minutes_text)
    if not 5 <= minutes <= 8 * 60:
        return [Reply("A poll's meeting can be 5 minutes to 8 hours long.", private=True)]
    loaded["duration"] = minutes
    loaded.pop("need", None)
    await conv.states.clear_pending(asker.person_id)
    return await _propose(conv, asker, sid, loaded, replace_=True)


async def answer(conv: Conversation, asker: Asker, sid: str, state: dict[str, Any], text: str,
                 parsed: ParsedRequest) -> list[Reply] | None:
    """A typed answer to "how long?" ("45", "45 min", "1 hour"); None when it is not one."""
    if state.get("step") != "awaiting_details" or state.get("need") != "duration":
        await conv.states.clear_pending(asker.person_id)
        return None
    match = _DURATION_ANSWER.match(text)
    if match is not None:
        minutes = int(match.group(1)) if match.group(1) else int(match.group(2)) * 60
    elif parsed.intent == "unknown" and parsed.duration_minutes:
        minutes = parsed.duration_minutes
    else:  # something else entirely ("book 30 min with dana"): the question is dropped
        await conv.states.clear_pending(asker.person_id)
        return None
    if not 5 <= minutes <= 8 * 60:
        return [Reply("A poll's meeting can be 5 minutes to 8 hours long; how long should it be?", private=True)]
    state["duration"] = minutes
    if parsed.windows:
        state["windows"] = [[_iso(w.start), _iso(w.end)] for w in parsed.windows]
    state.pop("need", None)
    await conv.states.clear_pending(asker.person_id)
    return await _propose(conv, asker, sid, state)


# ------------------------------------------------------------------------------------------------ candidates


@dataclass(frozen=True, slots=True)
class _Found:
    slots: list[Slot]
    windows: list[Interval]
    connected: list[str]
    unchecked: list[str]  # people whose calendars could not be read (counted busy)
    explain: list[str]


def _has_calendar(storage: Any, busy_source: Any, person_id: str) -> bool:
    calendars = getattr(storage, "calendars", None)
    if calendars is not None and calendars.accounts_for_person(person_id):
        return True
    files = getattr(busy_source, "files", None) or {}
    return bool(files.get(person_id))


def _bookings_of(storage: Any, person_id: str, span: Interval, now: datetime) -> list[BusyEvent]:
    bookings = storage.bookings.upcoming_for_person(person_id, now=now, limit=500)
    return [BusyEvent(b.interval, kind="booking", source=f"booking:{b.id}") for b in bookings
            if b.interval.overlaps(span)]


async def _busy(conv: Conversation, person_id: str, span: Interval, now: datetime
                ) -> tuple[list[BusyEvent], str | None]:
    """Calendar busy time plus bookings; an unreadable calendar makes the person busy throughout (fail closed)."""
    service = conv.bookings
    problem: str | None = None
    try:
        events = list(await asyncio.wait_for(service.busy_source.busy(person_id, span), service.busy_timeout))
    except BusyUnavailable as exc:
        events, problem = [BusyEvent(span)], exc.calendar
    except Exception:  # a timeout or a broken provider: never read as free
        events, problem = [BusyEvent(span)], await asyncio.to_thread(service.calendar_label, person_id)
    events += await asyncio.to_thread(_bookings_of, conv.storage, person_id, span, now)
    return events, problem


async def _participant(conv: Conversation, person_id: str, busy: list[BusyEvent]) -> Participant:
    settings: CoachSettings | None = await asyncio.to_thread(conv.storage.coach_settings.get_settings, person_id)
    if settings is not None:
        return Participant(id=person_id, timezone=settings.timezone, hours=settings.hours, busy=tuple(busy),
                           all_day_blocks=settings.all_day_blocks, tentative_blocks=settings.tentative_blocks)
    zone = await _zone(conv, person_id)
    return Participant(id=person_id, timezone=zone, hours=_WORKDAY, busy=tuple(busy))


def _spread(slots: Sequence[Slot], limit: int, zone: str) -> list[Slot]:
    """Up to ``limit`` slots, one per day in turn (earliest first), never two that overlap while others remain."""
    tz = load_zone(zone)
    by_day: dict[date, list[Slot]] = {}
    for slot in sorted(slots, key=lambda s: s.start):
        by_day.setdefault(slot.start.astimezone(tz).date(), []).append(slot)
    out: list[Slot] = []
    for allow_overlap in (False, True):
        progress = True
        while len(out) < limit and progress:
            progress = False
            for day in sorted(by_day):
                bucket = by_day[day]
                for slot in bucket:
                    if allow_overlap or all(not slot.interval.overlaps(o.interval) for o in out):
                        bucket.remove(slot)
                        out.append(slot)
                        progress = True
                        break
                if len(out) >= limit:
                    break
    return out


async def _search(conv: Conversation, organizer: str, invitees: Sequence[str], minutes: int,
                  windows: Sequence[Interval]) -> _Found:
    now = conv.clock()
    people = [organizer, *invitees]
    span = Interval(min(w.start for w in windows), max(w.end for w in windows))
    results = await asyncio.gather(*(_busy(conv, pid, span, now) for pid in people))
    participants = [await _participant(conv, pid, events) for pid, (events, _) in zip(people, results, strict=True)]
    unchecked = [pid for pid, (_, problem) in zip(people, results, strict=True) if problem]
    connected = [pid for pid in invitees
                 if await asyncio.to_thread(_has_calendar, conv.storage, conv.bookings.busy_source, pid)]
    organizer_zone = participants[0].timezone
    chosen: list[Slot] = []
    explain: list[str] = []
    seen: set[datetime] = set()
    for needed in range(len(people), 1, -1):
        tier: list[Slot] = []
        for window in windows:
            request = SlotRequest(
                now=now,
                duration=timedelta(minutes=minutes),
                window=window,
                participants=tuple(participants),
                step=STEP,
                min_notice=MIN_NOTICE,
                horizon=timedelta(days=90),
                required=None if needed == len(people) else needed,
                max_results=3 * MAX_OPTIONS,
                policy=conv.bookings.policy,
                ranking="spread",
            )
            result = await asyncio.to_thread(find_slots, request)
            if needed == len(people):
                explain += list(result.explain)
            tier += [s for s in result.slots if organizer in s.participants and s.start not in seen]
        tier = list({s.start: s for s in tier}.values())
        picked = _spread(tier, MAX_OPTIONS - len(chosen), organizer_zone)
        chosen += picked
        seen.update(s.start for s in picked)
        if len(chosen) >= MIN_OPTIONS or len(chosen) >= MAX_OPTIONS:
            break
    chosen.sort(key=lambda s: s.start)
    return _Found(chosen, list(windows), connected, unchecked, explain)


async def _calendar_line(conv: Conversation, invitees: Sequence[str], connected: Sequence[str]) -> str:
    total, have = len(invitees), [p for p in invitees if p in connected]
    missing = [p for p in invitees if p not in connected]
    noun = "invitee" if total == 1 else "invitees"
    if not missing:
        return (f"{'The' if total == 1 else f'All {total}'} {noun} {'has' if total == 1 else 'have'} a connected "
                "calendar, so these times suit everyone's calendars.")
    if not have:
        return (f"None of the {total} {noun} has a connected calendar, so I only checked yours; "
                "everyone's answers matter.")
    names = await _names(conv, missing)
    verb = "has" if len(have) == 1 else "have"
    tail = ("has none, so their answer matters most" if len(missing) == 1
            else "have none, so their answers matter most")
    return f"{len(have)} of {total} {noun} {verb} a connected calendar; {names} {tail}."


async def _propose(conv: Conversation, asker: Asker, sid: str, state: dict[str, Any], *,
                   replace_: bool = False) -> list[Reply]:
    now = conv.clock()
    minutes = int(state.get("duration") or DEFAULT_DURATION)
    state["duration"] = minutes
    asked = [_interval(w) for w in state.get("windows", [])]
    windows = [Interval(max(w.start, now), w.end) for w in asked if w.end > now]
    if asked and not windows:
        return [Reply("That time is already past. Ask for a later day, e.g. \"next week\".", replace=replace_)]
    if not windows:
        windows = [Interval(now, now + timedelta(days=DEFAULT_DAYS))]
    invitees: list[str] = list(state["invitees"])
    found = await _search(conv, asker.person_id, invitees, minutes, windows)
    names = await _names(conv, invitees)
    where = " or ".join(window_label(w.start, w.end, asker.timezone) for w in windows) if asked else \
        f"in the next {DEFAULT_DAYS} days"
    calendar_line = await _calendar_line(conv, invitees, found.connected)
    unchecked = [
        "I couldn't read your calendar, so I counted you as busy." if p == asker.person_id
        else f"I couldn't read {await _name(conv, p)}'s calendar, so I counted them as busy."
        for p in found.unchecked
    ]
    state["step"] = "proposed"
    state["options"] = [[_iso(s.start), _iso(s.end), list(s.participants)] for s in found.slots]
    await conv.states.save(sid, state)
    change = Choice("Change", "poll.change", sid)
    if not found.slots:
        return [Reply(f"I couldn't find {duration_label(minutes)} {where} when you and any of {names} are free.",
                      choices=(change,), details=(calendar_line, *unchecked, *found.explain[:3]), replace=replace_)]
    lines = []
    for i, slot in enumerate(found.slots, 1):
        busy = [p for p in invitees if p not in slot.participants]
        who = "everyone free" if not busy else f"busy: {await _names(conv, busy)}"
        lines.append(f"{i}. {range_label(slot.start, slot.end, asker.timezone)} ({who})")
    text = (f"Poll for {duration_label(minutes)} with {names} {where}. {calendar_line}\n"
            "Times to vote on:\n" + "\n".join(lines))
    choices = (Choice("Create poll", "poll.create", sid, style="primary"), change)
    return [Reply(text, choices=choices, details=tuple(unchecked), replace=replace_)]


# ------------------------------------------------------------------------------------------------ change


def _change_form(sid: str, invitees: str, minutes: str, when: str, *, errors: dict[str, str] | None = None) -> Form:
    errors = errors or {}
    return Form(
        id=f"{FORM_PREFIX}{sid}",
        title="Change the poll",
        fields=(
            Field("invitees", "Invitees", value=invitees, hint="Names or @handles, separated by commas",
                  error=errors.get("invitees", "")),
            Field("duration", "Length (minutes)", kind="number", value=minutes, error=errors.get("duration", "")),
            Field("when", "When", value=when, required=False,
                  hint="e.g. next week, Tuesday afternoon; empty: the next 7 days", error=errors.get("when", "")),
        ),
        submit_label="Find times",
    )


async def _refs_of(conv: Conversation, ids: Sequence[str]) -> str:
    refs = []
    for pid in ids:
        person = await conv._person(pid)
        refs.append(f"@{person.handle}" if person and person.handle else (person.display_name if person else pid))
    return ", ".join(refs)


async def change(conv: Conversation, asker: Asker, value: str) -> list[Reply]:
    loaded = await _load_draft(conv, asker, value)
    if isinstance(loaded, list):
        return loaded
    if loaded.get("step") == "created":
        return [Reply("That poll was already created; start a new one to ask other times.", private=True)]
    form = _change_form(value, await _refs_of(conv, loaded["invitees"]), str(loaded.get("duration") or 30), "")
    return [Reply("Change the poll:", form=form)]


async def submit_change(conv: Conversation, asker: Asker, form_id: str, values: dict[str, str]) -> list[Reply]:
    sid = form_id.removeprefix(FORM_PREFIX)
    loaded = await _load_draft(conv, asker, sid)
    if isinstance(loaded, list):
        return loaded
    if loaded.get("step") == "created":
        return [Reply("That poll was already created; start a new one to ask other times.", private=True)]
    invitees_text = values.get("invitees", "").strip()
    minutes_text = values.get("duration", "").strip()
    when = values.get("when", "").strip()
    errors: dict[str, str] = {}
    people, problems = await _resolve_all(conv, _split_names(invitees_text), asker)
    invitees = [p.id for p in people if p.id != asker.person_id]
    if problems:
        errors["invitees"] = " ".join(problems)
    elif not invitees:
        errors["invitees"] = "Name at least one invitee besides you."
    if not minutes_text.isdigit() or not 5 <= int(minutes_text) <= 8 * 60:
        errors["duration"] = "A length in minutes, from 5 to 480."
    windows: list[list[str]] = []
    if when:
        parsed = parse_request(f"poll {when}", now=conv.clock(), tz=asker.timezone)
        windows = [[_iso(w.start), _iso(w.end)] for w in parsed.windows]
        if not windows:
            errors["when"] = "I couldn't read that as a time; try \"next week\" or \"Tuesday afternoon\"."
    if errors:
        form = _change_form(sid, invitees_text, minutes_text, when, errors=errors)
        return [Reply("Please fix the marked fields.", form=form, private=True)]
    loaded.update(invitees=invitees, duration=int(minutes_text), windows=windows)
    return await _propose(conv, asker, sid, loaded)


# ------------------------------------------------------------------------------------------------ create


async def create(conv: Conversation, asker: Asker, value: str) -> list[Reply]:
    loaded = await _load_draft(conv, asker, value)
    if isinstance(loaded, list):
        return loaded
    if loaded.get("step") == "created":
        return [Reply("This poll was already created and sent.", private=True)]
    options = loaded.get("options") or []
    if loaded.get("step") != "proposed" or not options:
        return [Reply(EXPIRED_TEXT, private=True)]
    now = conv.clock()
    if any(_interval(o).start <= now for o in options):
        return await _propose(conv, asker, value, loaded, replace_=True)
    invitees: list[str] = list(loaded["invitees"])
    minutes = int(loaded["duration"])
    title = f"{duration_label(minutes)} with {await _names(conv, invitees)}"
    poll = Poll(
        id=uuid.uuid4().hex[:12],
        organizer_id=asker.person_id,
        title=title,
        duration=timedelta(minutes=minutes),
        options=tuple(PollOption(f"o{i}", _interval(o)) for i, o in enumerate(options, 1)),
        invitee_ids=tuple(invitees),
        created_at=now,
    )
    await conv._db(conv.storage.polls.add_poll, poll)
    loaded["step"] = "created"
    loaded["poll"] = poll.id
    await conv.states.save(value, loaded, ttl=timedelta(days=1))
    result = tally(poll, [])
    calendar_line = await _calendar_line(
        conv, invitees, [pid for pid in invitees
                         if await asyncio.to_thread(_has_calendar, conv.storage, conv.bookings.busy_source, pid)]
    )
    replies = [await _render(conv, poll, result, viewer=asker.person_id, tz=asker.timezone, organizer_copy=True,
                             replace_=True, note=calendar_line)]
    for pid in invitees:
        replies.append(await _render(conv, poll, result, viewer=pid, tz=await _zone(conv, pid), to=pid))
    return replies


async def _render(conv: Conversation, poll: Poll, result: Tally, *, viewer: str, tz: str,
                  organizer_copy: bool = False, to: str | None = None, replace_: bool = False,
                  note: str = "") -> Reply:
    """The poll message for one reader: a line per option with its tally, buttons to vote (and to close)."""
    organizer = await _name(conv, poll.organizer_id)
    if poll.status == "closed":
        head = f"Poll by {organizer} ({poll.title}), closed."
    elif organizer_copy and viewer == poll.organizer_id:
        head = f"Your poll: {poll.title}. Votes so far:"
    else:
        head = f"{organizer} asks: which times work for {poll.title}? Vote on each one."
    lines = []
    for i, option in enumerate(result.options, 1):
        line = (f"{i}. {range_label(option.option.interval.start, option.option.interval.end, tz)}: "
                f"{len(option.yes)} yes, {len(option.if_need_be)} if need be, {len(option.no)} no")
        mine = option.choice_of(viewer)
        if mine is not None:
            line += f" (you: {_CHOICE_WORDS[mine]})"
        if poll.winner_option_id == option.option_id:
            line += " (booked)"
        lines.append(line)
    if result.not_voted:
        lines.append(f"Not voted yet: {await _names(conv, result.not_voted)}")
    else:
        lines.append("Everyone has voted.")
    choices: list[Choice] = []
    if poll.status == "open":
        suffix = ":p" if organizer_copy else ""
        for option in result.options:
            short = _short(option.start, tz)
            for code, label in (("y", "Yes"), ("m", "If need be"), ("n", "No")):
                choices.append(Choice(f"{short}: {label}", "poll.vote", f"{poll.id}:{option.option_id}:{code}{suffix}",
                                      style="primary" if code == "y" else None))
        if organizer_copy:
            choices.append(_close_choice(poll))
    details = (note,) if note else ()
    return Reply(head + "\n" + "\n".join(lines), choices=tuple(choices), to=to, replace=replace_, details=details)


def _close_choice(poll: Poll) -> Choice:
    return Choice("Close and book", "poll.close", poll.id, style="danger",
                  confirm="Close the poll and book the winning time for everyone?")


# ------------------------------------------------------------------------------------------------ vote


async def _closed_text(conv: Conversation, poll: Poll, tz: str) -> str:
    winner = next((o for o in poll.options if o.id == poll.winner_option_id), None)
    if winner is None:
        return "This poll is closed, so it takes no more votes. Thanks anyway!"
    when = range_label(winner.interval.start, winner.interval.end, tz)
    return f"This poll is closed, so it takes no more votes: {await _name(conv, poll.organizer_id)} booked {when}."


async def vote(conv: Conversation, asker: Asker, value: str) -> list[Reply]:
    parts = value.split(":")
    if len(parts) not in (3, 4) or parts[2] not in _CODES or (len(parts) == 4 and parts[3] != "p"):
        return [Reply(EXPIRED_TEXT, private=True)]
    poll_id, option_id, code = parts[:3]
    organizer_copy = len(parts) == 4
    poll: Poll | None = await conv._db(conv.storage.polls.get_poll, poll_id)
    if poll is None or all(o.id != option_id for o in poll.options):
        return [Reply("That poll no longer exists.", private=True)]
    if asker.person_id not in poll.invitee_ids:
        organizer = await _name(conv, poll.organizer_id)
        if asker.person_id == poll.organizer_id:
            return [Reply("You started this poll, so the invitees vote, not you. Close it when you're ready.",
                          private=True)]
        return [Reply(f"Only the people {organizer} invited can vote in this poll; ask {organizer} to add you.",
                      private=True)]
    if poll.status != "open":
        return [Reply(await _closed_text(conv, poll, asker.timezone), private=True)]
    choice = _CODES[code]
    try:
        await conv._db(conv.storage.polls.cast_vote, poll.id,
                       Vote(option_id=option_id, voter_id=asker.person_id, choice=choice))
    except ValueError:  # closed between the read and the vote
        again: Poll | None = await conv._db(conv.storage.polls.get_poll, poll_id)
        return [Reply(await _closed_text(conv, again or poll, asker.timezone), private=True)]
    result = tally(poll, await conv._db(conv.storage.polls.votes, poll.id))
    replies = [await _render(conv, poll, result, viewer=asker.person_id, tz=asker.timezone,
                             organizer_copy=organizer_copy, replace_=True)]
    # The Reply model cannot update the organizer's earlier message, so the organizer gets a short note.
    org_tz = await _zone(conv, poll.organizer_id)
    option = next(o for o in poll.options if o.id == option_id)
    leader = result.winner
    lead_text = ""
    if leader is not None:
        lead_text = (f" Leading: {range_label(leader.option.interval.start, leader.option.interval.end, org_tz)} "
                     f"({len(leader.yes)} yes, {len(leader.if_need_be)} if need be).")
    note = (f"{asker.display_name} voted {_CHOICE_WORDS[choice]} for "
            f"{range_label(option.interval.start, option.interval.end, org_tz)} in your poll ({poll.title}). "
            f"{len(result.voted)} of {len(poll.invitee_ids)} have voted.{lead_text}")
    replies.append(Reply(note, choices=(_close_choice(poll),), to=poll.organizer_id))
    return replies


# ------------------------------------------------------------------------------------------------ close and book


class _HostSettings:
    """Coach settings for the booking service where the organizer is host: their own, or open ones."""

    def __init__(self, inner: CoachSettingsRepository) -> None:
        self._inner = inner

    def get_settings(self, person_id: str) -> CoachSettings | None:
        settings = self._inner.get_settings(person_id)
        if settings is not None:
            return settings
        return CoachSettings(hours=WeeklyHours.always(), min_notice=timedelta(0), horizon=timedelta(days=365))

    def save_settings(self, person_id: str, settings: CoachSettings) -> None:
        self._inner.save_settings(person_id, settings)


async def _free_now(conv: Conversation, person_id: str, slot: Interval) -> bool:
    """Free in their calendars and bookings right now (a calendar that cannot be read is not free)."""
    try:
        events = await asyncio.wait_for(conv.bookings.busy_source.busy(person_id, slot), conv.bookings.busy_timeout)
    except Exception:
        return False
    events = [*events, *await asyncio.to_thread(_bookings_of, conv.storage, person_id, slot, conv.clock())]
    return not any(
        e.interval.overlaps(slot) and e.transparency == "opaque" and e.status != "cancelled" for e in events
    )


async def close(conv: Conversation, asker: Asker, value: str) -> list[Reply]:
    poll_id, _, chosen = value.partition(":")
    poll: Poll | None = await conv._db(conv.storage.polls.get_poll, poll_id)
    if poll is None:
        return [Reply("That poll no longer exists.", private=True)]
    if asker.person_id != poll.organizer_id:
        return [Reply(f"Only {await _name(conv, poll.organizer_id)}, who started this poll, can close it.",
                      private=True)]
    if poll.status != "open":
        return [Reply((await _closed_text(conv, poll, asker.timezone)).replace(
            "This poll is closed, so it takes no more votes", "This poll is already closed"), private=True)]
    result = tally(poll, await conv._db(conv.storage.polls.votes, poll.id))
    target = result.get(chosen) if chosen else result.winner
    if chosen and (target is None or target.score == 0):
        return [Reply(EXPIRED_TEXT, private=True)]
    if target is None:
        waiting = f" ({await _names(conv, result.not_voted)} haven't voted yet)" if result.not_voted else ""
        return [Reply("Nobody has said yes or if need be to any time yet, so there is nothing to book. "
                      f"Wait for more votes{waiting}.", private=True)]
    now = conv.clock()
    if target.start <= now:
        return await _offer_runner_up(conv, asker, poll, result, target, "That time has already started.")
    # Everyone who can come: yes and if-need-be voters, and those who said nothing about this time but are free.
    attendees = list(target.can_come)
    for pid in poll.invitee_ids:
        if target.choice_of(pid) is None and await _free_now(conv, pid, target.option.interval):
            attendees.append(pid)
    host = replace(conv.bookings, coach_settings=_HostSettings(conv.storage.coach_settings))
    booked = await host.book(
        coach_id=poll.organizer_id,
        participant_ids=tuple(p for p in poll.invitee_ids if p in attendees),
        slot=target.option.interval,
        idempotency_key=f"poll:{poll.id}:{target.option_id}",
    )
    if isinstance(booked, Taken):
        return await _offer_runner_up(conv, asker, poll, result, target, booked.reason)
    booking = booked.booking
    try:
        poll = await conv._db(conv.storage.polls.close_poll, poll.id, winner_option_id=target.option_id)
    except ValueError:  # a second click got here first: the booking above was the same one (idempotency key)
        closed: Poll | None = await conv._db(conv.storage.polls.get_poll, poll_id)
        return [Reply(await _closed_text(conv, closed or poll, asker.timezone), private=True)]
    assert poll is not None
    coming = [p for p in poll.invitee_ids if p in booking.participant_ids]
    not_coming = [p for p in poll.invitee_ids if p not in booking.participant_ids]
    when = range_label(booking.start, booking.end, asker.timezone)
    text = f"Closed the poll and booked {when}"
    text += f" with {await _names(conv, coming)}." if coming else "."
    if not_coming:
        text += f" Not booked (said no, or busy and no vote for it): {await _names(conv, not_coming)}."
    text += " I've told every invitee."
    replies = [Reply(text, replace=True)]
    organizer = await _name(conv, poll.organizer_id)
    for pid in poll.invitee_ids:
        tz = await _zone(conv, pid)
        slot_text = range_label(booking.start, booking.end, tz)
        if pid in coming:
            msg = f"{organizer} closed the poll ({poll.title}) and booked {slot_text}. You're in."
        elif target.choice_of(pid) == VoteChoice.NO:
            msg = (f"{organizer} closed the poll ({poll.title}) and booked {slot_text}. You said you can't make it, "
                   f"so you're not booked; tell {organizer} if that changes.")
        else:
            msg = (f"{organizer} closed the poll ({poll.title}) and booked {slot_text}. Your calendar shows you busy "
                   f"then, so you're not booked; tell {organizer} if you can come.")
        replies.append(Reply(msg, to=pid))
    return replies


async def _offer_runner_up(conv: Conversation, asker: Asker, poll: Poll, result: Tally, target: OptionTally,
                           reason: str) -> list[Reply]:
    now = conv.clock()
    when = range_label(target.option.interval.start, target.option.interval.end, asker.timezone)
    runners = [o for o in result.runners_up(target.option_id) if o.start > now]
    if not runners:
        return [Reply(f"{when} is no longer free ({reason.rstrip('.')}), and no other time has a yes or if-need-be "
                      "vote. The poll stays open; start a new poll for other times.", replace=True)]
    best = runners[0]
    best_when = range_label(best.option.interval.start, best.option.interval.end, asker.timezone)
    text = (f"{when} is no longer free ({reason.rstrip('.')}). The runner-up is {best_when} "
            f"({len(best.yes)} yes, {len(best.if_need_be)} if need be, {len(best.no)} no). Book it instead?")
    choices = (
        Choice(f"Book {_short(best.start, asker.timezone)}", "poll.close", f"{poll.id}:{best.option_id}",
               style="primary"),
    )
    return [Reply(text, choices=choices, replace=True)]
