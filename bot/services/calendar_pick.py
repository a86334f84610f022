"""Which calendars count as busy, and which one receives bookings: the form sent after any account is connected.

Provider-neutral: CalDAV, iCloud and feeds send it straight after the connect form; Google and Microsoft send it
to the person's chat (``Notifier``) when their sign-in page comes back.  The form id is ``connect:pick:<account>``;
its answer is checked against the account's stored calendars (a form for someone else's account, or for calendars
that are gone, changes nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.handlers.connect import PICK_AGAIN
from bot.handlers.format import sync_status_label
from bot.handlers.replies import Choice, Field, FieldOption, Form, Reply
from bot.scheduling.ports import ProviderError, RemoteCalendar

__all__ = ["FORM_PREFIXES", "LABELS", "NO_PUSH", "PICK", "CalendarPicker"]

PICK = "connect:pick:"
FORM_PREFIXES = (PICK, "connect:caldav-pick:")  # the second: forms sent before the picker was shared
NO_PUSH = "none"
LABELS = {
    "icloud": "iCloud",
    "caldav": "CalDAV",
    "ics": "calendar feed",
    "google": "Google Calendar",
    "microsoft": "Microsoft 365 / Outlook",
}
_EXPIRED = 'That form has expired; say "connect my calendar" to start again.'


class CalendarPicker:
    """Builds the pick form for a connected account and stores the answer (``CalendarService`` does the work)."""

    def __init__(self, calendars: Any) -> None:
        self._calendars = calendars  # bot.services.calendars.CalendarService

    @staticmethod
    def owns(form_id: str) -> bool:
        return form_id.startswith(FORM_PREFIXES)

    async def summary(self, person_id: str, *, now: datetime) -> list[Reply]:
        """"my calendars": each account with its state, what counts as busy and where bookings go; a button per
        account reopens its pick form."""
        repo = self._calendars.storage.calendars

        def read() -> tuple[list[Any], dict[str, list[Any]]]:
            accounts = repo.accounts_for_person(person_id)
            return accounts, {a.id: repo.calendars_for_account(a.id) for a in accounts}

        accounts, calendars = await asyncio.to_thread(read)
        connect = Choice("Connect a calendar", "connect.start", "")
        if not accounts:
            return [Reply("You have no calendars connected yet.", choices=(connect,), private=True)]
        lines = ["Your calendars:"]
        choices: list[Choice] = []
        for account in accounts:
            label = LABELS.get(account.provider, account.provider)
            state = sync_status_label(account.status, account.last_synced_at, account.last_error, now=now)
            busy = ", ".join(c.name for c in calendars[account.id] if c.pull) or "none"
            line = f"• {label} ({account.display_name}): {state}. Busy from: {busy}."
            push = next((c.name for c in calendars[account.id] if c.push), None)
            if push is not None:
                line += f" New bookings go into {push}."
            if account.status == "needs_reconnect":
                line += f' Say "connect {account.provider}" to reconnect.'
            lines.append(line)
            choices.append(Choice(f"Change {label} ({account.display_name})"[:75], "connect.start",
                                  f"{PICK_AGAIN}{account.id}"))
        return [Reply("\n".join(lines), choices=(*choices, connect), private=True)]

    async def reopen(self, person_id: str, account_id: str) -> list[Reply]:
        """The pick form again for one account, with the calendars listed afresh (new ones appear)."""
        repo = self._calendars.storage.calendars
        account = await asyncio.to_thread(repo.get_account, account_id)
        if account is None or account.person_id != person_id:
            return [Reply(_EXPIRED, private=True)]
        label = LABELS.get(account.provider, account.provider)
        note = ""
        try:
            found: Sequence[RemoteCalendar] = await self._calendars.refresh_calendars(account_id)
        except ProviderError as exc:  # the calendars I already know can still be chosen
            found, note = (), f" (I could not ask {label} for its calendars just now: {exc}.)"
        reply = await self.offer(person_id, account, found)
        return [replace(reply, text=f"{label} ({account.display_name}): choose its calendars.{note}")]

    async def offer(self, person_id: str, account: Any, found: Sequence[RemoteCalendar]) -> Reply:
        """"Connected X. I found: ..." with the form; ``found`` is what the provider listed (read-only, primary)."""
        repo = self._calendars.storage.calendars
        stored = await asyncio.to_thread(repo.calendars_for_account, account.id)
        current_push = await asyncio.to_thread(repo.push_calendar, person_id)
        remote = {c.external_id: c for c in found}
        kind = str(account.provider)
        chosen = [c.id for c in stored if c.pull] or [c.id for c in stored]
        writable = [] if kind == "ics" else [c for c in stored if _writable(remote.get(c.external_id))]
        fields = [
            Field(
                "busy",
                "Which calendars count as busy?",
                kind="multiselect",
                value=",".join(chosen),
                options=tuple(FieldOption(c.id, c.name) for c in stored),
                hint="Times in these calendars are never offered for sessions.",
            )
        ]
        if writable:
            default_push = NO_PUSH
            if current_push is not None and any(c.id == current_push.id for c in writable):
                default_push = current_push.id
            elif current_push is None:
                primary = next((c for c in writable if _primary(remote.get(c.external_id))), None)
                default_push = (primary or writable[0]).id
            fields.append(
                Field(
                    "push",
                    "Which calendar receives new bookings?",
                    kind="select",
                    value=default_push,
                    options=(
                        *(FieldOption(c.id, c.name) for c in writable),
                        FieldOption(NO_PUSH, "None: do not add bookings to this account"),
                    ),
                    hint="You can have one for all your accounts; picking one here replaces the previous one.",
                )
            )
        label = LABELS.get(kind, kind)
        form = Form(id=f"{PICK}{account.id}", title=f"{label} calendars", fields=tuple(fields), submit_label="Save")
        names = ", ".join(c.name for c in stored) or "no calendars"
        return Reply(f"Connected {label} ({account.display_name}). I found: {names}.", form=form, private=True)

    async def picked(self, person_id: str, form_id: str, values: dict[str, str]) -> list[Reply]:
        account_id = next((form_id.removeprefix(p) for p in FORM_PREFIXES if form_id.startswith(p)), "")
        repo = self._calendars.storage.calendars
        account = await asyncio.to_thread(repo.get_account, account_id) if account_id else None
        if account is None or account.person_id != person_id:
            return [Reply(_EXPIRED)]
        stored = await asyncio.to_thread(repo.calendars_for_account, account_id)
        ids = {c.id for c in stored}
        busy = [v.strip() for v in (values.get("busy") or "").split(",") if v.strip()]
        push = (values.get("push") or "").strip() or NO_PUSH
        if any(b not in ids for b in busy) or (push != NO_PUSH and push not in ids):
            return [Reply("Some of those calendars no longer exist; please connect again.")]
        await self._calendars.choose_calendars(
            person_id, account_id, pull=busy, push=None if push == NO_PUSH else push
        )
        if push == NO_PUSH:
            current = await asyncio.to_thread(repo.push_calendar, person_id)
            if current is not None and current.account_id == account_id:
                await asyncio.to_thread(repo.set_push_calendar, person_id, None)
        report = await self._calendars.sync(account_id)
        names = {c.id: c.name for c in stored}
        lines = [f"Saved. Busy time comes from: {', '.join(names[b] for b in busy) or 'none'}."]
        if push != NO_PUSH:
            lines.append(f"New bookings go into {names[push]}.")
        if not report.ok:
            lines.append(f"(The first sync did not finish: {report.error}. I will keep trying.)")
        return [Reply(" ".join(lines))]


def _writable(remote: RemoteCalendar | None) -> bool:
    """A calendar the provider did not list this time is offered too: the write will say if it cannot."""
    return remote is None or not remote.read_only


def _primary(remote: RemoteCalendar | None) -> bool:
    return remote is not None and remote.primary
