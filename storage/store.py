"""``Storage``: the engine and every repository, bundled for the composition root."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL, Engine

from storage.db import make_engine
from storage.migrate import upgrade
from storage.repositories import (
    SqlBookingRepository,
    SqlCalendarRepository,
    SqlCoachSettingsRepository,
    SqlConversationStateRepository,
    SqlCredentialStore,
    SqlPeopleRepository,
    SqlPollRepository,
    SqlProcessedEventRepository,
)
from storage.secrets import SecretBox

__all__ = ["Storage", "open_storage"]


@dataclass(frozen=True, slots=True, repr=False)
class Storage:
    engine: Engine
    bookings: SqlBookingRepository
    people: SqlPeopleRepository
    coach_settings: SqlCoachSettingsRepository
    polls: SqlPollRepository
    conversations: SqlConversationStateRepository
    processed_events: SqlProcessedEventRepository
    calendars: SqlCalendarRepository
    credentials: SqlCredentialStore

    @classmethod
    def from_engine(cls, engine: Engine, *, secrets: SecretBox | None = None) -> Storage:
        return cls(
            engine=engine,
            bookings=SqlBookingRepository(engine),
            people=SqlPeopleRepository(engine),
            coach_settings=SqlCoachSettingsRepository(engine),
            polls=SqlPollRepository(engine),
            conversations=SqlConversationStateRepository(engine),
            processed_events=SqlProcessedEventRepository(engine),
            calendars=SqlCalendarRepository(engine),
            credentials=SqlCredentialStore(engine, secrets),
        )

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Storage({self.engine.dialect.name})"


def open_storage(
    url: str | URL,
    *,
    secret_keys: str | Sequence[str] | SecretBox | None = None,
    migrate: bool = False,
    **engine_kwargs: Any,
) -> Storage:
    """Engine and repositories for ``url``.  ``secret_keys``: the SECRET_KEYS value ("k1,k2"), a list of keys or a
    SecretBox; without keys, credentials cannot be stored.  ``migrate=True`` upgrades the database to head first
    (what the embedded SQLite default wants; production runs ``schedbot migrate`` instead)."""
    if isinstance(secret_keys, str):
        box: SecretBox | None = SecretBox.from_env_value(secret_keys) if secret_keys.strip() else None
    elif secret_keys is None or isinstance(secret_keys, SecretBox):
        box = secret_keys
    else:
        box = SecretBox(secret_keys) if any(k.strip() for k in secret_keys) else None
    engine = make_engine(url, **engine_kwargs)
    if migrate:
        upgrade(engine)
    return Storage.from_engine(engine, secrets=box)
