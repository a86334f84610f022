"""The demo coach a new user meets on the embedded default (SCHEDBOT_DEMO=1; the README's run command sets it)."""
