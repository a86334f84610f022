"""Microsoft sign-in against the fake identity platform with the real msal: auth-code flow with PKCE, encrypted
token storage, refresh, invalid_grant, client credentials."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text

from bot.providers.microsoft_auth import CALLBACK_PATH, FLOW_PREFIX, MicrosoftAuth, MicrosoftAuthError
from bot.scheduling.ports import NeedsReconnect
from tests.fakes.graph_api import FakeGraph
from tests.integration.microsoft.conftest import COACH, COACH_ID


async def _connect(auth: MicrosoftAuth, fake: FakeGraph) -> Any:
    url = await auth.astart_url(COACH_ID)
    params = await fake.consent(url)
    return await auth.finish(params["state"], params)


async def test_start_url_uses_pkce_and_a_server_side_state(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> None:
    url = await auth.astart_url(COACH_ID)

    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}" == fake.authority_url
    assert parts.path == "/common/oauth2/v2.0/authorize"
    assert query["client_id"] == fake.client_id
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "http://127.0.0.1:9" + CALLBACK_PATH
    assert query["code_challenge_method"] == "S256"
    assert {"Calendars.ReadWrite", "User.Read", "offline_access", "openid"} <= set(query["scope"].split())
    saved = storage.conversations.load_state(FLOW_PREFIX + query["state"], now=auth.clock())
    assert saved is not None and saved["person_id"] == COACH_ID
    verifier = saved["flow"]["code_verifier"]
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert query["code_challenge"] == expected
    assert verifier not in url


async def test_callback_exchanges_the_code_and_stores_tokens_encrypted(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any
) -> None:
    account = await _connect(auth, fake)

    assert account.provider == "microsoft"
    assert account.display_name == COACH
    exchange = [r for r in fake.token_requests if r.get("grant_type") == "authorization_code"]
    assert len(exchange) == 1 and exchange[0]["code_verifier"]
    names = sorted(c.name for c in storage.calendars.calendars_for_account(account.id))
    assert names == ["Birthdays", "Calendar"]

    record = storage.credentials.get(account.id)
    assert record["kind"] == "delegated" and record["username"] == COACH
    refresh_tokens = list(fake.refresh_tokens)
    access_tokens = list(fake.access_tokens)
    assert any(rt in record["token_cache"] for rt in refresh_tokens)
    with storage.engine.connect() as conn:
        raw = conn.execute(text("SELECT ciphertext FROM credentials")).scalars().all()
    assert len(raw) == 1
    for secret in refresh_tokens + access_tokens:
        assert secret not in raw[0]
    assert "token_cache" not in raw[0] and COACH not in raw[0]


async def test_a_flow_is_used_once(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> None:
    url = await auth.astart_url(COACH_ID)
    params = await fake.consent(url)
    await auth.finish(params["state"], params)

    with pytest.raises(MicrosoftAuthError, match="expired or was already used"):
        await auth.finish(params["state"], params)
    with pytest.raises(MicrosoftAuthError, match="expired or was already used"):
        await auth.finish("forged-state", {"code": "x", "state": "forged-state"})
    assert len(storage.calendars.accounts_for_person(COACH_ID)) == 1


async def test_a_declined_sign_in_creates_nothing(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> None:
    fake.signed_in = None
    url = await auth.astart_url(COACH_ID)
    params = await fake.consent(url)

    with pytest.raises(MicrosoftAuthError, match="access_denied"):
        await auth.finish(params["state"], params)
    assert storage.calendars.accounts_for_person(COACH_ID) == []


async def test_reconnecting_reuses_the_account(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> None:
    first = await _connect(auth, fake)
    storage.calendars.mark_needs_reconnect(first.id, error="invalid_grant")
    second = await _connect(auth, fake)

    assert second.id == first.id and second.status == "ok"
    assert len(storage.calendars.accounts_for_person(COACH_ID)) == 1


async def test_an_expired_access_token_is_refreshed_and_the_new_cache_stored(
    auth: MicrosoftAuth, fake: FakeGraph, storage: Any
) -> None:
    account = await _connect(auth, fake)
    before = storage.credentials.get(account.id)["token_cache"]
    fake.expire_access_tokens()  # Graph now answers 401 to the token msal still thinks is fresh

    provider = auth.provider(account, storage.credentials.get(account.id))
    calendars = await provider.list_calendars()

    assert {c.name for c in calendars} == {"Calendar", "Birthdays"}
    assert [r["grant_type"] for r in fake.token_requests].count("refresh_token") == 1
    after = storage.credentials.get(account.id)
    assert after["token_cache"] != before and after["username"] == COACH


async def test_invalid_grant_on_refresh_needs_reconnect(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> None:
    account = await _connect(auth, fake)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()

    provider = auth.provider(account, storage.credentials.get(account.id))
    with pytest.raises(NeedsReconnect, match="invalid_grant"):
        await provider.list_calendars()


async def test_401_after_a_refresh_needs_reconnect(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> None:
    account = await _connect(auth, fake)
    fake.fail("GET", r"/me/calendars$", 401, times=2, body={"error": {"code": "InvalidAuthenticationToken"}})
    before = len(fake.calls("GET", r"/me/calendars$"))

    provider = auth.provider(account, storage.credentials.get(account.id))
    with pytest.raises(NeedsReconnect):
        await provider.list_calendars()
    assert len(fake.calls("GET", r"/me/calendars$")) == before + 2
    assert [r["grant_type"] for r in fake.token_requests].count("refresh_token") == 1


async def test_client_credentials_act_on_a_mailbox(auth: MicrosoftAuth, fake: FakeGraph, storage: Any) -> None:
    account = await auth.connect_mailbox(COACH_ID, COACH)

    grants = [r for r in fake.token_requests if r.get("grant_type") == "client_credentials"]
    assert len(grants) == 1
    assert grants[0]["scope"] == "https://graph.microsoft.com/.default"
    assert all(g.principal == f"app:{fake.client_id}" for g in fake.access_tokens.values())
    assert fake.calls("GET", rf"/v1.0/users/{COACH}/calendars$")
    assert sorted(c.name for c in storage.calendars.calendars_for_account(account.id)) == ["Birthdays", "Calendar"]
    record = storage.credentials.get(account.id)
    assert record == {"kind": "app", "user": COACH, "tenant": fake.tenant_id}

    await auth.provider(account, record).list_calendars()  # the cached app token is reused
    assert len([r for r in fake.token_requests if r.get("grant_type") == "client_credentials"]) == 1
