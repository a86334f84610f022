"""The pure scheduling core: intervals, weekly hours, buffers, policy, slot search, explanations, polls.

Standard library only: no I/O, no clock (``now`` is passed in), no framework imports.
"""

from bot.scheduling.intervals import Interval, intersect, merge, subtract
from bot.scheduling.model import (
    Booking,
    BookingStatus,
    BusyEvent,
    ClockRange,
    CoachSettings,
    Participant,
    Policy,
    Slot,
    SlotRequest,
    SlotResult,
    WeeklyHours,
)
from bot.scheduling.search import find_slots

__all__ = [
    "Booking",
    "BookingStatus",
    "BusyEvent",
    "ClockRange",
    "CoachSettings",
    "Interval",
    "Participant",
    "Policy",
    "Slot",
    "SlotRequest",
    "SlotResult",
    "WeeklyHours",
    "find_slots",
    "intersect",
    "merge",
    "subtract",
]
