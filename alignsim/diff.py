"""The diff of two episode logs (typically a parent and its fork).

:func:`diff` finds the first event where they part, the first differing action, and the
outcomes that differ (winner, eliminations, rounds, rewards); timing fields are ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import msgspec

from alignsim.record import EpisodeLog, read_log
from alignsim.record import schema as ev

__all__ = ["LogDiff", "diff"]

_TIMING_FIELDS = ("latency_s",)
"""Event fields that measure wall-clock time; ignored when comparing logs."""


@dataclass
class LogDiff:
    """How two episode logs differ."""

    a: str
    b: str
    first_event: int | None
    """Index of the first event that differs (None: identical event streams)."""
    event_a: Any
    event_b: Any
    first_action_step: int | None
    """Step of the first action that differs (None: same actions)."""
    outcome: dict[str, tuple[Any, Any]]
    """Outcome fields that differ: name -> (a, b)."""
    n_events: tuple[int, int]

    @property
    def identical(self) -> bool:
        """True when the event streams (timing aside) and the outcomes are the same."""
        return self.first_event is None and not self.outcome

    def text(self) -> str:
        """The difference as the lines ``alignsim diff`` prints."""
        lines = [f"A: {self.a}", f"B: {self.b}", f"events: {self.n_events[0]} vs {self.n_events[1]}"]
        if self.first_event is None:
            lines.append("event streams: identical (timing aside)")
        else:
            lines.append(f"first divergence: event {self.first_event}")
            for name, event in (("A", self.event_a), ("B", self.event_b)):
                lines.append(f"  {name}: {_describe(event)}")
        if self.first_action_step is not None:
            lines.append(f"first differing action: step {self.first_action_step}")
        if not self.outcome:
            lines.append("outcomes: the same")
        else:
            lines.append("outcomes that differ:")
            for name, (x, y) in self.outcome.items():
                lines.append(f"  {name}: A {x}  |  B {y}")
        return "\n".join(lines)


def _describe(event: Any) -> str:
    if event is None:
        return "(no event: the log ended)"
    data = msgspec.to_builtins(event)
    kind = data.pop("type", type(event).__name__)
    round_ = data.pop("round", "?")
    where = f"seq {data.pop('seq', '?')}, step {data.pop('step', '?')}" + (
        "" if kind == "action" else f", round {round_}"
    )
    phase = data.pop("phase", "")
    data.pop("visible_to", None)
    body = msgspec.json.encode(data).decode()
    return f"{kind} ({where}{', ' + phase if phase else ''}) {body[:300]}"


def _comparable(event: Any) -> bytes:
    if any(hasattr(event, name) for name in _TIMING_FIELDS):
        event = msgspec.structs.replace(event, **{name: 0.0 for name in _TIMING_FIELDS if hasattr(event, name)})
    return msgspec.json.encode(event)


def _outcome(log: EpisodeLog) -> dict[str, Any]:
    end = log.end
    outcome: dict[str, Any] = {
        "status": log.status,
        "winner": end.winner if end is not None else None,
        "steps": end.steps if end is not None else None,
        "rounds": max((e.round for e in log.events), default=0),
        "eliminations": [
            f"r{e.round} {e.target} {e.cause}" + (f" ({e.revealed_role})" if e.revealed_role else "")
            for e in log.of_type(ev.Elimination)
        ],
    }
    rewards: dict[str, float] = {}
    for event in log.of_type(ev.Reward):
        for agent, value in event.rewards.items():
            rewards[agent] = rewards.get(agent, 0.0) + value
    outcome["rewards"] = rewards
    return outcome


def diff(a: str | os.PathLike[str] | EpisodeLog, b: str | os.PathLike[str] | EpisodeLog) -> LogDiff:
    """Compare two episode logs (typically a parent and its fork); timing fields are ignored."""
    log_a = a if isinstance(a, EpisodeLog) else read_log(a)
    log_b = b if isinstance(b, EpisodeLog) else read_log(b)
    first = None
    for index, (x, y) in enumerate(zip(log_a.events, log_b.events, strict=False)):
        if _comparable(x) != _comparable(y):
            first = index
            break
    if first is None and len(log_a.events) != len(log_b.events):
        first = min(len(log_a.events), len(log_b.events))
    acts_a, acts_b = log_a.of_type(ev.Action), log_b.of_type(ev.Action)
    first_action = None
    for x, y in zip(acts_a, acts_b, strict=False):
        if (x.agent, msgspec.json.encode(x.action)) != (y.agent, msgspec.json.encode(y.action)):
            first_action = x.step
            break
    if first_action is None and len(acts_a) != len(acts_b):
        first_action = min(len(acts_a), len(acts_b)) + 1
    out_a, out_b = _outcome(log_a), _outcome(log_b)
    changed = {k: (out_a[k], out_b[k]) for k in out_a if out_a[k] != out_b[k]}

    def at(log: EpisodeLog, index: int | None) -> Any:
        return log.events[index] if index is not None and index < len(log.events) else None

    return LogDiff(
        a=str(log_a.path),
        b=str(log_b.path),
        first_event=first,
        event_a=at(log_a, first),
        event_b=at(log_b, first),
        first_action_step=first_action,
        outcome=changed,
        n_events=(len(log_a.events), len(log_b.events)),
    )
