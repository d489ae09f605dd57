"""Seats: the arguments a seat's policy gets, and the seats of a logged episode rebuilt for ``rerun`` and ``fork``.

This is the one module that knows how a seat is rebuilt from a log header (recorded
arguments, memory snapshots, a swapped policy or model). What an LLM seat needs to be
rebuilt offline (its default model, in-process memory, no cache) the policy says itself
(``LLMAgent.default_model`` and ``LLMAgent.offline_kwargs``), so nothing here names a
policy's arguments.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec

from alignsim import agents
from alignsim.agents.policy import Policy
from alignsim.errors import ConfigError, ReplayMismatchError
from alignsim.record import schema as ev
from alignsim.scenarios import ScenarioSpec, SeatSpec

__all__ = ["EPISODES_DIR", "MEMORY_DIR", "logged_seats", "seat_kwargs", "snapshot_dir", "starting_memory"]

EPISODES_DIR = "episodes"
"""Where a run folder keeps its episode logs."""
MEMORY_DIR = "memory"
"""Snapshots of agent memories that were not empty when an episode started, by digest."""


def seat_kwargs(seat: SeatSpec, llm: Mapping[str, Any] | None) -> dict[str, Any]:
    """A seat's policy arguments; LLM policies take the run's ``llm`` defaults where the seat is silent."""
    kwargs = dict(seat.kwargs)
    if llm:
        factory = agents.spec(seat.policy).load()
        if getattr(factory, "uses_llm", False):
            for key, value in llm.items():
                kwargs.setdefault(key, value)
    return kwargs


def _memory_rows(folder: Path, digest: str) -> list[list[Any]]:
    """The memory rows a snapshot chain ending at ``digest`` holds (none for an empty memory)."""
    chain: list[list[Any]] = []
    while digest and digest != ev.EMPTY_MEMORY_DIGEST:
        link = msgspec.json.decode((folder / f"{digest}.json").read_bytes())
        chain = link["rows"] + chain
        digest = link["parent"]
    return chain


def snapshot_dir(log_path: str | os.PathLike[str]) -> Path:
    """Where the runner saved the memory snapshots of a log's run: ``<run>/memory/``."""
    folder = Path(log_path).parent
    return (folder.parent if folder.name == EPISODES_DIR else folder) / MEMORY_DIR


def starting_memory(log_path: str | os.PathLike[str], header: ev.Header) -> dict[str | None, list[list[Any]]]:
    """Per seating key, the memory rows its seats held when the logged episode started (key None:
    seats whose key the header does not record).

    Read from the run's snapshots (:func:`snapshot_dir`); raises ``ReplayMismatchError`` naming
    the missing file when a seat started with memories whose snapshot is gone.
    """
    folder = snapshot_dir(log_path)
    rows: dict[str | None, list[list[Any]]] = {}
    for agent, digest in sorted(header.memory.items()):
        try:
            chain = _memory_rows(folder, digest)
        except FileNotFoundError as missing:
            raise ReplayMismatchError(
                f"{agent} started this episode with memories, and their snapshot {missing.filename} is missing"
            ) from None
        seat = header.seating.get(agent)
        if chain:
            rows.setdefault(seat.role if seat is not None else None, []).extend(chain)
    return rows


def logged_seats(
    log_path: str | os.PathLike[str],
    header: ev.Header,
    backend_for: Callable[[str, Mapping[str, Any], str], Any],
    *,
    policy_names: Mapping[str, str] | None = None,
    models: Mapping[str, str] | None = None,
) -> tuple[dict[str, SeatSpec], dict[str, Policy]]:
    """The seats of a logged episode rebuilt as they started, for ``rerun`` and ``fork``.

    Each seating key gets its recorded arguments (``header.seating``) and a new policy object.
    A seat whose policy uses a model (``uses_llm``) is rebuilt with the arguments its policy's
    ``offline_kwargs(kwargs, backend)`` gives: answers from ``backend_for(key, kwargs, model)``
    (``model``: the seat's model, ``models[key]`` where given, else its recorded one, else the
    policy's ``default_model``) and memory kept in process, never in the file the header
    names (rebuilding an episode must not write to a file it did not create), loaded with the
    rows the seats started with (:func:`starting_memory`). ``policy_names`` swaps a key's
    policy (it then gets no recorded arguments); ``models`` swaps an LLM seat's model and is
    written into the returned seating.

    Returns the seating (recorded arguments, for the header) and the policies by key.
    """
    scenario = ScenarioSpec.from_dict(header.config["scenario"])
    memory = starting_memory(log_path, header)
    seating: dict[str, SeatSpec] = {}
    policies: dict[str, Policy] = {}
    for key, seat in scenario.seating.items():
        recorded = next((s for s in header.seating.values() if s.role == key), None)
        kwargs = dict(recorded.kwargs) if recorded is not None else dict(seat.kwargs)
        name = (policy_names or {}).get(key, seat.policy)
        if name != seat.policy:
            kwargs = {}
        try:
            factory = agents.spec(name).load()
        except KeyError as exc:
            raise ConfigError(f"swap_policy.{key}", str(exc)) from None
        policy_kwargs = dict(kwargs)
        swapped = (models or {}).get(key)
        if getattr(factory, "uses_llm", False):
            model = swapped or kwargs.get("model") or factory.default_model  # type: ignore[attr-defined]
            policy_kwargs = factory.offline_kwargs(kwargs, backend_for(key, kwargs, model))  # type: ignore[attr-defined]
            if swapped:
                kwargs["model"] = swapped
        policy = agents.make(name, **policy_kwargs)
        restore = getattr(policy, "restore_memory", None)
        rows = memory.get(key, []) + memory.get(None, [])
        if restore is not None and rows:
            restore(rows)
        policies[key] = policy
        seating[key] = dataclasses.replace(seat, policy=name, kwargs=MappingProxyType(kwargs))
    return seating, policies
