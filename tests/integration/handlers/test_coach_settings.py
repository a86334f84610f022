"""Coach settings by chat: hours in words and by form, buffers, notice, time off, session lengths."""

from __future__ import annotations

from datetime import date, timedelta

from bot.handlers.coach import HOURS_FORM_ID
from bot.scheduling.model import ClockRange
from tests.integration.handlers.chatworld import World, choice, only


async def test_becoming_a_coach_and_setting_hours_in_words(world: World) -> None:
    reply = only(await world.say(world.ann, "I'm a coach"))
    assert "You're set up as a coach" in reply.text
    assert world.storage.people.get("ann").is_coach
    assert world.storage.coach_settings.get_settings("ann").timezone == "Europe/Berlin"
    saved = only(await world.say(world.ann, "my hours are mon-wed 10-16"))
    assert "Saved" in saved.text and "Mon-Wed 10:00-16:00" in saved.text
    hours = world.storage.coach_settings.get_settings("ann").hours
    assert hours.days[0] == (ClockRange(600, 960),)
    assert hours.days[3] == (ClockRange(540, 1020),)  # Thursday keeps the default
    # now Sam can book Ann
    offer = only(await world.say(world.sam, "book 30 min with ann"))
    assert "with Ann Berg" in offer.text


async def test_setting_hours_makes_a_coach(world: World) -> None:
    # Sam has no settings; setting hours makes Sam a coach (in Sam's own zone)
    reply = only(await world.say(world.sam, "set my hours to mon-fri 9-17"))
    assert "Mon-Fri 09:00-17:00" in reply.text and "(America/New_York)" in reply.text
    assert world.storage.people.get("sam").is_coach


async def test_hours_form_refuses_a_bad_field_and_saves_nothing(world: World) -> None:
    opened = only(await world.say(world.dana, "", command="/hours"))
    assert opened.form is not None and opened.form.id == HOURS_FORM_ID
    values = {f.name: f.value for f in opened.form.fields}
    assert values["mon"] == "09:00-12:00, 13:00-17:00" and values["sat"] == "" and values["timezone"] == "Europe/Berlin"

    before = world.storage.coach_settings.get_settings("dana")
    values.update(mon="08:00-12:00", tue="9 to lunch")
    refused = only(await world.submit(world.dana, HOURS_FORM_ID, values))
    assert refused.form is not None
    errors = {f.name: f.error for f in refused.form.fields}
    assert "lunch" in errors["tue"] and errors["mon"] == "" and errors["wed"] == ""
    assert {f.name: f.value for f in refused.form.fields}["tue"] == "9 to lunch"  # what was typed is kept
    assert world.storage.coach_settings.get_settings("dana") == before

    values.update(tue="10:00-12:00; 14:00-18:00", sat="10-14", sun="")
    saved = only(await world.submit(world.dana, HOURS_FORM_ID, values))
    assert saved.form is None and "Saved" in saved.text
    hours = world.storage.coach_settings.get_settings("dana").hours
    assert hours.days[0] == (ClockRange(480, 720),)
    assert hours.days[1] == (ClockRange(600, 720), ClockRange(840, 1080))
    assert hours.days[5] == (ClockRange(600, 840),) and hours.days[6] == ()


async def test_hours_form_rejects_a_bad_zone_and_overlaps(world: World) -> None:
    opened = only(await world.say(world.dana, "edit my hours"))
    values = {f.name: f.value for f in opened.form.fields}
    values.update(timezone="Berlin/Mars", wed="09:00-12:00, 11:00-13:00")
    refused = only(await world.submit(world.dana, HOURS_FORM_ID, values))
    errors = {f.name: f.error for f in refused.form.fields}
    assert "time zone" in errors["timezone"] and "overlap" in errors["wed"]


async def test_buffers_in_words_and_by_form(world: World) -> None:
    reply = only(await world.say(world.dana, "buffer 15 minutes before and after"))
    assert "15 min before and 15 min after" in reply.text
    settings = world.storage.coach_settings.get_settings("dana")
    assert settings.buffer_before == settings.buffer_after == timedelta(minutes=15)

    form = only(await world.click(world.dana, choice(only(await world.say(world.dana, "show my settings")),
                                                     "Edit buffers"))).form
    assert form is not None and {f.name: f.value for f in form.fields} == {"before": "15", "after": "15"}
    refused = only(await world.submit(world.dana, form.id, {"before": "ten", "after": "5"}))
    assert refused.form is not None and refused.form.fields[0].error
    assert world.storage.coach_settings.get_settings("dana").buffer_before == timedelta(minutes=15)
    only(await world.submit(world.dana, form.id, {"before": "0", "after": "10"}))
    settings = world.storage.coach_settings.get_settings("dana")
    assert settings.buffer_before == timedelta(0) and settings.buffer_after == timedelta(minutes=10)


async def test_minimum_notice_and_session_lengths(world: World) -> None:
    notice = only(await world.say(world.dana, "minimum notice 24 hours"))
    assert "1 day" in notice.text
    assert world.storage.coach_settings.get_settings("dana").min_notice == timedelta(hours=24)
    lengths = only(await world.say(world.dana, "session lengths 30, 45 and 90 minutes"))
    assert "30 min, 45 min, 1 h 30 min" in lengths.text
    assert world.storage.coach_settings.get_settings("dana").session_lengths == (30, 45, 90)
    # Sam is asked among the new lengths, and Thursday is now too soon
    ask = only(await world.say(world.sam, "book with dana"))
    assert [c.label for c in ask.choices] == ["30 min", "45 min", "1 h 30 min"]
    offer = only(await world.click(world.sam, ask.choices[0]))
    assert not any(c.label.startswith("Thu 5 Mar") for c in offer.choices)
    # someone who is not a coach is told so
    assert "I'm a coach" in only(await world.say(world.sam, "minimum notice 2 hours")).text


async def test_time_off_removes_the_days(world: World) -> None:
    reply = only(await world.say(world.dana, "I'm off 2026-03-10 to 2026-03-11"))
    assert "Tue 10 Mar (all day)" in reply.text and "Wed 11 Mar (all day)" in reply.text
    overrides = world.storage.coach_settings.get_settings("dana").hours.overrides
    assert overrides[date(2026, 3, 10)] == () and overrides[date(2026, 3, 11)] == ()
    offer = only(await world.say(world.sam, "book 30 min with dana next tuesday"))
    assert "has nothing free on Tue 10 Mar" in offer.text
    shown = only(await world.say(world.dana, "show my settings"))
    assert "Tue 10 Mar off" in shown.text


async def test_partial_time_off(world: World) -> None:
    only(await world.say(world.dana, "I'm off next monday afternoon"))
    overrides = world.storage.coach_settings.get_settings("dana").hours.overrides
    assert overrides[date(2026, 3, 9)] == (ClockRange(540, 720),)


async def test_show_settings(world: World) -> None:
    reply = only(await world.say(world.dana, "show my settings"))
    assert "Your settings (Europe/Berlin)" in reply.text
    assert "Mon-Fri 09:00-12:00, 13:00-17:00" in reply.text and "Sat-Sun off" in reply.text
    assert "Buffers: 5 min before, 5 min after" in reply.text
    assert "Minimum notice: 2 hours" in reply.text
    assert "Session lengths: 30 min, 1 hour" in reply.text
    assert {c.action for c in reply.choices} == {"settings.hours", "settings.buffers"}
    not_coach = only(await world.say(world.sam, "show my settings"))
    assert "don't have coaching hours" in not_coach.text
