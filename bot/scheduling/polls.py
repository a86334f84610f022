"""The tally of a slot poll: scores per option, the ranking, the winner and who has not voted yet.  Pure.

Scoring: yes = 2, if need be = 1, no = 0.  Ties go to the option with more yes votes, then to the earliest one
(then to the one listed first).  Only the votes of invitees on the poll's own options count; each voter has at
most one vote per option (the last one given wins when a list holds several).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.scheduling.model import Poll, PollOption, Vote, VoteChoice

__all__ = ["SCORES", "OptionTally", "Tally", "tally"]

SCORES: dict[VoteChoice, int] = {VoteChoice.YES: 2, VoteChoice.IF_NEED_BE: 1, VoteChoice.NO: 0}


@dataclass(frozen=True, slots=True)
class OptionTally:
    """One option and who said what about it (voter ids in the poll's invitee order)."""

    option: PollOption
    position: int
    yes: tuple[str, ...]
    if_need_be: tuple[str, ...]
    no: tuple[str, ...]

    @property
    def option_id(self) -> str:
        return self.option.id

    @property
    def start(self) -> datetime:
        return self.option.interval.start

    @property
    def score(self) -> int:
        return SCORES[VoteChoice.YES] * len(self.yes) + SCORES[VoteChoice.IF_NEED_BE] * len(self.if_need_be)

    @property
    def can_come(self) -> tuple[str, ...]:
        """Voters who said yes or if need be."""
        return self.yes + self.if_need_be

    def choice_of(self, voter_id: str) -> VoteChoice | None:
        if voter_id in self.yes:
            return VoteChoice.YES
        if voter_id in self.if_need_be:
            return VoteChoice.IF_NEED_BE
        if voter_id in self.no:
            return VoteChoice.NO
        return None


@dataclass(frozen=True, slots=True)
class Tally:
    options: tuple[OptionTally, ...]  # in the poll's order
    ranking: tuple[OptionTally, ...]  # best first
    voted: tuple[str, ...]  # invitees with at least one vote, in invitee order
    not_voted: tuple[str, ...]  # invitees without any vote, in invitee order

    @property
    def winner(self) -> OptionTally | None:
        """The best option, or None when no option has a single yes or if-need-be."""
        if not self.ranking or self.ranking[0].score == 0:
            return None
        return self.ranking[0]

    def runners_up(self, after: str) -> tuple[OptionTally, ...]:
        """The options ranked below ``after`` (an option id) that someone can come to, best first."""
        ids = [o.option_id for o in self.ranking]
        if after not in ids:
            return ()
        return tuple(o for o in self.ranking[ids.index(after) + 1 :] if o.score > 0)

    def get(self, option_id: str) -> OptionTally | None:
        for option in self.options:
            if option.option_id == option_id:
                return option
        return None


def _rank_key(option: OptionTally) -> tuple[int, int, datetime, int]:
    return (-option.score, -len(option.yes), option.start, option.position)


def tally(poll: Poll, votes: Iterable[Vote]) -> Tally:
    """Count ``votes`` for ``poll``; votes of non-invitees or for unknown options are ignored."""
    invitees = tuple(dict.fromkeys(poll.invitee_ids))
    invited = set(invitees)
    known = {o.id for o in poll.options}
    latest: dict[tuple[str, str], VoteChoice] = {}
    for vote in votes:
        if vote.voter_id in invited and vote.option_id in known:
            latest[(vote.option_id, vote.voter_id)] = VoteChoice(vote.choice)
    options: list[OptionTally] = []
    for position, option in enumerate(poll.options):
        said = {voter: choice for (option_id, voter), choice in latest.items() if option_id == option.id}
        options.append(
            OptionTally(
                option=option,
                position=position,
                yes=tuple(p for p in invitees if said.get(p) == VoteChoice.YES),
                if_need_be=tuple(p for p in invitees if said.get(p) == VoteChoice.IF_NEED_BE),
                no=tuple(p for p in invitees if said.get(p) == VoteChoice.NO),
            )
        )
    voters = {voter for _, voter in latest}
    return Tally(
        options=tuple(options),
        ranking=tuple(sorted(options, key=_rank_key)),
        voted=tuple(p for p in invitees if p in voters),
        not_voted=tuple(p for p in invitees if p not in voters),
    )
