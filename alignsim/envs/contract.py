"""What an environment declares about itself, so the library never guesses it from an id.

Every registered env carries a :class:`GameInfo`: the family it belongs to (the folder it
lives in, the analysis and LLM adapters that apply to it), the vocabularies of its roles,
sides and elimination causes, the event types it writes to the log, how turns are taken
and what is hidden, and the null policy its chance baselines play. A plain PettingZoo env
registered without one gets :func:`default_info`: its own family, no declared vocabulary.

:class:`GameEnv` declares the hooks the runner, replay and the viewer read from an env
beyond PettingZoo's AEC API. alignsim's envs implement them (defaults in
:class:`~alignsim.envs.base.AlignsimAECEnv`); :func:`alignsim.envs.base.as_game` gives any
other PettingZoo AEC env the same hooks with neutral defaults, so the runner calls them
directly and never probes an env for what it offers.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec
import numpy as np

if TYPE_CHECKING:
    from alignsim.record.schema import Event

__all__ = ["Dynamics", "GameEnv", "GameInfo", "Information", "default_info", "encode_action", "observation_digest"]

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
    role_sides: tuple[tuple[str, str], ...] = ()
    """(role, side) pairs: the side a role plays for, where the game has sides
    (``("traitor", "traitors")``); a role not listed wins with no side."""

    def side_of(self, role: str | None) -> str | None:
        """The side ``role`` plays for (one of :attr:`sides`), or None."""
        return dict(self.role_sides).get(role) if role is not None else None


def default_info(env_id: str) -> GameInfo:
    """The info of an env registered without one: its name (the id without ``-vN``) as family."""
    return GameInfo(family=env_id.rsplit("-v", 1)[0])


class GameEnv(Protocol):
    """The hooks the runner reads from an env, besides PettingZoo's AEC API.

    Read after ``reset``. :class:`~alignsim.envs.base.AlignsimAECEnv` implements each with a
    default that a game overrides where it has more to say; :func:`~alignsim.envs.base.as_game`
    wraps any other PettingZoo AEC env with the same defaults.
    """

    @property
    def roles(self) -> Mapping[str, str]:
        """Agent -> role (one of :attr:`GameInfo.roles`), so scenarios seat policies by role.
        Ground truth: never shown to a policy. Default: empty (seat by agent name or ``*``)."""
        ...

    @property
    def phase(self) -> str:
        """The phase of play, stamped on policy events and shown in progress. Default: ``""``."""
        ...

    @property
    def round(self) -> int:
        """The round of play, for events, progress and the episode summary. Default: 0."""
        ...

    @property
    def winner(self) -> str | None:
        """The winning side (one of :attr:`GameInfo.sides`) once decided, else None. Default: None."""
        ...

    def simultaneous_agents(self) -> list[str]:
        """Agents that act next on unchanged observations (a sealed vote), in acting order; the
        runner hands them to their policies in one batch. Default: the selected agent; [] once
        no agent is left."""
        ...

    def observation_digest(self, agent: str) -> str:
        """A short digest of ``observe(agent)``, logged with each action so replay can check
        every observation. Default: :func:`observation_digest` of the observation."""
        ...

    def observe_with_digest(self, agent: str) -> tuple[Any, str]:
        """``(observe(agent), observation_digest(agent))``, sharing the work where it can."""
        ...

    def drain_events(self) -> list[Event]:
        """Typed events emitted since the last call (each with ``visible_to``), for the log.
        Default: none."""
        ...


_PLAIN = (int, str, float, bool, type(None))
_PLAIN_SET = frozenset(_PLAIN)


def encode_action(action: Any) -> Any:
    """An action (or observation) in plain JSON types (numpy arrays become lists)."""
    kind = type(action)
    if kind is dict:
        return {str(k): v if type(v) in _PLAIN else encode_action(v) for k, v in action.items()}
    if kind is np.ndarray:
        return action.tolist()
    if kind in _PLAIN:
        return action
    if kind is list and _PLAIN_SET.issuperset(map(type, action)):
        return action
    if isinstance(action, Mapping):
        return {str(k): encode_action(v) for k, v in action.items()}
    if isinstance(action, np.ndarray):
        return action.tolist()
    if isinstance(action, np.generic):
        return action.item()
    if isinstance(action, list | tuple):
        return [encode_action(v) for v in action]
    return action


def observation_digest(observation: Any) -> str:
    """The default digest of an observation: CRC-32 of its plain-data msgpack encoding."""
    return f"{zlib.crc32(msgspec.msgpack.encode(encode_action(observation))):08x}"
