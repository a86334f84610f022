"""Fixtures for the Google provider tests: the loopback fake, settings pointing at it, SQLite storage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.providers.google import SCOPE_EVENTS, SCOPE_READONLY, GoogleProvider, RetryPolicy, make_google_provider
from storage import open_storage
from storage.secrets import generate_key
from storage.store import Storage
from tests.fakes.google_api import FakeGoogle

SCOPES = (SCOPE_READONLY, SCOPE_EVENTS)


@pytest.fixture
async def fake() -> AsyncIterator[FakeGoogle]:
    google = await FakeGoogle().start()
    try:
        yield google
    finally:
        await google.stop()


@pytest.fixture
def settings(fake: FakeGoogle, tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'google.db'}",
        google_client_id=fake.client_id,
        google_client_secret=fake.client_secret,
        google_api_url=fake.api_url,
        google_token_url=fake.token_url,
    )


@pytest.fixture
def storage(settings: Settings) -> Any:
    store: Storage = open_storage(settings.database_url, secret_keys=[generate_key()], migrate=True)
    try:
        yield store
    finally:
        store.close()


class Sleeps:
    """Records every wait the provider asks for instead of waiting (no timing in the tests)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_provider(fake: FakeGoogle, settings: Settings, sleeps: Sleeps) -> Callable[..., GoogleProvider]:
    """A provider for a freshly authorised user, built by the production factory, with instant retries."""

    def make(*, scopes: tuple[str, ...] = SCOPES, timeout: float = 10.0, **kwargs: Any) -> GoogleProvider:
        access, refresh = fake.issue_tokens("coach@example.com", scopes)
        data = {"type": "authorized_user", "token": access, "refresh_token": refresh, "scopes": list(scopes)}
        retry = RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05, timeout=timeout)
        return make_google_provider(None, data, settings, retry=retry, sleep=sleeps, **kwargs)

    return make
