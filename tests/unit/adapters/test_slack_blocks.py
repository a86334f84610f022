"""Block Kit rendering is pure: Reply -> blocks, Form -> modal, home data -> App Home view; and the manifest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.adapters.slack import blocks as bk
from bot.adapters.slack.app import COMMANDS, EVENTS, SCOPES
from bot.handlers.replies import Choice, Field, FieldOption, Form, Reply

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_choices_become_buttons_with_unique_action_ids_and_confirm_dialogs() -> None:
    reply = Reply(
        "Pick a time:",
        choices=(
            Choice("Tue 10:00", "book.pick", "abc:0"),
            Choice("Tue 11:00", "book.pick", "abc:1", style="primary"),
            Choice("Cancel it", "cancel.pick", "xyz:0", style="danger", confirm="Cancel your session with Dana?"),
        ),
        details=("Times in Europe/Berlin",),
    )
    blocks = bk.message_blocks(reply)
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "Pick a time:"}}
    assert blocks[1]["type"] == "context" and blocks[1]["elements"][0]["text"] == "Times in Europe/Berlin"
    buttons = blocks[2]["elements"]
    assert [b["action_id"] for b in buttons] == ["book.pick#0", "book.pick#1", "cancel.pick#2"]
    assert [b["value"] for b in buttons] == ["abc:0", "abc:1", "xyz:0"]
    assert "style" not in buttons[0] and buttons[1]["style"] == "primary"
    confirm = buttons[2]["confirm"]
    assert confirm["text"]["text"] == "Cancel your session with Dana?"
    assert confirm["confirm"]["text"] == "Yes" and confirm["deny"]["text"] == "No" and confirm["style"] == "danger"
    assert [bk.action_name(b["action_id"]) for b in buttons] == ["book.pick", "book.pick", "cancel.pick"]
    assert bk.action_name("plain") == "plain"


def test_many_choices_are_split_over_action_blocks_and_long_text_is_clipped() -> None:
    reply = Reply("x" * 5000, choices=tuple(Choice(f"slot {i}" + "!" * 100, "a", str(i)) for i in range(30)))
    blocks = bk.message_blocks(reply)
    assert len(blocks[0]["text"]["text"]) == 3000
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    assert all(len(e["text"]["text"]) <= 75 for a in actions for e in a["elements"])


def test_a_form_without_a_trigger_becomes_a_button_that_opens_it() -> None:
    form = Form("hours", "Working hours", (Field("mon", "Monday"),))
    blocks = bk.message_blocks(Reply("Your hours:", form=form), form_key="k1")
    button = blocks[-1]["elements"][-1]
    assert button["value"] == "k1" and bk.action_name(button["action_id"]) == bk.OPEN_FORM_ACTION
    assert button["text"]["text"] == "Working hours"


def test_form_becomes_a_modal_and_its_submission_comes_back_as_values() -> None:
    form = Form(
        "hours:abc",
        "Working hours and a very long title",
        (
            Field("mon", "Monday", value="09:00-17:00", hint="e.g. 09:00-12:00", required=False),
            Field("notes", "Notes", kind="textarea"),
            Field("zone", "Zone", kind="select", value="b", options=(FieldOption("a", "A"), FieldOption("b", "B"))),
            Field(
                "days",
                "Days",
                kind="multiselect",
                value="x,z",
                options=(FieldOption("x", "X"), FieldOption("y", "Y"), FieldOption("z", "Z")),
            ),
            Field("len", "Length", kind="number", value="30"),
            Field("secret", "Password", kind="password", value="hunter2"),
            Field("mail", "Email", kind="email"),
        ),
        submit_label="Save",
    )
    view = bk.form_view(form, private_metadata=bk.encode_metadata({"channel": "C1"}))
    assert view["type"] == "modal" and view["callback_id"] == "hours:abc"
    assert len(view["title"]["text"]) <= 24 and view["submit"]["text"] == "Save"
    assert bk.decode_metadata(view["private_metadata"]) == {"channel": "C1"}
    by_id = {b["block_id"]: b for b in view["blocks"]}
    assert list(by_id) == ["mon", "notes", "zone", "days", "len", "secret", "mail"]
    assert by_id["mon"]["optional"] is True and by_id["notes"]["optional"] is False
    assert by_id["mon"]["element"] == {
        "type": "plain_text_input",
        "multiline": False,
        "initial_value": "09:00-17:00",
        "action_id": "value",
    }
    assert by_id["mon"]["hint"]["text"] == "e.g. 09:00-12:00"
    assert by_id["notes"]["element"]["multiline"] is True
    assert by_id["zone"]["element"]["initial_option"]["value"] == "b"
    assert [o["value"] for o in by_id["days"]["element"]["initial_options"]] == ["x", "z"]
    assert by_id["len"]["element"]["type"] == "number_input" and by_id["len"]["element"]["initial_value"] == "30"
    assert "initial_value" not in by_id["secret"]["element"]  # never echo a secret back
    assert by_id["mail"]["element"]["type"] == "email_text_input"

    state = {
        "values": {
            "mon": {"value": {"type": "plain_text_input", "value": "10:00-16:00"}},
            "notes": {"value": {"type": "plain_text_input", "value": None}},
            "zone": {"value": {"type": "static_select", "selected_option": {"value": "a"}}},
            "days": {"value": {"type": "multi_static_select", "selected_options": [{"value": "x"}, {"value": "y"}]}},
            "len": {"value": {"type": "number_input", "value": "45"}},
        }
    }
    assert bk.view_values(state) == {"mon": "10:00-16:00", "notes": "", "zone": "a", "days": "x,y", "len": "45"}


def test_refused_fields_map_to_response_action_errors() -> None:
    form = Form("hours", "Hours", (Field("mon", "Monday", error="bad range"), Field("tue", "Tuesday")))
    assert bk.form_errors(form) == {"mon": "bad range"}
    assert bk.form_errors(Form("hours", "Hours", (Field("mon", "Monday"),))) == {}


@pytest.mark.parametrize(
    ("status", "synced_ago", "error", "expected"),
    [
        ("ok", timedelta(minutes=2), None, "synced 2 min ago"),
        ("ok", timedelta(seconds=20), None, "synced just now"),
        ("ok", timedelta(hours=3), None, "synced 3 h ago"),
        ("ok", timedelta(days=3), None, "synced 3 days ago"),
        ("ok", None, None, "not synced yet"),
        ("ok", timedelta(minutes=5), "timeout", "synced 5 min ago, last try failed: timeout"),
        ("needs_reconnect", timedelta(minutes=2), "invalid_grant", "needs reconnecting"),
    ],
)
def test_sync_status(status: str, synced_ago: timedelta | None, error: str | None, expected: str) -> None:
    synced = NOW - synced_ago if synced_ago is not None else None
    assert bk.sync_status(bk.HomeCalendar("Work", "google", status, synced, error), now=NOW) == expected


def _text(view: dict) -> str:  # type: ignore[type-arg]
    out = []
    for block in view["blocks"]:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(out)


def test_home_view_for_a_coach_and_for_a_participant() -> None:
    coach = bk.HomeData(
        name="Dana",
        timezone="Europe/Berlin",
        is_coach=True,
        hours=("Mon-Fri 09:00-17:00", "Sat-Sun off"),
        buffers="Buffers: 10 min before, 5 min after",
        calendars=(bk.HomeCalendar("Work", "google", "ok", NOW - timedelta(minutes=2)),),
        upcoming=(bk.HomeSession("Tue 3 Mar 11:00-11:30 (Europe/Berlin)", "Ann"),),
    )
    view = bk.home_view(coach, now=NOW)
    assert view["type"] == "home"
    text = _text(view)
    for expected in (
        "Mon-Fri 09:00-17:00",
        "Buffers: 10 min before",
        "*Work* (google): synced 2 min ago",
        "Tue 3 Mar 11:00-11:30 (Europe/Berlin) with Ann",
    ):
        assert expected in text
    participant = bk.home_view(bk.HomeData(name="Ann", timezone="UTC", is_coach=False), now=NOW)
    text = _text(participant)
    assert "coaching hours" not in text.lower() and "Connected calendars" not in text
    assert "Nothing booked yet." in text


def test_manifest_lists_every_command_event_scope_and_url() -> None:
    manifest = yaml.safe_load((ROOT / "manifest" / "slack" / "manifest.yaml").read_text())
    features, settings = manifest["features"], manifest["settings"]
    commands = {c["command"]: c for c in features["slash_commands"]}
    assert set(commands) == set(COMMANDS)
    events_url = "https://bot.example.com/slack/events"
    assert {c["url"] for c in commands.values()} == {events_url}
    assert set(settings["event_subscriptions"]["bot_events"]) == set(EVENTS)
    assert settings["event_subscriptions"]["request_url"] == events_url
    assert settings["interactivity"] == {"is_enabled": True, "request_url": events_url}
    assert settings["socket_mode_enabled"] is False
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(SCOPES)
    assert manifest["oauth_config"]["redirect_urls"] == ["https://bot.example.com/slack/oauth_redirect"]
    assert features["app_home"]["home_tab_enabled"] is True and features["app_home"]["messages_tab_enabled"] is True


def test_the_bolt_app_registers_exactly_the_manifest_commands_and_events(tmp_path: Path) -> None:
    from bot.adapters.slack.app import SlackSurface
    from bot.app import build_app
    from bot.config import Settings

    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "SCHEDBOT_DATA_DIR": str(tmp_path),
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_BOT_TOKEN": "xoxb-1",
        }
    )
    app = build_app(settings)
    try:
        surface = SlackSurface(app)
        manifest = yaml.safe_load((ROOT / "manifest" / "slack" / "manifest.yaml").read_text())
        assert len(surface.bolt._async_listeners) == len(COMMANDS) + len(EVENTS) + 2  # + actions + views
        for command in manifest["features"]["slash_commands"]:
            assert command["command"] in COMMANDS
    finally:
        app.storage.close()
