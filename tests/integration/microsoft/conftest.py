"""Fixtures for the Microsoft provider: a loopback fake of Graph and the identity platform, real msal, real storage.

``fake`` is ``tests.fakes.graph_api.FakeGraph`` (identity platform over https with a throw-away CA, Graph over
http); ``settings`` point MS_AUTHORITY_URL / GRAPH_API_URL at it; ``storage`` is a migrated SQLite file with a
SECRET_KEYS key and the coach ``dana``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.providers.microsoft_auth import MicrosoftAuth
from bot.scheduling.model import Person
from storage import open_storage
from storage.secrets import generate_key
from tests.fakes.graph_api import FakeGraph

COACH = "dana@contoso.example"
COACH_ID = "p-dana"


class RecordingSleep:
    """What waiting would have been: the provider's retries are real, only the pause is recorded."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeGraph]:
    graph = FakeGraph(tmp_path / "tls")
    await graph.start()
    graph.add_mailbox(COACH, name="Dana Coach", calendars=("Calendar", "Birthdays"))
    graph.signed_in = COACH
    try:
        yield graph
    finally:
        await graph.stop()


@pytest.fixture
def settings(fake: FakeGraph, tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'ms.db'}",
        public_url="http://127.0.0.1:9/",
        ms_client_id=fake.client_id,
        ms_client_secret=fake.client_secret,
        ms_tenant_id=fake.tenant_id,
        ms_authority_url=fake.authority_url,
        graph_api_url=fake.graph_url,
    )


@pytest.fixture
def storage(settings: Settings) -> Iterator[Any]:
    store = open_storage(settings.database_url, secret_keys=generate_key(), migrate=True)
    store.people.add(Person(id=COACH_ID, display_name="Dana", timezone="Europe/Berlin", is_coach=True))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def auth(settings: Settings, storage: Any, fake: FakeGraph, sleep: RecordingSleep) -> MicrosoftAuth:
    return MicrosoftAuth(
        settings,
        storage,
        verify=str(fake.ca_file),
        provider_options={"sleep": sleep, "max_retries": 3, "page_size": 50},
    )
