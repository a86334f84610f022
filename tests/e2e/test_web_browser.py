"""The web surface in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright): the real aiohttp app
on a free loopback port, a temporary SQLite database, the demo coach Dana seeded, the server's clock fixed.

Each page is screenshotted into the test's temporary folder (the path is printed; run with -s to see it).
"""

from __future__ import annotations

import asyncio
import io
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from aiohttp import web

from bot.app import App, build_app
from bot.config import Settings
from bot.scheduling.intervals import Interval
from bot.scheduling.model import Booking, BookingStatus, ClockRange
from bot.server import make_web_app
from storage.migrate import upgrade
from storage.secrets import generate_key

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday, 07:00 in Berlin (Dana's zone)
DANA = "demo-dana"

if not CHROMIUM.exists():  # pragma: no cover - scripts/test installs it
    print(
        "\n" + "!" * 100 + "\n!!! /usr/bin/chromium is missing: the web browser tests are SKIPPED. "
        "Run scripts/test (it installs the Debian chromium package).\n" + "!" * 100,
        flush=True,
    )
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="!!! /usr/bin/chromium IS MISSING: browser tests SKIPPED (scripts/test installs it)"
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    url: str
    app: App
    clock: Clock
    shots: Path

    async def shot(self, page, name: str) -> Path:
        path = self.shots / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    async def bookings(self) -> list[Booking]:
        window = Interval(NOW - timedelta(days=1), NOW + timedelta(days=60))
        found = await asyncio.to_thread(self.app.storage.bookings.active_for_coach, DANA, window, now=self.clock())
        return [b for b in found if b.status == BookingStatus.CONFIRMED]


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    db = f"sqlite:///{tmp_path / 'web.db'}"
    await asyncio.to_thread(upgrade, db)
    port = _free_port()
    settings = Settings(database_url=db, port=port, data_dir=tmp_path / "var", demo=True, secret_keys=(generate_key(),))
    clock = Clock(NOW)
    app = build_app(settings, overrides={"clock": clock})
    runner = web.AppRunner(make_web_app(app))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        yield Site(f"http://127.0.0.1:{port}", app, clock, shots)
    finally:
        await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def _new_page(browser, *, zone: str = "America/New_York", phone: bool = False):
    options: dict[str, object] = {"timezone_id": zone, "accept_downloads": True, "locale": "en-US"}
    if phone:
        options["viewport"] = {"width": 390, "height": 844}
    context = await browser.new_context(**options)
    return await context.new_page()


async def _open_booking_page(site: Site, page) -> None:
    await page.goto(f"{site.url}/book/dana")
    await page.wait_for_url(re.compile(r"tz=America%2FNew_York"))  # the browser's zone, added by the page
    await page.wait_for_selector("a.slot.free")


async def _pick_first_free(page) -> str:
    first = page.locator("a.slot.free").first
    start = await first.get_attribute("data-start")
    assert start
    await first.click()
    await page.wait_for_selector("#book-form")
    return start


def _utc(key: str) -> datetime:
    return datetime.fromisoformat(key.replace("Z", "+00:00"))


# --- booking page ------------------------------------------------------------------------------------------------


async def test_book_a_slot_on_the_booking_page_and_download_the_ics(site: Site, browser, tmp_path: Path) -> None:
    page = await _new_page(browser)
    await _open_booking_page(site, page)
    await site.shot(page, "01-booking-week")
    assert await page.input_value("#tz") == "America/New_York"
    body = await page.inner_text("body")
    assert "stand-up" not in body.lower() and "lunch" not in body.lower()  # free/busy only, never titles
    assert await page.locator(".slot.busy").count() > 0  # the sample calendar's busy time shows as blue cells
    lengths = await page.locator("nav.lengths a").all_inner_texts()
    assert lengths == ["30 min", "60 min"]

    start = await _pick_first_free(page)
    await site.shot(page, "02-booking-details")
    assert "America/New_York" in await page.inner_text(".when")
    await page.fill("#name", "Ann Lee")
    await page.fill("#email", "ann@example.com")
    await page.click("#book-button")
    await page.wait_for_selector("#confirmed")
    await site.shot(page, "03-booking-confirmed")
    # The confirmation shows the time in the visitor's zone (Berlin 10:00 is 04:00 in New York in early March).
    local = _utc(start).astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert f"{local:%H:%M}" in await page.inner_text(".when")

    booked = await site.bookings()
    assert [b.start for b in booked] == [_utc(start)]
    assert booked[0].end - booked[0].start == timedelta(minutes=30)
    # the coach hears about it (no Slack here, so in her web chat inbox), in her own zone
    from bot.adapters.web.chat import take_inbox

    told = " ".join(await take_inbox(site.app, DANA))
    assert "New session booked on your booking page: 30 min with" in told and "Europe/Berlin" in told

    async with page.expect_download() as download_info:
        await page.click("#ics-link")
    download = await download_info.value
    path = tmp_path / "booking.ics"
    await download.save_as(str(path))
    from icalendar import Calendar

    cal = Calendar.from_ical(path.read_bytes())
    assert str(cal["METHOD"]) == "PUBLISH"
    events = cal.walk("VEVENT")
    assert len(events) == 1
    assert events[0].decoded("DTSTART") == _utc(start)
    assert events[0].decoded("DTEND") == _utc(start) + timedelta(minutes=30)
    assert str(events[0]["UID"]) == f"{booked[0].id}@schedbot"
    assert "Dana" in str(events[0]["SUMMARY"]) and "Ann Lee" in str(events[0]["SUMMARY"])


async def test_a_booked_slot_disappears_for_the_next_visitor_and_a_stale_page_says_just_taken(
    site: Site, browser
) -> None:
    first = await _new_page(browser)
    second = await _new_page(browser)  # another browser context: another visitor
    await _open_booking_page(site, first)
    await _open_booking_page(site, second)
    start = await _pick_first_free(first)
    await _pick_first_free(second)  # the second visitor picked the same time and is filling in the form
    await first.fill("#name", "Ann Lee")
    await first.fill("#email", "ann@example.com")
    await first.click("#book-button")
    await first.wait_for_selector("#confirmed")

    third = await _new_page(browser)
    await _open_booking_page(site, third)
    await site.shot(third, "next-visitor-week")
    assert await third.locator(f'a.slot.free[data-start="{start}"]').count() == 0
    assert await third.locator(f'.slot.busy[data-start="{start}"]').count() == 1

    await second.fill("#name", "Bob Stone")
    await second.fill("#email", "bob@example.com")
    await second.click("#book-button")
    await second.wait_for_selector("#banner")
    await site.shot(second, "just-taken")
    assert "just taken" in (await second.inner_text("#banner")).lower()
    assert await second.locator("#banner a.slot.free").count() > 0  # fresh times to pick from
    assert await second.locator(f'a.slot.free[data-start="{start}"]').count() == 0
    assert [b.start for b in await site.bookings()] == [_utc(start)]


async def test_a_double_click_or_a_resubmitted_form_books_once(site: Site, browser) -> None:
    page = await _new_page(browser)
    await _open_booking_page(site, page)
    start = await _pick_first_free(page)
    await page.fill("#name", "Ann Lee")
    await page.fill("#email", "ann@example.com")
    form_data = await page.evaluate("() => Array.from(new FormData(document.getElementById('book-form')).entries())")
    await page.dblclick("#book-button")
    await page.wait_for_selector("#confirmed")
    await site.shot(page, "double-click-confirmed")
    booked = await site.bookings()
    assert len(booked) == 1 and booked[0].start == _utc(start)

    # The same form sent twice more at once (no JavaScript guard involved): still that one booking.
    page2 = await _new_page(browser)
    await page2.goto(f"{site.url}/healthz")
    urls = await page2.evaluate(
        """async ([url, entries]) => {
            const send = () => fetch(url, {method: 'POST', body: new URLSearchParams(entries)}).then(r => r.url);
            return Promise.all([send(), send()]);
        }""",
        [f"{site.url}/book/dana/book", form_data],
    )
    assert len(set(urls)) == 1 and f"/booking/{booked[0].id}?" in urls[0]
    assert [b.id for b in await site.bookings()] == [booked[0].id]


async def test_bad_input_shows_the_error_next_to_the_field_and_books_nothing(site: Site, browser) -> None:
    page = await _new_page(browser, phone=True)
    await _open_booking_page(site, page)
    await site.shot(page, "phone-week")
    await _pick_first_free(page)
    await page.fill("#name", "   ")
    await page.fill("#email", "ann-at-example")
    await page.click("#book-button")
    await page.wait_for_selector("#email-error")
    await site.shot(page, "bad-input")
    assert "enter your name" in (await page.inner_text("#name-error")).lower()
    assert "email" in (await page.inner_text("#email-error")).lower()
    # next to the field: the error follows its input, and the input points at it
    assert await page.eval_on_selector("#email", "el => el.nextElementSibling.id") == "email-error"
    assert await page.get_attribute("#email", "aria-describedby") == "email-error"
    assert await page.get_attribute("#email", "aria-invalid") == "true"
    assert await page.input_value("#email") == "ann-at-example"  # what they typed is kept
    assert await site.bookings() == []

    await page.fill("#name", "Ann Lee")
    await page.fill("#email", "ann@example.com")
    await page.click("#book-button")
    await page.wait_for_selector("#confirmed")
    assert len(await site.bookings()) == 1


async def test_unknown_coach_is_a_404_page(site: Site, browser) -> None:
    page = await _new_page(browser)
    response = await page.goto(f"{site.url}/book/nobody-here")
    assert response is not None and response.status == 404
    assert "no coach" in (await page.inner_text("main")).lower()
    await site.shot(page, "unknown-coach")


async def test_cancel_from_the_manage_link_frees_the_time(site: Site, browser) -> None:
    page = await _new_page(browser)
    await _open_booking_page(site, page)
    start = await _pick_first_free(page)
    await page.fill("#name", "Ann Lee")
    await page.fill("#email", "ann@example.com")
    await page.click("#book-button")
    await page.wait_for_selector("#confirmed")
    await page.click("#manage-link")
    await page.wait_for_selector("#cancel-button")
    await site.shot(page, "manage")
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click("#cancel-button")
    await page.wait_for_url(re.compile(r"done=cancelled"))
    await site.shot(page, "cancelled")
    assert await site.bookings() == []
    other = await _new_page(browser)
    await _open_booking_page(site, other)
    assert await other.locator(f'a.slot.free[data-start="{start}"]').count() == 1

    # a forged manage link is refused
    forged = page.url.replace("token=", "token=x")
    response = await page.goto(forged)
    assert response is not None and response.status == 403


async def test_reschedule_from_the_manage_link_moves_the_booking(site: Site, browser) -> None:
    page = await _new_page(browser)
    await _open_booking_page(site, page)
    start = await _pick_first_free(page)
    await page.fill("#name", "Ann Lee")
    await page.fill("#email", "ann@example.com")
    await page.click("#book-button")
    await page.wait_for_selector("#confirmed")
    (old,) = await site.bookings()
    await page.click("#manage-link")
    await page.click("#reschedule-link")
    await page.wait_for_selector("a.slot.free")
    await site.shot(page, "reschedule-week")
    assert "move your session" in (await page.inner_text("h1")).lower()
    target = page.locator("a.slot.free").nth(3)
    new_start = await target.get_attribute("data-start")
    assert new_start and new_start != start
    await target.click()
    await page.wait_for_selector("#book-button")
    await site.shot(page, "reschedule-confirm")
    await page.click("#book-button")
    await page.wait_for_selector("#confirmed")
    (moved,) = await site.bookings()
    assert moved.start == _utc(new_start) and moved.rescheduled_from == old.id
    previous = await asyncio.to_thread(site.app.storage.bookings.get, old.id)
    assert previous is not None and previous.status == BookingStatus.RESCHEDULED


# --- settings page -----------------------------------------------------------------------------------------------


async def test_settings_page_from_a_signed_link_saves_hours_and_refuses_bad_links(site: Site, browser) -> None:
    from bot.adapters.web.links import settings_link

    link = settings_link(DANA, settings=site.app.settings, now=site.clock())
    assert link.startswith(site.url + "/settings?token=")
    page = await _new_page(browser)
    await page.goto(link)
    await site.shot(page, "settings")
    assert await page.input_value("#hours_mon") == "09:00-12:00, 13:00-17:00"

    # one bad field: nothing is saved, the error is next to that field
    await page.fill("#hours_mon", "10:00-12:00")
    await page.fill("#hours_tue", "25:00-26:00")
    await page.fill("#buffer_before", "lots")
    await page.click("#save-button")
    await page.wait_for_selector("#hours_tue-error")
    await site.shot(page, "settings-errors")
    assert await page.eval_on_selector("#hours_tue", "el => el.nextElementSibling.id") == "hours_tue-error"
    assert await page.eval_on_selector("#buffer_before", "el => el.nextElementSibling.id") == "buffer_before-error"
    assert await page.input_value("#hours_mon") == "10:00-12:00"
    saved = await asyncio.to_thread(site.app.storage.coach_settings.get_settings, DANA)
    assert saved.hours.days[0] == (ClockRange(540, 720), ClockRange(780, 1020))  # unchanged: nothing half-saved

    await page.fill("#hours_tue", "")
    await page.fill("#buffer_before", "10")
    await page.fill("#session_lengths", "45, 30")
    await page.click("#save-button")
    await page.wait_for_selector("#saved")
    saved = await asyncio.to_thread(site.app.storage.coach_settings.get_settings, DANA)
    assert saved.hours.days[0] == (ClockRange(600, 720),)
    assert saved.hours.days[1] == ()
    assert saved.buffer_before == timedelta(minutes=10)
    assert saved.session_lengths == (45, 30)
    assert saved.timezone == "Europe/Berlin"

    token = parse_qs(urlparse(link).query)["token"][0]
    response = await page.goto(f"{site.url}/settings?token={token[:-3]}abc")
    assert response is not None and response.status == 403
    assert "not valid" in (await page.inner_text("main")).lower()
    expired = settings_link(DANA, settings=site.app.settings, now=site.clock() - timedelta(days=2))
    response = await page.goto(expired)
    assert response is not None and response.status == 403
    assert "expired" in (await page.inner_text("main")).lower()
    await site.shot(page, "settings-expired")
    # and a forged POST is refused too, saving nothing
    result = await page.evaluate(
        """async (url) => (await fetch(url, {method: 'POST', body: new URLSearchParams({token: 'forged',
            hours_mon: '00:00-24:00', timezone: 'UTC', buffer_before: '0', buffer_after: '0', min_notice: '0',
            session_lengths: '30'})})).status""",
        f"{site.url}/settings",
    )
    assert result == 403
    assert (await asyncio.to_thread(site.app.storage.coach_settings.get_settings, DANA)).hours.days[0] == (
        ClockRange(600, 720),
    )


# --- PNG week view ------------------------------------------------------------------------------------------------


async def test_week_png_is_a_png_of_the_fixed_size(site: Site, browser) -> None:
    from PIL import Image

    from bot.adapters.web.png import PNG_SIZE

    page = await _new_page(browser)
    response = await page.goto(f"{site.url}/coach/dana/week.png?start=2026-03-02&tz=Europe/London")
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(await response.body()))
    assert image.format == "PNG" and image.size == PNG_SIZE
    colours = {c for _, c in image.getcolors(maxcolors=100000) or []}
    assert (255, 255, 255) in colours and (47, 111, 223) in colours  # free and busy cells drawn
    await site.shot(page, "week-png")
    bad = await page.goto(f"{site.url}/coach/dana/week.png?start=2026-03-02&tz=Mars/Olympus")
    assert bad is not None and bad.status == 400
    missing = await page.goto(f"{site.url}/coach/nobody/week.png")
    assert missing is not None and missing.status == 404


# --- web chat ----------------------------------------------------------------------------------------------------


async def test_book_through_the_web_chat_and_the_coach_sees_it_in_their_inbox(site: Site, browser) -> None:
    page = await _new_page(browser, zone="Europe/London")
    await page.goto(site.url + "/")
    await page.wait_for_selector("#signin-form")
    assert await page.input_value("#tz") == "Europe/London"  # from the browser
    await site.shot(page, "chat-signin")
    await page.click("#start-button")  # empty name and email: errors next to the fields
    await page.wait_for_selector("#email-error")
    assert await page.eval_on_selector("#name", "el => el.nextElementSibling.id") == "name-error"
    await page.fill("#name", "Ann Lee")
    await page.fill("#email", "ann@example.com")
    await page.click("#start-button")
    await page.wait_for_selector("#chat-input")
    assert await page.get_attribute("#log", "aria-live") == "polite"

    await page.fill("#chat-input", "book 30 min with dana tomorrow afternoon")
    await page.press("#chat-input", "Enter")
    slot = page.locator("button.choice[data-action='book.pick']").first
    await slot.wait_for()
    await site.shot(page, "chat-offer")
    await slot.click()
    confirm = page.locator("button.choice[data-action='book.confirm']")
    await confirm.wait_for()
    assert await page.locator("button.choice[data-action='book.pick']").count() == 0  # replace=True: updated
    await site.shot(page, "chat-confirm")
    await confirm.click()
    await page.wait_for_selector("text=Booked:")
    await site.shot(page, "chat-booked")
    booked = await site.bookings()
    assert len(booked) == 1
    assert booked[0].start.astimezone(UTC).date() == (NOW + timedelta(days=1)).date()
    assert 12 <= booked[0].start.astimezone(UTC).hour < 17  # tomorrow afternoon in London

    # The coach's copy (Reply.to=Dana) waits in Dana's web inbox until she opens the chat.
    coach = await _new_page(browser, zone="Europe/Berlin")
    # Typing her e-mail address does not make anyone Dana; her signed sign-in link does.
    from bot.adapters.web.links import signin_link

    await coach.goto(signin_link(DANA, settings=site.app.settings, now=site.clock()))
    await coach.wait_for_selector(".inbox")
    assert "new session booked" in (await coach.inner_text(".inbox")).lower()
    await site.shot(coach, "chat-coach-inbox")
