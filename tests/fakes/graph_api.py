"""A loopback fake of Microsoft Graph v1.0 (calendar endpoints) and the Microsoft identity platform (aiohttp).

The production code reaches it exactly as it reaches Microsoft; only the base URLs differ:
``MS_AUTHORITY_URL = fake.authority_url`` (https, a certificate from a throw-away CA in ``fake.ca_file``, because
msal accepts https authorities only) and ``GRAPH_API_URL = fake.graph_url`` (plain http on loopback).

Identity platform (``/{tenant}/...``)
    ``v2.0/.well-known/openid-configuration`` (what msal fetches), ``oauth2/v2.0/authorize`` (signs in
    ``fake.signed_in`` at once and redirects with ``code`` and ``state``; PKCE S256 required) and
    ``oauth2/v2.0/token``: ``authorization_code`` (client secret, redirect URI and ``code_verifier`` checked),
    ``refresh_token`` (``invalid_grant`` once revoked) and ``client_credentials`` (``.default`` scope).
    Answers carry ``id_token`` (with the nonce from the authorize step) and ``client_info``, like Entra ID.

Graph (``/v1.0``), for ``me/...`` (delegated token) and ``users/{email}/...`` (app-only token)
    ``calendars``; ``calendars/{id}/calendarView`` (paged with ``$top``/``$skiptoken``); ``calendarView/delta``
    (``odata.maxpagesize``, ``@odata.deltaLink``, ``@removed``; 410 once tokens are expired);
    ``calendar/getSchedule`` (400 for more than 20 schedules or 62 days and more); ``calendars/{id}/events``
    POST (``transactionId`` de-duplicates); ``calendars/{id}/events/{id}`` and ``events/{id}`` GET, PATCH (``If-Match``
    -> 412), DELETE; ``subscriptions`` POST (validates ``notificationUrl`` with a ``validationToken`` first, as
    Graph does), PATCH, DELETE.  Every Graph call needs a valid bearer token (401 otherwise).

Recurring series (``put_series``), as Graph keeps them
    A ``seriesMaster`` event carries ``recurrence`` (``pattern`` daily / weekly / absoluteMonthly with ``interval``,
    ``daysOfWeek``, ``dayOfMonth``, ``firstDayOfWeek``; ``range`` endDate / numbered / noEnd with ``startDate``,
    ``endDate``, ``numberOfOccurrences``, ``recurrenceTimeZone``) and its start/end as wall-clock time in its own
    zone (a Windows name such as "W. Europe Standard Time", or an IANA name).  ``calendarView`` and
    ``calendarView/delta`` never show the master: they expand it in the asked window into ``type: "occurrence"``
    instances (own id, ``seriesMasterId``, ``originalStart``) at the same wall-clock time in the series' zone, so
    the UTC time moves by an hour across a DST change.  Deleting an occurrence (``cancel_occurrence`` or DELETE on
    its id; Graph's EXDATE) drops it from the view and shows it as ``@removed`` in the next delta.  Changing one
    (``put_exception`` or PATCH on its id) makes it a ``type: "exception"`` with the same id, whose start/end may be
    stated in another zone; the delta then answers it as changed (``@removed`` when it moved out of the window).
    ``getSchedule`` counts occurrences and exceptions, never cancelled ones.  Editing a master's pattern later is
    not supported (remove the series and add another).

Time zones
    Answers honour ``Prefer: outlook.timezone="..."`` (IANA or Windows name) as Graph does: timed start/end are
    converted to that zone and labelled with the name as asked; all-day start/end are always midnight dates,
    labelled with the asked zone (Graph does not convert them).  Without the header answers are in UTC (Graph's
    default).  ``ignore_prefer = True`` makes the fake answer every event in its own zone whatever was asked (a
    client must then convert Windows zone names itself).

Faults (status, headers such as ``Retry-After``, a delay) are injected per method and path pattern.
"""

from __future__ import annotations

import asyncio
import base64
import calendar as calendar_module
import hashlib
import ipaddress
import itertools
import json
import re
import secrets
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from aiohttp import web

__all__ = ["WINDOWS_ZONES", "FakeGraph", "Fault", "Recorded", "make_tls", "occurrence_id"]


# ----------------------------------------------------------------------------------------------- TLS


def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake graph test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


# ---------------------------------------------------------------------------------------------- model


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _wall_time(moment: datetime) -> str:
    """A naive (wall-clock) datetime in Graph's ``dateTime`` format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.0000000")


# The Windows zone names the fake understands (Graph states zones this way); IANA names are taken as they are.
# Kept apart from any table the production code uses, so a test compares two independent readings.
WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
    "India Standard Time": "Asia/Kolkata",
    "Tokyo Standard Time": "Asia/Tokyo",
    "AUS Eastern Standard Time": "Australia/Sydney",
}
_WEEKDAYS = {name: index for index, name in enumerate(calendar_module.day_name)}  # "Monday" -> 0
_OCCURRENCE = "_occ_"  # occurrence id = master id + this + the original local date (YYYYMMDD)


def _tz(name: str) -> tzinfo:
    if name in ("UTC", "Etc/UTC", "tzone://Microsoft/Utc"):
        return UTC
    return ZoneInfo(WINDOWS_ZONES.get(name, name))


def _naive(value: Any) -> datetime:
    return datetime.fromisoformat(str(value["dateTime"]).rstrip("Z")).replace(tzinfo=None)


def _parse_dtz(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value["dateTime"]).rstrip("Z"))
    zone = value.get("timeZone") or "UTC"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_tz(zone))
    return moment.astimezone(UTC)


def _in_zone(moment: datetime, zone: str) -> dict[str, str]:
    """An instant as a Graph ``dateTimeTimeZone`` in ``zone`` (labelled with the name as given)."""
    return {"dateTime": _wall_time(moment.astimezone(_tz(zone)).replace(tzinfo=None)), "timeZone": zone}


def _render_times(event: dict[str, Any], zone: str | None) -> dict[str, Any]:
    """``event`` with start/end as Graph answers them in ``zone`` (None: the event's own zone, unchanged).
    All-day events stay midnight dates, only labelled with ``zone``, as Graph does."""
    out = dict(event)
    if zone is None:
        return out
    for key in ("start", "end"):
        if event.get("isAllDay"):
            out[key] = {"dateTime": str(event[key]["dateTime"])[:10] + "T00:00:00.0000000", "timeZone": zone}
        else:
            out[key] = _in_zone(_parse_dtz(event[key]), zone)
    return out


def _pattern(pattern: dict[str, Any]) -> dict[str, Any]:
    kind = pattern.get("type")
    if kind not in ("daily", "weekly", "absoluteMonthly"):
        raise ValueError(f"the fake expands daily, weekly and absoluteMonthly patterns, not {kind!r}")
    days = [str(d).lower() for d in pattern.get("daysOfWeek") or ()]
    if kind == "weekly" and not days:
        raise ValueError("a weekly pattern needs daysOfWeek")
    if kind == "absoluteMonthly" and not 1 <= int(pattern.get("dayOfMonth", 0)) <= 31:
        raise ValueError("an absoluteMonthly pattern needs dayOfMonth")
    return {
        "type": kind,
        "interval": int(pattern.get("interval", 1)),
        "month": 0,
        "dayOfMonth": int(pattern.get("dayOfMonth", 0)),
        "daysOfWeek": days,
        "firstDayOfWeek": str(pattern.get("firstDayOfWeek", "sunday")).lower(),
        "index": "first",
    }


def _range(rng: dict[str, Any], first: date, zone: str) -> dict[str, Any]:
    kind = rng.get("type", "noEnd")
    if kind not in ("endDate", "numbered", "noEnd"):
        raise ValueError(f"unknown recurrence range type {kind!r}")
    if kind == "endDate" and not rng.get("endDate"):
        raise ValueError("an endDate range needs endDate")
    if kind == "numbered" and int(rng.get("numberOfOccurrences", 0)) < 1:
        raise ValueError("a numbered range needs numberOfOccurrences")
    return {
        "type": kind,
        "startDate": str(rng.get("startDate") or first.isoformat()),
        "endDate": str(rng.get("endDate") or "0001-01-01"),
        "recurrenceTimeZone": rng.get("recurrenceTimeZone") or zone,
        "numberOfOccurrences": int(rng.get("numberOfOccurrences", 0)),
    }


def _series_dates(master: dict[str, Any], last: date) -> Iterator[date]:
    """The original local dates of a series' occurrences, in order, up to ``last`` (and the range's end)."""
    pattern, rng = master["recurrence"]["pattern"], master["recurrence"]["range"]
    first = date.fromisoformat(rng["startDate"])
    end_date = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    count = rng["numberOfOccurrences"] if rng["type"] == "numbered" else None
    interval = max(1, pattern["interval"])
    weekdays = {_WEEKDAYS[d.capitalize()] for d in pattern["daysOfWeek"]}
    week_start = _WEEKDAYS[pattern["firstDayOfWeek"].capitalize()]
    first_week = first - timedelta(days=(first.weekday() - week_start) % 7)
    found = 0
    day = first
    while day <= last and (end_date is None or day <= end_date) and (count is None or found < count):
        if pattern["type"] == "daily":
            hit = (day - first).days % interval == 0
        elif pattern["type"] == "weekly":
            hit = day.weekday() in weekdays and ((day - first_week).days // 7) % interval == 0
        else:  # absoluteMonthly; a day missing from a month falls on its last day, as Outlook schedules it
            months = (day.year - first.year) * 12 + day.month - first.month
            wanted = min(pattern["dayOfMonth"], calendar_module.monthrange(day.year, day.month)[1])
            hit = months % interval == 0 and day.day == wanted
        if hit:
            found += 1
            yield day
        day += timedelta(days=1)


def occurrence_id(series_id: str, day: date) -> str:
    """The id of a series' occurrence (or exception) whose original local date is ``day``."""
    return f"{series_id}{_OCCURRENCE}{day:%Y%m%d}"


def _parse_query_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _conflict() -> web.Response:
    """Graph's 412 for an If-Match that no longer matches."""
    return _graph_error(
        412,
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed "
        "in the request does not match the current change key for the item.",
    )


def _graph_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _oauth_error(status: int, error: str, description: str, codes: list[int] | None = None) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description, "error_codes": codes or []}, status=status
    )


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    times: int = 1
    hits: int = 0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeSeries:
    """What happened to single occurrences of a series (its master is in ``FakeCalendar.events``)."""

    cancelled: dict[date, int] = field(default_factory=dict)  # original local date -> version of the deletion
    exceptions: dict[date, dict[str, Any]] = field(default_factory=dict)  # original local date -> changed instance
    changed: dict[date, int] = field(default_factory=dict)  # original local date -> version of the exception


@dataclass
class FakeCalendar:
    id: str
    name: str
    can_edit: bool = True
    default: bool = False
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # single instances and series masters
    series: dict[str, FakeSeries] = field(default_factory=dict)  # master id -> its cancellations and exceptions
    extended: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # event id -> version of its last change
    removed: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # id -> (version, last state)
    version: int = 0
    generation: int = 0  # delta tokens of older generations are refused (410)


@dataclass
class Mailbox:
    email: str
    oid: str
    name: str
    calendars: dict[str, FakeCalendar] = field(default_factory=dict)

    def default(self) -> FakeCalendar:
        return next(c for c in self.calendars.values() if c.default)


@dataclass
class Grant:
    principal: str  # a mailbox e-mail, or "app:<client_id>"
    expires: float


class FakeGraph:
    def __init__(
        self,
        tls_folder: Path,
        *,
        client_id: str = "ms-client-1",
        client_secret: str = "ms-secret-1",
        tenant_id: str = "11111111-2222-3333-4444-555555555555",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.tenant_id = tenant_id
        self.ca_file, self._cert, self._key = make_tls(tls_folder)
        self.mailboxes: dict[str, Mailbox] = {}
        self.signed_in: str | None = None
        self.faults: list[Fault] = []
        self.recorded: list[Recorded] = []
        self.token_requests: list[dict[str, str]] = []
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> principal
        self.codes: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.duplicate_transaction = "return"  # or "error": ErrorDuplicateTransactionId like Exchange can answer
        self.ignore_prefer = False  # True: answer each event in its own zone, whatever Prefer asks
        self._ids = itertools.count(1)
        self._runners: list[web.AppRunner] = []
        self.identity_port = 0
        self.graph_port = 0

    # ------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeGraph:
        identity = web.Application(middlewares=[self._faults_mw])
        identity.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._openid)
        identity.router.add_get("/{tenant}/oauth2/v2.0/authorize", self._authorize)
        identity.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        graph = web.Application(middlewares=[self._faults_mw])
        graph.router.add_route("*", "/v1.0/{tail:.*}", self._graph)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._cert, self._key)
        for app, ctx in ((identity, context), (graph, None)):
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            site = web.SockSite(runner, sock, ssl_context=ctx)
            await site.start()
            self._runners.append(runner)
            port = sock.getsockname()[1]
            if ctx is not None:
                self.identity_port = port
            else:
                self.graph_port = port
        return self

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    @property
    def authority_url(self) -> str:
        return f"https://127.0.0.1:{self.identity_port}"

    @property
    def graph_url(self) -> str:
        return f"http://127.0.0.1:{self.graph_port}/v1.0"

    # ---------------------------------------------------------------------------------- test set-up

    def add_mailbox(
        self, email: str, *, name: str = "Dana Coach", calendars: tuple[str, ...] = ("Calendar",)
    ) -> Mailbox:
        box = Mailbox(email=email, oid=f"oid-{len(self.mailboxes) + 1:04d}", name=name)
        for index, cal_name in enumerate(calendars):
            cal = FakeCalendar(id=f"AAMk-{_b64(email.encode())}-{index}", name=cal_name, default=index == 0)
            box.calendars[cal.id] = cal
        self.mailboxes[email.lower()] = box
        return box

    def put_event(
        self,
        email: str,
        calendar_id: str | None = None,
        *,
        start: datetime,
        end: datetime,
        subject: str = "Private thing",
        all_day: bool = False,
        show_as: str = "busy",
        cancelled: bool = False,
        response: str = "organizer",
        event_id: str | None = None,
    ) -> dict[str, Any]:
        box = self.mailboxes[email.lower()]
        cal = box.calendars[calendar_id] if calendar_id else box.default()
        event_id = event_id or f"evt-{next(self._ids):05d}"
        event = {
            "id": event_id,
            "subject": subject,
            "start": {"dateTime": _graph_time(start), "timeZone": "UTC"},
            "end": {"dateTime": _graph_time(end), "timeZone": "UTC"},
            "isAllDay": all_day,
            "showAs": show_as,
            "isCancelled": cancelled,
            "responseStatus": {"response": response, "time": "0001-01-01T00:00:00Z"},
            "type": "singleInstance",
            "seriesMasterId": None,
            "originalStartTimeZone": "UTC",
            "originalEndTimeZone": "UTC",
            "transactionId": None,
        }
        self._store(cal, event)
        return event

    def put_series(
        self,
        email: str,
        calendar_id: str | None = None,
        *,
        start: datetime | date,
        end: datetime | date,
        time_zone: str,
        pattern: dict[str, Any],
        range: dict[str, Any] | None = None,  # Graph's field name
        subject: str = "Recurring thing",
        all_day: bool = False,
        show_as: str = "busy",
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """A recurring series: ``start``/``end`` are the first occurrence's wall-clock times in ``time_zone`` (an
        aware datetime is converted to that zone first; a date means midnight, for all-day series); ``pattern`` and
        ``range`` are Graph's ``recurrencePattern``/``recurrenceRange`` (range defaults to noEnd from ``start``)."""
        _tz(time_zone)  # unknown zones fail here, not in a later answer

        def wall(value: datetime | date) -> datetime:
            if not isinstance(value, datetime):
                return datetime(value.year, value.month, value.day)
            return value.astimezone(_tz(time_zone)).replace(tzinfo=None) if value.tzinfo else value

        first, last = wall(start), wall(end)
        if last <= first:
            raise ValueError("a series needs end after start")
        if all_day and (first.time() != datetime.min.time() or last.time() != datetime.min.time()):
            raise ValueError("an all-day series starts and ends at midnight")
        box = self.mailboxes[email.lower()]
        cal = box.calendars[calendar_id] if calendar_id else box.default()
        event_id = event_id or f"evt-{next(self._ids):05d}"
        master = {
            "id": event_id,
            "subject": subject,
            "start": {"dateTime": _wall_time(first), "timeZone": time_zone},
            "end": {"dateTime": _wall_time(last), "timeZone": time_zone},
            "originalStartTimeZone": time_zone,
            "originalEndTimeZone": time_zone,
            "isAllDay": all_day,
            "showAs": show_as,
            "isCancelled": False,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "type": "seriesMaster",
            "seriesMasterId": None,
            "recurrence": {
                "pattern": _pattern(pattern),
                "range": _range(range or {}, first.date(), time_zone),
            },
            "transactionId": None,
        }
        cal.series[event_id] = FakeSeries()
        self._store(cal, master)
        return master

    def cancel_occurrence(self, email: str, series_id: str, day: date) -> str:
        """The owner deleted the occurrence whose original local date is ``day``; returns its id."""
        instance_id = occurrence_id(series_id, day)
        self.remove_event(email, instance_id)
        return instance_id

    def put_exception(
        self,
        email: str,
        series_id: str,
        day: date,
        *,
        start: datetime,
        end: datetime,
        time_zone: str,
        subject: str | None = None,
        show_as: str | None = None,
    ) -> dict[str, Any]:
        """The owner changed the occurrence of ``day``: it now runs ``start``-``end`` stated in ``time_zone`` (may
        differ from the series' zone; aware datetimes are converted to it)."""
        cal, master = self._series_of(email, series_id)
        current = self._instance(cal, master, day)
        if current is None:
            raise KeyError(f"{series_id} has no occurrence on {day}")
        zone = _tz(time_zone)

        def wall(value: datetime) -> datetime:
            return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value

        changed = dict(current)
        changed["start"] = {"dateTime": _wall_time(wall(start)), "timeZone": time_zone}
        changed["end"] = {"dateTime": _wall_time(wall(end)), "timeZone": time_zone}
        changed["originalStartTimeZone"] = changed["originalEndTimeZone"] = time_zone
        if subject is not None:
            changed["subject"] = subject
        if show_as is not None:
            changed["showAs"] = show_as
        self._set_exception(cal, master["id"], day, changed)
        return changed

    def remove_event(self, email: str, event_id: str) -> None:
        """The owner deleted the event (a whole series when it is a master; one occurrence by its id)."""
        for cal in self.mailboxes[email.lower()].calendars.values():
            if event_id in cal.events:
                self._remove(cal, event_id)
                return
            found = self._instance_by_id(cal, event_id)
            if found is not None:
                self._cancel(cal, found[0], found[1])
                return
        raise KeyError(event_id)

    def event(self, email: str, event_id: str) -> dict[str, Any] | None:
        """A stored event (single or series master) or an instance of a series, by id (times as stored)."""
        for cal in self.mailboxes[email.lower()].calendars.values():
            if event_id in cal.events:
                return cal.events[event_id]
            found = self._instance_by_id(cal, event_id)
            if found is not None:
                return found[2]
        return None

    def all_events(self, email: str) -> list[dict[str, Any]]:
        return [e for cal in self.mailboxes[email.lower()].calendars.values() for e in cal.events.values()]

    def expire_access_tokens(self) -> None:
        for grant in self.access_tokens.values():
            grant.expires = 0

    def revoke_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()

    def expire_delta_tokens(self) -> None:
        for box in self.mailboxes.values():
            for cal in box.calendars.values():
                cal.generation += 1

    def fail(self, method: str, path: str, status: int = 503, **kwargs: Any) -> Fault:
        """The next ``times`` requests whose path matches the regex ``path`` answer ``status`` (after ``delay``)."""
        fault = Fault(method.upper(), re.compile(path), status, **kwargs)
        self.faults.append(fault)
        return fault

    def calls(self, method: str, path: str) -> list[Recorded]:
        pattern = re.compile(path)
        return [r for r in self.recorded if r.method == method.upper() and pattern.search(r.path)]

    # ---------------------------------------------------------------------------------- internals

    def _store(self, cal: FakeCalendar, event: dict[str, Any]) -> None:
        cal.version += 1
        change_key = secrets.token_hex(6)
        event["changeKey"] = change_key
        event["@odata.etag"] = f'W/"{change_key}"'
        cal.events[event["id"]] = event
        cal.versions[event["id"]] = cal.version
        cal.removed.pop(event["id"], None)

    def _remove(self, cal: FakeCalendar, event_id: str) -> None:
        cal.version += 1
        event = cal.events.pop(event_id)
        cal.versions.pop(event_id, None)
        cal.extended.pop(event_id, None)
        cal.removed[event_id] = (cal.version, event)

    def _series_of(self, email: str, series_id: str) -> tuple[FakeCalendar, dict[str, Any]]:
        for cal in self.mailboxes[email.lower()].calendars.values():
            master = cal.events.get(series_id)
            if master is not None and master.get("type") == "seriesMaster":
                return cal, master
        raise KeyError(series_id)

    @staticmethod
    def _occurrence(master: dict[str, Any], day: date) -> dict[str, Any]:
        """The unchanged occurrence of ``day``: the master's wall-clock times on that date, in its zone."""
        first, last = _naive(master["start"]), _naive(master["end"])
        start = datetime.combine(day, first.time())
        end = start + (last - first)
        zone = master["start"]["timeZone"]
        occurrence = {k: v for k, v in master.items() if k != "recurrence"}
        occurrence.update(
            {
                "id": occurrence_id(master["id"], day),
                "type": "occurrence",
                "seriesMasterId": master["id"],
                "recurrence": None,
                "start": {"dateTime": _wall_time(start), "timeZone": zone},
                "end": {"dateTime": _wall_time(end), "timeZone": zone},
                "originalStart": start.replace(tzinfo=_tz(zone)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
            }
        )
        return occurrence

    def _instance(self, cal: FakeCalendar, master: dict[str, Any], day: date) -> dict[str, Any] | None:
        """The current instance of ``day`` (exception or occurrence); None when the series has none that day."""
        series = cal.series[master["id"]]
        if day in series.cancelled:
            return None
        if day in series.exceptions:
            return series.exceptions[day]
        if day not in _series_dates(master, day):
            return None
        return self._occurrence(master, day)

    def _instance_by_id(self, cal: FakeCalendar, instance_id: str) -> tuple[str, date, dict[str, Any]] | None:
        master_id, sep, stamp = instance_id.rpartition(_OCCURRENCE)
        master = cal.events.get(master_id)
        if not sep or master is None or master.get("type") != "seriesMaster":
            return None
        try:
            day = date.fromisoformat(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}")
        except ValueError:
            return None
        instance = self._instance(cal, master, day)
        return None if instance is None else (master_id, day, instance)

    def _cancel(self, cal: FakeCalendar, master_id: str, day: date) -> None:
        series = cal.series[master_id]
        instance = self._instance(cal, cal.events[master_id], day)
        if instance is None:
            raise KeyError(occurrence_id(master_id, day))
        cal.version += 1
        series.exceptions.pop(day, None)
        series.changed.pop(day, None)
        series.cancelled[day] = cal.version
        cal.removed[instance["id"]] = (cal.version, instance)

    def _set_exception(self, cal: FakeCalendar, master_id: str, day: date, event: dict[str, Any]) -> None:
        series = cal.series[master_id]
        cal.version += 1
        change_key = secrets.token_hex(6)
        event.update(
            {
                "type": "exception",
                "seriesMasterId": master_id,
                "changeKey": change_key,
                "@odata.etag": f'W/"{change_key}"',
            }
        )
        series.exceptions[day] = event
        series.changed[day] = cal.version

    def _series_instances(
        self, cal: FakeCalendar, master: dict[str, Any], start: datetime, end: datetime, *, all_exceptions: bool
    ) -> Iterator[tuple[str, dict[str, Any], int]]:
        """(id, instance, version) of a series' instances overlapping [start, end); every exception as well when
        ``all_exceptions`` (a delta must tell about one that moved out of the window)."""
        series = cal.series[master["id"]]
        base = cal.versions.get(master["id"], 0)
        last = end.astimezone(_tz(master["start"]["timeZone"])).date()
        for day in _series_dates(master, last):
            if day in series.cancelled or day in series.exceptions:
                continue
            occurrence = self._occurrence(master, day)
            if self._overlaps(occurrence, start, end):
                yield occurrence["id"], occurrence, base
        for day, exception in sorted(series.exceptions.items()):
            if all_exceptions or self._overlaps(exception, start, end):
                yield exception["id"], exception, max(base, series.changed[day])

    def _instances(
        self, cal: FakeCalendar, start: datetime, end: datetime, *, all_exceptions: bool = False
    ) -> list[tuple[str, dict[str, Any], int]]:
        """What calendarView sees in [start, end): single instances, occurrences and exceptions (never masters);
        (id, event as stored, version of its last change)."""
        out: list[tuple[str, dict[str, Any], int]] = []
        for event_id, event in cal.events.items():
            if event.get("type") == "seriesMaster":
                out.extend(self._series_instances(cal, event, start, end, all_exceptions=all_exceptions))
            elif self._overlaps(event, start, end):
                out.append((event_id, event, cal.versions[event_id]))
        return out

    def _answer_zone(self, request: web.Request) -> str | None:
        """The zone times are answered in: Prefer's ``outlook.timezone``, UTC without one; None (each event's own
        zone) when ``ignore_prefer`` is set."""
        if self.ignore_prefer:
            return None
        match = re.search(r'outlook\.timezone="([^"]+)"', request.headers.get("Prefer", ""))
        if match is None:
            return "UTC"
        try:
            _tz(match.group(1))
        except (ZoneInfoNotFoundError, ValueError):
            return "UTC"
        return match.group(1)

    @web.middleware
    async def _faults_mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if request.content_type == "application/json" else raw.decode()
            except ValueError:
                body = raw.decode(errors="replace")
        self.recorded.append(Recorded(request.method, request.path, dict(request.query), dict(request.headers), body))
        for fault in self.faults:
            if fault.hits < fault.times and fault.method == request.method and fault.pattern.search(request.path):
                fault.hits += 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                payload = (
                    fault.body
                    if fault.body is not None
                    else {
                        "error": {
                            "code": "ServiceUnavailable" if fault.status >= 500 else "TooManyRequests",
                            "message": "injected fault",
                        }
                    }
                )
                return web.json_response(payload, status=fault.status, headers=fault.headers)
        response: web.StreamResponse = await handler(request)
        return response

    # ----------------------------------------------------------------------------- identity platform

    async def _openid(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        base = f"{self.authority_url}/{tenant}"
        issuer_tenant = self.tenant_id if tenant in ("common", "organizations", "consumers") else tenant
        return web.json_response(
            {
                "issuer": f"{self.authority_url}/{issuer_tenant}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "code_challenge_methods_supported": ["plain", "S256"],
                "tenant_region_scope": "EU",
            }
        )

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != self.client_id:
            return web.Response(status=400, text="AADSTS700016: application not found")
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return web.Response(status=400, text="AADSTS: PKCE S256 and response_type=code required")
        if not q.get("redirect_uri") or not q.get("state"):
            return web.Response(status=400, text="AADSTS: redirect_uri and state required")
        if self.signed_in is None:
            location = (
                q["redirect_uri"]
                + "?"
                + urlencode({"error": "access_denied", "error_description": "the user declined", "state": q["state"]})
            )
            raise web.HTTPFound(location)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "principal": self.signed_in,
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
            "nonce": q.get("nonce"),
            "scope": q.get("scope", ""),
        }
        location = (
            q["redirect_uri"]
            + "?"
            + urlencode({"code": code, "state": q["state"], "session_state": secrets.token_hex(8)})
        )
        raise web.HTTPFound(location)

    async def consent(self, auth_url: str) -> dict[str, str]:
        """Play the browser: open ``auth_url`` and return the query Microsoft redirects back with."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        async with (
            aiohttp.ClientSession() as session,
            session.get(auth_url, allow_redirects=False, ssl=context) as response,
        ):
            if response.status != 302:
                raise AssertionError(f"authorize answered {response.status}: {await response.text()}")
            location = response.headers["Location"]
        return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}

    def _id_token(self, principal: str, nonce: str | None) -> tuple[str, str]:
        box = self.mailboxes[principal.lower()]
        now = int(time.time())
        claims = {
            "aud": self.client_id,
            "iss": f"{self.authority_url}/{self.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": box.name,
            "oid": box.oid,
            "preferred_username": box.email,
            "sub": _b64(hashlib.sha256(box.oid.encode()).digest())[:43],
            "tid": self.tenant_id,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        header = {"typ": "JWT", "alg": "RS256", "kid": "fake"}
        id_token = ".".join(
            [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(secrets.token_bytes(32))]
        )
        client_info = _b64(json.dumps({"uid": box.oid, "utid": self.tenant_id}).encode())
        return id_token, client_info

    def _issue(self, principal: str, *, scope: str, nonce: str | None = None, refresh: bool = True) -> dict[str, Any]:
        access = "eyJ0eXAi" + secrets.token_urlsafe(32)
        self.access_tokens[access] = Grant(principal, time.time() + 3600)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access,
        }
        if refresh:
            rt = "0.AR" + secrets.token_urlsafe(40)
            self.refresh_tokens[rt] = principal
            body["refresh_token"] = rt
            body["id_token"], body["client_info"] = self._id_token(principal, nonce)
        return body

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.token_requests.append(dict(form))
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.", [7000215])
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None:
                return _oauth_error(400, "invalid_grant", "AADSTS70000: the code is invalid or was used", [70000])
            if form.get("redirect_uri") != grant["redirect_uri"]:
                return _oauth_error(400, "invalid_grant", "AADSTS50011: redirect URI mismatch", [50011])
            verifier = form.get("code_verifier", "")
            if _b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
                return _oauth_error(400, "invalid_grant", "AADSTS501481: code_verifier does not match", [501481])
            return web.json_response(self._issue(grant["principal"], scope=grant["scope"], nonce=grant["nonce"]))
        if grant_type == "refresh_token":
            principal = self.refresh_tokens.get(form.get("refresh_token", ""))
            if principal is None:
                return _oauth_error(
                    400, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.", [700082]
                )
            return web.json_response(self._issue(principal, scope=form.get("scope", "")))
        if grant_type == "client_credentials":
            scope = form.get("scope", "")
            if not scope.endswith("/.default"):
                return _oauth_error(400, "invalid_scope", "AADSTS1002012: scope must end with /.default", [1002012])
            return web.json_response(self._issue(f"app:{self.client_id}", scope=scope, refresh=False))
        return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    # ------------------------------------------------------------------------------------------ Graph

    def _principal(self, request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        grant = self.access_tokens.get(auth.removeprefix("Bearer ").strip()) if auth.startswith("Bearer ") else None
        if grant is None or grant.expires < time.time():
            return None
        return grant.principal

    async def _graph(self, request: web.Request) -> web.StreamResponse:
        principal = self._principal(request)
        if principal is None:
            return _graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        parts = [p for p in request.match_info["tail"].split("/") if p]
        if parts and parts[0] == "subscriptions":
            return await self._subscriptions(request, parts[1:], principal)
        if parts[:1] == ["me"]:
            if principal.startswith("app:"):
                return _graph_error(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            box = self.mailboxes.get(principal.lower())
            rest = parts[1:]
        elif parts[:1] == ["users"] and len(parts) >= 2:
            box = self.mailboxes.get(parts[1].lower())
            if not principal.startswith("app:") and (box is None or box.email.lower() != principal.lower()):
                return _graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            rest = parts[2:]
        else:
            return _graph_error(400, "BadRequest", "Resource not found for the segment.")
        if box is None:
            return _graph_error(404, "ErrorInvalidUser", "The requested user is invalid.")
        method = request.method
        if rest == ["calendars"] and method == "GET":
            return self._list_calendars(request, box)
        if rest == ["calendar", "getSchedule"] and method == "POST":
            return await self._get_schedule(request)
        if len(rest) >= 2 and rest[0] == "calendars":
            cal = box.calendars.get(rest[1])
            if cal is None:
                return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            tail = rest[2:]
            if tail == ["calendarView"] and method == "GET":
                return self._calendar_view(request, cal)
            if tail == ["calendarView", "delta"] and method == "GET":
                return self._delta(request, cal)
            if tail == ["events"] and method == "POST":
                return await self._create(request, box, cal)
            if tail == ["events"] and method == "GET":
                return self._list_events(request, cal)
            if len(tail) == 2 and tail[0] == "events":
                return await self._event_op(request, cal, tail[1])
        if len(rest) == 2 and rest[0] == "events":
            for cal in box.calendars.values():
                if rest[1] in cal.events or self._instance_by_id(cal, rest[1]) is not None:
                    return await self._event_op(request, cal, rest[1])
            return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return _graph_error(400, "BadRequest", f"Unsupported request {method} {request.path}")

    def _list_calendars(self, request: web.Request, box: Mailbox) -> web.Response:
        value = [
            {
                "id": c.id,
                "name": c.name,
                "canEdit": c.can_edit,
                "isDefaultCalendar": c.default,
                "owner": {"name": box.name, "address": box.email},
            }
            for c in box.calendars.values()
        ]
        return web.json_response(
            {"@odata.context": f"{self.graph_url}/$metadata#users('{box.oid}')/calendars", "value": value}
        )

    def _public(self, cal: FakeCalendar, event: dict[str, Any], request: web.Request) -> dict[str, Any]:
        out = _render_times(event, self._answer_zone(request))
        expand = request.query.get("$expand", "")
        if "singleValueExtendedProperties" in expand and cal.extended.get(event["id"]):
            match = re.search(r"id eq '([^']+)'", expand)
            props = cal.extended[event["id"]]
            if match:
                props = [p for p in props if p["id"].lower() == match.group(1).lower()]
            if props:
                out["singleValueExtendedProperties"] = props
        return out

    @staticmethod
    def _overlaps(event: dict[str, Any], start: datetime, end: datetime) -> bool:
        return _parse_dtz(event["start"]) < end and _parse_dtz(event["end"]) > start

    def _page_size(self, request: web.Request, default: int) -> int:
        match = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("Prefer", ""))
        if match:
            return int(match.group(1))
        return int(request.query.get("$top", default))

    def _calendar_view(self, request: web.Request, cal: FakeCalendar) -> web.Response:
        try:
            start = _parse_query_time(request.query["startDateTime"])
            end = _parse_query_time(request.query["endDateTime"])
        except (KeyError, ValueError):
            return _graph_error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
        items = sorted(
            (e for _, e, _ in self._instances(cal, start, end)),
            key=lambda e: (_parse_dtz(e["start"]), e["id"]),
        )
        top = int(request.query.get("$top", 10))
        skip = int(request.query.get("$skiptoken", 0))
        body: dict[str, Any] = {"value": [self._public(cal, e, request) for e in items[skip : skip + top]]}
        if skip + top < len(items):
            query = dict(request.query)
            query["$skiptoken"] = str(skip + top)
            body["@odata.nextLink"] = f"{self.graph_url}{request.path.removeprefix('/v1.0')}?{urlencode(query)}"
        return web.json_response(body)

    def _delta(self, request: web.Request, cal: FakeCalendar) -> web.Response:
        size = self._page_size(request, 10)
        if "$skiptoken" in request.query or "$deltatoken" in request.query:
            key = "$skiptoken" if "$skiptoken" in request.query else "$deltatoken"
            try:
                state = json.loads(_unb64(request.query[key]))
            except ValueError:
                return _graph_error(400, "BadRequest", "Invalid token.")
            if state["gen"] != cal.generation:
                return _graph_error(410, "SyncStateNotFound", "The sync state generation is not found.")
            if key == "$deltatoken":
                state = {**state, "since": state["upto"], "upto": cal.version, "offset": 0}
        else:
            try:
                view_start = _parse_query_time(request.query["startDateTime"]).isoformat()
                view_end = _parse_query_time(request.query["endDateTime"]).isoformat()
            except (KeyError, ValueError):
                return _graph_error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
            state = {
                "start": view_start,
                "end": view_end,
                "since": 0,
                "upto": cal.version,
                "offset": 0,
                "gen": cal.generation,
            }
        start, end = datetime.fromisoformat(state["start"]), datetime.fromisoformat(state["end"])
        changes: list[dict[str, Any]] = []
        singles = [
            (event_id, event, cal.versions[event_id])
            for event_id, event in cal.events.items()
            if event.get("type") != "seriesMaster"
        ]
        instances = [
            item
            for master in cal.events.values()
            if master.get("type") == "seriesMaster"
            for item in self._series_instances(cal, master, start, end, all_exceptions=True)
        ]
        for event_id, event, version in sorted(singles + instances, key=lambda item: item[0]):
            if state["since"] < version <= state["upto"]:
                if self._overlaps(event, start, end):
                    changes.append(self._public(cal, event, request))
                elif state["since"]:
                    changes.append(
                        {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}
                    )
        if state["since"]:
            for event_id, (version, last) in sorted(cal.removed.items()):
                if state["since"] < version <= state["upto"]:
                    gone = (
                        [i for i, _, _ in self._series_instances(cal, last, start, end, all_exceptions=False)]
                        if last.get("type") == "seriesMaster"
                        else [event_id]
                    )
                    changes.extend(
                        {"@odata.type": "#microsoft.graph.event", "id": i, "@removed": {"reason": "deleted"}}
                        for i in gone
                    )
        offset = state["offset"]
        body: dict[str, Any] = {"value": changes[offset : offset + size]}
        base = f"{self.graph_url}{request.path.removeprefix('/v1.0')}"
        if offset + size < len(changes):
            token = _b64(json.dumps({**state, "offset": offset + size}).encode())
            body["@odata.nextLink"] = f"{base}?$skiptoken={token}"
        else:
            token = _b64(json.dumps({**state, "offset": 0}).encode())
            body["@odata.deltaLink"] = f"{base}?$deltatoken={token}"
        return web.json_response(body)

    async def _get_schedule(self, request: web.Request) -> web.Response:
        body = await request.json()
        schedules = body.get("schedules") or []
        if len(schedules) > 20:
            return _graph_error(400, "ErrorInvalidParameter", "At most 20 schedules can be requested at a time.")
        start, end = _parse_dtz(body["startTime"]), _parse_dtz(body["endTime"])
        if end - start >= timedelta(days=62):
            return _graph_error(400, "ErrorInvalidParameter", "The time span must be less than 62 days.")
        value = []
        for address in schedules:
            box = self.mailboxes.get(address.lower())
            if box is None:
                value.append(
                    {
                        "scheduleId": address,
                        "error": {"message": "not found", "responseCode": "ErrorMailRecipientNotFound"},
                    }
                )
                continue
            items = []
            zone = self._answer_zone(request)
            for cal in box.calendars.values():
                for _, event, _ in self._instances(cal, start, end):
                    if not event["isCancelled"]:
                        own = zone or event["start"]["timeZone"]  # instants, all-day ones too (local midnights)
                        items.append(
                            {
                                "isPrivate": False,
                                "status": event["showAs"],
                                "subject": event["subject"],
                                "start": _in_zone(_parse_dtz(event["start"]), own),
                                "end": _in_zone(_parse_dtz(event["end"]), own),
                            }
                        )
            items.sort(key=lambda item: (_parse_dtz(item["start"]), item["subject"]))
            value.append({"scheduleId": address, "availabilityView": "", "scheduleItems": items, "workingHours": {}})
        return web.json_response({"value": value})

    def _list_events(self, request: web.Request, cal: FakeCalendar) -> web.Response:
        """Events of a calendar; ``$filter`` on a single-value extended property's id and value is understood."""
        items = list(cal.events.values())
        wanted = request.query.get("$filter")
        if wanted:
            match = re.fullmatch(
                r"singleValueExtendedProperties/Any\(ep: ep/id eq '([^']+)' and ep/value eq '((?:[^']|'')*)'\)", wanted
            )
            if match is None:
                return _graph_error(400, "ErrorInvalidUrlQueryFilter", "The filter is not supported.")
            prop_id, value = match.group(1).lower(), match.group(2).replace("''", "'")
            items = [
                e
                for e in items
                if any(p["id"].lower() == prop_id and p["value"] == value for p in cal.extended.get(e["id"], ()))
            ]
        return web.json_response({"value": [self._public(cal, e, request) for e in items]})

    async def _create(self, request: web.Request, box: Mailbox, cal: FakeCalendar) -> web.Response:
        body = await request.json()
        transaction = body.get("transactionId")
        if transaction:
            for existing_cal in box.calendars.values():
                for event in existing_cal.events.values():
                    if event.get("transactionId") == transaction:
                        if self.duplicate_transaction == "error":
                            return _graph_error(
                                400,
                                "ErrorDuplicateTransactionId",
                                "Your request can't be completed. The TransactionId specified in the request has "
                                "already been used to create a different event.",
                            )
                        return web.json_response(self._public(existing_cal, event, request), status=201)
        if not cal.can_edit:
            return _graph_error(403, "ErrorAccessDenied", "Access is denied.")
        event_id = f"evt-{next(self._ids):05d}"
        event = {
            "id": event_id,
            "subject": body.get("subject", ""),
            "body": body.get("body"),
            "start": {"dateTime": _graph_time(_parse_dtz(body["start"])), "timeZone": "UTC"},
            "end": {"dateTime": _graph_time(_parse_dtz(body["end"])), "timeZone": "UTC"},
            "isAllDay": bool(body.get("isAllDay", False)),
            "showAs": body.get("showAs", "busy"),
            "isCancelled": False,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "type": "singleInstance",
            "seriesMasterId": None,
            "originalStartTimeZone": "UTC",
            "originalEndTimeZone": "UTC",
            "transactionId": transaction,
            "attendees": body.get("attendees", []),
            "location": body.get("location", {"displayName": ""}),
        }
        self._store(cal, event)
        if body.get("singleValueExtendedProperties"):
            cal.extended[event_id] = list(body["singleValueExtendedProperties"])
        return web.json_response(_render_times(event, self._answer_zone(request)), status=201)

    async def _event_op(self, request: web.Request, cal: FakeCalendar, event_id: str) -> web.Response:
        event = cal.events.get(event_id)
        if event is None:
            found = self._instance_by_id(cal, event_id)
            if found is None:
                return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            return await self._instance_op(request, cal, *found)
        if_match = request.headers.get("If-Match")
        if request.method == "GET":
            return web.json_response(self._public(cal, event, request))
        if if_match and if_match != event["@odata.etag"]:
            return _conflict()
        if request.method == "PATCH":
            body = await request.json()
            for key in ("subject", "body", "showAs", "attendees", "location", "isCancelled"):
                if key in body:
                    event[key] = body[key]
            for key in ("start", "end"):
                if key in body:
                    event[key] = {"dateTime": _graph_time(_parse_dtz(body[key])), "timeZone": "UTC"}
            self._store(cal, event)
            return web.json_response(_render_times(event, self._answer_zone(request)))
        if request.method == "DELETE":
            self._remove(cal, event_id)
            return web.Response(status=204)
        return _graph_error(405, "BadRequest", "method not allowed")

    async def _instance_op(
        self, request: web.Request, cal: FakeCalendar, master_id: str, day: date, instance: dict[str, Any]
    ) -> web.Response:
        """GET, PATCH (makes it an exception; start/end keep the zone they are stated in) or DELETE (cancels it)
        one occurrence of a series."""
        if request.method == "GET":
            return web.json_response(self._public(cal, instance, request))
        if_match = request.headers.get("If-Match")
        if if_match and if_match != instance.get("@odata.etag"):
            return _conflict()
        if request.method == "PATCH":
            body = await request.json()
            changed = dict(instance)
            for key in ("subject", "body", "showAs", "attendees", "location", "isCancelled"):
                if key in body:
                    changed[key] = body[key]
            for key in ("start", "end"):
                if key in body:
                    zone = body[key].get("timeZone") or "UTC"
                    wall = _parse_dtz(body[key]).astimezone(_tz(zone)).replace(tzinfo=None)
                    changed[key] = {"dateTime": _wall_time(wall), "timeZone": zone}
                    changed[f"original{key.capitalize()}TimeZone"] = zone
            self._set_exception(cal, master_id, day, changed)
            return web.json_response(self._public(cal, changed, request))
        if request.method == "DELETE":
            self._cancel(cal, master_id, day)
            return web.Response(status=204)
        return _graph_error(405, "BadRequest", "method not allowed")

    # --------------------------------------------------------------------------------- subscriptions

    async def _subscriptions(self, request: web.Request, rest: list[str], principal: str) -> web.Response:
        if not rest and request.method == "POST":
            body = await request.json()
            expires = _parse_query_time(body["expirationDateTime"])
            if expires - datetime.now(UTC) > timedelta(minutes=4230):
                return _graph_error(
                    400, "ExtensionError", "Subscription expiration can only be 4230 minutes in the future."
                )
            if body.get("changeType") is None or body.get("resource") is None or body.get("notificationUrl") is None:
                return _graph_error(400, "ExtensionError", "changeType, resource and notificationUrl are required.")
            check = secrets.token_urlsafe(16)
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.post(
                        body["notificationUrl"],
                        params={"validationToken": check},
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response,
                ):
                    echoed = await response.text()
                    ok = response.status == 200 and echoed == check and response.content_type == "text/plain"
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if not ok:
                return _graph_error(
                    400,
                    "ValidationError",
                    "Subscription validation request failed. Response must exactly match validationToken query "
                    "parameter.",
                )
            sub_id = str(next(self._ids)) + "-" + secrets.token_hex(8)
            sub = {
                "id": sub_id,
                "resource": body["resource"],
                "changeType": body["changeType"],
                "clientState": body.get("clientState"),
                "notificationUrl": body["notificationUrl"],
                "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
                "expirationDateTime": expires.isoformat().replace("+00:00", "Z"),
                "applicationId": self.client_id,
                "creatorId": principal,
            }
            self.subscriptions[sub_id] = sub
            return web.json_response({k: v for k, v in sub.items() if k != "creatorId"}, status=201)
        if len(rest) == 1 and rest[0] in self.subscriptions:
            sub = self.subscriptions[rest[0]]
            if request.method == "PATCH":
                body = await request.json()
                sub["expirationDateTime"] = body["expirationDateTime"]
                return web.json_response(sub)
            if request.method == "DELETE":
                del self.subscriptions[rest[0]]
                return web.Response(status=204)
        return _graph_error(404, "ResourceNotFound", "The object was not found.")

    async def notify(
        self,
        subscription_id: str,
        *,
        change_type: str = "updated",
        resource_id: str = "evt",
        client_state: str | None = None,
        lifecycle_event: str | None = None,
    ) -> int:
        """POST a change (or lifecycle) notification to the subscriber, as Graph does; returns its status."""
        sub = self.subscriptions[subscription_id]
        item: dict[str, Any] = {
            "subscriptionId": subscription_id,
            "subscriptionExpirationDateTime": sub["expirationDateTime"],
            "tenantId": self.tenant_id,
            "clientState": sub["clientState"] if client_state is None else client_state,
        }
        if lifecycle_event:
            item["lifecycleEvent"] = lifecycle_event
            url = sub["lifecycleNotificationUrl"] or sub["notificationUrl"]
        else:
            item.update(
                {
                    "changeType": change_type,
                    "resource": f"Users/{sub['creatorId']}/Events/{resource_id}",
                    "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": resource_id},
                }
            )
            url = sub["notificationUrl"]
        async with aiohttp.ClientSession() as session, session.post(url, json={"value": [item]}) as response:
            return response.status
