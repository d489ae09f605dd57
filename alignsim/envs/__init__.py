"""Environment registry: ``ids()``, ``make(env_id, **kwargs)``, ``make_parallel(env_id, **kwargs)``.

Ids are ``name-vN``; the version is bumped whenever outcomes change for the same seed
and actions. An unversioned id (``"traitors"``) resolves to the newest version.
Third-party packages add environments through the ``alignsim.envs`` entry-point group,
whose entries load either an :class:`EnvSpec` or a function that calls :func:`register`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pettingzoo import AECEnv, ParallelEnv

from alignsim.envs.contract import GameInfo, default_info
from alignsim.envs.werewolf import ENV_ID as _WEREWOLF_ID
from alignsim.envs.werewolf import INFO as _WEREWOLF_INFO
from alignsim.errors import AlignsimError, UnknownIdError
from alignsim.registry import SpecRegistry, load_object

__all__ = ["EnvSpec", "GameInfo", "game_info", "ids", "make", "make_parallel", "register", "spec"]

_VERSIONED = re.compile(r"^(?P<name>.+)-v(?P<version>\d+)$")


@dataclass(frozen=True)
class EnvSpec:
    """How to build a registered environment."""

    id: str
    """``name-vN``."""
    entry_point: str
    """``"module:attr"`` of a callable returning a PettingZoo ``AECEnv``."""
    parallel_entry_point: str | None = None
    """``"module:attr"`` of a callable returning a ``ParallelEnv``, if the env offers one."""
    kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Default keyword arguments, overridden by those given to ``make``."""
    description: str = ""
    info: GameInfo | None = None
    """What the game declares (family, vocabularies, event types); see :func:`game_info`."""

    def __post_init__(self) -> None:
        """Refuse an id that is not ``name-vN``."""
        if not _VERSIONED.match(self.id):
            raise AlignsimError(f"env id {self.id!r} must look like 'name-vN'")

    @property
    def name(self) -> str:
        """The id without its version (``traitors`` of ``traitors-v0``): what policies' ``supported_envs``
        and the size limits of :mod:`alignsim.limits` are keyed by. Not the family: see :attr:`GameInfo.family`."""
        match = _VERSIONED.match(self.id)
        assert match is not None  # checked in __post_init__
        return match["name"]


_registry: SpecRegistry[EnvSpec] = SpecRegistry("env", "alignsim.envs", EnvSpec)


def register(
    id: str,
    entry_point: str,
    *,
    parallel_entry_point: str | None = None,
    kwargs: Mapping[str, Any] | None = None,
    description: str = "",
    info: GameInfo | None = None,
) -> EnvSpec:
    """Register an environment under ``id`` (``name-vN``), with what the game declares about itself."""
    env_spec = EnvSpec(
        id=id,
        entry_point=entry_point,
        parallel_entry_point=parallel_entry_point,
        kwargs=MappingProxyType(dict(kwargs or {})),
        description=description,
        info=info,
    )
    _registry.add(id, env_spec)
    return env_spec


def ids() -> list[str]:
    """Every registered env id."""
    return _registry.names()


def spec(env_id: str) -> EnvSpec:
    """The spec of ``env_id``; an unversioned name resolves to its newest version."""
    if env_id in _registry or _VERSIONED.match(env_id):
        return _registry.get(env_id)
    versions = [
        (int(m["version"]), known)
        for known in _registry.names()
        if (m := _VERSIONED.match(known)) and m["name"] == env_id
    ]
    if not versions:
        raise UnknownIdError("env", env_id, _registry.names())
    return _registry.get(max(versions)[1])


def game_info(env_id: str) -> GameInfo:
    """The :class:`GameInfo` of ``env_id``: as registered, or the defaults of a plain PettingZoo env.

    An id that is not registered (a log from a plug-in that is not installed) gets the
    defaults too, so logs stay readable without the package that wrote them.
    """
    try:
        env_spec = spec(env_id)
    except UnknownIdError:
        return default_info(env_id)
    return env_spec.info or default_info(env_spec.id)


def make(env_id: str, **kwargs: Any) -> AECEnv:
    """Build the AEC form of a registered environment."""
    env_spec = spec(env_id)
    factory = load_object(env_spec.entry_point)
    return factory(**{**env_spec.kwargs, **kwargs})  # type: ignore[operator]


def make_parallel(env_id: str, **kwargs: Any) -> ParallelEnv:
    """Build the Parallel form of a registered environment, where it offers one."""
    env_spec = spec(env_id)
    if env_spec.parallel_entry_point is None:
        raise AlignsimError(f"env {env_spec.id} has no parallel form (it is turn-based); use alignsim.envs.make")
    factory = load_object(env_spec.parallel_entry_point)
    return factory(**{**env_spec.kwargs, **kwargs})  # type: ignore[operator]


register(
    "traitors-v0",
    "alignsim.envs.traitors:env",
    description="The Traitors: social deduction with secret traitors, banishment votes and night murders.",
    info=GameInfo(
        family="traitors",
        roles=("faithful", "traitor"),
        sides=("faithful", "traitors"),
        causes=("banished", "murdered"),
        events=("speech", "belief", "vote", "vote_result", "elimination", "game_end"),
        events_module="alignsim.envs.traitors.events",
        dynamics="mixed",
        information="hidden_roles",
        role_sides=(("faithful", "faithful"), ("traitor", "traitors")),
    ),
)
register(
    "self_evolution-v0",
    "alignsim.envs.self_evolution:env",
    parallel_entry_point="alignsim.envs.self_evolution:parallel_env",
    description="Self-interested exploration: keep a supervisor's rule or break it for more income, round by round.",
    info=GameInfo(
        family="self_evolution",
        roles=("agent",),
        events=("evolution_setup", "compliance_choice"),
        events_module="alignsim.envs.self_evolution.events",
        dynamics="simultaneous",
        information="private_values",
    ),
)
register(
    "threshold_game-v0",
    "alignsim.envs.self_evolution:threshold_env",
    parallel_entry_point="alignsim.envs.self_evolution:threshold_parallel_env",
    description="Imitative strategy diffusion: a k-of-n threshold game, peers' choices seen along a network.",
    info=GameInfo(
        family="self_evolution",
        roles=("agent", "deviant"),
        events=("evolution_setup", "threshold_round"),
        events_module="alignsim.envs.self_evolution.events",
        dynamics="simultaneous",
        information="private_values",
    ),
)
register(
    "principal_agent-v0",
    "alignsim.envs.principal_agent:env",
    description="Principal-agent delegation (Tin Men): an agent serves a customer but represents another principal.",
    info=GameInfo(
        family="principal_agent",
        roles=("shopping_agent", "seller_agent", "buyer_agent"),
        events=("pa_setup", "pa_decision", "pa_explanation", "pa_audit", "pa_outcome"),
        events_module="alignsim.envs.principal_agent.events",
        dynamics="mixed",
        information="private_values",
    ),
)
register(
    _WEREWOLF_ID,
    "alignsim.envs.werewolf.werewolf:env",
    parallel_entry_point="alignsim.envs.werewolf.werewolf:parallel_env",
    description="Werewolf: werewolves, seer, doctor and villagers; night kills, inspections, protections, exile votes.",
    info=_WEREWOLF_INFO,
)
