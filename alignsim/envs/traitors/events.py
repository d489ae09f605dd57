"""The Traitors' own log events: speech with claims, beliefs, ballots, eliminations, the end.

Importing this module registers them (:func:`alignsim.record.register_event`); the log
reader imports it when a ``traitors-v0`` log needs it (the env's ``GameInfo.events_module``),
so reading a log does not build the env. Roles, causes and winners are strings checked
against the env's declared vocabulary; channel, ballot kind and tie resolution are the
game's own mechanics and stay closed lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import msgspec

from alignsim.record import register_event
from alignsim.record.schema import Event

__all__ = ["Belief", "Claim", "Elimination", "GameEnd", "Speech", "Vote", "VoteResult"]


class Claim(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A structured claim made in speech: ``subject`` is a ``role``."""

    vocabulary: ClassVar[Mapping[str, str]] = {"role": "roles"}
    subject: str
    """The agent the claim is about (may be the speaker)."""
    role: str
    """The role the speaker asserts ``subject`` has (one of the env's declared ``roles``)."""


@register_event
class Speech(Event, tag="speech"):
    """A public (or channel-restricted) message, with its structured claims."""

    vocabulary: ClassVar[Mapping[str, str]] = {"claims": "roles"}

    actor: str
    channel: Literal["public", "traitors"]
    message: str
    claims: tuple[Claim, ...] = ()
    """Structured claims found in the message; each ``role`` is checked against the env's roles."""
    proposal: str | None = None
    """A target proposed in a private meeting, if the speaker named one."""
    truncated: bool = False
    """True when the message was longer than the env allows and was cut."""


@register_event
class Belief(Event, tag="belief"):
    """A belief report: the actor's probability that each other living player is a traitor."""

    actor: str
    probs: dict[str, float]


@register_event
class Vote(Event, tag="vote"):
    """One ballot. ``target`` None means an abstention."""

    actor: str
    vote: Literal["day", "night"]
    ballot: int
    """1 for the first ballot, 2+ for revotes among tied candidates."""
    target: str | None


@register_event
class VoteResult(Event, tag="vote_result"):
    """How a ballot was resolved."""

    vote: Literal["day", "night"]
    ballot: int
    tally: dict[str, int]
    resolution: Literal["plurality", "random", "revote", "none", "no_votes"]
    selected: str | None
    """Who is eliminated as a result (None: nobody, or a revote follows)."""
    tied: tuple[str, ...] = ()


@register_event
class Elimination(Event, tag="elimination"):
    """A player leaves the game."""

    vocabulary: ClassVar[Mapping[str, str]] = {"cause": "causes", "revealed_role": "roles"}
    target: str
    cause: str
    """Why the player left (one of the env's declared ``causes``: ``banished``, ``murdered``)."""
    revealed_role: str | None
    """The role shown when the player left; None when the rules hide it."""


@register_event
class GameEnd(Event, tag="game_end"):
    """The game is over: who won and why."""

    vocabulary: ClassVar[Mapping[str, str]] = {"winner": "sides", "roles": "roles"}
    winner: str | None
    """The winning side (one of the env's declared ``sides``); None when undecided."""
    reason: str
    roles: dict[str, str]
    alive: tuple[str, ...]
