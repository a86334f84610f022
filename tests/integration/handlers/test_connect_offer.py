"""Only calendars this server can connect are offered: Google and Microsoft need their client ids."""

from __future__ import annotations

from pathlib import Path

from bot.app import build_app
from bot.config import Settings
from bot.handlers.replies import Asker, Message
from storage.secrets import generate_key


async def test_unconfigured_providers_are_not_offered(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", data_dir=tmp_path, secret_keys=(generate_key(),))
    app = build_app(settings)
    try:
        from storage.migrate import upgrade

        upgrade(app.storage.engine)
        carol = Asker("carol", "Carol", timezone="Europe/Berlin", surface="web")
        [pick] = await app.conversation.handle(carol, Message("connect my calendar"))
        assert [c.value for c in pick.choices] == ["icloud", "caldav", "ics"]
        [google] = await app.conversation.handle(carol, Message("connect my google calendar"))
        assert google.text.startswith("Google Calendar is not set up on this server; you can connect: iCloud, CalDAV")
        [feed] = await app.conversation.handle(carol, Message("connect my ics feed"))
        assert feed.form is not None and feed.form.fields[0].name == "url"
    finally:
        await app.aclose()
