"""Analysis: pure functions of episode logs. Nothing here imports an env or a policy.

So old runs can be re-scored and a third party's logs analysed, this package depends only
on :mod:`alignsim.record` (and :mod:`alignsim.errors`) from alignsim, plus pandas, numpy,
scipy, networkx and matplotlib (a test enforces it).

Main entry points (imported lazily, so ``alignsim view`` does not pay for pandas):

* :func:`analyze`: logs in; tables, plots and an HTML report out (``alignsim analyze``);
* :func:`load_frames` / :class:`Frames`: tidy frames at fixed grains;
* :func:`episode_table`, :func:`round_table`, :func:`summarize`, :func:`round_curve`:
  per-episode and per-round metrics, aggregates with bootstrap CIs;
* :data:`METRICS`: the metric catalogue with formulas (seed-code and corrected variants);
* modules :mod:`~alignsim.analysis.traitors`, :mod:`~alignsim.analysis.deception`,
  :mod:`~alignsim.analysis.trust`, :mod:`~alignsim.analysis.crossplay`,
  :mod:`~alignsim.analysis.stats`, :mod:`~alignsim.analysis.seed_csv`,
  :mod:`~alignsim.analysis.plots` for the parts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alignsim.analysis.transcript import transcript

if TYPE_CHECKING:
    from alignsim.analysis.api import AnalysisResult, analyze, load_inputs
    from alignsim.analysis.frames import FRAME_COLUMNS, Frames, frames_from_logs, load_frames
    from alignsim.analysis.metrics import METRICS, Metric, episode_table, round_curve, round_table, summarize
    from alignsim.analysis.seed_csv import read_seed_votes, write_seed_votes
    from alignsim.analysis.stats import (
        bootstrap_mean,
        bootstrap_ratio,
        detectable_difference,
        episodes_needed_means,
        episodes_needed_proportions,
        power_proportions,
    )
    from alignsim.analysis.trust import trust_graphs, write_graphs

_LAZY = {
    "AnalysisResult": "api",
    "analyze": "api",
    "load_inputs": "api",
    "FRAME_COLUMNS": "frames",
    "Frames": "frames",
    "frames_from_logs": "frames",
    "load_frames": "frames",
    "METRICS": "metrics",
    "Metric": "metrics",
    "episode_table": "metrics",
    "round_curve": "metrics",
    "round_table": "metrics",
    "summarize": "metrics",
    "read_seed_votes": "seed_csv",
    "write_seed_votes": "seed_csv",
    "bootstrap_mean": "stats",
    "bootstrap_ratio": "stats",
    "detectable_difference": "stats",
    "episodes_needed_means": "stats",
    "episodes_needed_proportions": "stats",
    "power_proportions": "stats",
    "trust_graphs": "trust",
    "write_graphs": "trust",
}

__all__ = [
    "FRAME_COLUMNS",
    "METRICS",
    "AnalysisResult",
    "Frames",
    "Metric",
    "analyze",
    "bootstrap_mean",
    "bootstrap_ratio",
    "detectable_difference",
    "episode_table",
    "episodes_needed_means",
    "episodes_needed_proportions",
    "frames_from_logs",
    "load_frames",
    "load_inputs",
    "power_proportions",
    "read_seed_votes",
    "round_curve",
    "round_table",
    "summarize",
    "transcript",
    "trust_graphs",
    "write_graphs",
    "write_seed_votes",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use (PEP 562), so that
    ``import alignsim.analysis`` stays cheap; the value is then cached in the module.
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
