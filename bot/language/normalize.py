"""Text normalization: language detection, canonical English wording, number words to digits."""

from __future__ import annotations

import re
from functools import lru_cache

from bot.language.lexicon import LANGUAGE_HINTS, ORDINAL_WORDS, PHRASES, TENS_WORDS, UNIT_WORDS

__all__ = ["canonicalize", "detect_language", "numbers_to_digits"]

MAX_CHARS = 2000  # longer messages are cut: nobody writes a scheduling request this long

_WORD_RE = re.compile(r"[a-zà-ÿß']+", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^<>]{0,200}>")
_SPACE_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")

_ENGLISH_HINTS = frozenset(
    [
        "the", "and", "with", "for", "on", "at", "in", "to", "next", "this", "tomorrow", "today",
        "tonight", "morning", "afternoon", "evening", "meeting", "call", "book", "schedule", "find",
        "time", "hours", "minutes", "week", "can", "you", "me", "my", "please", "between", "from", "until",
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    ]
)


def detect_language(text: str) -> str:
    """Best guess among en/es/de/fr/pt/it from function words; English when unsure."""
    words = [w.lower() for w in _WORD_RE.findall(text[:MAX_CHARS])]
    if not words:
        return "en"
    scores = {"en": sum(1 for w in words if w in _ENGLISH_HINTS) + 0.5}
    for lang, hints in LANGUAGE_HINTS.items():
        scores[lang] = sum(1 for w in words if w in hints)
    # accented characters that single out a language
    low = text.lower()
    if "ñ" in low or "¿" in low or "¡" in low:
        scores["es"] += 2
    if "ß" in low or "ü" in low or "ö" in low:
        scores["de"] += 2
    if "ç" in low and ("ão" in low or "ões" in low):
        scores["pt"] += 2
    if "ã" in low or "õ" in low:
        scores["pt"] += 2
    if "ì" in low or "ò" in low:
        scores["it"] += 1
    return max(scores, key=lambda k: scores[k])


@lru_cache(maxsize=8)
def _phrase_regex(lang: str) -> tuple[re.Pattern[str], dict[str, str]]:
    table = PHRASES[lang]
    keys = sorted(table, key=len, reverse=True)
    alt = "|".join(re.escape(k) for k in keys)
    return re.compile(rf"(?<![\w'])(?:{alt})(?![\w])"), table


_LANG_PRE: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "es": [
        (re.compile(r"\bde (?=\d{1,2}(?::\d\d)?(?: ?h)? a (?:las )?\d)"), "from "),
        (re.compile(r"\b(\d{1,2}) de la mañana\b"), r"\1 am"),
        (re.compile(r"(\d) ?h ?(\d\d)\b"), r"\1:\2"),
        (re.compile(r"(\d) ?h\b"), r"\1:00"),
    ],
    "pt": [
        (re.compile(r"\bd[ao]s? (?=\d{1,2}(?::\d\d)?(?: ?h)? (?:às|as|a) \d)"), "from "),
        (re.compile(r"\bde (?=\d{1,2}(?::\d\d)?(?: ?h)? (?:às|as|a) \d)"), "from "),
        (re.compile(r"(\d) (?:às|as|a) (?=\d)"), r"\1 to "),
        (re.compile(r"(\d) ?h ?(\d\d)\b"), r"\1:\2"),
        (re.compile(r"(\d) ?h\b"), r"\1:00"),
    ],
    "it": [(re.compile(r"(\d) (?:alle|a) (?=\d)"), r"\1 to "), (re.compile(r"(\d) ?h ?(\d\d)\b"), r"\1:\2"),
           (re.compile(r"(\d) ?h\b"), r"\1:00")],
    "fr": [
        (re.compile(r"(\d) ?h ?(\d\d)\b"), r"\1:\2"),
        (re.compile(r"(\d) ?h\b"), r"\1:00"),
        (re.compile(r"(\d(?::\d\d)?) à (?=\d)"), r"\1 to "),
    ],
    "de": [
        (re.compile(r"\bhalb (\d{1,2})\b"), r"halb:\1"),
        (
            re.compile(
                r"(\d{1,2})\.(?= ?(?:januar|februar|märz|maerz|april|mai|juni|juli|august|"
                r"september|oktober|november|dezember|jänner))"
            ),
            r"\1",
        ),
    ],
}
_DE_HALB = re.compile(r"halb:(\d{1,2})")
# German compounds of a weekday and a part of day ("Freitagvormittag", "Montagmorgen", "Dienstag Abend"):
# "morgen" after a weekday is the morning, not tomorrow
_DE_WD_POD = re.compile(r"\b(montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)\s?"
                        r"(morgen|vormittag|mittag|nachmittag|abend|nacht)s?\b")
_DE_POD = {"morgen": "am morgen", "vormittag": "am vormittag", "mittag": "am mittag",
           "nachmittag": "am nachmittag", "abend": "am abend", "nacht": "nachts"}
# "du lundi au vendredi", "de segunda a sexta", "dal lunedì al venerdì": a range of weekdays
_WD = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_WD_RANGE = re.compile(rf"\b({_WD}) (?:at the|to the|at|to|a|al|ao|à|au) ({_WD})\b")


def canonicalize(text: str, lang: str) -> str:
    """Lowercase, strip markup and control characters, and map non-English words onto English ones."""
    s = _CONTROL_RE.sub(" ", text[:MAX_CHARS])
    s = _TAG_RE.sub(" ", s)
    s = s.lower()
    s = (
        s.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u2013", "-")
        .replace("\u2014", "-")
        .replace("\u00bd", " 1/2 ")
        .replace("\u00bc", " 1/4 ")
        .replace("\u00be", " 3/4 ")
        .replace("\u00a0", " ")
    )
    if lang != "en" and lang in PHRASES:
        for pat, rep in _LANG_PRE.get(lang, ()):
            s = pat.sub(rep, s)
        if lang == "de":
            s = _DE_HALB.sub(lambda m: f"{(int(m.group(1)) - 1) % 24}:30", s)
            s = _DE_WD_POD.sub(lambda m: f"{m.group(1)} {_DE_POD[m.group(2)]}", s)
        rx, table = _phrase_regex(lang)
        s = rx.sub(lambda m: table[m.group(0)], s)
        s = _WD_RANGE.sub(r"\1 to \2", s)
    return _SPACE_RE.sub(" ", s).strip()


# ---------------------------------------------------------------- number words -> digits
_NUMWORD = "|".join(
    sorted(
        [*UNIT_WORDS, *TENS_WORDS, *ORDINAL_WORDS, "hundred", "thousand", "twentieth", "thirtieth"],
        key=len,
        reverse=True,
    )
)
_NUMSEQ_RE = re.compile(rf"\b(?:{_NUMWORD})(?:(?:\s+and\s+|\s+|-)(?:{_NUMWORD}))*\b")
_TOKEN_RE = re.compile(rf"(\s+and\s+|\s+|-)|({_NUMWORD})")
_ORD_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{_ORD_SUFFIX.get(n % 10, 'th')}"


def _word_value(w: str) -> tuple[int, bool]:
    if w in UNIT_WORDS:
        return UNIT_WORDS[w], False
    if w in TENS_WORDS:
        return TENS_WORDS[w], False
    if w in ORDINAL_WORDS:
        return ORDINAL_WORDS[w], True
    if w == "twentieth":
        return 20, True
    return 0, False


def _convert_sequence(seq: str, following: str, preceding: str) -> str:
    tokens: list[tuple[str, str]] = []  # (kind, text) kind: 'sep' or 'w'
    for m in _TOKEN_RE.finditer(seq):
        if m.group(1) is not None:
            tokens.append(("sep", m.group(1)))
        else:
            tokens.append(("w", m.group(2)))
    out: list[str] = []
    i = 0
    words = tokens
    while i < len(words):
        kind, w = words[i]
        if kind == "sep":
            out.append(" and " if "and" in w else ("-" if w == "-" else " "))
            i += 1
            continue
        # year: [unit] thousand [and] [rest]
        if w in UNIT_WORDS and i + 2 < len(words) and words[i + 2][1] == "thousand":
            val = UNIT_WORDS[w] * 1000
            j = i + 3
            rest = 0
            is_ord = False
            if j + 1 < len(words) and words[j][0] == "sep" and words[j + 1][0] == "w":
                v1, o1 = _word_value(words[j + 1][1])
                if words[j + 1][1] not in ("hundred", "thousand"):
                    rest, is_ord = v1, o1
                    j += 2
                    if v1 >= 20 and j + 1 < len(words) and words[j][0] == "sep" and words[j + 1][0] == "w":
                        v2, o2 = _word_value(words[j + 1][1])
                        if 1 <= v2 <= 9:
                            rest += v2
                            is_ord = o2
                            j += 2
            total = val + rest
            out.append(_ordinal(total) if is_ord else str(total))
            i = j
            continue
        if w in ("hundred", "thousand"):
            out.append(w)
            i += 1
            continue
        if w == "second" and not _second_is_ordinal(preceding if i == 0 else "", following, words, i):
            out.append(w)
            i += 1
            continue
        val, is_ord = _word_value(w)
        j = i + 1
        if val >= 20 and val % 10 == 0 and not is_ord and j + 1 < len(words):
            sep = words[j][1]
            nxt = words[j + 1][1]
            v2, o2 = _word_value(nxt)
            if (((1 <= v2 <= 9 and nxt != "second") or (nxt == "second" and o2)) and sep != "-") or (
                    sep == "-" and 1 <= v2 <= 9):
                val += v2
                is_ord = o2
                j += 2
        # hyphenated clock time such as "five-thirty"
        if not is_ord and 1 <= val <= 12 and j + 1 < len(words) and words[j][1] == "-" and words[j + 1][0] == "w":
            v2, o2 = _word_value(words[j + 1][1])
            if (v2 >= 10 and not o2 and words[j + 1][1] in TENS_WORDS) or (v2 in (15, 45) and not o2):
                mins = v2
                k = j + 2
                if v2 >= 20 and k + 1 < len(words) and words[k][0] == "sep" and words[k][1] != " and ":
                    v3, _ = _word_value(words[k + 1][1])
                    if 1 <= v3 <= 9:
                        mins += v3
                        k += 2
                out.append(f"{val}:{mins:02d}")
                i = k
                continue
        out.append(_ordinal(val) if is_ord else str(val))
        i = j
    return "".join(out)


def _second_is_ordinal(preceding: str, following: str, words: list[tuple[str, str]], i: int) -> bool:
    if preceding.endswith(("the ", "the")):
        return True
    f = following.lstrip()
    return bool(
        re.match(
            r"(of|week|last|closest|day|mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|"
            r"jul|aug|sep|oct|nov|dec|month|quarter|half)",
            f,
        )
    )


def numbers_to_digits(s: str) -> str:
    """Replace runs of English number words with digits ("twenty fourth" -> "24th")."""

    def rep(m: re.Match[str]) -> str:
        return _convert_sequence(m.group(0), s[m.end() : m.end() + 12], s[max(0, m.start() - 4) : m.start()])

    return _NUMSEQ_RE.sub(rep, s)
