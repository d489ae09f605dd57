"""Named, versioned scenarios: an env id, its parameters, and which policy sits in which seat.

``alignsim.scenarios.get("traitors/classic-v0")`` returns a :class:`ScenarioSpec`. Seating
maps a role name (``traitor``, ``faithful``), an agent id (``player_3``) or ``"*"`` (every
other seat) to a :class:`SeatSpec`; the most specific key wins. Third-party packages add
scenarios through the ``alignsim.scenarios`` entry-point group (each entry loads a
``ScenarioSpec`` or a function that calls :func:`register`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from alignsim.errors import AlignsimError, ConfigError
from alignsim.registry import SpecRegistry

__all__ = ["ScenarioSpec", "SeatSpec", "get", "ids", "register", "resolve_seating"]

_SCENARIO_ID = re.compile(r"^[a-z0-9_]+/[a-z0-9_.-]+-v\d+$")
MISSING_VALUE = "???"
"""How OmegaConf shows a value that was never set."""


@dataclass(frozen=True)
class SeatSpec:
    """Which policy fills a seat."""

    policy: str
    """Registered policy name (see ``alignsim.agents.ids()``)."""
    kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    focal: bool = False
    """True for the policy under test; False for background (resident) players."""

    def to_dict(self) -> dict[str, Any]:
        """The seat as plain data, as recorded in episode headers."""
        return {"policy": self.policy, "kwargs": dict(self.kwargs), "focal": self.focal}


@dataclass(frozen=True)
class ScenarioSpec:
    """A runnable scenario."""

    id: str
    """``family/name-vN``, starting with the env family."""
    env_id: str
    env_kwargs: Mapping[str, Any]
    seating: Mapping[str, SeatSpec]
    description: str = ""
    null_policy: SeatSpec | None = None
    """The policy that plays every seat for this scenario's chance baseline (``alignsim analyze``
    reports each metric beside its value under it). None: the env's declared null policy
    (``GameInfo.null_policy``), else uniformly random legal play (``random``)."""
    belief_probes: bool = False
    """After each public statement that asserts something checkable, ask the speaking seat
    privately whether it believes it (``belief_probe`` events; :mod:`alignsim.probes`,
    ``docs/belief-probes.md``). The game itself is unchanged."""

    def __post_init__(self) -> None:
        """Refuse an id that is not ``family/name-vN`` and an empty seating."""
        if not _SCENARIO_ID.match(self.id):
            raise AlignsimError(f"scenario id {self.id!r} must look like 'family/name-vN'")
        if not self.seating:
            raise AlignsimError(f"scenario {self.id}: seating is empty")

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data, as recorded in episode headers.

        ``null_policy`` and ``belief_probes`` appear only when declared (on), so that the episode
        ids of scenarios without them never change.
        """
        data = {
            "id": self.id,
            "env_id": self.env_id,
            "env_kwargs": _plain(self.env_kwargs),
            "seating": {k: v.to_dict() for k, v in self.seating.items()},
            "description": self.description,
        }
        if self.null_policy is not None:
            # Only when declared: the dict names episodes (run.episode_id_for), and scenarios
            # that declare nothing must keep the ids they always had.
            data["null_policy"] = self.null_policy.to_dict()
        if self.belief_probes:
            # Likewise only when on: it changes the log (probe events), so it names the episode.
            data["belief_probes"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioSpec:
        """Build from plain data (e.g. a Hydra ``scenario`` node); errors name the field.

        A seat with no ``policy`` (one that an override such as
        ``scenario.seating.traitor.kwargs.model=M`` created) takes the policy, arguments and
        focal flag of the ``"*"`` seat that would otherwise place those players, its own
        ``kwargs`` on top.
        """
        if not isinstance(data, Mapping):
            raise ConfigError("scenario", f"must be a mapping, got {data!r}")
        for key in ("id", "env_id", "seating"):
            if key not in data or data[key] in (None, "", MISSING_VALUE):
                raise ConfigError(f"scenario.{key}", "is required")
        unknown = set(data) - {"id", "env_id", "env_kwargs", "seating", "description", "null_policy", "belief_probes"}
        if unknown:
            raise ConfigError(f"scenario.{sorted(unknown)[0]}", "unknown field")
        if not isinstance(data["id"], str) or not _SCENARIO_ID.match(data["id"]):
            raise ConfigError(
                "scenario.id", f"{data['id']!r} must look like 'family/name-vN' (e.g. 'traitors/my-game-v0')"
            )
        if not isinstance(data.get("env_kwargs") or {}, Mapping):
            raise ConfigError("scenario.env_kwargs", f"must be a mapping, got {data['env_kwargs']!r}")
        if not isinstance(data["seating"], Mapping) or not data["seating"]:
            raise ConfigError("scenario.seating", "must map roles, player ids or '*' to seats")
        raw = {}
        for key, seat in dict(data["seating"]).items():
            if isinstance(seat, str):
                seat = {"policy": seat}
            if not isinstance(seat, Mapping):
                raise ConfigError(f"scenario.seating.{key}", f"must be a mapping (policy, kwargs, focal), got {seat!r}")
            bad = set(seat) - {"policy", "kwargs", "focal"}
            if bad:
                raise ConfigError(f"scenario.seating.{key}.{sorted(bad)[0]}", "unknown field (policy, kwargs, focal)")
            if not isinstance(seat.get("kwargs") or {}, Mapping):
                raise ConfigError(f"scenario.seating.{key}.kwargs", f"must be a mapping, got {seat['kwargs']!r}")
            if seat.get("focal") is not None and not isinstance(seat["focal"], bool):
                raise ConfigError(f"scenario.seating.{key}.focal", f"must be true or false, got {seat['focal']!r}")
            raw[str(key)] = dict(seat)
        cover = raw.get("*", {})
        seating = {}
        for key, seat in raw.items():
            policy = seat.get("policy")
            kwargs = dict(seat.get("kwargs") or {})
            focal = seat.get("focal")
            if policy in (None, "", MISSING_VALUE):
                inherited = cover.get("policy")
                if key == "*" or inherited in (None, "", MISSING_VALUE):
                    raise ConfigError(f"scenario.seating.{key}.policy", "is required (no '*' seat to take it from)")
                policy = inherited
                kwargs = {**dict(cover.get("kwargs") or {}), **kwargs}
                focal = cover.get("focal") if focal is None else focal
            if not isinstance(policy, str):
                raise ConfigError(f"scenario.seating.{key}.policy", f"must be a policy name, got {policy!r}")
            seating[key] = SeatSpec(policy=policy, kwargs=MappingProxyType(kwargs), focal=bool(focal))
        null = data.get("null_policy")
        probes = data.get("belief_probes")
        if probes is not None and not isinstance(probes, bool):
            raise ConfigError("scenario.belief_probes", f"must be true or false, got {probes!r}")
        return cls(
            id=data["id"],
            env_id=data["env_id"],
            env_kwargs=MappingProxyType(dict(data.get("env_kwargs") or {})),
            seating=MappingProxyType(seating),
            description=data.get("description", "") or "",
            null_policy=None if null in (None, "") else _seat(null, "scenario.null_policy"),
            belief_probes=bool(probes),
        )


def _seat(seat: Any, where: str) -> SeatSpec:
    """A :class:`SeatSpec` from a policy name or a ``{policy, kwargs, focal}`` mapping; errors name ``where``."""
    if isinstance(seat, str):
        seat = {"policy": seat}
    seat = dict(seat)
    if not seat.get("policy"):
        raise ConfigError(f"{where}.policy", "is required")
    bad = set(seat) - {"policy", "kwargs", "focal"}
    if bad:
        raise ConfigError(f"{where}.{sorted(bad)[0]}", "unknown field")
    return SeatSpec(
        policy=seat["policy"],
        kwargs=MappingProxyType(dict(seat.get("kwargs") or {})),
        focal=bool(seat.get("focal", False)),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def resolve_seating(seating: Mapping[str, SeatSpec], agents: list[str], roles: Mapping[str, str]) -> dict[str, str]:
    """Map every agent to the seating key that places it: its id, else its role, else ``"*"``."""
    out = {}
    for agent in agents:
        role = roles.get(agent)
        for key in (agent, role, "*"):
            if key is not None and key in seating:
                out[agent] = key
                break
        else:
            raise ConfigError(
                "scenario.seating",
                f"no seat for {agent} (role {role}); add a '{role or agent}' or '*' entry",
            )
    return out


_registry: SpecRegistry[ScenarioSpec] = SpecRegistry("scenario", "alignsim.scenarios", ScenarioSpec)


def register(spec: ScenarioSpec) -> ScenarioSpec:
    """Add ``spec`` to the scenario registry under its id and return it (usable as a decorator's result)."""
    _registry.add(spec.id, spec)
    return spec


def ids() -> list[str]:
    """Every registered scenario id."""
    return _registry.names()


def get(scenario_id: str) -> ScenarioSpec:
    """The scenario registered as ``scenario_id`` (entry-point plug-ins included).

    Raises:
        UnknownIdError: no scenario of that id.
    """
    return _registry.get(scenario_id)


from alignsim.envs.werewolf import scenarios as _werewolf  # noqa: E402,F401  (the game's own folder)
from alignsim.scenarios import principal_agent as _principal_agent  # noqa: E402,F401
from alignsim.scenarios import self_evolution as _self_evolution  # noqa: E402,F401
from alignsim.scenarios import traitors as _traitors  # noqa: E402,F401  (registers the built-ins)
