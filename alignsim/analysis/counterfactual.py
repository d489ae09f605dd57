"""The causal effect of one change (a statement dropped, a vote changed) from paired forks.

:func:`alignsim.fork.repeated_forks` plays, for each seed, two forks of the same parent:
one that replays the parent's prefix and changes nothing, one that makes the change; both
reseed the policies with that seed, so within a pair only the change differs. The effect
of the change on an outcome Y is

    effect = mean over seeds of (Y(with the change) - Y(without)),

with a bootstrap 95% CI over seeds (pairs are the independent unit; :mod:`.stats`).
For the effect *of the statement* (what saying it did), flip the sign: the statement is
present in the unchanged arm.

This module reads logs only; pairs are matched on ``config["fork"]["seed"]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from alignsim.analysis.stats import bootstrap_mean
from alignsim.record import EpisodeLog, read_log
from alignsim.record import schema as ev

__all__ = ["OUTCOMES", "ForkEffect", "fork_effect", "outcome_value"]


def _winner_is(side: str) -> Callable[[EpisodeLog], float]:
    def value(log: EpisodeLog) -> float:
        end = log.end
        return float(end is not None and end.winner == side)

    return value


def _rounds(log: EpisodeLog) -> float:
    return float(max((e.round for e in log.events), default=0))


def _eliminations(log: EpisodeLog) -> float:
    return float(len(log.of_type(ev.Elimination)))


OUTCOMES: dict[str, Callable[[EpisodeLog], float]] = {
    "faithful_win": _winner_is("faithful"),
    "traitors_win": _winner_is("traitors"),
    "rounds": _rounds,
    "eliminations": _eliminations,
}
"""Named outcomes; also ``eliminated:<agent>`` (1 if the agent was eliminated) and
``reward:<agent>`` (the agent's total reward)."""


def outcome_value(log: EpisodeLog, outcome: str | Callable[[EpisodeLog], float]) -> float:
    """The value of ``outcome`` (a name from :data:`OUTCOMES`, ``eliminated:<agent>``,
    ``reward:<agent>``, or a function of the log) in one episode."""
    if callable(outcome):
        return float(outcome(log))
    if outcome in OUTCOMES:
        return OUTCOMES[outcome](log)
    kind, _, agent = outcome.partition(":")
    if kind == "eliminated" and agent:
        return float(any(e.target == agent for e in log.of_type(ev.Elimination)))
    if kind == "reward" and agent:
        return float(sum(e.rewards.get(agent, 0.0) for e in log.of_type(ev.Reward)))
    names = ", ".join([*OUTCOMES, "eliminated:<agent>", "reward:<agent>"])
    raise ValueError(f"unknown outcome {outcome!r}; known: {names}")


@dataclass(frozen=True)
class ForkEffect:
    """Mean paired difference Y(changed) - Y(unchanged), with its bootstrap interval."""

    outcome: str
    effect: float
    ci_low: float
    ci_high: float
    n_pairs: int
    mean_unchanged: float
    mean_changed: float
    method: str

    def text(self) -> str:
        """The effect as one line: both arms' means, the effect with its 95% CI, the pairs and the method."""
        return (
            f"{self.outcome}: unchanged {self.mean_unchanged:.3f}, changed {self.mean_changed:.3f}; "
            f"effect of the change {self.effect:+.3f} [95% CI {self.ci_low:+.3f}, {self.ci_high:+.3f}] "
            f"over {self.n_pairs} paired seeds ({self.method})"
        )


def _load(logs: Iterable[EpisodeLog | str | os.PathLike[str]]) -> list[EpisodeLog]:
    return [log if isinstance(log, EpisodeLog) else read_log(log) for log in logs]


def _by_seed(logs: list[EpisodeLog], arm: str) -> dict[int, EpisodeLog]:
    out = {}
    for log in logs:
        fork = log.header.config.get("fork")
        if not isinstance(fork, dict) or fork.get("seed") is None:
            raise ValueError(f"{log.path}: not a reseeded fork (config.fork.seed missing) in the {arm} arm")
        out[int(fork["seed"])] = log
    return out


def fork_effect(
    unchanged: Iterable[EpisodeLog | str | os.PathLike[str]],
    changed: Iterable[EpisodeLog | str | os.PathLike[str]],
    outcome: str | Callable[[EpisodeLog], float] = "faithful_win",
    *,
    n_resamples: int = 2000,
    seed: int = 0,
) -> ForkEffect:
    """Effect of a fork's change on ``outcome`` from paired arms (matched by fork seed).

    Args:
        unchanged: the unchanged arm's logs (or paths), e.g. from ``repeated_forks``.
        changed: the changed arm's logs (or paths), paired with ``unchanged`` by fork seed.
        outcome: see :func:`outcome_value`.
        n_resamples: bootstrap resamples.
        seed: seed of the resampling.

    Failed or unfinished episodes are left out with their pair.
    """
    a, b = _by_seed(_load(unchanged), "unchanged"), _by_seed(_load(changed), "changed")
    seeds = sorted(s for s in set(a) & set(b) if a[s].status != "failed" and b[s].status != "failed")
    ya = np.array([outcome_value(a[s], outcome) for s in seeds], dtype=float)
    yb = np.array([outcome_value(b[s], outcome) for s in seeds], dtype=float)
    estimate = bootstrap_mean(yb - ya, n_resamples=n_resamples, seed=seed)
    name = outcome if isinstance(outcome, str) else getattr(outcome, "__name__", "outcome")
    return ForkEffect(
        outcome=name,
        effect=estimate.estimate,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        n_pairs=len(seeds),
        mean_unchanged=float(ya.mean()) if len(seeds) else float("nan"),
        mean_changed=float(yb.mean()) if len(seeds) else float("nan"),
        method=estimate.method,
    )
