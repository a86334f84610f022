"""Held-out table: realistic chat requests that no other test uses, checked field by field against the contract.

Frozen clocks sit on awkward days: the US spring-forward Sunday, the EU fall-back Sunday, the last day of a
month and the last day of the year. Rows for intents outside the contract accept a few sensible intents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from bot.language import parse_request

NOWS: dict[str, tuple[str, str]] = {
    # Sunday 2026-03-08 09:00 EDT: New York sprang forward at 02:00 this morning
    "ny_dst": ("2026-03-08T09:00:00-04:00", "America/New_York"),
    # Sunday 2026-10-25 11:00 CET: Berlin and Paris fell back at 03:00 this morning
    "ber_dst": ("2026-10-25T11:00:00+01:00", "Europe/Berlin"),
    "par_dst": ("2026-10-25T11:00:00+01:00", "Europe/Paris"),
    # Thursday 2026-12-31 16:00, London: the last day of the year
    "lon_ye": ("2026-12-31T16:00:00+00:00", "Europe/London"),
    # Thursday 2026-12-10 12:00, London: a few weeks before the year ends
    "lon_dec": ("2026-12-10T12:00:00+00:00", "Europe/London"),
    # Thursday 2026-04-30 15:00, Madrid: the last day of a month
    "mad_me": ("2026-04-30T15:00:00+02:00", "Europe/Madrid"),
    # Friday 2026-02-27 17:00, São Paulo: the last working day of February
    "sao_feb": ("2026-02-27T17:00:00-03:00", "America/Sao_Paulo"),
    # Sunday 2026-05-31 09:00, Rome: the last day of a month
    "rom_me": ("2026-05-31T09:00:00+02:00", "Europe/Rome"),
}


@dataclass(frozen=True)
class Row:
    now: str
    text: str
    intent: str | tuple[str, ...]
    people: list[str] = field(default_factory=list)
    minutes: int | None = None
    windows: list[tuple[str, str]] | None = None  # None: not checked (intent outside the contract)
    zone: str | None = None  # default: the person's zone
    extra: dict[str, Any] = field(default_factory=dict)


def w(d: str, t1: str, t2: str, off: str, d2: str | None = None) -> tuple[str, str]:
    return (f"{d}T{t1}:00{off}", f"{d2 or d}T{t2}:00{off}")


E, C, M, Z, S = "-04:00", "+01:00", "+02:00", "+00:00", "-03:00"
WEEKDAYS5 = ("mon", "tue", "wed", "thu", "fri")

ROWS: list[Row] = [
    # ---------------- English, New York, Sunday 2026-03-08 09:00 EDT (DST day)
    Row("ny_dst", "grab 20 mins with @Dana Thursday after lunch", "book", ["Dana"], 20,
        [w("2026-03-12", "13:00", "17:00", E)]),
    Row("ny_dst", "can we push my 3pm to Friday morning?", "reschedule", [], None,
        [w("2026-03-13", "08:00", "12:00", E)]),
    # early in a week: Monday to Wednesday (as "beginning of the week")
    Row("ny_dst", "any openings for a 1h session early next week?", "availability", [], 60,
        [("2026-03-09T00:00:00-04:00", "2026-03-12T00:00:00-04:00")]),
    Row("ny_dst", "I can't make it tomorrow, cancel please", "cancel", [], None,
        [("2026-03-09T00:00:00-04:00", "2026-03-10T00:00:00-04:00")]),
    Row("ny_dst", "what's on my calendar this week", "list", [], None,
        [("2026-03-02T00:00:00-05:00", "2026-03-09T00:00:00-04:00")]),
    Row("ny_dst", "run a doodle for the team next week, 45 min", "poll", [], 45,
        [("2026-03-09T00:00:00-04:00", "2026-03-16T00:00:00-04:00")]),
    Row("ny_dst", "I'm off Dec 24 to Jan 2", ("unknown", "set_hours"), [], None,
        [("2026-12-24T00:00:00-05:00", "2027-01-03T00:00:00-05:00")]),
    Row("ny_dst", "block lunch 12-1 every day", ("unknown", "set_hours"), [], None, None),
    Row("ny_dst", "book 45 minutes with Priya tomorrow at 2:30pm", "book", ["Priya"], 45,
        [w("2026-03-09", "14:30", "15:15", E)]),
    Row("ny_dst", "set up a 1:1 with <@U024BE7LH> Tuesday 10am", "book", ["<@U024BE7LH>"], None,
        [w("2026-03-10", "10:00", "10:30", E)]),
    Row("ny_dst", "is Lee free later today?", "availability", ["Lee"], None,
        [("2026-03-08T09:00:00-04:00", "2026-03-09T00:00:00-04:00")]),
    Row("ny_dst", "what do I have tomorrow", "list", [], None,
        [("2026-03-09T00:00:00-04:00", "2026-03-10T00:00:00-04:00")]),
    Row("ny_dst", "cancel my 2pm today", "cancel", [], None, [w("2026-03-08", "14:00", "14:30", E)]),
    Row("ny_dst", "reschedule tomorrow's call with Sam to Wednesday at 4", "reschedule", ["Sam"], None,
        [w("2026-03-11", "16:00", "16:30", E)]),
    Row("ny_dst", "tonight at 8 with Chris", "book", ["Chris"], None, [w("2026-03-08", "20:00", "20:30", E)]),
    Row("ny_dst", "how about 10 tomorrow for half an hour", "book", [], 30, [w("2026-03-09", "10:00", "10:30", E)]),
    Row("ny_dst", "what can you do?", "help"),
    Row("ny_dst", "how do I use this?", "help"),
    Row("ny_dst", "hook up my Fastmail calendar", "connect", extra={"provider": "caldav"}),
    Row("ny_dst", "sync my iPhone calendar", "connect", extra={"provider": "icloud"}),
    Row("ny_dst", "add 10 min padding after every meeting", "set_buffer",
        extra={"buffer_before_minutes": None, "buffer_after_minutes": 10}),
    Row("ny_dst", "set a 10 minute buffer before meetings", "set_buffer",
        extra={"buffer_before_minutes": 10, "buffer_after_minutes": None}),
    Row("ny_dst", "my hours are weekdays 9 to 5", "set_hours",
        extra={"hours": {d: [["09:00", "17:00"]] for d in WEEKDAYS5}}),
    Row("ny_dst", "I work Mon, Wed and Fri from 10am to 4pm", "set_hours",
        extra={"hours": {d: [["10:00", "16:00"]] for d in ("mon", "wed", "fri")}}),
    Row("ny_dst", "change my Friday hours to 9-1", "set_hours", extra={"hours": {"fri": [["09:00", "13:00"]]}}),
    Row("ny_dst", "find 30 min for me and Jordan next Thursday afternoon", "book", ["Jordan"], 30,
        [w("2026-03-12", "12:00", "17:00", E)]),
    Row("ny_dst", "are you free on 3/17 between 9 and 11?", "availability", [], None,
        [w("2026-03-17", "09:00", "11:00", E)]),
    Row("ny_dst", "let's meet the day after tomorrow at noon", "book", [], None,
        [w("2026-03-10", "12:00", "12:30", E)]),
    Row("ny_dst", "schedule a 2 hour workshop with the team on March 20 from 1 to 3pm", "book", [], 120,
        [w("2026-03-20", "13:00", "15:00", E)]),
    Row("ny_dst", "quick sync with Maria in 3 hours", "book", ["Maria"], None,
        [w("2026-03-08", "12:00", "12:30", E)]),
    Row("ny_dst", "drop my 4pm with Alex on Tuesday", "cancel", ["Alex"], None,
        [w("2026-03-10", "16:00", "16:30", E)]),
    Row("ny_dst", "list my upcoming sessions", "list", [], None, []),
    Row("ny_dst", "show me my meetings next week", "list", [], None,
        [("2026-03-09T00:00:00-04:00", "2026-03-16T00:00:00-04:00")]),
    Row("ny_dst", "when is Omar free on Saturday?", "availability", ["Omar"], None,
        [("2026-03-14T00:00:00-04:00", "2026-03-15T00:00:00-04:00")]),
    Row("ny_dst", "book a call with Dana Smith and <@U0G9QF9C6> for Tuesday March 10 at 9:15am", "book",
        ["Dana Smith", "<@U0G9QF9C6>"], None, [w("2026-03-10", "09:15", "09:45", E)]),
    Row("ny_dst", "next Friday 4-5pm with Kim", "book", ["Kim"], None, [w("2026-03-13", "16:00", "17:00", E)]),
    Row("ny_dst", "Is everyone free at 11:30 on Wednesday?", "availability", [], None,
        [w("2026-03-11", "11:30", "12:00", E)]),
    Row("ny_dst", "book an hour and 15 minutes with Ana on Monday at 1pm", "book", ["Ana"], 75,
        [w("2026-03-09", "13:00", "14:15", E)]),
    Row("ny_dst", "Can Sam and I get 25 minutes this afternoon?", ("book", "availability"), ["Sam"], 25,
        [w("2026-03-08", "12:00", "17:00", E)]),
    Row("ny_dst", "let's do Tuesday 3pm London time", "book", [], None, [w("2026-03-10", "15:00", "15:30", Z)],
        zone="Europe/London"),
    # ---------------- German, Berlin, Sunday 2026-10-25 11:00 CET (DST day)
    Row("ber_dst", "Termin mit Jonas morgen um 10 Uhr", "book", ["Jonas"], None,
        [w("2026-10-26", "10:00", "10:30", C)]),
    Row("ber_dst", "Hast du heute Nachmittag Zeit?", "availability", [], None, [w("2026-10-25", "12:00", "17:00", C)]),
    Row("ber_dst", "Bitte sage das Meeting am Mittwoch ab", "cancel", [], None,
        [("2026-10-28T00:00:00+01:00", "2026-10-29T00:00:00+01:00")]),
    Row("ber_dst", "Können wir das Gespräch auf Freitagvormittag verschieben?", "reschedule", [], None,
        [w("2026-10-30", "08:00", "12:00", C)]),
    Row("ber_dst", "Was habe ich diese Woche?", "list", [], None,
        [("2026-10-19T00:00:00+02:00", "2026-10-26T00:00:00+01:00")]),
    Row("ber_dst", "Meine Arbeitszeiten sind Montag bis Donnerstag 9-17 Uhr", "set_hours",
        extra={"hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu")}}),
    Row("ber_dst", "eine Stunde mit Lena nächsten Dienstag um 14:30", "book", ["Lena"], 60,
        [w("2026-10-27", "14:30", "15:30", C)]),
    Row("ber_dst", "Umfrage für nächste Woche, 45 Minuten", "poll", [], 45,
        [("2026-10-26T00:00:00+01:00", "2026-11-02T00:00:00+01:00")]),
    Row("ber_dst", "heute in 2 Stunden kurz telefonieren", "book", [], None, [w("2026-10-25", "13:00", "13:30", C)]),
    Row("ber_dst", "Bist du am Donnerstag zwischen 13 und 15 Uhr frei?", "availability", [], None,
        [w("2026-10-29", "13:00", "15:00", C)]),
    Row("ber_dst", "15 Minuten Puffer vor und nach jedem Termin", "set_buffer",
        extra={"buffer_before_minutes": 15, "buffer_after_minutes": 15}),
    Row("ber_dst", "verbinde meinen Google Kalender", "connect", extra={"provider": "google"}),
    # ---------------- French, Paris, Sunday 2026-10-25 11:00 CET (DST day)
    Row("par_dst", "Réserve 30 minutes avec Claire jeudi à 9h", "book", ["Claire"], 30,
        [w("2026-10-29", "09:00", "09:30", C)]),
    Row("par_dst", "Tu es libre demain matin ?", "availability", [], None, [w("2026-10-26", "08:00", "12:00", C)]),
    Row("par_dst", "Annule mon rendez-vous de vendredi", "cancel", [], None,
        [("2026-10-30T00:00:00+01:00", "2026-10-31T00:00:00+01:00")]),
    Row("par_dst", "Peux-tu décaler la réunion à lundi prochain 16h ?", "reschedule", [], None,
        [w("2026-10-26", "16:00", "16:30", C)]),
    Row("par_dst", "Qu'est-ce que j'ai la semaine prochaine ?", "list", [], None,
        [("2026-10-26T00:00:00+01:00", "2026-11-02T00:00:00+01:00")]),
    Row("par_dst", "un sondage pour l'équipe jeudi ou vendredi après-midi", "poll", [], None,
        [w("2026-10-29", "12:00", "17:00", C), w("2026-10-30", "12:00", "17:00", C)]),
    Row("par_dst", "mes horaires sont du lundi au vendredi de 9h à 18h", "set_hours",
        extra={"hours": {d: [["09:00", "18:00"]] for d in WEEKDAYS5}}),
    Row("par_dst", "un appel d'une heure avec Hugo mardi en fin d'après-midi", "book", ["Hugo"], 60,
        [w("2026-10-27", "15:00", "18:00", C)]),
    # ---------------- English, London, Thursday 2026-12-31 16:00 (year end)
    Row("lon_ye", "book 30 min with Tom tomorrow at 10", "book", ["Tom"], 30, [w("2027-01-01", "10:00", "10:30", Z)]),
    Row("lon_ye", "any time next week for a 90 minute review?", ("availability", "book"), [], 90,
        [("2027-01-04T00:00:00+00:00", "2027-01-11T00:00:00+00:00")]),
    Row("lon_ye", "what's on next Monday", "list", [], None,
        [("2027-01-04T00:00:00+00:00", "2027-01-05T00:00:00+00:00")]),
    Row("lon_ye", "move Friday's session to Jan 5 at 3pm", "reschedule", [], None,
        [w("2027-01-05", "15:00", "15:30", Z)]),
    Row("lon_ye", "tonight at 11pm, 15 minutes, with Ravi", "book", ["Ravi"], 15,
        [w("2026-12-31", "23:00", "23:15", Z)]),
    Row("lon_ye", "cancel everything on New Year's Day", "cancel", [], None,
        [("2027-01-01T00:00:00+00:00", "2027-01-02T00:00:00+00:00")]),
    Row("lon_ye", "coffee with Mia on the 8th around 4pm", "book", ["Mia"], None,
        [w("2027-01-08", "16:00", "16:30", Z)]),
    Row("lon_dec", "is Noah available between Christmas and New Year's?", "availability", ["Noah"], None,
        [("2026-12-25T00:00:00+00:00", "2027-01-02T00:00:00+00:00")]),
    Row("lon_dec", "I'm out of office Dec 21-23, nothing then please", "unknown", [], None,
        [("2026-12-21T00:00:00+00:00", "2026-12-24T00:00:00+00:00")]),
    # ---------------- Spanish, Madrid, Thursday 2026-04-30 15:00 (month end)
    Row("mad_me", "Reserva una hora con Lucía el lunes a las 11", "book", ["Lucía"], 60,
        [w("2026-05-04", "11:00", "12:00", M)]),
    Row("mad_me", "¿Tienes hueco mañana por la tarde?", "availability", [], None,
        [w("2026-05-01", "12:00", "17:00", M)]),
    Row("mad_me", "No puedo ir hoy, cancela la cita", "cancel", [], None,
        [("2026-04-30T00:00:00+02:00", "2026-05-01T00:00:00+02:00")]),
    Row("mad_me", "¿Podemos mover la reunión al martes a las 10?", "reschedule", [], None,
        [w("2026-05-05", "10:00", "10:30", M)]),
    Row("mad_me", "¿Qué tengo la próxima semana?", "list", [], None,
        [("2026-05-04T00:00:00+02:00", "2026-05-11T00:00:00+02:00")]),
    Row("mad_me", "Organiza una encuesta para el equipo, 45 minutos, la semana que viene", "poll", [], 45,
        [("2026-05-04T00:00:00+02:00", "2026-05-11T00:00:00+02:00")]),
    Row("mad_me", "quedamos el 2 de mayo a las 9:30", "book", [], None, [w("2026-05-02", "09:30", "10:00", M)]),
    Row("mad_me", "mi horario es de lunes a viernes de 8 a 16", "set_hours",
        extra={"hours": {d: [["08:00", "16:00"]] for d in WEEKDAYS5}}),
    Row("mad_me", "una llamada de 20 minutos con Pablo pasado mañana por la mañana", "book", ["Pablo"], 20,
        [w("2026-05-02", "08:00", "12:00", M)]),
    # ---------------- Portuguese, São Paulo, Friday 2026-02-27 17:00 (February end)
    Row("sao_feb", "Marcar 1 hora com Pedro segunda às 14h", "book", ["Pedro"], 60,
        [w("2026-03-02", "14:00", "15:00", S)]),
    Row("sao_feb", "Você está disponível amanhã de manhã?", "availability", [], None,
        [w("2026-02-28", "08:00", "12:00", S)]),
    Row("sao_feb", "Preciso cancelar a reunião de hoje", "cancel", [], None,
        [("2026-02-27T00:00:00-03:00", "2026-02-28T00:00:00-03:00")]),
    Row("sao_feb", "Dá para remarcar para terça à tarde?", "reschedule", [], None,
        [w("2026-03-03", "12:00", "17:00", S)]),
    Row("sao_feb", "O que eu tenho na próxima semana?", "list", [], None,
        [("2026-03-02T00:00:00-03:00", "2026-03-09T00:00:00-03:00")]),
    Row("sao_feb", "meu horário é de segunda a sexta das 9 às 18", "set_hours",
        extra={"hours": {d: [["09:00", "18:00"]] for d in WEEKDAYS5}}),
    Row("sao_feb", "conectar meu calendário do Outlook", "connect", extra={"provider": "microsoft"}),
    Row("sao_feb", "uma chamada de 30 minutos com Ana no dia 3 de março às 9h", "book", ["Ana"], 30,
        [w("2026-03-03", "09:00", "09:30", S)]),
    # ---------------- Italian, Rome, Sunday 2026-05-31 09:00 (month end)
    Row("rom_me", "Prenota un incontro di 45 minuti con Giulia domani alle 10", "book", ["Giulia"], 45,
        [w("2026-06-01", "10:00", "10:45", M)]),
    Row("rom_me", "Sei libero martedì pomeriggio?", "availability", [], None, [w("2026-06-02", "12:00", "17:00", M)]),
    Row("rom_me", "Disdici l'appuntamento di oggi", "cancel", [], None,
        [("2026-05-31T00:00:00+02:00", "2026-06-01T00:00:00+02:00")]),
    Row("rom_me", "Possiamo spostare la chiamata a venerdì mattina?", "reschedule", [], None,
        [w("2026-06-05", "08:00", "12:00", M)]),
    Row("rom_me", "Cosa ho la prossima settimana?", "list", [], None,
        [("2026-06-01T00:00:00+02:00", "2026-06-08T00:00:00+02:00")]),
    Row("rom_me", "i miei orari sono dal lunedì al venerdì dalle 9 alle 17", "set_hours",
        extra={"hours": {d: [["09:00", "17:00"]] for d in WEEKDAYS5}}),
    Row("rom_me", "collega il mio calendario Google", "connect", extra={"provider": "google"}),
    Row("rom_me", "10 minuti di margine prima e dopo", "set_buffer",
        extra={"buffer_before_minutes": 10, "buffer_after_minutes": 10}),
    Row("rom_me", "un sondaggio per la squadra la settimana prossima, un'ora", "poll", [], 60,
        [("2026-06-01T00:00:00+02:00", "2026-06-08T00:00:00+02:00")]),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.text[:60] for r in ROWS])
def test_heldout(row: Row) -> None:
    now, tz = NOWS[row.now]
    out = parse_request(row.text, now=datetime.fromisoformat(now), tz=tz).to_json()
    intents = (row.intent,) if isinstance(row.intent, str) else row.intent
    got = {
        "intent": out["intent"],
        "participants": out["participants"],
        "duration_minutes": out["duration_minutes"],
        "timezone": out["timezone"],
    }
    want = {
        "intent": out["intent"] if out["intent"] in intents else intents[0],
        "participants": row.people,
        "duration_minutes": row.minutes,
        "timezone": row.zone or tz,
    }
    if row.windows is not None:
        got["windows"] = [(x["start"], x["end"]) for x in out["windows"]]
        want["windows"] = row.windows
    for key, value in row.extra.items():
        got[key] = out[key]
        want[key] = value
    assert got == want
