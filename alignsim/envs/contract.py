"""What an environment declares about itself, so the library never guesses it from an id.

Every registered env carries a :class:`GameInfo`: the family it belongs to (the folder it
lives in, the analysis and LLM adapters that apply to it), the vocabularies of its roles,
sides and elimination causes, the event types it writes to the log, how turns are taken
and what is hidden, and the null policy its chance baselines play. A plain PettingZoo env
registered without one gets :func:`default_info`: its own family, no declared vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Dynamics", "GameInfo", "Information", "default_info"]

Dynamics = Literal["turn_based", "simultaneous", "mixed"]
"""``turn_based``: one agent acts at a time; ``simultaneous``: every live agent acts each
step (a Parallel env); ``mixed``: turn-based with sealed simultaneous phases (votes)."""

Information = Literal["complete", "hidden_roles", "private_values"]
"""``complete``: nothing is hidden; ``hidden_roles``: who is on which side is secret;
``private_values``: payoffs, audits or other facts are known to some seats only."""


@dataclass(frozen=True)
class GameInfo:
    """The declared facts about one game, read by the runner, the log and analysis."""

    family: str
    """The game family: the folder under ``alignsim/envs`` (or the plug-in package) and the key
    its LLM adapter and analysis register under, e.g. ``traitors`` or ``self_evolution``."""
    roles: tuple[str, ...] = ()
    """Every role a seat can be dealt (``faithful``, ``traitor``)."""
    sides: tuple[str, ...] = ()
    """Every value the env's ``winner`` can take (``faithful``, ``traitors``); empty when no side wins."""
    causes: tuple[str, ...] = ()
    """Every cause of an elimination (``banished``, ``murdered``); empty when no one is eliminated."""
    events: tuple[str, ...] = ()
    """The tags of the game's own event types, beyond the runner's core events."""
    events_module: str | None = None
    """The module whose import registers those event types (``alignsim.envs.traitors.events``);
    the log reader imports it to read the game's logs, without importing the env itself."""
    dynamics: Dynamics = "turn_based"
    information: Information = "complete"
    null_policy: str | None = None
    """The policy that plays the chance baseline; None for uniformly random legal play."""


def default_info(env_id: str) -> GameInfo:
    """The info of an env registered without one: its name (the id without ``-vN``) as family."""
    return GameInfo(family=env_id.rsplit("-v", 1)[0])
