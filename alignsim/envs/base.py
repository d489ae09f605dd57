"""The PettingZoo plumbing every alignsim AEC env shares.

:class:`AlignsimAECEnv` holds only what is the same in all of them: the render-mode check,
one observation and one action space for every agent, the bookkeeping that opens an
episode (:meth:`AlignsimAECEnv._start_episode`), PettingZoo's dead-step rule in ``step``,
and a default for every runner hook of :class:`~alignsim.envs.contract.GameEnv`.
Game rules, observations, masks, digests and event publishing stay in the envs, since
each game shapes them differently.

:func:`as_game` is how the runner reaches those hooks: an alignsim env is its own
:class:`~alignsim.envs.contract.GameEnv`; any other PettingZoo AEC env is wrapped in
:class:`PettingZooGame`, which gives each hook its neutral default.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import fields
from types import MappingProxyType
from typing import Any, TypeVar

import msgspec
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from alignsim.envs.contract import GameEnv, observation_digest
from alignsim.errors import ConfigError, did_you_mean
from alignsim.limits import check_env_kwargs
from alignsim.record import schema as ev

__all__ = ["AlignsimAECEnv", "PettingZooGame", "as_game", "check_limits", "config_from_kwargs"]

_NO_ROLES: Mapping[str, str] = MappingProxyType({})

Config = TypeVar("Config")


def config_from_kwargs(cls: type[Config], game: str, kwargs: Mapping[str, Any]) -> Config:
    """``cls(**kwargs)`` for an env's dataclass config; an unknown name fails first, listing the known ones,
    then a value of the wrong type (checked against the field's annotation), before the config's own checks."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ConfigError(
            unknown[0],
            f"not a parameter of {game}{did_you_mean(unknown[0], known)}; parameters are: {', '.join(sorted(known))}",
        )
    # Sizes and nesting first: a type check walks the value, and must not walk a huge one.
    check_env_kwargs(game, kwargs)
    hints = typing.get_type_hints(cls)
    for name, value in kwargs.items():
        _check_type(name, value, hints[name])
    return cls(**kwargs)


def check_limits(config: Any, game: str) -> None:
    """Refuse a size over its documented maximum (``alignsim.limits``), naming the parameter.

    Env configs call this first thing in ``__post_init__``, before any validation that
    allocates in proportion to a size (a set of ``n_players`` names, a network), so that
    ``n_players=10**9`` fails at once instead of exhausting memory.
    """
    check_env_kwargs(game, {f.name: getattr(config, f.name) for f in fields(config)})


def _check_type(name: str, value: Any, hint: Any) -> None:
    """ConfigError unless ``value`` fits the annotation ``hint`` (strictly: no "3" for an int, no 1 for a bool)."""
    if isinstance(value, np.generic):
        value = value.item()
    if typing.get_origin(hint) is typing.Literal:
        choices = [repr(c) for c in typing.get_args(hint)]
        if value not in typing.get_args(hint):
            listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
            hint_text = did_you_mean(value, typing.get_args(hint))
            raise ConfigError(name, f"must be {listed}, got {value!r}{hint_text}")
        return
    simple = {int: "an integer", bool: "true or false", str: "a text", float: "a number"}
    if hint in simple:
        fits = isinstance(value, hint) and (hint is bool or not isinstance(value, bool))
        if hint is float:
            fits = isinstance(value, int | float) and not isinstance(value, bool)
        if not fits:
            raise ConfigError(name, f"must be {simple[hint]}, got {value!r}")
        return
    try:
        msgspec.convert(value, type=hint, strict=True)
    except msgspec.ValidationError as exc:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ConfigError(name, f"{exc} (value: {shown})".replace("Expected", "expected", 1)) from None
    except TypeError:
        return  # an annotation msgspec cannot check; the config's own __post_init__ still runs


class AlignsimAECEnv(AECEnv):
    """Base of alignsim's AEC envs.

    Subclasses pass ``render_mode`` to ``super().__init__``, set ``possible_agents``,
    ``_observation_space`` and ``_action_space`` in their own ``__init__``, call
    :meth:`_start_episode` first thing in ``reset``, before any other random draw, and
    implement :meth:`_act`, which ``step`` calls for an agent still in play.
    """

    render_mode: str | None
    winner: str | None = None
    """The winning side once the game is decided; None while it runs, when undecided, and in games without one."""

    _observation_space: spaces.Space
    _action_space: spaces.Space
    _rng: np.random.Generator
    _log: list[ev.Event]
    _step_count: int
    _round: int

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError("render_mode", f"must be one of {self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        # Replaced by a seeded generator at every reset; this one only keeps the attribute defined before it.
        self._rng = np.random.default_rng()

    # ------------------------------------------------------------ PettingZoo API

    def observation_space(self, agent: str) -> spaces.Space:
        """The same observation space for every agent (set by the subclass)."""
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        """The same action space for every agent (set by the subclass); legality is in the ``action_mask``."""
        return self._action_space

    def step(self, action: Any) -> None:
        """Apply ``action`` for the selected agent (a finished agent's step only removes it, as PettingZoo requires)."""
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._act(agent, action)

    def close(self) -> None:
        """Nothing to release."""
        pass

    # ------------------------------------------------------------ runner hooks (GameEnv)

    def drain_events(self) -> list[ev.Event]:
        """Typed events emitted since the last call (with ``visible_to``), for the log: what the game
        appended to ``self._log``."""
        out, self._log = self._log, []
        return out

    @property
    def round(self) -> int:
        """The round of play (``self._round``)."""
        return self._round

    @property
    def roles(self) -> Mapping[str, str]:
        """Agent -> role, for seating by role; override in a game with roles. Default: none."""
        return _NO_ROLES

    @property
    def phase(self) -> str:
        """The phase of play, for event stamps and progress; override in a game with phases. Default: ``""``."""
        return ""

    def simultaneous_agents(self) -> list[str]:
        """Agents acting next on unchanged observations; by default the selected agent alone."""
        return [self.agent_selection] if self.agents else []

    def observation_digest(self, agent: str) -> str:
        """A short digest of ``observe(agent)``; override with a cheaper one where the game has it."""
        return observation_digest(self.observe(agent))

    def observe_with_digest(self, agent: str) -> tuple[Any, str]:
        """``(observe(agent), observation_digest(agent))``."""
        observation = self.observe(agent)
        return observation, observation_digest(observation)

    # ------------------------------------------------------------ internals

    def _act(self, agent: str, action: Any) -> None:
        """Apply the selected ``agent``'s ``action`` (``step`` has already retired dead agents)."""
        raise NotImplementedError

    def _start_episode(self, seed: int | None) -> None:
        """The first lines of every ``reset``: the episode's RNG, every agent back in play, empty ledgers."""
        self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.winner = None
        self._step_count = 0
        self._round = 0
        self._log = []


class PettingZooGame:
    """A plain PettingZoo AEC env seen through the runner's hooks, each with its neutral default.

    No roles (seat by agent name or ``*``), no phase, round 0, no winner, one agent acting
    at a time, the default observation digest, no events of its own. Observations go through
    ``env`` (wrappers included).
    """

    roles: Mapping[str, str] = _NO_ROLES
    phase = ""
    round = 0
    winner: str | None = None

    def __init__(self, env: AECEnv) -> None:
        self.env = env

    def simultaneous_agents(self) -> list[str]:
        """The selected agent; [] once no agent is left."""
        return [self.env.agent_selection] if self.env.agents else []

    def observation_digest(self, agent: str) -> str:
        """:func:`~alignsim.envs.contract.observation_digest` of ``observe(agent)``."""
        return observation_digest(self.env.observe(agent))

    def observe_with_digest(self, agent: str) -> tuple[Any, str]:
        """``(observe(agent), observation_digest(agent))``."""
        observation = self.env.observe(agent)
        return observation, observation_digest(observation)

    def drain_events(self) -> list[ev.Event]:
        """None: a plain env writes no events of its own (the runner still logs actions and rewards)."""
        return []


def as_game(env: AECEnv) -> GameEnv:
    """The runner hooks of ``env``: the unwrapped env itself when it is an :class:`AlignsimAECEnv`,
    otherwise a :class:`PettingZooGame` with the defaults."""
    unwrapped = env.unwrapped
    if isinstance(unwrapped, AlignsimAECEnv):
        return unwrapped
    return PettingZooGame(env)
