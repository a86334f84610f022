"""The CalDAV/iCloud connect conversation against a real Radicale: forms, validation by connecting, picking."""

from __future__ import annotations

import uuid
from pathlib import Path

from bot.services.connect_caldav import CalDAVConnector
from tests.integration.calendars.conftest import PASSWORD, USER, Dav, RadicaleServer
from tests.integration.calendars.test_caldav_provider import MARCH, TENTATIVE
from tests.integration.calendars.test_calendar_service import World


async def test_icloud_walkthrough_validate_and_pick(tmp_path: Path, radicale: RadicaleServer, dav: Dav) -> None:
    world = World(tmp_path)
    try:
        name = f"Work {uuid.uuid4().hex[:6]}"  # other tests share the server: a name only this test uses
        work = await dav.make_calendar(display=name)
        await dav.put(work, "t", TENTATIVE)
        connector = CalDAVConnector(world.service, icloud_url=radicale.url, allow_private_hosts=True)
        [intro] = await connector.start("dana", "icloud")
        assert "appleid.apple.com" in intro.text and "App-Specific Passwords" in intro.text
        assert intro.form is not None and [f.kind for f in intro.form.fields] == ["email", "password"]

        [missing] = await connector.submit("dana", intro.form.id, {"username": USER, "password": ""})
        assert missing.form is not None and missing.form.fields[1].error

        [refused] = await connector.submit("dana", intro.form.id, {"username": USER, "password": "typo"})
        assert refused.form is not None and "did not accept" in refused.form.fields[1].error
        assert refused.form.fields[1].value == "" and "typo" not in refused.text
        assert world.storage.calendars.accounts_for_person("dana") == []

        [picker] = await connector.submit("dana", intro.form.id, {"username": USER, "password": PASSWORD})
        assert picker.form is not None and picker.form.id.startswith("connect:pick:")
        busy_field, push_field = picker.form.fields
        assert busy_field.kind == "multiselect" and push_field.kind == "select"
        ids = {o.label: o.value for o in busy_field.options}
        assert name in ids
        [account] = world.storage.calendars.accounts_for_person("dana")
        assert account.provider == "icloud" and world.storage.credentials.get(account.id)["password"] == PASSWORD
        # until the form is answered, the person's own (writable) calendars count as busy: never fail open
        pulled = world.storage.calendars.calendars_for_person("dana", pull_only=True)
        assert ids[name] in {c.id for c in pulled} and set(busy_field.value.split(",")) == {c.id for c in pulled}

        [done] = await connector.submit(
            "dana", picker.form.id, {"busy": ids[name], "push": ids[name]}
        )
        assert f"Busy time comes from: {name}." in done.text and f"New bookings go into {name}." in done.text
        assert world.storage.calendars.push_calendar("dana").id == ids[name]
        busy = await world.service.busy("dana", MARCH)
        assert len(busy) == 1 and busy[0].status == "tentative"

        # someone else cannot submit the picker of Dana's account
        [stranger] = await connector.submit("ann", picker.form.id, {"busy": ids[name], "push": "none"})
        assert "expired" in stranger.text
        # connecting again (a reconnect) reuses the account
        [again] = await connector.submit("dana", intro.form.id, {"username": USER, "password": PASSWORD})
        assert again.form is not None
        assert len(world.storage.calendars.accounts_for_person("dana")) == 1
    finally:
        await world.service.aclose()
        world.storage.close()


async def test_caldav_form_needs_an_address(tmp_path: Path) -> None:
    world = World(tmp_path)
    try:
        connector = CalDAVConnector(world.service)
        [intro] = await connector.start("dana", "caldav")
        assert intro.form is not None and [f.name for f in intro.form.fields] == ["url", "username", "password"]
        [reply] = await connector.submit("dana", intro.form.id, {"url": "", "username": "x", "password": "y"})
        assert reply.form is not None and reply.form.fields[0].error
        [bad] = await connector.submit("dana", intro.form.id, {"url": "ftp://x", "username": "x", "password": "y"})
        assert bad.form is not None and "https://" in bad.form.fields[0].error
        [unknown] = await connector.start("dana", "myspace")
        assert unknown.form is None
    finally:
        world.storage.close()


async def test_typed_addresses_inside_private_networks_are_refused(tmp_path: Path, radicale: RadicaleServer) -> None:
    """SSRF guard: CalDAV and feed addresses typed in chat must resolve to public addresses (unless the server
    is configured with CALENDAR_ALLOW_PRIVATE_HOSTS); nothing is fetched or stored when one is refused."""
    world = World(tmp_path)
    try:
        connector = CalDAVConnector(world.service)
        [caldav] = await connector.start("dana", "caldav")
        [feed] = await connector.start("dana", "ics")
        assert caldav.form is not None and feed.form is not None
        for url in (radicale.url, "http://localhost:5432/", "http://10.1.2.3/dav", "http://169.254.169.254/latest",
                    "https://[::1]/cal", "http://[::ffff:127.0.0.1]/x"):
            [reply] = await connector.submit("dana", caldav.form.id, {"url": url, "username": USER,
                                                                       "password": PASSWORD})
            assert reply.form is not None and "private network" in reply.form.fields[0].error, url
            [reply] = await connector.submit("dana", feed.form.id, {"url": url.replace("http", "webcal", 1)})
            assert reply.form is not None and "private network" in reply.form.fields[0].error, url
        [unknown] = await connector.submit("dana", feed.form.id, {"url": "https://no-such-host.invalid/x.ics"})
        assert unknown.form is not None and "could not find the server" in unknown.form.fields[0].error
        assert world.storage.calendars.accounts_for_person("dana") == []
        # allowed by configuration: the loopback Radicale connects
        allowed = CalDAVConnector(world.service, allow_private_hosts=True)
        [picker] = await allowed.submit("dana", caldav.form.id, {"url": radicale.url, "username": USER,
                                                                 "password": PASSWORD})
        assert picker.form is not None and picker.form.id.startswith("connect:pick:")
    finally:
        await world.service.aclose()
        world.storage.close()
