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


@dataclass(frozen=True)
class SeatSpec:
    """Which policy fills a seat."""

    policy: str
    """Registered policy name (see ``alignsim.agents.ids()``)."""
    kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    focal: bool = False
    """True for the policy under test; False for background (resident) players."""

    def to_dict(self) -> dict[str, Any]:
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
    (``metadata["null_policy"]``), else uniformly random legal play (``random``)."""

    def __post_init__(self) -> None:
        if not _SCENARIO_ID.match(self.id):
            raise AlignsimError(f"scenario id {self.id!r} must look like 'family/name-vN'")
        if not self.seating:
            raise AlignsimError(f"scenario {self.id}: seating is empty")

    def to_dict(self) -> dict[str, Any]:
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
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioSpec:
        """Build from plain data (e.g. a Hydra ``scenario`` node); errors name the field."""
        for key in ("id", "env_id", "seating"):
            if key not in data or data[key] in (None, ""):
                raise ConfigError(f"scenario.{key}", "is required")
        unknown = set(data) - {"id", "env_id", "env_kwargs", "seating", "description", "null_policy"}
        if unknown:
            raise ConfigError(f"scenario.{sorted(unknown)[0]}", "unknown field")
        seating = {key: _seat(seat, f"scenario.seating.{key}") for key, seat in dict(data["seating"]).items()}
        null = data.get("null_policy")
        return cls(
            id=data["id"],
            env_id=data["env_id"],
            env_kwargs=MappingProxyType(dict(data.get("env_kwargs") or {})),
            seating=MappingProxyType(seating),
            description=data.get("description", "") or "",
            null_policy=None if null in (None, "") else _seat(null, "scenario.null_policy"),
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
    _registry.add(spec.id, spec)
    return spec


def ids() -> list[str]:
    """Every registered scenario id."""
    return _registry.names()


def get(scenario_id: str) -> ScenarioSpec:
    return _registry.get(scenario_id)


from alignsim.scenarios import principal_agent as _principal_agent  # noqa: E402,F401
from alignsim.scenarios import self_evolution as _self_evolution  # noqa: E402,F401
from alignsim.scenarios import traitors as _traitors  # noqa: E402,F401  (registers the built-ins)
