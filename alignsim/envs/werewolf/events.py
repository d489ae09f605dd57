"""Werewolf's own log events: the deal, night actions, speech with structured claims, bids, the end.

Importing this module registers them (:func:`alignsim.record.register_event`); the log
reader imports it when a ``werewolf-v0`` log needs it (``GameInfo.events_module``), so
reading a log does not build the env. The ballots, their results, eliminations and the end
of the game are written with the shared event types ``vote``, ``vote_result``,
``elimination`` and ``game_end`` (re-exported here), so the family-neutral tables of
:mod:`alignsim.analysis` read werewolf games as they read The Traitors.

Every event carries ``visible_to``: the agents that observed it. A speaker's information
set at a speech is every event visible to them with a smaller ``seq``: their
:class:`RoleBriefing` (role and werewolf partners), their :class:`Inspection` results
(seer), their :class:`NightAction` protections (doctor), the wolves' meeting
:class:`Speech` and night ballots (werewolves), and everything public.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from alignsim.envs.traitors.events import Elimination, GameEnd, Vote, VoteResult
from alignsim.record import register_event
from alignsim.record.schema import Event

__all__ = [
    "Bid",
    "Claim",
    "Elimination",
    "Floor",
    "GameEnd",
    "HunterShot",
    "Inspection",
    "NightAction",
    "NightOutcome",
    "Reveal",
    "RoleBriefing",
    "Speech",
    "Vote",
    "VoteResult",
]

ClaimKind = Literal["role", "evidence", "protection"]


class Claim(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One structured claim of a speech.

    * ``role``: "``subject`` is ``value``", where value is a role (``werewolf``, ``seer``,
      ``doctor``, ``villager``) or the side ``village`` ("is not a werewolf"); an own-role
      claim when ``subject`` is the speaker ("I am the seer").
    * ``evidence``: "I inspected ``subject``: ``value``" (value ``werewolf``, ``village``,
      ``doctor`` or ``villager``); true only if the speaker is the seer and inspected them
      with that result.
    * ``protection``: "I protected ``subject``" (value ``protected``); true only if the
      speaker is the doctor and protected them on some night.
    """

    kind: ClaimKind
    subject: str
    value: str


@register_event
class RoleBriefing(Event, tag="ww_briefing"):
    """What one player is told at the deal: its role and, for a werewolf, its partners (visible to it alone)."""

    player: str
    role: str
    partners: tuple[str, ...] = ()
    """The other werewolves, for a werewolf; empty for every other role."""


@register_event
class Speech(Event, tag="ww_speech"):
    """A message: public (day discussion) or in the werewolves' night meeting, with its structured claims."""

    actor: str
    channel: Literal["public", "werewolves"]
    message: str
    claims: tuple[Claim, ...] = ()
    """Structured claims made with the message (public speech only)."""
    proposal: str | None = None
    """The kill target a werewolf proposed in the meeting, if any."""
    truncated: bool = False
    """True when the message was longer than the env allows and was cut."""
    turn: int = 0
    """Which speaking turn of the day (1-based; with bidding, which floor turn); 0 in the meeting."""


@register_event
class Bid(Event, tag="ww_bid"):
    """A sealed bid for the floor (0 = no wish to speak, 4 = must speak now); visible to the bidder."""

    actor: str
    bid: int
    turn: int
    """The floor turn the bid is for (1-based, within the day)."""


@register_event
class Floor(Event, tag="ww_floor"):
    """Who gets the floor after a round of bids, and how a tie was settled (public)."""

    speaker: str
    bid: int
    """The winning (highest) bid."""
    turn: int
    tied: tuple[str, ...] = ()
    """Every player who bid the highest amount, when more than one did."""
    resolution: Literal["highest", "mentioned", "random"] = "highest"
    """``highest``: one top bidder; ``mentioned``: the tie went to a top bidder named in the
    previous speech; ``random``: a seeded draw among the tied."""


@register_event
class NightAction(Event, tag="ww_night_action"):
    """One night choice: a werewolf's kill ballot (visible to the living werewolves), the seer's
    inspection target or the doctor's protection (visible to the actor alone)."""

    actor: str
    role: str
    action: Literal["kill", "inspect", "protect"]
    target: str | None
    """None: no target (a werewolf abstaining where allowed)."""


@register_event
class Inspection(Event, tag="ww_inspection"):
    """What the seer learned about ``target`` tonight (visible to the seer alone)."""

    actor: str
    target: str
    result: str
    """The target's role (``werewolf``, ``doctor``, ``villager``), or its side
    (``werewolf`` / ``village``) when the seer learns sides only."""
    learns: Literal["role", "side"] = "role"


@register_event
class NightOutcome(Event, tag="ww_night_outcome"):
    """How the night resolved (ground truth: visible to no player; the morning news says only who died)."""

    attacked: str | None
    """The werewolves' target (None: no kill chosen)."""
    protected: str | None
    """The doctor's protection (None: no living doctor)."""
    saved: bool
    """True when the doctor protected the werewolves' target."""
    victim: str | None
    """Who died (None when nobody did)."""


@register_event
class Reveal(Event, tag="ww_reveal"):
    """What the moderator announced about an eliminated player (public), after its ``elimination``.

    The role, only the side, or nothing, as the rules configure; ``elimination.revealed_role``
    holds the role only when the role itself was shown.
    """

    target: str
    shown: Literal["role", "side", "none"]
    value: str | None
    """The role shown, ``werewolf`` / ``village`` for a side, None when nothing is shown."""


@register_event
class HunterShot(Event, tag="ww_hunter_shot"):
    """The eliminated hunter's last shot (public); the victim's ``elimination`` (cause ``shot``) follows."""

    actor: str
    target: str | None
    """None: the hunter spared everyone."""
