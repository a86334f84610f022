"""Intent detection: the words people really use, in six languages."""

from __future__ import annotations

import re

__all__ = ["detect_intent", "detect_provider"]


def _rx(*alts: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])(?:" + "|".join(alts) + r")(?![\w])", re.IGNORECASE)


HELP = _rx(r"help", r"what can you do", r"how does this work", r"how do i use( this| you)?", r"commands?",
           r"usage", r"ayuda", r"hilfe", r"aide", r"ajuda", r"aiuto", r"\?+")
CONNECT = _rx(r"connect", r"link", r"hook up", r"integrate", r"sync(?:hroni[sz]e)?(?= (?:my|with my|to my))",
              r"add my (?:\w+ )?calendar", r"authori[sz]e", r"log ?in (?:to|with)", r"sign in (?:to|with)",
              r"conect\w*", r"vincul\w*", r"verbind\w*", r"verknüpf\w*", r"anbind\w*", r"connect\w*", r"reli\w*",
              r"lier", r"collega\w*", r"colleg\w*", r"connett\w*", r"ligar", r"ligue", r"associ\w*",
              r"sincroniz\w*", r"synchronisier\w*", r"synchronis\w*")
CALENDARISH = _rx(r"calendars?", r"google", r"gmail", r"gcal", r"outlook", r"office ?365", r"o365", r"exchange",
                  r"microsoft", r"icloud", r"apple", r"caldav", r"fastmail", r"nextcloud", r"calendario",
                  r"kalender", r"calendrier", r"calendário", r"ics", r"ical", r"icalendar", r"webcal", r"feed")
PROVIDERS = [
    ("microsoft", _rx(r"outlook", r"office ?365", r"o365", r"exchange", r"microsoft", r"hotmail", r"live\.com",
                      r"ms ?365", r"teams calendar")),
    ("google", _rx(r"google", r"gmail", r"gcal", r"g ?suite", r"google workspace")),
    ("icloud", _rx(r"icloud", r"apple", r"i ?cloud", r"mac calendar", r"iphone calendar")),
    ("caldav", _rx(r"caldav", r"cal dav", r"fastmail", r"nextcloud", r"owncloud", r"radicale", r"baikal",
                   r"zimbra", r"posteo")),
    # a calendar's secret iCal address (read-only): "connect my ics feed", "connect a webcal link"
    ("ics", _rx(r"ics", r"ical", r"icalendar", r"webcal", r"(?:calendar |ical |ics )?feed", r"subscription link")),
]
BUFFER = _rx(r"buffers?", r"padding", r"cushion", r"breathing room", r"gap between", r"breaks? between",
             r"\d+ ?(?:minutes?|mins?|m|min) (?:before and after|after and before|on either side|either side|"
             r"on each side|on both sides)",
             r"time between", r"minutes? (?:before and after|after|before) (?:each|every|all|my)",
             r"(?:before and after|after|before) (?:each|every) (?:session|meeting|call|appointment)s?",
             r"no buffers?", r"margen", r"colchón", r"descanso entre", r"puffer", r"pause zwischen",
             r"pausen? zwischen", r"battement", r"tampon", r"pause entre", r"marge", r"intervalo entre",
             r"margem", r"margine", r"pausa tra", r"pausa fra", r"pausa entre")
_WDS = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?(?:'?s)?"
HOURS = _rx(rf"(?:my|our|the|set|change|update) (?:{_WDS} |weekend |weekday )?"
            r"(?:working |work |office |coaching |availability |business )?hours",
            r"working hours", r"work hours", r"office hours", r"business hours", r"i work", r"i'm working",
            r"i am working", r"hours are", r"available hours", r"my availability is", r"my schedule is",
            r"mi horario", r"mis horas", r"horario de trabajo", r"meine (?:arbeits|sprech)?zeiten",
            r"arbeitszeiten", r"sprechzeiten", r"mes horaires", r"mes heures", r"horaires de travail",
            r"meu horário", r"meus horários", r"horário de trabalho", r"i miei orari", r"orari di lavoro",
            r"mio orario")
CANCEL = _rx(r"cancel", r"call off", r"can'?t make it", r"cannot make it", r"can not make it", r"won'?t make it",
             r"unable to make it", r"not going to make it", r"scrap", r"drop (?:my|the|our)", r"delete (?:my|the|our)",
             r"remove (?:my|the|our)", r"kill (?:my|the)", r"cancel\w*", r"anul\w*", r"no puedo ir", r"absag\w*",
             r"storniere?n?", r"streiche?n?", r"sage .{0,30} ab", r"annul\w*", r"desmarc\w*",
             r"cancell\w*", r"disdi\w*", r"non posso venire", r"não posso ir")
RESCHEDULE = _rx(r"reschedule", r"re-schedule", r"move (?:my|the|our|it|this|that)", r"move .{0,40} to",
                 r"push (?:back|it|my|the|our|out)", r"push .{0,40} to", r"postpone", r"change the time",
                 r"shift (?:my|the|our|it)", r"bump (?:my|the|it)", r"delay (?:my|the|our)", r"bring forward",
                 r"pull (?:it |my |the )?(?:forward|earlier)", r"instead", r"rebook", r"reprogram\w*", r"muev\w*",
                 r"mover", r"cambia\w* (?:la|mi) (?:hora|reunión|cita)", r"aplaz\w*", r"pospon\w*",
                 r"verschieb\w*", r"verleg\w*", r"déplac\w*", r"deplac\w*", r"report\w*", r"décal\w*",
                 r"decal\w*", r"remarc\w*", r"reagend\w*", r"adi\w*", r"mud\w*", r"spost\w*", r"rinvi\w*",
                 r"posticip\w*", r"anticip\w*")
POLL = _rx(r"poll", r"doodle", r"vote", r"voting", r"survey",
           r"let (?:them|everyone|people|the team) (?:pick|choose|vote)",
           r"propose (?:a few|some|several) (?:times|slots|options)", r"offer (?:a few|some) (?:times|slots)",
           r"encuesta", r"votación", r"votacion", r"umfrage", r"abstimmung", r"sondage", r"enquete", r"votação",
           r"sondaggio", r"votazione")
LIST = _rx(r"list", r"what'?s on", r"what is on", r"what do i have", r"what have i got", r"my (?:upcoming )?"
           r"(?:meetings|sessions|bookings|appointments|calls|schedule|agenda)", r"show (?:me )?my", r"upcoming",
           r"agenda", r"mis reuniones", r"mis citas", r"qué tengo", r"que tengo", r"meine termine",
           r"was habe ich", r"was steht", r"mes rendez-vous", r"mes réunions", r"qu'est-ce que j'ai",
           r"minhas reuniões", r"meus compromissos", r"o que eu tenho", r"o que tenho", r"i miei appuntamenti",
           r"le mie riunioni", r"cosa ho")
AVAIL = _rx(r"available", r"availability", r"free(?! of)", r"any openings?", r"openings?", r"open slots?",
            r"free slots?", r"when can", r"when is .{1,40} free", r"when are .{1,40} free", r"have time",
            r"got time", r"busy", r"is there (?:a |any )?(?:slot|time)", r"disponible", r"disponibilidad",
            r"libre", r"hueco", r"tiene tiempo", r"tienes tiempo", r"frei", r"verfügbar", r"zeit hat", r"zeit hast",
            r"(?:hast du|haben sie|hat \w+|habt ihr)\b.{0,40}\bzeit", r"zeit haben",
            r"disponibles?", r"créneaux?", r"disponível", r"disponivel", r"livre", r"disponibile",
            r"disponibilità", r"libero", r"libera")
BOOK = _rx(r"book", r"schedule", r"set up", r"setup", r"arrange", r"organi[sz]e", r"grab", r"find (?:a|some) time",
           r"find us", r"put (?:something|a meeting|a call|time) ", r"pencil (?:in|me)", r"meet(?:ing)?",
           r"call", r"catch ?up", r"sync", r"1:1", r"one on one", r"session", r"appointment", r"reserve", r"plan",
           r"chat", r"coffee", r"lunch with", r"let'?s do", r"how about", r"add (?:a |an )?(?:meeting|call|event)",
           r"reservar", r"agendar", r"programar", r"reunión", r"reunion", r"cita", r"quedar", r"llamada",
           r"buchen", r"termin", r"treffen", r"ansetzen", r"einplanen", r"besprechung", r"anruf", r"vereinbaren",
           r"réserver", r"reserver", r"planifier", r"prévoir", r"organiser", r"rendez-vous", r"réunion", r"appel",
           r"marcar", r"reunião", r"reuniao", r"chamada", r"prenotare", r"prenota", r"fissare", r"fissa",
           r"organizzare", r"riunione", r"appuntamento", r"chiamata", r"incontro")
_D = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
WEEKLY = re.compile(rf"^\s*(?:{_D}\s*(?:-|to|through)\s*{_D}|weekdays|week days|every day|daily|{_D}s)\s*,?\s*"
                    rf"(?:from\s+)?\d{{1,2}}(?:[:.]\d\d)?\s*(?:[ap]m)?\s*(?:-|to|till|until)\s*\d", re.IGNORECASE)
BOOK_VERB = re.compile(r"\b(book|schedule|set up|grab|arrange|meet|call|reserve|free|available)\b", re.IGNORECASE)
AVAIL_QUESTION = re.compile(r"^\s*(?:is|are|am|does|do|when|what|any|está|estás|ist|bist|est-ce|êtes|est|é|sei|è)\b",
                            re.IGNORECASE)


# time off and blocked time are not requests the contract knows: they stay "unknown" (never a booking)
TIME_OFF = _rx(r"i'?m (?:off|out|away|on (?:vacation|holiday|leave|pto))",
               r"i am (?:off|out|away|on (?:vacation|holiday|leave|pto))",
               r"out of (?:the )?office", r"ooo", r"(?:on|taking) (?:vacation|holiday|leave|pto)",
               r"time off", r"day off", r"days off", r"block (?:off |out )?(?:my |the )?(?:lunch|time|calendar|"
               r"\w+ (?:to|-) )", r"block (?:lunch|\d)", r"estoy de vacaciones", r"ich bin (?:im urlaub|weg|nicht da)",
               r"je suis en (?:congé|vacances)", r"estou de férias", r"sono in ferie")


def detect_provider(text: str) -> str | None:
    for name, rx in PROVIDERS:
        if rx.search(text):
            return name
    return None


def detect_intent(original: str, canonical: str) -> str:
    """Pick one intent for a message (original lowercased text and its canonical English form)."""
    t = original.strip()
    both = f"{original}\n{canonical}"
    if not t:
        return "unknown"
    if re.fullmatch(r"[\s/]*(?:help|\?|ayuda|hilfe|aide|ajuda|aiuto|commands|what can you do\??)[\s!.?]*", t,
                    re.IGNORECASE):
        return "help"
    if CONNECT.search(both) and (CALENDARISH.search(both) or detect_provider(both)):
        return "connect"
    if BUFFER.search(both):
        return "set_buffer"
    if HOURS.search(both) or (WEEKLY.search(canonical) and not BOOK_VERB.search(both)):
        return "set_hours"
    if RESCHEDULE.search(both) and not re.search(r"\bmove on\b", both, re.IGNORECASE):
        return "reschedule"
    if CANCEL.search(both):
        return "cancel"
    if POLL.search(both):
        return "poll"
    if AVAIL.search(both) and (AVAIL_QUESTION.search(t) or not re.search(
            r"\b(book|schedule|set up|grab|arrange|reserve)\b", both, re.IGNORECASE)):
        return "availability"
    if LIST.search(both) and not re.search(r"\b(book|schedule|set up|grab)\b", both, re.IGNORECASE):
        return "list"
    if TIME_OFF.search(both) and not re.search(r"\b(book|schedule|set up|grab|arrange|reserve)\b", both,
                                               re.IGNORECASE):
        return "unknown"
    if BOOK.search(both):
        return "book"
    if HELP.search(t) and len(t) < 60:
        return "help"
    return "unknown"
