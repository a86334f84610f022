"""The background rounds (calendar sync, push upkeep): repeated, a failed round does not stop the next, and
leaving the server's cleanup context stops the loop."""

from __future__ import annotations

import asyncio

from bot.services.periodic import periodic


async def test_rounds_repeat_survive_a_failure_and_stop_with_the_server() -> None:
    rounds = 0
    third = asyncio.Event()

    async def work() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise RuntimeError("the first round fails")
        if rounds == 3:
            third.set()

    context = periodic(work, interval=0, what="test round")(object())
    await context.__anext__()  # the server starts
    await asyncio.wait_for(third.wait(), 10)
    stopped_at = rounds
    async for _ in context:  # the server stops: the generator finishes after cancelling the loop
        raise AssertionError("one yield only")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert rounds == stopped_at
