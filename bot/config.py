"""Settings from the environment, read in one place (names fixed by DESIGN.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_PORT", "Settings"]

DEFAULT_PORT = 3978


def _default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'schedbot.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    public_url: str | None = None
    secret_keys: tuple[str, ...] = ()
    data_dir: Path = Path("var")
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    teams_app_id: str | None = None
    teams_app_password: str | None = None
    teams_tenant_id: str | None = None
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_api_url: str | None = None
    google_token_url: str | None = None
    ms_client_id: str | None = None
    ms_client_secret: str | None = None
    ms_tenant_id: str | None = None
    ms_authority_url: str | None = None
    graph_api_url: str | None = None
    demo: bool = False
    calendar_allow_private_hosts: bool = False  # CALENDAR_ALLOW_PRIVATE_HOSTS: CalDAV/feed URLs on private networks
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never show secrets
        return f"Settings(database_url={_redact_url(self.database_url)!r}, host={self.host!r}, port={self.port})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        data_dir = Path(get("SCHEDBOT_DATA_DIR") or "var")
        port_text = get("PORT")
        try:
            port = int(port_text) if port_text else DEFAULT_PORT
        except ValueError:
            raise ValueError(f"PORT must be a number, not {port_text!r}") from None
        if not 0 <= port <= 65535:
            raise ValueError(f"PORT must be between 0 and 65535, not {port}")
        keys = tuple(k.strip() for k in (get("SECRET_KEYS") or "").split(",") if k.strip())
        return cls(
            database_url=get("DATABASE_URL") or _default_database_url(data_dir),
            host=get("HOST") or "127.0.0.1",
            port=port,
            public_url=get("PUBLIC_URL"),
            secret_keys=keys,
            data_dir=data_dir,
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_client_id=get("SLACK_CLIENT_ID"),
            slack_client_secret=get("SLACK_CLIENT_SECRET"),
            slack_api_url=get("SLACK_API_URL") or "https://slack.com/api/",
            teams_app_id=get("TEAMS_APP_ID"),
            teams_app_password=get("TEAMS_APP_PASSWORD"),
            teams_tenant_id=get("TEAMS_TENANT_ID"),
            google_client_id=get("GOOGLE_CLIENT_ID"),
            google_client_secret=get("GOOGLE_CLIENT_SECRET"),
            google_api_url=get("GOOGLE_API_URL"),
            google_token_url=get("GOOGLE_TOKEN_URL"),
            ms_client_id=get("MS_CLIENT_ID"),
            ms_client_secret=get("MS_CLIENT_SECRET"),
            ms_tenant_id=get("MS_TENANT_ID"),
            ms_authority_url=get("MS_AUTHORITY_URL"),
            graph_api_url=get("GRAPH_API_URL"),
            demo=(get("SCHEDBOT_DEMO") or "").lower() in {"1", "true", "yes"},
            calendar_allow_private_hosts=(get("CALENDAR_ALLOW_PRIVATE_HOSTS") or "").lower() in {"1", "true", "yes"},
        )


def _redact_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
    return url
