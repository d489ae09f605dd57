"""Invalid-action rates per agent and per model, for every game family.

An agent's *decisions* are the actions the runner applied for it; a decision is *invalid*
when at least one ``invalid_action`` event belongs to it: an output the agent had to re-ask
for, a declared fallback after the re-asks, or an env-level fallback for an illegal action
(see :data:`~.frames.FRAME_COLUMNS` ``agents``). The rate is invalid decisions over
decisions, pooled over the episodes of a group, with the score interval of
:func:`~.stats.proportion_interval`: episodes are the clusters (an agent that fails in runs,
a model that cannot follow one prompt, makes its decisions within an episode alike), so
the interval is the cluster Wilson one, valid at 0 and 1 and as wide as the episodes'
disagreement asks. With no decisions the rate is undefined (NaN, printed as n/a).

The table reads only the ``agents`` frame, which every family's logs fill in the same way,
so Traitors, principal-agent and both self-evolution games share this one definition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from alignsim.analysis.frames import Frames
from alignsim.analysis.stats import proportion_interval

__all__ = ["INVALID_COLUMNS", "format_rate", "invalid_action_rates"]

INVALID_COLUMNS = ["level", "unit", "invalid", "decisions", "rate", "ci_low", "ci_high", "method", "episodes"]
"""After the grouping columns: ``level`` is ``agent`` or ``model``; ``unit`` the agent id or
the model label; ``invalid`` and ``decisions`` the counts; ``rate`` with its 95% CI and the
interval ``method``; ``episodes`` the episodes pooled."""


def invalid_action_rates(frames: Frames, episodes: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """Invalid decisions / decisions per agent and per model, within each group of ``by``.

    Args:
        frames: the frames of the logs (their ``agents`` grain).
        episodes: the episodes to include, with the ``by`` columns (the analysed episode table).
        by: episode columns to group by, e.g. ``["scenario"]``.
    """
    by = list(by)
    columns = [*by, *INVALID_COLUMNS]
    agents = frames.agents
    if agents.empty or episodes.empty:
        return pd.DataFrame(columns=columns)
    keys = episodes[["episode_id", *[c for c in by if c != "episode_id"]]].drop_duplicates("episode_id")
    rows = agents.merge(keys, on="episode_id", how="inner")
    out = []
    for level, unit in (("agent", "agent"), ("model", "label")):
        per_episode = rows.groupby([*by, unit, "episode_id"], sort=True, dropna=False)[
            ["invalid_decisions", "decisions"]
        ].sum()
        for key, part in per_episode.groupby(level=list(range(len(by) + 1)), sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            invalid, decisions = int(part["invalid_decisions"].sum()), int(part["decisions"].sum())
            est = proportion_interval(part["invalid_decisions"].to_numpy(float), part["decisions"].to_numpy(float))
            out.append(
                {
                    **dict(zip(by, key[:-1], strict=True)),
                    "level": level,
                    "unit": key[-1],
                    "invalid": invalid,
                    "decisions": decisions,
                    "rate": invalid / decisions if decisions else np.nan,
                    "ci_low": est.ci_low,
                    "ci_high": est.ci_high,
                    "method": est.method,
                    "episodes": len(part),
                }
            )
    return pd.DataFrame(out, columns=columns)


def format_rate(rate: float, low: float, high: float) -> str:
    """``0.012 [0.004, 0.031]``, or ``n/a`` when there were no decisions."""
    if not np.isfinite(rate):
        return "n/a"
    return f"{rate:.3f} [{low:.3f}, {high:.3f}]"
