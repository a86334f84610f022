"""A loopback fake of Google Calendar v3 and Google's OAuth token endpoint (aiohttp, real wire shapes).

The production code talks to it through google-api-python-client exactly as it talks to Google: only the base URL
differs (``GOOGLE_API_URL = fake.api_url``, ``GOOGLE_TOKEN_URL = fake.token_url``).

What it speaks:

* ``POST /token``: ``authorization_code`` (PKCE S256 checked against the challenge the consent step saw),
  ``refresh_token`` (``invalid_grant`` once revoked) and the JWT bearer grant of domain-wide delegation (the
  assertion's signature is verified against the registered service-account key; ``sub`` must be allowed).
* ``/calendar/v3``: ``users/me/calendarList``, ``freeBusy`` (at most 50 calendars), ``calendars/{id}/events``
  (list with ``syncToken``/``pageToken``/``timeMin``/``timeMax``, insert with client ids, get, patch, update,
  delete, watch with ``If-Match``), ``channels/stop``.  Bearer tokens are checked on every call (401 otherwise).

Instances of recurring events are stored as the separate instance events Google returns with
``singleEvents=true``; tests put them in directly.  Faults (status, ``Retry-After``, hanging) are injected per
method and path.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from aiohttp import web

__all__ = ["FakeGoogle", "Fault"]

_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _error(status: int, message: str, reason: str, **extra: Any) -> web.Response:
    body = {"error": {"code": status, "message": message, "errors": [{"domain": "global", "reason": reason,
                                                                        "message": message, **extra}]}}
    return web.json_response(body, status=status)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Fault:
    method: str
    path: str  # a regex searched in the path below /calendar/v3 (or "/token")
    status: int = 503
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = "backendError"
    hang: bool = False
    truncate: bool = False  # answer 200 with the real body cut in half (a connection dropped mid-answer)
    skip: int = 0  # let this many matching requests through first


@dataclass
class Grant:
    principal: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class FakeCalendar:
    id: str
    summary: str
    time_zone: str = "UTC"
    access_role: str = "owner"
    primary: bool = False
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    principal: str | None = None


class FakeGoogle:
    def __init__(self, *, client_id: str = "client-1", client_secret: str = "secret-1") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.calendars: dict[str, FakeCalendar] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.stopped_channels: list[str] = []
        self.requests: list[Recorded] = []
        self.token_requests: list[dict[str, str]] = []
        self.faults: list[Fault] = []
        self.page_size = 250
        self.service_account_keys: dict[str, str] = {}  # client_email -> public key PEM
        self.delegation_allowed: set[str] = set()
        self.jwt_errors: list[str] = []
        self._seq = itertools.count(1)
        self._sync_tokens: dict[str, tuple[str, int]] = {}
        self._pages: dict[str, tuple[list[dict[str, Any]], int, str | None]] = {}
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeGoogle:
        app = web.Application(middlewares=[self._faults_mw])
        app.router.add_post("/token", self._token)
        p = "/calendar/v3"
        app.router.add_get(p + "/users/me/calendarList", self._calendar_list)
        app.router.add_post(p + "/freeBusy", self._freebusy)
        app.router.add_get(p + "/calendars/{cid}/events", self._list_events)
        app.router.add_post(p + "/calendars/{cid}/events", self._insert)
        app.router.add_post(p + "/calendars/{cid}/events/watch", self._watch)
        app.router.add_get(p + "/calendars/{cid}/events/{eid}", self._get)
        app.router.add_patch(p + "/calendars/{cid}/events/{eid}", self._patch)
        app.router.add_put(p + "/calendars/{cid}/events/{eid}", self._put)
        app.router.add_delete(p + "/calendars/{cid}/events/{eid}", self._delete)
        app.router.add_post(p + "/channels/stop", self._stop_channel)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return self.base_url + "/"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    # ------------------------------------------------------------------ test controls

    def add_calendar(
        self, calendar_id: str, summary: str, *, time_zone: str = "UTC", access_role: str = "owner",
        primary: bool = False,
    ) -> FakeCalendar:
        cal = FakeCalendar(calendar_id, summary, time_zone, access_role, primary)
        self.calendars[calendar_id] = cal
        return cal

    def put_event(self, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Add or replace an event as if someone edited it in Google Calendar."""
        ev = dict(event)
        ev.setdefault("status", "confirmed")
        ev.setdefault("kind", "calendar#event")
        ev.setdefault("id", secrets.token_hex(8))
        seq = next(self._seq)
        ev["etag"] = f'"{seq}"'
        ev["_seq"] = seq
        ev["updated"] = _rfc3339(datetime.now(UTC))
        self.calendars[calendar_id].events[ev["id"]] = ev
        return ev

    def cancel_event(self, calendar_id: str, event_id: str) -> None:
        ev = dict(self.calendars[calendar_id].events[event_id])
        ev["status"] = "cancelled"
        self.put_event(calendar_id, ev)

    def issue_tokens(self, principal: str = "coach@example.com", scopes: tuple[str, ...] = ()) -> tuple[str, str]:
        access, refresh = "ya29." + secrets.token_urlsafe(16), "1//" + secrets.token_urlsafe(16)
        self.access_tokens[access] = Grant(principal, scopes, time.time() + 3600)
        self.refresh_tokens[refresh] = Grant(principal, scopes, 0)
        return access, refresh

    def consent(self, authorization_url: str, *, principal: str = "coach@example.com",
                scopes: tuple[str, ...] | None = None) -> tuple[str, str]:
        """The person approves on Google's consent page: (code, state) as Google would redirect back with."""
        query = {k: v[0] for k, v in parse_qs(urlparse(authorization_url).query).items()}
        code = "4/" + secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": query.get("code_challenge"),
            "method": query.get("code_challenge_method"),
            "redirect_uri": query.get("redirect_uri"),
            "client_id": query.get("client_id"),
            "scopes": tuple(scopes if scopes is not None else query.get("scope", "").split()),
            "principal": principal,
            "offline": query.get("access_type") == "offline",
        }
        return code, query.get("state", "")

    def revoke_all(self) -> None:
        self.access_tokens.clear()
        self.refresh_tokens.clear()

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def invalidate_sync_tokens(self) -> None:
        self._sync_tokens.clear()

    def fail(self, method: str, path: str, status: int = 503, **kwargs: Any) -> Fault:
        fault = Fault(method.upper(), path, status, **kwargs)
        self.faults.append(fault)
        return fault

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method.upper() and re.search(path, r.path)]

    # ------------------------------------------------------------------ plumbing

    @web.middleware
    async def _faults_mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        sub = request.path.removeprefix("/calendar/v3")
        for fault in self.faults:
            if fault.times > 0 and fault.method == request.method and re.search(fault.path, sub):
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                if fault.truncate:
                    real = await handler(request)
                    body = real.body if isinstance(real, web.Response) and isinstance(real.body, bytes) else b"{}"
                    return web.Response(body=body[: len(body) // 2], status=200, content_type="application/json")
                self.requests.append(Recorded(request.method, sub, dict(request.query), None))
                if fault.hang:
                    await self._release.wait()
                body = {"error": {"code": fault.status, "message": "injected",
                                  "errors": [{"domain": "global", "reason": fault.reason, "message": "injected"}]}}
                return web.json_response(body, status=fault.status, headers=fault.headers)
        return await handler(request)

    async def _auth(self, request: web.Request) -> tuple[Grant | None, web.Response | None]:
        header = request.headers.get("Authorization", "")
        grant = self.access_tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
        self.requests.append(Recorded(request.method, request.path.removeprefix("/calendar/v3"),
                                      dict(request.query), body, grant.principal if grant else None))
        if grant is None or grant.expires_at < time.time():
            resp = _error(401, "Request had invalid authentication credentials.", "authError",
                          location="Authorization", locationType="header")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
            return None, resp
        return grant, None

    def _calendar(self, request: web.Request) -> FakeCalendar | None:
        return self.calendars.get(request.match_info["cid"])

    # ------------------------------------------------------------------ token endpoint

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.token_requests.append(form)
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        grant_type = form.get("grant_type")
        if grant_type == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""))
        if client_id != self.client_id or client_secret != self.client_secret:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if grant_type == "authorization_code":
            info = self.codes.pop(form.get("code", ""), None)
            if info is None:
                return _oauth_error(400, "invalid_grant", "Malformed auth code.")
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if info["method"] != "S256" or digest != info["challenge"]:
                return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
            if form.get("redirect_uri") != info["redirect_uri"]:
                return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            access, refresh = self.issue_tokens(info["principal"], info["scopes"])
            body: dict[str, Any] = {"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                                    "scope": " ".join(info["scopes"])}
            if info["offline"]:
                body["refresh_token"] = refresh
            return web.json_response(body)
        if grant_type == "refresh_token":
            grant = self.refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            access = "ya29." + secrets.token_urlsafe(16)
            self.access_tokens[access] = Grant(grant.principal, grant.scopes, time.time() + 3600)
            return web.json_response({"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                                      "scope": " ".join(grant.scopes)})
        return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _jwt_grant(self, assertion: str) -> web.Response:
        from google.auth import jwt

        try:
            unverified = jwt.decode(assertion, verify=False)
            key = self.service_account_keys[unverified["iss"]]
            # Google's JWT audience is its token endpoint, whatever URL the assertion is posted to.
            claims = jwt.decode(assertion, certs=key, audience=[GOOGLE_TOKEN_AUDIENCE, self.token_url])
        except Exception as exc:
            self.jwt_errors.append(repr(exc))
            return _oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
        subject = claims.get("sub")
        if subject not in self.delegation_allowed:
            return _oauth_error(401, "unauthorized_client",
                                "Client is unauthorized to retrieve access tokens using this method.")
        access = "ya29.sa." + secrets.token_urlsafe(16)
        self.access_tokens[access] = Grant(subject, tuple(claims.get("scope", "").split()), time.time() + 3600)
        return web.json_response({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})

    # ------------------------------------------------------------------ calendar list, freeBusy

    async def _calendar_list(self, request: web.Request) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        items = [
            {"kind": "calendar#calendarListEntry", "id": c.id, "summary": c.summary, "timeZone": c.time_zone,
             "accessRole": c.access_role, **({"primary": True} if c.primary else {})}
            for c in self.calendars.values()
        ]
        return web.json_response(self._page(request, items, {"kind": "calendar#calendarList"}, None))

    async def _freebusy(self, request: web.Request) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        body = self.requests[-1].body or {}
        items = body.get("items", [])
        if len(items) > 50:
            return _error(400, "Too many calendars requested", "tooManyCalendarsRequested")
        start, end = datetime.fromisoformat(body["timeMin"]), datetime.fromisoformat(body["timeMax"])
        out: dict[str, Any] = {}
        for item in items:
            cal = self.calendars.get(item["id"])
            if cal is None:
                out[item["id"]] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            busy = []
            for ev in cal.events.values():
                if ev["status"] == "cancelled" or ev.get("transparency") == "transparent":
                    continue
                if any(a.get("self") and a.get("responseStatus") == "declined" for a in ev.get("attendees", [])):
                    continue
                s, e = _times(ev, cal.time_zone)
                if s < end and e > start:
                    busy.append({"start": _rfc3339(max(s, start)), "end": _rfc3339(min(e, end))})
            out[cal.id] = {"busy": sorted(busy, key=lambda b: b["start"])}
        return web.json_response({"kind": "calendar#freeBusy", "timeMin": body["timeMin"],
                                  "timeMax": body["timeMax"], "calendars": out})

    # ------------------------------------------------------------------ events

    def _page(self, request: web.Request, items: list[dict[str, Any]], head: dict[str, Any],
              sync_token: str | None) -> dict[str, Any]:
        page_token = request.query.get("pageToken")
        if page_token:
            items, offset, sync_token = self._pages.pop(page_token)
        else:
            offset = 0
        size = min(int(request.query.get("maxResults", self.page_size)), self.page_size)
        chunk = items[offset:offset + size]
        out = dict(head)
        out["items"] = [{k: v for k, v in it.items() if not k.startswith("_")} for it in chunk]
        if offset + size < len(items):
            token = "pg-" + secrets.token_hex(6)
            self._pages[token] = (items, offset + size, sync_token)
            out["nextPageToken"] = token
        elif sync_token is not None:
            out["nextSyncToken"] = sync_token
        return out

    async def _list_events(self, request: web.Request) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        cal = self._calendar(request)
        if cal is None:
            return _error(404, "Not Found", "notFound")
        q = request.query
        if q.get("pageToken"):
            return web.json_response(self._page(request, [], {}, None) | self._head(cal))
        sync = q.get("syncToken")
        if sync is not None:
            if ("timeMin" in q) or ("timeMax" in q):
                return _error(400, "Sync token cannot be used with timeMin/timeMax", "invalid")
            known = self._sync_tokens.get(sync)
            if known is None or known[0] != cal.id:
                return _error(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
            since = known[1]
            items = [ev for ev in cal.events.values() if ev["_seq"] > since]
        else:
            start = datetime.fromisoformat(q["timeMin"]) if "timeMin" in q else None
            end = datetime.fromisoformat(q["timeMax"]) if "timeMax" in q else None
            show_deleted = q.get("showDeleted") == "true"
            items = []
            for ev in cal.events.values():
                if ev["status"] == "cancelled" and not show_deleted:
                    continue
                if ev["status"] != "cancelled":
                    s, e = _times(ev, cal.time_zone)
                    if (start and e <= start) or (end and s >= end):
                        continue
                items.append(ev)
        items.sort(key=lambda ev: ev["_seq"])
        token = "st-" + secrets.token_hex(6)
        self._sync_tokens[token] = (cal.id, max((ev["_seq"] for ev in cal.events.values()), default=0))
        return web.json_response(self._page(request, items, self._head(cal), token))

    @staticmethod
    def _head(cal: FakeCalendar) -> dict[str, Any]:
        return {"kind": "calendar#events", "summary": cal.summary, "timeZone": cal.time_zone,
                "accessRole": cal.access_role}

    async def _insert(self, request: web.Request) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        cal = self._calendar(request)
        if cal is None:
            return _error(404, "Not Found", "notFound")
        if cal.access_role not in ("owner", "writer"):
            return _error(403, "Forbidden", "requiredAccessLevel")
        body = dict(self.requests[-1].body or {})
        event_id = body.get("id")
        if event_id is not None:
            if not _EVENT_ID.match(event_id):
                return _error(400, "Invalid resource id value.", "invalid")
            if event_id in cal.events:
                return _error(409, "The requested identifier already exists.", "duplicate")
        body["iCalUID"] = f"{body.get('id') or secrets.token_hex(8)}@google.com"
        return web.json_response(_public(self.put_event(cal.id, body)))

    async def _get(self, request: web.Request) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        cal = self._calendar(request)
        ev = cal.events.get(request.match_info["eid"]) if cal else None
        if ev is None:
            return _error(404, "Not Found", "notFound")
        return web.json_response(_public(ev))

    async def _write(self, request: web.Request, *, merge: bool) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        cal = self._calendar(request)
        ev = cal.events.get(request.match_info["eid"]) if cal else None
        if cal is None or ev is None:
            return _error(404, "Not Found", "notFound")
        if_match = request.headers.get("If-Match")
        if if_match is not None and if_match != ev["etag"]:
            return _error(412, "Precondition Failed", "conditionNotMet", location="If-Match", locationType="header")
        body = dict(self.requests[-1].body or {})
        new = {**ev, **body} if merge else {"id": ev["id"], "iCalUID": ev.get("iCalUID"), **body}
        if merge and "extendedProperties" in body:
            props = {k: dict(v) for k, v in ev.get("extendedProperties", {}).items()}
            for scope, values in body["extendedProperties"].items():
                props.setdefault(scope, {}).update(values)
            new["extendedProperties"] = props
        new["id"] = ev["id"]
        return web.json_response(_public(self.put_event(cal.id, new)))

    async def _patch(self, request: web.Request) -> web.Response:
        return await self._write(request, merge=True)

    async def _put(self, request: web.Request) -> web.Response:
        return await self._write(request, merge=False)

    async def _delete(self, request: web.Request) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        cal = self._calendar(request)
        ev = cal.events.get(request.match_info["eid"]) if cal else None
        if cal is None or ev is None:
            return _error(404, "Not Found", "notFound")
        if ev["status"] == "cancelled":
            return _error(410, "Resource has been deleted", "deleted")
        if_match = request.headers.get("If-Match")
        if if_match is not None and if_match != ev["etag"]:
            return _error(412, "Precondition Failed", "conditionNotMet", location="If-Match", locationType="header")
        self.cancel_event(cal.id, ev["id"])
        return web.Response(status=204)

    # ------------------------------------------------------------------ push channels

    async def _watch(self, request: web.Request) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        cal = self._calendar(request)
        if cal is None:
            return _error(404, "Not Found", "notFound")
        body = self.requests[-1].body or {}
        if body.get("type") != "web_hook" or not str(body.get("address", "")).startswith(("https://", "http://")):
            return _error(400, "Invalid channel", "invalid")
        if body.get("id") in self.channels:
            return _error(400, "Channel id not unique", "channelIdNotUnique")
        ttl = int(body.get("params", {}).get("ttl", 604800))
        expiration = int((time.time() + ttl) * 1000)
        channel = {"kind": "api#channel", "id": body["id"], "resourceId": "res-" + hashlib.sha1(
            cal.id.encode()).hexdigest()[:12], "resourceUri": f"{self.api_url}calendar/v3/calendars/{cal.id}/events",
            "token": body.get("token"), "expiration": str(expiration)}
        self.channels[body["id"]] = {**channel, "address": body["address"], "calendar_id": cal.id}
        return web.json_response(channel)

    async def _stop_channel(self, request: web.Request) -> web.Response:
        _, denied = await self._auth(request)
        if denied:
            return denied
        body = self.requests[-1].body or {}
        channel = self.channels.get(body.get("id", ""))
        if channel is None or channel["resourceId"] != body.get("resourceId"):
            return _error(404, "Channel not found", "notFound")
        del self.channels[body["id"]]
        self.stopped_channels.append(body["id"])
        return web.Response(status=204)

    async def notify(self, channel_id: str, *, state: str = "exists", token: str | None = None) -> int:
        """Send the push notification Google sends to the channel's address; the receiver's status."""
        import aiohttp

        channel = self.channels[channel_id]
        headers = {
            "X-Goog-Channel-ID": channel_id,
            "X-Goog-Message-Number": str(next(self._seq)),
            "X-Goog-Resource-ID": channel["resourceId"],
            "X-Goog-Resource-State": state,
            "X-Goog-Resource-URI": channel["resourceUri"],
            "X-Goog-Channel-Expiration": datetime.fromtimestamp(int(channel["expiration"]) / 1000, UTC)
            .strftime("%a, %d %b %Y %H:%M:%S GMT"),
        }
        sent_token = channel["token"] if token is None else token
        if sent_token:
            headers["X-Goog-Channel-Token"] = sent_token
        async with aiohttp.ClientSession() as session, session.post(channel["address"], headers=headers) as resp:
            return resp.status


def _public(ev: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ev.items() if not k.startswith("_")}


def _times(ev: dict[str, Any], calendar_tz: str) -> tuple[datetime, datetime]:
    def one(part: dict[str, Any]) -> datetime:
        if "date" in part:
            day = datetime.fromisoformat(part["date"])
            return day.replace(tzinfo=ZoneInfo(calendar_tz))
        moment = datetime.fromisoformat(part["dateTime"])
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(part.get("timeZone") or calendar_tz))
        return moment

    return one(ev["start"]), one(ev["end"])
