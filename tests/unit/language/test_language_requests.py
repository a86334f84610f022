"""Intents, people, durations, coach settings and six languages."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.language import INTENTS, parse_request

NY = "America/New_York"
THU = datetime.fromisoformat("2026-03-05T10:00:00-05:00")


def parse(text: str) -> dict:
    return parse_request(text, now=THU, tz=NY).to_json()


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("grab 30 min with Dana tomorrow", "book"),
        ("set up a call with Lee on Friday", "book"),
        ("find a time with Sam next week", "book"),
        ("any openings Thursday morning?", "availability"),
        ("Is Dana free between 1 and 3pm on Friday?", "availability"),
        ("move my 3pm to Friday at 10:30", "reschedule"),
        ("push tomorrow's session to next Monday", "reschedule"),
        ("can't make it today", "cancel"),
        ("cancel my meeting with Dana", "cancel"),
        ("run a doodle for next week", "poll"),
        ("what do I have this week", "list"),
        ("my hours are Mon-Thu 8:30 to 4:30 and Fri 9-12", "set_hours"),
        ("15 minutes before and after", "set_buffer"),
        ("no buffers", "set_buffer"),
        ("connect my Outlook calendar", "connect"),
        ("help", "help"),
        ("", "unknown"),
        ("lorem ipsum dolor", "unknown"),
    ],
)
def test_intents(text: str, intent: str) -> None:
    assert intent in INTENTS
    assert parse(text)["intent"] == intent


def test_reschedule_windows_are_the_new_time() -> None:
    out = parse("move my 3pm to Friday at 10:30")
    assert out["windows"] == [{"start": "2026-03-06T10:30:00-05:00", "end": "2026-03-06T11:00:00-05:00"}]


@pytest.mark.parametrize(
    ("text", "people"),
    [
        ("book 30 min with <@U024BE7LH> and Dana Smith", ["<@U024BE7LH>", "Dana Smith"]),
        ("meet <@U024BE7LH|dana> tomorrow", ["<@U024BE7LH|dana>"]),
        ("set up a call with <at>Lee Park</at> and Sam", ["Lee Park", "Sam"]),
        ("lunch with me on Friday", []),
        ("book dana@example.com for Monday", ["dana@example.com"]),
        ("run a poll with Dana, Lee and Sam", ["Dana", "Lee", "Sam"]),
    ],
)
def test_participants(text: str, people: list[str]) -> None:
    assert parse(text)["participants"] == people


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("book 30 min", 30), ("book 30m", 30), ("book half an hour", 30), ("an hour and a half", 90),
        ("book 1h30", 90), ("90 minutes please", 90), ("forty five minutes with Ana", 45), ("a 2 hour workshop", 120),
        ("book something tomorrow", None),
    ],
)
def test_durations(text: str, minutes: int | None) -> None:
    assert parse(text)["duration_minutes"] == minutes


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("my hours are Mon-Thu 8:30 to 4:30 and Fri 9-12",
         {"mon": [["08:30", "16:30"]], "tue": [["08:30", "16:30"]], "wed": [["08:30", "16:30"]],
          "thu": [["08:30", "16:30"]], "fri": [["09:00", "12:00"]]}),
        ("weekdays 10-12 and 14-18", {d: [["10:00", "12:00"], ["14:00", "18:00"]] for d in
                                      ("mon", "tue", "wed", "thu", "fri")}),
        ("change my hours on Wednesday to 7am - 3pm", {"wed": [["07:00", "15:00"]]}),
    ],
)
def test_weekly_hours(text: str, hours: dict) -> None:
    out = parse(text)
    assert out["intent"] == "set_hours"
    assert out["hours"] == hours


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [("15 minutes before and after", 15, 15), ("10 minutes after each session", None, 10), ("no buffers", 0, 0),
     ("a buffer of 5 minutes", 5, 5)],
)
def test_buffers(text: str, before: int | None, after: int | None) -> None:
    out = parse(text)
    assert out["intent"] == "set_buffer"
    assert (out["buffer_before_minutes"], out["buffer_after_minutes"]) == (before, after)


@pytest.mark.parametrize(
    ("text", "provider"),
    [("connect Google calendar", "google"), ("connect my Outlook calendar", "microsoft"),
     ("link my Office 365 calendar", "microsoft"), ("connect Exchange", "microsoft"),
     ("connect my iCloud calendar", "icloud"), ("connect a CalDAV calendar", "caldav"),
     ("connect my ics feed", "ics"), ("connect my calendar feed", "ics"), ("connect webcal", "ics"),
     ("connect an iCal link", "ics")],
)
def test_providers(text: str, provider: str) -> None:
    out = parse(text)
    assert out["intent"] == "connect"
    assert out["provider"] == provider


@pytest.mark.parametrize(
    ("text", "intent", "start", "end", "minutes"),
    [
        ("Reserva 30 minutos con Ana mañana a las 3 de la tarde", "book", "2026-03-06T15:00", "2026-03-06T15:30", 30),
        ("¿Estás disponible el próximo martes por la mañana?", "availability", "2026-03-10T08:00",
         "2026-03-10T12:00", None),
        ("cancela mi reunión de mañana", "cancel", "2026-03-06T00:00", "2026-03-07T00:00", None),
        ("Termin mit Jonas am Dienstag um 15 Uhr für eine halbe Stunde", "book", "2026-03-10T15:00",
         "2026-03-10T15:30", 30),
        ("Verschiebe das Treffen auf nächsten Montag um 9:30", "reschedule", "2026-03-09T09:30",
         "2026-03-09T10:00", None),
        ("Réserve une heure avec Marie demain à 14h30", "book", "2026-03-06T14:30", "2026-03-06T15:30", 60),
        ("Es-tu disponible mardi prochain l'après-midi ?", "availability", "2026-03-10T12:00",
         "2026-03-10T17:00", None),
        ("Marcar uma reunião de 45 minutos com João amanhã às 10h", "book", "2026-03-06T10:00",
         "2026-03-06T10:45", 45),
        ("Você está livre na sexta-feira à tarde?", "availability", "2026-03-06T12:00", "2026-03-06T17:00", None),
        ("Prenota mezz'ora con Luca domani alle 15", "book", "2026-03-06T15:00", "2026-03-06T15:30", 30),
        ("Sposta la riunione a lunedì prossimo alle 11", "reschedule", "2026-03-09T11:00", "2026-03-09T11:30",
         None),
    ],
)
def test_six_languages(text: str, intent: str, start: str, end: str, minutes: int | None) -> None:
    out = parse(text)
    assert out["intent"] == intent
    assert out["windows"][0]["start"].startswith(start)
    assert out["windows"][0]["end"].startswith(end)
    assert out["duration_minutes"] == minutes


def test_contract_keys() -> None:
    out = parse("book 30 min with Dana tomorrow at 3pm")
    assert set(out) == {"intent", "participants", "duration_minutes", "timezone", "windows", "hours",
                        "buffer_before_minutes", "buffer_after_minutes", "provider", "notes"}
    assert out["timezone"] == NY
