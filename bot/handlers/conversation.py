"""``Conversation``: the surface-neutral chat.  A message, click or form comes in; Replies go out.

Adapters (Slack, web, console) resolve who is asking (``people.person_for``), call ``handle`` and render the
replies.  Multi-step flows keep their state server-side (``StateStore``); a button's value is the state id plus an
index (``"Xy3k9a:2"``), never the state itself.  Action names:

``book.coach|duration|pick|more|confirm|back`` (booking), ``cancel.pick``, ``resched.which|pick|more|confirm|back``,
``poll.duration|create|change|vote|close`` (see ``poll``), ``settings.hours|buffers`` (open a form),
``connect.start`` (value: the provider).
Form ids: ``hours``, ``buffers``, ``poll:...`` (change a poll draft), and ``connect:...`` (passed to the
``CalendarConnector``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.handlers.coach import BUFFERS_FORM_ID, HOURS_FORM_ID, CoachFlow
from bot.handlers.connect import CONNECT_FORM_PREFIX, LIST_CALENDARS, PICK_AGAIN, PROVIDER_LABELS, CalendarConnector
from bot.handlers.format import duration_label, range_label, slot_label, window_label
from bot.handlers.people import UnknownPerson, find_names, resolve_people
from bot.handlers.replies import Action, Asker, Choice, FormSubmit, Incoming, Message, Reply
from bot.handlers.state import EXPIRED_TEXT, StateStore
from bot.language import ParsedRequest, parse_request
from bot.scheduling.intervals import Interval
from bot.scheduling.model import Booking, BookingStatus, Person, Slot
from bot.services.booking import Booked, BookingError, BookingService, Proposal, ProposalRequest, Taken

__all__ = ["HELP_TEXT", "Conversation"]

log = logging.getLogger(__name__)

MAX_OFFER = 5
_GREETINGS = frozenset({"", "hi", "hello", "hey", "start", "menu", "?", "help", "help me"})
# "my calendars", "show my calendars", "which calendars do you check?", "/sched calendars"
_CALENDARS = re.compile(
    r"^(?:(?:show|list|see|check)\s+)?(?:me\s+)?(?:my\s+)?(?:connected\s+)?calendars?(?:\s+settings)?$"
    r"|^which\s+calendars?\b", re.IGNORECASE
)
_DURATION_ANSWER = re.compile(r"^\s*(\d{1,3})\s*(?:m|min|mins|minutes?)?\s*$|^\s*(\d)\s*(?:h|hr|hrs|hours?)\s*$")

HELP_TEXT = """Here's what I can do; just write it the way you'd say it:
• book 30 min with dana next Tuesday afternoon
• when is dana free this week
• my sessions · cancel my session · reschedule my session to Friday
• poll 30 min with @ann @bob next week
For coaches:
• I'm a coach · my hours are Mon-Fri 9-17 · edit my hours
• buffer 10 minutes before and after · minimum notice 4 hours · session lengths 30, 45, 60
• I'm off next Friday · show my settings · connect my google calendar · my calendars"""


class _Stop(Exception):
    """Ends handling early with these replies (an expired choice, someone else's button)."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__("stop")
        self.replies = replies


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _interval(pair: Sequence[str]) -> Interval:
    return Interval(datetime.fromisoformat(pair[0]), datetime.fromisoformat(pair[1]))


class Conversation:
    """Everything a person can say or click, for every surface."""

    def __init__(
        self,
        storage: Any,
        bookings: BookingService,
        clock: Callable[[], datetime],
        *,
        connector: CalendarConnector | None = None,
        state_ttl: timedelta = timedelta(minutes=30),
        settings_link: Callable[[str], str] | None = None,
    ) -> None:
        self.storage = storage
        self.bookings = bookings
        self.clock = clock
        self.connector = connector
        self.states = StateStore(storage.conversations, clock, ttl=state_ttl)
        self.coach = CoachFlow(storage, clock, settings_link=settings_link)

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # ------------------------------------------------------------------------------------------------ entry

    async def handle(self, asker: Asker, incoming: Incoming) -> list[Reply]:
        try:
            if isinstance(incoming, Message):
                return await self._on_message(asker, incoming)
            if isinstance(incoming, Action):
                return await self._on_action(asker, incoming)
            if isinstance(incoming, FormSubmit):
                return await self._on_form(asker, incoming)
            return [Reply("Sorry, I can't handle that kind of message.")]
        except _Stop as stop:
            return stop.replies
        except (UnknownPerson, BookingError) as exc:
            return [Reply(str(exc), private=True)]
        except Exception:
            log.exception("conversation step failed for %s", asker.person_id)
            return [Reply("Sorry, something went wrong on my side. Please try again in a moment.", private=True)]

    async def _on_message(self, asker: Asker, message: Message) -> list[Reply]:
        text = " ".join(message.text.split())
        command = (message.command or "").lower().lstrip("/")
        if command == "hours" and text.lower() in ("", "edit", "form"):
            return await self.coach.hours_form(asker)
        if command == "hours" and not re.search(r"\bhours?\b", text.lower()):
            text = f"my hours are {text}"
        if command != "hours" and text.lower().rstrip("!.") in _GREETINGS:
            return self._help()
        if command != "hours" and _CALENDARS.match(text.rstrip("?!. ")):
            return await self._connect(asker, LIST_CALENDARS)
        parsed = parse_request(text, now=self.clock(), tz=asker.timezone)
        if command == "book" and parsed.intent in ("unknown", "availability"):
            parsed = replace(parsed, intent="book")
        elif command == "poll":
            parsed = replace(parsed, intent="poll")
        elif command == "hours" and parsed.intent != "set_hours":
            parsed = replace(parsed, intent="set_hours")
        settings_reply = await self.coach.from_text(asker, text, parsed)
        if settings_reply is not None:
            return settings_reply
        pending = await self.states.pending(asker.person_id)
        if pending and parsed.intent in ("unknown", "book"):
            answered = await self._answer(asker, pending, text, parsed)
            if answered is not None:
                return answered
        match parsed.intent:
            case "book":
                return await self._start_book(asker, parsed, text)
            case "availability":
                return await self._availability(asker, parsed, text)
            case "list":
                return await self._list(asker)
            case "cancel":
                return await self._cancel(asker, parsed, text)
            case "reschedule":
                return await self._reschedule(asker, parsed, text)
            case "set_hours":
                return await self.coach.set_hours(asker, parsed)
            case "set_buffer":
                return await self.coach.set_buffers(asker, parsed)
            case "connect":
                return await self._connect(asker, parsed.provider)
            case "poll":
                return await self._poll(asker, parsed, text)
            case "help":
                return self._help()
        return [
            Reply(
                "Sorry, I didn't get that. Try \"book 30 min with dana tomorrow afternoon\", or say \"help\".",
                private=True,
            )
        ]

    async def _on_action(self, asker: Asker, action: Action) -> list[Reply]:
        name, value = action.action, action.value
        handlers: dict[str, Callable[[Asker, str], Any]] = {
            "book.coach": self._book_coach,
            "book.duration": self._book_duration,
            "book.pick": self._pick,
            "book.more": self._more,
            "book.confirm": self._book_confirm,
            "book.back": self._back,
            "cancel.pick": self._cancel_pick,
            "resched.which": self._resched_which,
            "resched.pick": self._pick,
            "resched.more": self._more,
            "resched.confirm": self._resched_confirm,
            "resched.back": self._back,
            "poll.vote": self._poll_vote,
            "poll.close": self._poll_close,
            "poll.duration": self._poll_duration,
            "poll.create": self._poll_create,
            "poll.change": self._poll_change,
        }
        if name in handlers:
            replies: list[Reply] = await handlers[name](asker, value)
            return replies
        if name == "settings.hours":
            return await self.coach.hours_form(asker)
        if name == "settings.buffers":
            return await self.coach.buffers_form(asker)
        if name == "connect.start":
            return await self._connect(asker, value)
        return [Reply(EXPIRED_TEXT, private=True)]

    async def _on_form(self, asker: Asker, form: FormSubmit) -> list[Reply]:
        if form.form_id == HOURS_FORM_ID:
            return await self.coach.submit_hours(asker, form.values)
        if form.form_id == BUFFERS_FORM_ID:
            return await self.coach.submit_buffers(asker, form.values)
        if form.form_id.startswith(CONNECT_FORM_PREFIX):
            if self.connector is None:
                return self._no_connector()
            return await self.connector.submit(asker.person_id, form.form_id, dict(form.values))
        if form.form_id.startswith("poll:"):
            from bot.handlers.poll import submit_change

            return await submit_change(self, asker, form.form_id, dict(form.values))
        return [Reply("That form has expired, ask again.", private=True)]

    def _help(self) -> list[Reply]:
        return [Reply(HELP_TEXT)]

    # ------------------------------------------------------------------------------------------------ helpers

    async def _person(self, person_id: str) -> Person | None:
        person: Person | None = await self._db(self.storage.people.get, person_id)
        return person

    async def _name(self, person_id: str) -> str:
        person = await self._person(person_id)
        return person.display_name if person else person_id

    async def _names(self, ids: Sequence[str]) -> str:
        names = [await self._name(i) for i in ids]
        if len(names) <= 1:
            return "".join(names)
        return ", ".join(names[:-1]) + " and " + names[-1]

    async def _zone_of(self, person_id: str, fallback: str = "UTC") -> str:
        person = await self._person(person_id)
        return person.timezone if person else fallback

    async def _is_coach(self, person_id: str) -> bool:
        settings = await self._db(self.storage.coach_settings.get_settings, person_id)
        return settings is not None

    async def _load(self, asker: Asker, value: str, *, kind: str | tuple[str, ...], owner: bool = True
                    ) -> tuple[str, dict[str, Any], int | None]:
        """The state a button points at, and the index it carries; ``_Stop`` when expired or not the asker's."""
        sid, _, index_text = value.partition(":")
        state = await self.states.load(sid)
        kinds = (kind,) if isinstance(kind, str) else kind
        if state is None or state.get("kind") not in kinds:
            raise _Stop([Reply(EXPIRED_TEXT, private=True)])
        if owner and state.get("owner") != asker.person_id:
            raise _Stop([Reply(f"Only {await self._name(str(state.get('owner')))} can pick from these.", private=True)])
        index: int | None = None
        if index_text:
            if not index_text.isdigit():
                raise _Stop([Reply(EXPIRED_TEXT, private=True)])
            index = int(index_text)
        return sid, state, index

    def _other_side(self, booking: Booking, viewer: str) -> list[str]:
        if viewer == booking.coach_id:
            return list(booking.participant_ids)
        return [booking.coach_id, *[p for p in booking.participant_ids if p != viewer]]

    async def _booking_line(self, booking: Booking, viewer: str, tz: str) -> str:
        others = await self._names(self._other_side(booking, viewer))
        line = f"{range_label(booking.start, booking.end, tz)} with {others}"
        if booking.status == BookingStatus.HELD:
            line += " (held, not confirmed yet)"
        return line

    async def _tell(self, person_ids: Sequence[str], text_for: Callable[[str], str], *, skip: str | None = None
                    ) -> list[Reply]:
        """One direct message per person, in their own zone."""
        out: list[Reply] = []
        for pid in dict.fromkeys(person_ids):
            if pid == skip:
                continue
            out.append(Reply(text_for(await self._zone_of(pid)), to=pid))
        return out

    # ------------------------------------------------------------------------------------------------ booking

    async def _assign(self, asker: Asker, people: list[Person]) -> tuple[str | None, list[str]]:
        """Who coaches and who attends, from the people a message named."""
        others = [p for p in people if p.id != asker.person_id]
        if people and not others:
            raise BookingError("You can't book a session with yourself.")
        coach = None
        for person in others:
            if await self._is_coach(person.id):
                coach = person
                break
        if coach is not None:
            return coach.id, [asker.person_id, *[p.id for p in others if p.id != coach.id]]
        if others and await self._is_coach(asker.person_id):
            return asker.person_id, [p.id for p in others]
        if others:
            names = " and ".join(p.display_name for p in others)
            raise BookingError(f"{names} doesn't offer sessions yet (no coaching hours are set up).")
        return None, [asker.person_id]

    async def _start_book(self, asker: Asker, parsed: ParsedRequest, text: str, *, lead: str = "") -> list[Reply]:
        refs = list(parsed.participants) or find_names(text)
        people = await resolve_people(self.storage, refs, asker=asker)
        coach, participants = await self._assign(asker, people)
        state: dict[str, Any] = {
            "kind": "book",
            "step": "awaiting_details",
            "owner": asker.person_id,
            "coach": coach,
            "participants": participants,
            "duration": parsed.duration_minutes,
            "windows": [[_iso(w.start), _iso(w.end)] for w in parsed.windows],
            "shown": [],
            "slots": [],
        }
        if lead:
            state["lead"] = lead
        sid = await self.states.new(state)
        return await self._advance(asker, sid, state)

    async def _advance(self, asker: Asker, sid: str, state: dict[str, Any], *, replace_: bool = False) -> list[Reply]:
        """Ask what is still missing (who? how long?), else offer times."""
        if not state.get("coach"):
            coaches = [p for p in await self._db(self.storage.people.coaches, limit=9) if p.id != asker.person_id]
            state["need"] = "coach"
            state["coach_options"] = [p.id for p in coaches[:8]]
            await self.states.save(sid, state)
            await self.states.set_pending(asker.person_id, sid)
            if not coaches:
                return [Reply("With whom? Nobody here has set up coaching hours yet; type their name or @mention.",
                              replace=replace_)]
            choices = tuple(Choice(p.display_name, "book.coach", f"{sid}:{i}") for i, p in enumerate(coaches[:8]))
            return [Reply("With whom would you like a session? Pick one or type a name.", choices=choices,
                          replace=replace_)]
        settings = await self.bookings.settings_for(state["coach"])
        if not state.get("duration"):
            lengths = settings.session_lengths
            if len(lengths) == 1:
                state["duration"] = lengths[0]
            else:
                state["need"] = "duration"
                await self.states.save(sid, state)
                await self.states.set_pending(asker.person_id, sid)
                name = await self._name(state["coach"])
                choices = tuple(Choice(duration_label(m), "book.duration", f"{sid}:{m}") for m in lengths)
                return [Reply(f"How long should the session with {name} be?", choices=choices, replace=replace_)]
        state.pop("need", None)
        await self.states.clear_pending(asker.person_id)
        return await self._offer(asker, sid, state, replace_=replace_)

    async def _answer(self, asker: Asker, sid: str, text: str, parsed: ParsedRequest) -> list[Reply] | None:
        """A typed answer to an open question ("with whom?" -> "dana", "how long?" -> "45")."""
        state = await self.states.load(sid)
        if state is not None and state.get("kind") == "poll" and state.get("owner") == asker.person_id:
            from bot.handlers.poll import answer as poll_answer

            return await poll_answer(self, asker, sid, state, text, parsed)
        if state is None or state.get("step") != "awaiting_details" or state.get("owner") != asker.person_id:
            await self.states.clear_pending(asker.person_id)
            return None
        need = state.get("need")
        if parsed.duration_minutes:
            state["duration"] = parsed.duration_minutes
        if parsed.windows:
            state["windows"] = [[_iso(w.start), _iso(w.end)] for w in parsed.windows]
        if need == "coach":
            refs = list(parsed.participants) or find_names(text)
            if not refs and parsed.intent == "unknown" and len(text.split()) <= 3:
                refs = [text]
            if not refs and not state.get("coach"):
                return None
            if refs:
                people = await resolve_people(self.storage, refs, asker=asker)
                coach, participants = await self._assign(asker, people)
                if coach is None:
                    return None
                state["coach"], state["participants"] = coach, participants
        elif need == "duration" and not parsed.duration_minutes:
            match = _DURATION_ANSWER.match(text)
            if match is None:
                return None
            state["duration"] = int(match.group(1)) if match.group(1) else int(match.group(2)) * 60
        await self.states.clear_pending(asker.person_id)
        return await self._advance(asker, sid, state)

    async def _book_coach(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, index = await self._load(asker, value, kind="book")
        options = state.get("coach_options") or []
        if index is None or index >= len(options):
            return [Reply(EXPIRED_TEXT, private=True)]
        state["coach"] = options[index]
        state["participants"] = [asker.person_id]
        return await self._advance(asker, sid, state, replace_=True)

    async def _book_duration(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, minutes = await self._load(asker, value, kind="book")
        if not minutes or not 5 <= minutes <= 24 * 60:
            return [Reply(EXPIRED_TEXT, private=True)]
        state["duration"] = minutes
        return await self._advance(asker, sid, state, replace_=True)

    async def _propose(self, state: dict[str, Any], window: Interval | None, limit: int) -> Proposal:
        return await self.bookings.propose(
            ProposalRequest(
                coach_id=state["coach"],
                participant_ids=tuple(state["participants"]),
                duration=timedelta(minutes=int(state["duration"])),
                window=window,
                max_results=max(1, min(limit, 60)),
            )
        )

    async def _offer(
        self, asker: Asker, sid: str, state: dict[str, Any], *, replace_: bool = False, more: bool = False
    ) -> list[Reply]:
        """Search and show up to five fresh times (and "Show more times")."""
        shown = {pair[0] for pair in state.get("shown", [])}
        want = MAX_OFFER + (len(shown) if more else 0)
        windows = [_interval(w) for w in state.get("windows", [])]
        now = self.clock()
        windows = [w for w in windows if w.end > now]
        proposals: list[Proposal] = []
        lead = state.pop("lead", "") if not more else ""
        if windows:
            for window in windows:
                proposals.append(await self._propose(state, Interval(max(window.start, now), window.end), want))
            if not any(p.slots for p in proposals) and not more:
                asked = " or ".join(window_label(w.start, w.end, asker.timezone) for w in windows)
                name = await self._name(state["coach"])
                lead = f"{name} has nothing free {asked}. The nearest other times:"
                state["windows"] = []
                proposals = [await self._propose(state, None, want)]
        elif state.get("windows"):  # every window asked for is already past
            raise _Stop([Reply("That time is already past. Ask for a later day.")])
        else:
            proposals.append(await self._propose(state, None, want))
        unchecked = list(dict.fromkeys(u for p in proposals for u in p.unchecked))
        coach_tz = proposals[0].coach_timezone if proposals else "UTC"
        seen: set[str] = set()
        fresh: list[Slot] = []
        for slot in sorted((s for p in proposals for s in p.slots), key=lambda s: s.start):
            key = _iso(slot.start)
            if key in shown or key in seen:
                continue
            seen.add(key)
            fresh.append(slot)
        fresh = sorted(fresh[:MAX_OFFER] if more else _pick_spread(fresh), key=lambda s: s.start)
        details = tuple(f"I couldn't check {name}, so it was treated as busy." for name in unchecked)
        if not fresh:
            await self.states.save(sid, state)
            if more:
                return [Reply("There are no more free times in that range. Try another day or week.",
                              private=True, details=details)]
            explain = [e for p in proposals for e in p.explain][:3]
            name = await self._name(state["coach"])
            return [Reply(f"I couldn't find a free {duration_label(int(state['duration']))} slot with {name}.",
                          details=details + tuple(explain), replace=replace_)]
        state["slots"] = [[_iso(s.start), _iso(s.end)] for s in fresh]
        state["shown"] = [*state.get("shown", []), *state["slots"]]
        state["step"] = "proposed"
        state["coach_tz"] = coach_tz
        await self.states.save(sid, state)
        if not lead:
            name = await self._name(state["coach"])
            what = duration_label(int(state["duration"]))
            lead = (f"More times for {what} with {name}:" if more else
                    f"Here are some times for {what} with {name}. Pick one:")
        return [self._render_offer(asker, sid, state, lead, details=details, replace_=replace_)]

    def _render_offer(self, asker: Asker, sid: str, state: dict[str, Any], text: str, *,
                      details: tuple[str, ...] = (), replace_: bool = False) -> Reply:
        kind = state["kind"]
        coach_tz = state.get("coach_tz")
        choices = [
            Choice(_slot_text(pair, asker.timezone, coach_tz), f"{kind}.pick", f"{sid}:{i}")
            for i, pair in enumerate(state["slots"])
        ]
        choices.append(Choice("Show more times", f"{kind}.more", sid))
        return Reply(text, choices=tuple(choices), details=details, replace=replace_)

    async def _more(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, _ = await self._load(asker, value, kind=("book", "resched"))
        if state.get("step") not in ("proposed", "confirming"):
            return [Reply(EXPIRED_TEXT, private=True)]
        return await self._offer(asker, sid, state, replace_=True, more=True)

    async def _pick(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, index = await self._load(asker, value, kind=("book", "resched"))
        slots = state.get("slots") or []
        if state.get("step") not in ("proposed", "confirming") or index is None or index >= len(slots):
            return [Reply(EXPIRED_TEXT, private=True)]
        state["chosen"] = slots[index]
        state["step"] = "confirming"
        await self.states.save(sid, state)
        chosen = _slot_text(slots[index], asker.timezone, state.get("coach_tz"))
        coach = await self._name(state["coach"])
        what = duration_label(int(state["duration"]))
        kind = state["kind"]
        if kind == "resched":
            old = await self._db(self.storage.bookings.get, state["booking"])
            was = range_label(old.start, old.end, asker.timezone) if old else "its old time"
            text = f"Move your session with {await self._other_names(state, asker)} to {chosen}?"
            details: tuple[str, ...] = (f"Now: {was}",)
        else:
            text = f"Book {what} with {coach} on {chosen}?"
            others = [p for p in state["participants"] if p != asker.person_id]
            details = (f"Coach: {coach}",)
            if others:
                details += (f"With: {await self._names(others)}",)
        choices = (
            Choice("Confirm", f"{kind}.confirm", sid, style="primary"),
            Choice("Back", f"{kind}.back", sid),
        )
        return [Reply(text, choices=choices, details=details, replace=True)]

    async def _other_names(self, state: dict[str, Any], asker: Asker) -> str:
        ids = [state["coach"], *state["participants"]]
        return await self._names([i for i in dict.fromkeys(ids) if i != asker.person_id])

    async def _back(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, _ = await self._load(asker, value, kind=("book", "resched"))
        if state.get("step") != "confirming":
            return [Reply(EXPIRED_TEXT, private=True)]
        state["step"] = "proposed"
        await self.states.save(sid, state)
        return [self._render_offer(asker, sid, state, "Pick another time:", replace_=True)]

    async def _book_confirm(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, _ = await self._load(asker, value, kind="book")
        if state.get("step") == "confirmed":
            booking = await self._db(self.storage.bookings.get, state.get("booking", ""))
            if booking is not None:
                return [Reply("Already booked: " + await self._booking_line(booking, asker.person_id,
                                                                              asker.timezone), replace=True)]
        if state.get("step") != "confirming" or not state.get("chosen"):
            return [Reply(EXPIRED_TEXT, private=True)]
        slot = _interval(state["chosen"])
        result = await self.bookings.book(
            coach_id=state["coach"],
            participant_ids=tuple(state["participants"]),
            slot=slot,
            idempotency_key=f"chat:{sid}:{state['chosen'][0]}",
        )
        if isinstance(result, Taken):
            return await self._taken(asker, sid, state, result)
        booking = result.booking
        state["step"] = "confirmed"
        state["booking"] = booking.id
        await self.states.save(sid, state, ttl=timedelta(days=1))
        coach = await self._name(booking.coach_id)
        names = await self._names(booking.participant_ids)
        what = duration_label(int(state["duration"]))
        mine = slot_label(booking.start, booking.end, asker.timezone, state.get("coach_tz"))
        replies = [
            Reply(
                f"Booked: {what} with {coach}, {mine}. You'll both get a message.",
                replace=True,
                details=result.calendar_problems,
            )
        ]
        replies += await self._tell(
            [booking.coach_id], lambda tz: f"New session booked: {what} with {names}, "
            f"{range_label(booking.start, booking.end, tz)}."
        )
        replies += await self._tell(
            [p for p in booking.participant_ids if p != booking.coach_id],
            lambda tz: f"Your session with {coach} is confirmed: {range_label(booking.start, booking.end, tz)}.",
        )
        return replies

    async def _taken(self, asker: Asker, sid: str, state: dict[str, Any], taken: Taken) -> list[Reply]:
        alternatives = taken.alternatives
        details = tuple(f"I couldn't check {n}, so it was treated as busy." for n in alternatives.unchecked)
        slots = sorted(alternatives.slots, key=lambda s: s.start)[:MAX_OFFER]
        state["step"] = "proposed"
        state.pop("chosen", None)
        if not slots:
            state["slots"] = []
            await self.states.save(sid, state)
            return [Reply(f"{taken.reason} I couldn't find other free times soon; try another week.",
                          details=details, replace=True)]
        state["slots"] = [[_iso(s.start), _iso(s.end)] for s in slots]
        state["shown"] = [*state.get("shown", []), *state["slots"]]
        state["coach_tz"] = alternatives.coach_timezone
        await self.states.save(sid, state)
        return [self._render_offer(asker, sid, state, f"{taken.reason} Here are other times:", details=details,
                                   replace_=True)]

    # ------------------------------------------------------------------------------------------------ availability

    async def _availability(self, asker: Asker, parsed: ParsedRequest, text: str) -> list[Reply]:
        refs = list(parsed.participants) or find_names(text)
        people = await resolve_people(self.storage, refs, asker=asker)
        target = people[0] if people else None
        if target is None and await self._is_coach(asker.person_id):
            target = await self._person(asker.person_id)
        if target is None:
            return await self._start_book(asker, parsed, text)
        if not await self._is_coach(target.id):
            raise BookingError(f"{target.display_name} doesn't offer sessions yet (no coaching hours are set up).")
        settings = await self.bookings.settings_for(target.id)
        duration = parsed.duration_minutes or min(settings.session_lengths)
        now = self.clock()
        windows = [[_iso(w.start), _iso(w.end)] for w in parsed.windows] or [[_iso(now), _iso(now + timedelta(days=7))]]
        if target.id == asker.person_id:
            proposal = await self.bookings.propose(
                ProposalRequest(coach_id=target.id, participant_ids=(), duration=timedelta(minutes=duration),
                                window=_interval(windows[0]), max_results=10)
            )
            if not proposal.slots:
                return [Reply("You have no free time for sessions then.", details=proposal.explain[:3])]
            lines = [range_label(s.start, s.end, asker.timezone) for s in proposal.slots]
            return [Reply(f"You're free for {duration_label(duration)} sessions at:\n" + "\n".join(lines))]
        state: dict[str, Any] = {
            "kind": "book",
            "step": "awaiting_details",
            "owner": asker.person_id,
            "coach": target.id,
            "participants": [asker.person_id],
            "duration": duration,
            "windows": windows,
            "shown": [],
            "slots": [],
            "lead": f"{target.display_name} is free for {duration_label(duration)} at these times; pick one to book:",
        }
        sid = await self.states.new(state)
        return await self._offer(asker, sid, state)

    # ------------------------------------------------------------------------------------------------ list, cancel

    async def _upcoming(self, asker: Asker, refs: Sequence[str], *, confirmed_only: bool = False) -> list[Booking]:
        bookings: list[Booking] = await self._db(
            self.storage.bookings.upcoming_for_person, asker.person_id, now=self.clock(), limit=20
        )
        if confirmed_only:
            bookings = [b for b in bookings if b.status == BookingStatus.CONFIRMED]
        if refs:
            people = await resolve_people(self.storage, refs, asker=asker)
            ids = {p.id for p in people} - {asker.person_id}
            if ids:
                bookings = [b for b in bookings if ids & {b.coach_id, *b.participant_ids}]
        return bookings

    async def _list(self, asker: Asker) -> list[Reply]:
        bookings = await self._upcoming(asker, ())
        if not bookings:
            return [Reply("You have no upcoming sessions. Say \"book 30 min with dana\" to book one.")]
        lines = [await self._booking_line(b, asker.person_id, asker.timezone) for b in bookings]
        return [Reply("Your upcoming sessions:\n" + "\n".join(f"• {line}" for line in lines))]

    async def _cancel(self, asker: Asker, parsed: ParsedRequest, text: str) -> list[Reply]:
        bookings = await self._upcoming(asker, list(parsed.participants) or find_names(text))
        if not bookings:
            return [Reply("You have no upcoming sessions to cancel.")]
        bookings = bookings[:8]
        sid = await self.states.new({"kind": "cancel", "owner": asker.person_id, "bookings": [b.id for b in bookings]})
        choices = []
        for i, booking in enumerate(bookings):
            others = await self._names(self._other_side(booking, asker.person_id))
            when = range_label(booking.start, booking.end, asker.timezone)
            choices.append(
                Choice(f"Cancel {when} with {others}", "cancel.pick", f"{sid}:{i}", style="danger",
                       confirm=f"Cancel your session with {others} on {when}? They'll be told.")
            )
        return [Reply("Which session do you want to cancel?", choices=tuple(choices))]

    async def _cancel_pick(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, index = await self._load(asker, value, kind="cancel")
        ids = state.get("bookings") or []
        if index is None or index >= len(ids):
            return [Reply(EXPIRED_TEXT, private=True)]
        booking = await self.bookings.cancel(ids[index], by=asker.person_id)
        await self.states.delete(sid)
        others = self._other_side(booking, asker.person_id)
        when = range_label(booking.start, booking.end, asker.timezone)
        replies = [Reply(f"Cancelled your session with {await self._names(others)} on {when}. "
                         "I've let them know.", replace=True)]
        replies += await self._tell(
            others, lambda tz: f"{asker.display_name} cancelled your session on "
            f"{range_label(booking.start, booking.end, tz)}.", skip=asker.person_id
        )
        return replies

    # ------------------------------------------------------------------------------------------------ reschedule

    async def _reschedule(self, asker: Asker, parsed: ParsedRequest, text: str) -> list[Reply]:
        bookings = await self._upcoming(asker, list(parsed.participants) or find_names(text), confirmed_only=True)
        if not bookings:
            return [Reply("You have no upcoming confirmed sessions to move.")]
        bookings = bookings[:8]
        state: dict[str, Any] = {
            "kind": "resched",
            "step": "awaiting_details",
            "owner": asker.person_id,
            "bookings": [b.id for b in bookings],
            "windows": [[_iso(w.start), _iso(w.end)] for w in parsed.windows],
            "shown": [],
            "slots": [],
        }
        sid = await self.states.new(state)
        if len(bookings) == 1:
            return await self._resched_start(asker, sid, state, bookings[0], replace_=False)
        choices = []
        for i, booking in enumerate(bookings):
            choices.append(Choice(await self._booking_line(booking, asker.person_id, asker.timezone),
                                  "resched.which", f"{sid}:{i}"))
        return [Reply("Which session do you want to move?", choices=tuple(choices))]

    async def _resched_which(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, index = await self._load(asker, value, kind="resched")
        ids = state.get("bookings") or []
        if index is None or index >= len(ids):
            return [Reply(EXPIRED_TEXT, private=True)]
        booking = await self._db(self.storage.bookings.get, ids[index])
        if booking is None or booking.status != BookingStatus.CONFIRMED:
            return [Reply("That session is no longer booked.", replace=True)]
        return await self._resched_start(asker, sid, state, booking, replace_=True)

    async def _resched_start(self, asker: Asker, sid: str, state: dict[str, Any], booking: Booking, *,
                             replace_: bool) -> list[Reply]:
        state.update(
            booking=booking.id,
            coach=booking.coach_id,
            participants=list(booking.participant_ids),
            duration=int(booking.interval.duration.total_seconds() // 60),
        )
        was = range_label(booking.start, booking.end, asker.timezone)
        others = await self._names(self._other_side(booking, asker.person_id))
        state["lead"] = f"New times for your session with {others} (now {was}):"
        return await self._offer(asker, sid, state, replace_=replace_)

    async def _resched_confirm(self, asker: Asker, value: str) -> list[Reply]:
        sid, state, _ = await self._load(asker, value, kind="resched")
        if state.get("step") == "confirmed":
            return [Reply("Already moved.", replace=True)]
        if state.get("step") != "confirming" or not state.get("chosen"):
            return [Reply(EXPIRED_TEXT, private=True)]
        result = await self.bookings.reschedule(
            state["booking"],
            new_slot=_interval(state["chosen"]),
            by=asker.person_id,
            idempotency_key=f"chat:{sid}:{state['chosen'][0]}",
        )
        if isinstance(result, Taken):
            return await self._taken(asker, sid, state, result)
        assert isinstance(result, Booked)
        new, old = result.booking, result.replaced
        state["step"] = "confirmed"
        state["booking"] = new.id
        await self.states.save(sid, state, ttl=timedelta(days=1))
        others = self._other_side(new, asker.person_id)
        was = range_label(old.start, old.end, asker.timezone) if old else "its old time"
        now_label = slot_label(new.start, new.end, asker.timezone, state.get("coach_tz"))
        replies = [Reply(f"Moved: your session with {await self._names(others)} is now {now_label} (was {was}). "
                         "I've let them know.", replace=True, details=result.calendar_problems)]

        def told(tz: str) -> str:
            before = f" from {range_label(old.start, old.end, tz)}" if old else ""
            return f"{asker.display_name} moved your session{before} to {range_label(new.start, new.end, tz)}."

        replies += await self._tell(others, told, skip=asker.person_id)
        return replies

    # ------------------------------------------------------------------------------------------------ connect

    def _no_connector(self) -> list[Reply]:
        providers = ", ".join(PROVIDER_LABELS.values())
        return [Reply(f"Calendar connections aren't configured here. Providers: {providers}.", private=True)]

    async def _connect(self, asker: Asker, provider: str | None) -> list[Reply]:
        if self.connector is None:
            return self._no_connector()
        available = getattr(self.connector, "available", None)  # what this server can connect, when it says
        offered = {k: v for k, v in PROVIDER_LABELS.items() if available is None or k in available}
        if not provider:
            choices = tuple(Choice(label, "connect.start", key) for key, label in offered.items())
            return [Reply("Which calendar do you want to connect?", choices=choices, private=True)]
        if provider in PROVIDER_LABELS and provider not in offered:
            return [Reply(
                f"{PROVIDER_LABELS[provider]} is not set up on this server; you can connect: "
                f"{', '.join(offered.values())}.", private=True,
            )]
        # what is connected, and one account's calendars chosen again, are the connector's too
        if provider not in PROVIDER_LABELS and provider != LIST_CALENDARS and not provider.startswith(PICK_AGAIN):
            return [Reply(f"I can't connect {provider}; pick one of: {', '.join(PROVIDER_LABELS.values())}.")]
        return await self.connector.start(asker.person_id, provider)

    # ------------------------------------------------------------------------------------------------ polls

    async def _poll(self, asker: Asker, parsed: ParsedRequest, text: str) -> list[Reply]:
        from bot.handlers.poll import start_poll

        return await start_poll(self, asker, parsed, text)

    async def _poll_vote(self, asker: Asker, value: str) -> list[Reply]:
        from bot.handlers.poll import vote

        return await vote(self, asker, value)

    async def _poll_close(self, asker: Asker, value: str) -> list[Reply]:
        from bot.handlers.poll import close

        return await close(self, asker, value)

    async def _poll_duration(self, asker: Asker, value: str) -> list[Reply]:
        from bot.handlers.poll import pick_duration

        return await pick_duration(self, asker, value)

    async def _poll_create(self, asker: Asker, value: str) -> list[Reply]:
        from bot.handlers.poll import create

        return await create(self, asker, value)

    async def _poll_change(self, asker: Asker, value: str) -> list[Reply]:
        from bot.handlers.poll import change

        return await change(self, asker, value)


def _slot_text(pair: Sequence[str], tz: str, coach_tz: str | None) -> str:
    interval = _interval(pair)
    return slot_label(interval.start, interval.end, tz, coach_tz)


def _pick_spread(slots: list[Slot]) -> list[Slot]:
    """At most five, taken from the (already ranked) proposals."""
    return slots[:MAX_OFFER]
