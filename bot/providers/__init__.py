"""Calendar providers: read busy time from calendars (CalDAV, Google, Microsoft, ICS files, local bookings).

Each provider turns someone's calendar into ``BusyEvent``s of the scheduling core: when, and how it counts;
never what it is (no titles).
"""
