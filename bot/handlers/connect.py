"""The calendar-connection port the conversation calls; the calendars issue implements it.

``Conversation`` calls ``start`` when someone asks to connect a calendar ("connect my google calendar") or clicks
a provider button (action ``connect.start``, value the provider), and ``submit`` for every form whose id starts
with ``CONNECT_FORM_PREFIX`` (e.g. a CalDAV URL + app password form).  Choices the connector returns should use
actions starting with ``connect.``; the conversation passes ``connect.start`` clicks back to ``start``.
"""

from __future__ import annotations

from typing import Protocol

from bot.handlers.replies import Reply

__all__ = ["CONNECT_FORM_PREFIX", "LIST_CALENDARS", "PICK_AGAIN", "PROVIDER_LABELS", "CalendarConnector"]

CONNECT_FORM_PREFIX = "connect:"
# Two ``start`` values that are not providers: what the person has connected, and one account's pick form again.
LIST_CALENDARS = "calendars"
PICK_AGAIN = "pick:"  # followed by the account id

PROVIDER_LABELS: dict[str, str] = {
    "google": "Google Calendar",
    "microsoft": "Microsoft 365 / Outlook",
    "icloud": "iCloud",
    "caldav": "CalDAV",
    "ics": "ICS feed (a calendar's secret iCal address, read-only)",
}


class CalendarConnector(Protocol):
    async def start(self, person_id: str, provider: str) -> list[Reply]:
        """Begin connecting ``provider`` for the person: a link to follow, or a form to fill in.  Two more values:
        ``LIST_CALENDARS`` lists what the person has connected, ``PICK_AGAIN + <account id>`` asks again which of
        that account's calendars count as busy and which one receives bookings."""
        ...

    async def submit(self, person_id: str, form_id: str, values: dict[str, str]) -> list[Reply]:
        """A connection form came back (its id starts with ``CONNECT_FORM_PREFIX``)."""
        ...
