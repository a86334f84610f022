"""People behind chat identities, and the people a message names ("<@U123>", "Dana Smith", "dana")."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from typing import Any

from bot.handlers.replies import Asker
from bot.scheduling.model import Identity, Person, load_zone

__all__ = ["UnknownPerson", "find_names", "person_for", "resolve_people", "resolve_person", "slug"]

_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|([^>]*))?>$")
_NOT_NAMES_TEXT = (
    "me you us them him her someone somebody anyone anybody a an the my our your coach mentor session meeting "
    "call chat time free available availability calendar"
)
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
_WITH = re.compile(r"\bwith\s+@?([A-Za-z][\w.'-]*(?:\s+[A-Z][\w'-]*)?)")
_IS_FREE = re.compile(
    r"\b(?:is|when's|whens|when\s+is|are)\s+@?([A-Za-z][\w.'-]*)\s+(?:free|available|around|busy)", re.IGNORECASE
)
_POSSESSIVE = re.compile(r"\b@?([A-Za-z][\w.-]*)'s\s+(?:availability|calendar|free|schedule|hours)", re.IGNORECASE)


class UnknownPerson(Exception):
    """A name or mention that matches nobody (or several people); the message says so plainly."""

    def __init__(self, ref: str, message: str | None = None) -> None:
        super().__init__(message or f"I don't know anyone called {ref}.")
        self.ref = ref


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def _safe_zone(name: str | None) -> str:
    if not name:
        return "UTC"
    try:
        load_zone(name)
    except ValueError:
        return "UTC"
    return name


async def person_for(
    storage: Any, identity: Identity, *, display_name: str, timezone: str, email: str | None = None
) -> Person:
    """The person behind ``identity``, created on first contact; their zone (and name, email) kept up to date."""
    return await asyncio.to_thread(
        _person_for, storage, identity, display_name=display_name, timezone=timezone, email=email
    )


def _person_for(storage: Any, identity: Identity, *, display_name: str, timezone: str, email: str | None) -> Person:
    zone = _safe_zone(timezone)
    name = " ".join((display_name or "").split()) or identity.external_id
    person: Person | None = storage.people.by_identity(identity)
    if person is not None:
        changes: dict[str, Any] = {}
        if timezone and zone != person.timezone and zone == timezone:
            changes["timezone"] = zone
        if email and email != person.email:
            changes["email"] = email
        if changes:
            from dataclasses import replace

            person = replace(person, **changes)
            storage.people.update(person)
        return person
    handle = None
    for candidate in (slug(name.split()[0]) if name.split() else "", slug(name)):
        if candidate and storage.people.by_handle(candidate) is None:
            handle = candidate
            break
    new = Person(id=uuid.uuid4().hex[:16], display_name=name, timezone=zone, email=email, handle=handle)
    try:
        storage.people.add(new, [identity])
    except ValueError:
        # Two first messages at once: the other one created the person; or the handle was taken meanwhile.
        again: Person | None = storage.people.by_identity(identity)
        if again is not None:
            return again
        new = Person(id=new.id, display_name=name, timezone=zone, email=email, handle=None)
        storage.people.add(new, [identity])
    return new


async def resolve_person(storage: Any, ref: str, *, asker: Asker) -> Person:
    """One participant reference from the parser -> a Person; raises ``UnknownPerson`` with a clear message."""
    return await asyncio.to_thread(_resolve, storage, ref, asker)


async def resolve_people(storage: Any, refs: Sequence[str], *, asker: Asker) -> list[Person]:
    out: list[Person] = []
    for ref in refs:
        person = await resolve_person(storage, ref, asker=asker)
        if all(p.id != person.id for p in out):
            out.append(person)
    return out


def _resolve(storage: Any, ref: str, asker: Asker) -> Person:
    text = ref.strip()
    mention = _MENTION.match(text)
    if mention:
        person: Person | None = storage.people.by_identity(
            Identity(surface="slack", external_id=mention.group(1), tenant=asker.tenant)
        )
        if person is None and not asker.tenant:
            person = storage.people.by_identity(Identity(surface="slack", external_id=mention.group(1)))
        if person is None:
            shown = f"@{mention.group(2)}" if mention.group(2) else text
            raise UnknownPerson(
                text, f"I don't know {shown} yet: they need to send me a message once before I can book with them."
            )
        return person
    if text.startswith("<at>") and text.endswith("</at>"):
        text = text[4:-5]
    text = text.lstrip("@").strip()
    if not text:
        raise UnknownPerson(ref)
    person = storage.people.get(text) or storage.people.by_handle(text)
    if person is not None:
        return person
    matches: list[Person] = storage.people.by_name(text)
    if not matches:
        slugged = slug(text)
        if slugged and slugged != text.lower():
            found: Person | None = storage.people.by_handle(slugged)
            if found is not None:
                return found
        raise UnknownPerson(text)
    exact = [p for p in matches if p.display_name.lower() == text.lower()]
    if len(exact) == 1:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(p.display_name + (f" (@{p.handle})" if p.handle else "") for p in matches[:5])
    raise UnknownPerson(text, f"Several people are called {text}: {names}. Which one? Use their @handle.")


def find_names(text: str) -> list[str]:
    """Names the parser did not pick up: "book with dana", "when is dana free", "dana's availability"."""
    out: list[str] = []
    for rx in (_WITH, _IS_FREE, _POSSESSIVE):
        for match in rx.finditer(text):
            words = match.group(1).split()
            while words and words[-1].lower() in _NOT_NAMES:
                words.pop()
            if not words or words[0].lower() in _NOT_NAMES:
                continue
            # "with dana next tuesday": keep a second word only when it is capitalised and not a time word
            if len(words) == 2 and words[1].lower() in _TIME_WORDS:
                words = words[:1]
            name = " ".join(words).rstrip(".,!?")
            if name and name not in out:
                out.append(name)
    return out


_TIME_WORDS_TEXT = (
    "next this today tomorrow monday tuesday wednesday thursday friday saturday sunday mon tue wed thu fri sat sun "
    "morning afternoon evening tonight week on at for in from"
)
_TIME_WORDS = frozenset(_TIME_WORDS_TEXT.split())
