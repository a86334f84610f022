"""The Google OAuth web flow (PKCE, state kept server-side) and account creation, against the loopback fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.providers.google import SCOPE_EVENTS, SCOPE_READONLY, make_google_provider
from bot.providers.google_oauth import CALLBACK_PATH, GoogleOAuth, GoogleOAuthError
from bot.scheduling.model import Person
from tests.fakes.google_api import FakeGoogle


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def oauth(storage: Any, settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> GoogleOAuth:
    # The fake token endpoint is plain http on loopback; oauthlib refuses non-https token URLs unless told.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    storage.people.add(Person(id="dana", display_name="Dana", timezone="Europe/Berlin"))
    return GoogleOAuth(storage, settings, clock=clock, redirect_uri="https://bot.example.com" + CALLBACK_PATH)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_start_url_has_pkce_state_and_offline_access(oauth: GoogleOAuth, storage: Any, clock: Clock) -> None:
    url = oauth.start_url("dana")
    q = query(url)
    assert url.startswith("https://accounts.google.com/o/oauth2/auth?")
    assert q["response_type"] == "code" and q["client_id"] == "client-1"
    assert q["redirect_uri"] == "https://bot.example.com/oauth/google/callback"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert q["access_type"] == "offline" and q["prompt"] == "consent"
    assert set(q["scope"].split()) == {SCOPE_READONLY, SCOPE_EVENTS}
    saved = storage.conversations.load_state("google-oauth:" + q["state"], now=clock.now)
    assert saved["person_id"] == "dana"
    assert saved["code_verifier"] not in url  # only the challenge travels
    assert query(oauth.start_url("dana"))["state"] != q["state"]


async def test_finish_stores_account_encrypted_credentials_and_calendars(
    oauth: GoogleOAuth, fake: FakeGoogle, storage: Any, settings: Settings
) -> None:
    fake.add_calendar("dana@example.com", "Dana", time_zone="Europe/Berlin", primary=True)
    fake.add_calendar("family@group.calendar.google.com", "Family", access_role="reader")
    code, state = fake.consent(oauth.start_url("dana"), principal="dana@example.com")
    account = await oauth.finish(state, code)

    assert account.provider == "google" and account.person_id == "dana"
    assert account.display_name == "dana@example.com"
    creds = storage.credentials.get(account.id)
    assert creds["type"] == "authorized_user"
    assert creds["token"] in fake.access_tokens and creds["refresh_token"] in fake.refresh_tokens
    assert set(creds["scopes"]) == {SCOPE_READONLY, SCOPE_EVENTS} and creds["expiry"]
    with storage.engine.connect() as conn:
        raw = conn.execute(text("SELECT ciphertext FROM credentials WHERE account_id = :a"), {"a": account.id}).scalar()
    assert raw and creds["token"] not in raw and creds["refresh_token"] not in raw
    assert "refresh" not in raw and "ya29" not in raw
    names = sorted(c.name for c in storage.calendars.calendars_for_account(account.id))
    assert names == ["Dana", "Family"]
    exchange = fake.token_requests[0]
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]

    # The stored credentials make a working provider (the registry's factory path).
    provider = make_google_provider(account, creds, settings)
    assert not provider.read_only
    assert len(await provider.list_calendars()) == 2

    # The same callback again (a replay, or a double click) is refused.
    with pytest.raises(GoogleOAuthError, match="expired or was already used"):
        await oauth.finish(state, code)


async def test_wrong_or_expired_state_is_refused(
    oauth: GoogleOAuth, fake: FakeGoogle, storage: Any, clock: Clock
) -> None:
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    code, state = fake.consent(oauth.start_url("dana"))
    with pytest.raises(GoogleOAuthError):
        await oauth.finish("not-" + state, code)
    with pytest.raises(GoogleOAuthError):
        await oauth.finish("", code)
    clock.now += timedelta(minutes=16)
    with pytest.raises(GoogleOAuthError, match="expired"):
        await oauth.finish(state, code)
    assert fake.token_requests == []  # no code was exchanged
    assert storage.calendars.accounts_for_person("dana") == []


async def test_bad_code_is_refused_and_nothing_stored(oauth: GoogleOAuth, fake: FakeGoogle, storage: Any) -> None:
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    _, state = fake.consent(oauth.start_url("dana"))
    with pytest.raises(GoogleOAuthError, match="refused"):
        await oauth.finish(state, "4/forged")
    assert storage.calendars.accounts_for_person("dana") == []


async def test_reconnect_updates_the_account(oauth: GoogleOAuth, fake: FakeGoogle, storage: Any) -> None:
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    code, state = fake.consent(oauth.start_url("dana"), principal="dana@example.com")
    first = await oauth.finish(state, code)
    storage.calendars.mark_needs_reconnect(first.id, error="invalid_grant")
    old = storage.credentials.get(first.id)

    code, state = fake.consent(oauth.start_url("dana"), principal="dana@example.com")
    again = await oauth.finish(state, code)
    assert again.id == first.id and again.status == "ok"
    assert len(storage.calendars.accounts_for_person("dana")) == 1
    assert storage.credentials.get(first.id)["refresh_token"] != old["refresh_token"]


async def test_partial_consent_connects_read_only(
    oauth: GoogleOAuth, fake: FakeGoogle, storage: Any, settings: Settings
) -> None:
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    code, state = fake.consent(oauth.start_url("dana"), scopes=(SCOPE_READONLY,))
    account = await oauth.finish(state, code)
    creds = storage.credentials.get(account.id)
    assert creds["scopes"] == [SCOPE_READONLY]
    assert make_google_provider(account, creds, settings).read_only


async def test_consent_without_calendar_access_is_refused(oauth: GoogleOAuth, fake: FakeGoogle, storage: Any) -> None:
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    code, state = fake.consent(oauth.start_url("dana"), scopes=("openid",))
    with pytest.raises(GoogleOAuthError, match="tick the calendar"):
        await oauth.finish(state, code)
    assert storage.calendars.accounts_for_person("dana") == []


def test_not_configured(storage: Any, tmp_path: Any) -> None:
    oauth = GoogleOAuth(storage, Settings(database_url="sqlite://"))
    assert not oauth.configured
    with pytest.raises(GoogleOAuthError, match="GOOGLE_CLIENT_ID"):
        oauth.start_url("dana")


async def test_callback_outcomes(oauth: GoogleOAuth, fake: FakeGoogle, storage: Any) -> None:
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    code, state = fake.consent(oauth.start_url("dana"), principal="dana@example.com")
    ok = await oauth.oauth_callback("google", {"state": state, "code": code})
    assert ok.ok and "dana@example.com" in ok.message
    replay = await oauth.oauth_callback("google", {"state": state, "code": code})
    assert not replay.ok and "already used" in replay.message

    _, denied_state = fake.consent(oauth.start_url("dana"))
    denied = await oauth.oauth_callback("google", {"state": denied_state, "error": "access_denied"})
    assert not denied.ok and "not granted" in denied.message
    assert storage.conversations.load_state("google-oauth:" + denied_state, now=datetime.now(UTC)) is None
    assert "refresh" not in ok.message and "ya29" not in ok.message


async def test_connect_through_the_calendar_service(
    storage: Any, settings: Settings, fake: FakeGoogle, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.scheduling.intervals import Interval
    from bot.services.calendars import CalendarService

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    storage.people.add(Person(id="dana", display_name="Dana", timezone="Europe/Berlin"))
    service = CalendarService(storage, clock, settings=settings)
    oauth = GoogleOAuth(storage, settings, clock=clock, calendars=service)
    fake.add_calendar("dana@example.com", "Dana", primary=True)
    fake.put_event("dana@example.com", {"id": "busy1", "start": {"dateTime": "2026-03-10T09:00:00Z"},
                                        "end": {"dateTime": "2026-03-10T10:00:00Z"}})
    code, state = fake.consent(oauth.start_url("dana"), principal="dana@example.com")
    account = await oauth.finish(state, code)
    calendars = storage.calendars.calendars_for_account(account.id)
    await service.choose_calendars("dana", account.id, pull=[c.id for c in calendars], push=calendars[0].id)

    window = Interval(datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    busy = await service.busy("dana", window)
    assert [(b.interval.start.hour, b.interval.end.hour) for b in busy] == [(9, 10)]

    # An expired access token is refreshed, and the new one stored (encrypted) for next time.
    before = storage.credentials.get(account.id)["token"]
    fake.expire_access_tokens()
    await service.forget(account.id)
    assert len(await service.busy("dana", window)) == 1
    after = storage.credentials.get(account.id)["token"]
    assert after != before and after in fake.access_tokens

    # Revoked: the account is marked, and its time is not read as free.
    fake.revoke_all()
    await service.forget(account.id)
    from bot.scheduling.ports import BusyUnavailable

    with pytest.raises(BusyUnavailable):
        await service.busy("dana", window)
    assert storage.calendars.get_account(account.id).status == "needs_reconnect"
