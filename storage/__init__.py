"""Storage: sqlmodel tables, repositories mapping rows <-> core dataclasses, migrations, secret encryption.

Importing ``storage`` is cheap; the submodules load SQLAlchemy when first used::

    from storage import open_storage
    store = open_storage(url, secret_keys=os.environ.get("SECRET_KEYS"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import make_engine
    from storage.migrate import current, upgrade
    from storage.repositories import (
        Calendar,
        CalendarAccount,
        SqlBookingRepository,
        SqlCalendarRepository,
        SqlCoachSettingsRepository,
        SqlConversationStateRepository,
        SqlCredentialStore,
        SqlPeopleRepository,
        SqlPollRepository,
        SqlProcessedEventRepository,
    )
    from storage.secrets import SecretBox, SecretError
    from storage.store import Storage, open_storage

__all__ = [
    "Calendar",
    "CalendarAccount",
    "SecretBox",
    "SecretError",
    "SqlBookingRepository",
    "SqlCalendarRepository",
    "SqlCoachSettingsRepository",
    "SqlConversationStateRepository",
    "SqlCredentialStore",
    "SqlPeopleRepository",
    "SqlPollRepository",
    "SqlProcessedEventRepository",
    "Storage",
    "current",
    "make_engine",
    "open_storage",
    "upgrade",
]

_WHERE = {
    "make_engine": "storage.db",
    "current": "storage.migrate",
    "upgrade": "storage.migrate",
    "SecretBox": "storage.secrets",
    "SecretError": "storage.secrets",
    "Storage": "storage.store",
    "open_storage": "storage.store",
}


def __getattr__(name: str) -> Any:
    if name in __all__:
        module = importlib.import_module(_WHERE.get(name, "storage.repositories"))
        return getattr(module, name)
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
