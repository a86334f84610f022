"""The pure poll tally: scores (yes 2, if need be 1, no 0), tie-breaks, re-votes, strangers, who has not voted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.scheduling.intervals import Interval
from bot.scheduling.model import Poll, PollOption, Vote, VoteChoice
from bot.scheduling.polls import tally

Y, M, N = VoteChoice.YES, VoteChoice.IF_NEED_BE, VoteChoice.NO
T0 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def make_poll(starts_h: list[int], invitees: tuple[str, ...] = ("amy", "bo", "cy")) -> Poll:
    options = tuple(
        PollOption(f"o{i + 1}", Interval(T0 + timedelta(hours=h), T0 + timedelta(hours=h, minutes=30)))
        for i, h in enumerate(starts_h)
    )
    return Poll("p1", "sam", "Team sync", timedelta(minutes=30), options, invitees)


def votes(*items: tuple[str, str, VoteChoice]) -> list[Vote]:
    return [Vote(option_id=o, voter_id=v, choice=c) for o, v, c in items]


@pytest.mark.parametrize(
    ("starts", "cast", "ranking", "winner"),
    [
        # plain score: o2 has 2+2, o1 has 2+1
        ([0, 1], [("o1", "amy", Y), ("o1", "bo", M), ("o2", "amy", Y), ("o2", "bo", Y)], ["o2", "o1"], "o2"),
        # equal score 2: o1 = one yes, o2 = two if-need-be -> more yes wins
        ([0, 1], [("o1", "amy", Y), ("o2", "amy", M), ("o2", "bo", M)], ["o1", "o2"], "o1"),
        # the same tie the other way round in the list: more yes still wins, not the position
        ([0, 1], [("o1", "amy", M), ("o1", "bo", M), ("o2", "amy", Y)], ["o2", "o1"], "o2"),
        # equal score and yes count: the earliest wins, whatever the listed order
        ([5, 2], [("o1", "amy", Y), ("o2", "bo", Y)], ["o2", "o1"], "o2"),
        # "no" counts nothing: all no -> no winner, order by time
        ([3, 1], [("o1", "amy", N), ("o2", "amy", N)], ["o2", "o1"], None),
        # nobody voted: no winner
        ([0, 1, 2], [], ["o1", "o2", "o3"], None),
        # three options, mixed
        ([0, 1, 2], [("o1", "amy", N), ("o2", "amy", M), ("o3", "amy", Y), ("o1", "bo", Y), ("o2", "bo", Y),
                     ("o3", "bo", N), ("o2", "cy", M)], ["o2", "o1", "o3"], "o2"),
    ],
)
def test_ranking_and_winner(starts: list[int], cast: list[tuple[str, str, VoteChoice]], ranking: list[str],
                            winner: str | None) -> None:
    result = tally(make_poll(starts), votes(*cast))
    assert [o.option_id for o in result.ranking] == ranking
    assert (result.winner.option_id if result.winner else None) == winner
    assert [o.option_id for o in result.options] == [f"o{i + 1}" for i in range(len(starts))]


def test_scores_and_groups() -> None:
    result = tally(make_poll([0]), votes(("o1", "cy", Y), ("o1", "amy", M), ("o1", "bo", N)))
    option = result.options[0]
    assert option.score == 3
    assert option.yes == ("cy",) and option.if_need_be == ("amy",) and option.no == ("bo",)
    assert option.can_come == ("cy", "amy")
    assert option.choice_of("bo") == N and option.choice_of("zed") is None


def test_the_last_vote_counts() -> None:
    result = tally(make_poll([0]), votes(("o1", "amy", N), ("o1", "amy", Y)))
    assert result.options[0].yes == ("amy",) and result.options[0].no == ()
    assert result.options[0].score == 2


def test_strangers_and_unknown_options_do_not_count() -> None:
    result = tally(make_poll([0, 1]), votes(("o1", "zed", Y), ("o9", "amy", Y), ("o2", "bo", M)))
    assert result.options[0].score == 0
    assert result.options[1].score == 1
    assert result.voted == ("bo",)
    assert result.not_voted == ("amy", "cy")


def test_who_has_not_voted_keeps_invitee_order() -> None:
    result = tally(make_poll([0, 1], ("cy", "amy", "bo", "dee")), votes(("o2", "bo", N), ("o1", "cy", Y)))
    assert result.voted == ("cy", "bo")
    assert result.not_voted == ("amy", "dee")


def test_runners_up_skip_options_nobody_can_come_to() -> None:
    result = tally(
        make_poll([0, 1, 2, 3]),
        votes(("o1", "amy", Y), ("o1", "bo", Y), ("o2", "amy", M), ("o3", "amy", N), ("o4", "bo", Y)),
    )
    assert [o.option_id for o in result.ranking] == ["o1", "o4", "o2", "o3"]
    assert [o.option_id for o in result.runners_up("o1")] == ["o4", "o2"]
    assert [o.option_id for o in result.runners_up("o4")] == ["o2"]
    assert result.runners_up("nope") == ()
    assert result.get("o2") is not None and result.get("o2").score == 1  # type: ignore[union-attr]
    assert result.get("zz") is None
