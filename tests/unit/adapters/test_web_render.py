"""Pure parts of the web surface: Reply -> HTML, the week-view model, signed links, the settings form, PNG, .ics."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.adapters.web import links
from bot.adapters.web.coach_settings import parse_settings_form, settings_form_values
from bot.adapters.web.render import (
    WeekView,
    build_week_view,
    candidate_starts,
    render_reply,
    render_text,
    week_window,
)
from bot.config import Settings
from bot.handlers.replies import Choice, Field, FieldOption, Form, Reply
from bot.scheduling.intervals import Interval
from bot.scheduling.model import Booking, BookingStatus, ClockRange, CoachSettings, WeeklyHours
from storage.secrets import generate_key


class Tree(HTMLParser):
    """Elements in document order with their attributes and text, to check structure rather than strings."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def by_id(self, dom_id: str) -> int:
        return next(i for i, (_, a) in enumerate(self.elements) if a.get("id") == dom_id)


# --- Reply -> HTML -----------------------------------------------------------------------------------------------


def test_text_is_escaped_and_links_become_anchors() -> None:
    html = str(render_text('<script>alert("x")</script> & see https://example.com/a?b=1&c=2.\nnext line'))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; see" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2">https://example.com/a?b=1&amp;c=2</a>.' in html
    assert "<br>" in html
    slack_style = str(render_text("open <https://x.test/settings?token=abc|your settings>"))
    assert '<a href="https://x.test/settings?token=abc">your settings</a>' in slack_style
    assert str(render_text('javascript:alert(1) "quoted"')) == "javascript:alert(1) &#34;quoted&#34;"


def test_choices_become_buttons_with_escaped_values_and_a_confirm_prompt() -> None:
    reply = Reply(
        "Pick <one>",
        choices=(
            Choice("Tue 10:00", "book.pick", 'abc:0"><img src=x>', style="primary"),
            Choice("Cancel", "cancel.pick", "s:1", style="danger", confirm="Cancel Tue 10:00 with <Dana>?"),
        ),
        details=("Coach: Dana & co",),
    )
    html = str(render_reply(reply, message_id="m-1"))
    tree = Tree(html)
    buttons = [a for tag, a in tree.elements if tag == "button"]
    assert buttons[0]["data-action"] == "book.pick"
    assert buttons[0]["data-value"] == 'abc:0"><img src=x>'  # round-trips exactly, never breaks out
    assert "<img" not in html
    assert "data-confirm" not in buttons[0]
    assert buttons[1]["data-confirm"] == "Cancel Tue 10:00 with <Dana>?"
    assert buttons[1]["class"] == "choice danger"
    assert "Pick <one>" in "".join(tree.text)
    assert "Coach: Dana & co" in "".join(tree.text)
    assert tree.elements[0] == ("div", {"class": "msg bot", "id": "m-1"})


def test_form_fields_carry_labels_and_the_error_sits_next_to_its_field() -> None:
    form = Form(
        id="hours:abc",
        title="Your hours",
        fields=(
            Field("mon", "Monday", value="9-17", error="Write it as 09:00-17:00", hint="e.g. 09:00-17:00"),
            Field("zone", "Zone", kind="select", value="b", options=(FieldOption("a", "A"), FieldOption("b", "<B>"))),
            Field("days", "Days", kind="multiselect", value="x,z", options=tuple(FieldOption(v, v) for v in "xyz")),
            Field("note", "Note", kind="textarea", value="</textarea><b>", required=False),
        ),
        submit_label="Save hours",
    )
    html = str(render_reply(Reply("Edit", form=form), message_id="m-2"))
    tree = Tree(html)
    form_el = next(a for tag, a in tree.elements if tag == "form")
    assert form_el["data-form-id"] == "hours:abc"
    i = tree.by_id("m-2-form-mon")
    assert tree.elements[i][1]["aria-invalid"] == "true"
    assert tree.elements[i][1]["aria-describedby"] == "m-2-form-mon-hint m-2-form-mon-error"
    assert tree.elements[i + 1][1]["id"] == "m-2-form-mon-error"  # the error right after its input
    labels = [a.get("for") for tag, a in tree.elements if tag == "label"]
    assert labels == ["m-2-form-mon", "m-2-form-zone", "m-2-form-days", "m-2-form-note"]
    selected = [a["value"] for tag, a in tree.elements if tag == "option" and "selected" in a]
    assert selected == ["b", "x", "z"]
    assert "&lt;B&gt;" in html and "&lt;/textarea&gt;&lt;b&gt;" in html
    assert "Write it as 09:00-17:00" in "".join(tree.text)
    assert "required" not in tree.elements[tree.by_id("m-2-form-note")][1]
    assert "Save hours" in "".join(tree.text)


# --- week view -------------------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 07:00 Berlin
HOURS = WeeklyHours(((ClockRange(540, 660),),) * 5 + ((), ()))  # 09:00-11:00 weekdays


def _view(**kwargs: object) -> WeekView:
    args: dict[str, object] = {
        "timezone": "America/New_York",
        "coach_timezone": "Europe/Berlin",
        "hours": HOURS,
        "duration_minutes": 30,
        "free_starts": [datetime(2026, 3, 3, 8, 30, tzinfo=UTC)],  # Tue 09:30 Berlin
        "now": NOW,
        "min_notice": timedelta(hours=2),
        "horizon": timedelta(days=30),
    }
    args.update(kwargs)
    return build_week_view(date(2026, 3, 4), **args)  # type: ignore[arg-type]


def test_week_view_lays_out_cells_in_the_viewers_zone_free_or_busy() -> None:
    view = _view()
    assert view.start == date(2026, 3, 2) and [d.day.weekday() for d in view.days] == list(range(7))
    assert [c.label for c in view.days[0].cells] == ["03:00", "03:30", "04:00", "04:30"]  # 09:00 Berlin = 03:00 NY
    # a minute more notice than 09:00 Berlin allows (now is 07:00 there): Monday starts at 09:30 Berlin
    later = _view(min_notice=timedelta(hours=2, minutes=1))
    assert [c.label for c in later.days[0].cells] == ["03:30", "04:00", "04:30"]
    tuesday = view.days[1].cells
    assert [c.label for c in tuesday] == ["03:00", "03:30", "04:00", "04:30"]
    assert [c.free for c in tuesday] == [False, True, False, False]
    assert view.free_count == 1
    assert view.days[5].cells == () and view.days[6].cells == ()
    assert tuesday[1].end - tuesday[1].start == timedelta(minutes=30)
    assert tuesday[1].key == "2026-03-03T08:30:00Z"
    assert view.title == "2–8 March 2026"


def test_week_view_cells_respect_horizon_and_the_session_length() -> None:
    hour = _view(duration_minutes=60, free_starts=[])
    assert [c.label for c in hour.days[1].cells] == ["03:00", "03:30", "04:00"]  # 10:00-11:00 is the last hour
    short = _view(horizon=timedelta(days=1, hours=4))  # ends Tuesday 10:00 UTC = 11:00 Berlin
    assert [len(d.cells) for d in short.days[:3]] == [4, 4, 0]


def test_week_window_and_candidates_across_a_dst_change() -> None:
    window = week_window(date(2026, 3, 29), "Europe/Berlin")  # the week that ends on the spring-forward Sunday
    assert window == Interval(datetime(2026, 3, 22, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
    starts = candidate_starts(
        hours=WeeklyHours(((ClockRange(540, 600),),) * 7),
        coach_timezone="Europe/Berlin",
        window=Interval(datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC)),
        duration_minutes=30,
        step_minutes=30,
        earliest=NOW,
        latest_end=NOW + timedelta(days=60),
    )
    assert [s.isoformat() for s in starts] == [
        "2026-03-28T08:00:00+00:00",
        "2026-03-28T08:30:00+00:00",
        "2026-03-29T07:00:00+00:00",  # 09:00 CEST
        "2026-03-29T07:30:00+00:00",
    ]


# --- signed links ------------------------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", secret_keys=(generate_key(),), data_dir=tmp_path, port=4000)


def test_settings_links_expire_and_cannot_be_forged(settings: Settings) -> None:
    link = links.settings_link("p1", settings=settings, now=NOW)
    assert link.startswith("http://127.0.0.1:4000/settings?token=")
    token = link.split("token=", 1)[1]
    assert links.read_settings_token(token, settings=settings, now=NOW + timedelta(hours=23)) == "p1"
    with pytest.raises(links.BadLink, match="expired"):
        links.read_settings_token(token, settings=settings, now=NOW + timedelta(hours=24))
    with pytest.raises(links.BadLink, match="not valid"):
        links.read_settings_token(token[:-2] + "xx", settings=settings, now=NOW)
    other = Settings(database_url="sqlite://", secret_keys=(generate_key(),))
    with pytest.raises(links.BadLink):
        links.read_settings_token(token, settings=other, now=NOW)
    # a rotated key list (new key first) still reads links signed with the old key
    rotated = Settings(database_url="sqlite://", secret_keys=(generate_key(), settings.secret_keys[0]))
    assert links.read_settings_token(token, settings=rotated, now=NOW) == "p1"
    # a manage token is not a settings token
    with pytest.raises(links.BadLink):
        links.read_settings_token(links.manage_token("p1", settings=settings), settings=settings, now=NOW)


def test_manage_tokens_and_sessions(settings: Settings) -> None:
    token = links.manage_token("b1", settings=settings)
    links.read_manage_token(token, "b1", settings=settings)
    with pytest.raises(links.BadLink):
        links.read_manage_token(token, "b2", settings=settings)
    urls = links.booking_links("b1", settings=settings, absolute=False)
    assert re.fullmatch(r"/booking/b1\.ics\?token=[\w.-]+", urls.ics)
    session = links.WebSession("p1", "Ann", "Europe/London")
    cookie = links.session_cookie(session, settings=settings)
    assert links.read_session(cookie, settings=settings) == session
    assert links.read_session(cookie + "x", settings=settings) is None
    assert links.read_session(None, settings=settings) is None
    public = Settings(database_url="sqlite://", secret_keys=settings.secret_keys, public_url="https://bot.example/")
    assert links.settings_link("p1", settings=public, now=NOW).startswith("https://bot.example/settings?token=")
    png = links.week_png_url("dana", settings=public, start=date(2026, 3, 2), timezone="Europe/London", length=30)
    assert png == "https://bot.example/coach/dana/week.png?start=2026-03-02&tz=Europe%2FLondon&length=30"
    assert links.week_png_url("dana", settings=settings, start=date(2026, 3, 2), timezone="UTC") is None


# --- settings form -----------------------------------------------------------------------------------------------


def _form(**changes: str) -> dict[str, str]:
    values = settings_form_values(CoachSettings(timezone="Europe/Berlin", hours=HOURS))
    values.update(changes)
    return values


def test_settings_form_round_trips_and_saves_everything_or_nothing() -> None:
    current = CoachSettings(timezone="Europe/Berlin", hours=WeeklyHours(HOURS.days, {date(2026, 3, 10): ()}))
    parsed = parse_settings_form(
        _form(hours_mon="08:00 - 12:00, 13:00–17:30", hours_sat="", buffer_after="15", session_lengths="45 30"),
        current=current,
    )
    assert parsed.errors == {}
    assert parsed.settings is not None
    assert parsed.settings.hours.days[0] == (ClockRange(480, 720), ClockRange(780, 1050))
    assert parsed.settings.hours.overrides == {date(2026, 3, 10): ()}  # kept
    assert parsed.settings.buffer_after == timedelta(minutes=15)
    assert parsed.settings.session_lengths == (45, 30)

    bad = parse_settings_form(
        _form(hours_tue="9 to 5", timezone="Mars/Base", min_notice="-3", session_lengths="0"), current=current
    )
    assert bad.settings is None
    assert set(bad.errors) == {"hours_tue", "timezone", "min_notice", "session_lengths"}
    assert "09:00-12:00" in bad.errors["hours_tue"]
    reversed_range = parse_settings_form(_form(hours_wed="17:00-09:00"), current=current)
    assert "end must come after the start" in reversed_range.errors["hours_wed"]
    no_hours = parse_settings_form(
        _form(**{f"hours_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri")}), current=current
    )
    assert "at least one weekday" in no_hours.errors["hours_mon"]


# --- PNG and .ics ------------------------------------------------------------------------------------------------


def test_png_has_the_fixed_size_and_only_free_busy_colours() -> None:
    from PIL import Image

    from bot.adapters.web.png import PNG_SIZE, render_week_png

    image = Image.open(io.BytesIO(render_week_png(_view(), heading="Dana: week")))
    assert image.format == "PNG" and image.size == PNG_SIZE
    empty = Image.open(io.BytesIO(render_week_png(_view(hours=WeeklyHours()))))
    assert empty.size == PNG_SIZE


def test_booking_ics_is_a_publish_calendar_with_one_event() -> None:
    from icalendar import Calendar

    from bot.adapters.web.booking import booking_ics

    start = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    booking = Booking(
        id="b1",
        coach_id="dana",
        participant_ids=("ann",),
        interval=Interval(start, start + timedelta(minutes=30)),
        status=BookingStatus.CONFIRMED,
        idempotency_key="k",
        created_at=NOW,
    )
    cal = Calendar.from_ical(
        booking_ics(booking, coach_name="Dana", guest_name="Ann", manage_url="http://x/manage", now=NOW)
    )
    assert str(cal["METHOD"]) == "PUBLISH"
    (event,) = cal.walk("VEVENT")
    assert event.decoded("DTSTART") == start and event.decoded("DTEND") == start + timedelta(minutes=30)
    assert str(event["UID"]) == "b1@schedbot" and str(event["STATUS"]) == "CONFIRMED"
