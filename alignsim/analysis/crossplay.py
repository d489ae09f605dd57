"""Cross-play: separating deception skill from detection skill over a model matrix.

In self-play a high traitor survival rate could mean strong traitors or weak faithful.
Over a matrix of pairings (traitors played by model A, faithful by model B; labels from
the episode table's ``traitor_label`` and ``faithful_label``), the two separate:

* **deception skill** of A = the mean over faithful models B of cell mean TSR(A, B)
  (how well A's traitors survive, whoever they face);
* **detection skill** of B = the mean over traitor models A of cell mean FCR(A, B)
  (how often B's faithful vote for a traitor, whoever they face).

Averaging cell means (not pooling episodes) weighs every opponent equally, so an
unbalanced matrix does not tilt a skill towards the opponent played most. The CI of a
skill comes from a stratified bootstrap: episodes are resampled within each cell, and the
statistic is the mean of the cell means (``scipy.stats.bootstrap`` with one sample per
cell). Cells with fewer than two episodes are left out of the skills (noted in the output).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from alignsim.analysis.metrics import summarize
from alignsim.analysis.stats import BCA_MAX_EPISODES, DEFAULT_RESAMPLES

__all__ = ["crossplay_matrix", "crossplay_skills"]

SIDES = ("traitor_label", "faithful_label")


def crossplay_matrix(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("tsr", "fcr", "traitors_win", "misbanish", "dpr_traitor"),
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """Each metric per (traitor model, faithful model) cell, with bootstrap CIs."""
    return summarize(table, by=SIDES, metrics=list(metrics), n_resamples=n_resamples, seed=seed)


def crossplay_skills(
    table: pd.DataFrame,
    *,
    deception_metric: str = "tsr",
    detection_metric: str = "fcr",
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Deception skill per traitor model and detection skill per faithful model.

    Returns:
        One row per (skill, model): ``skill`` (``deception`` or ``detection``), ``model``,
        ``metric``, ``estimate``, ``ci_low``, ``ci_high``, ``n_opponents`` (cells used),
        ``n_episodes``, ``left_out`` (opponents whose cell had fewer than two episodes).
    """
    rows = []
    for skill, own, other, column in (
        ("deception", "traitor_label", "faithful_label", deception_metric),
        ("detection", "faithful_label", "traitor_label", detection_metric),
    ):
        for model, part in table.groupby(own, sort=True):
            cells: list[tuple[str, np.ndarray]] = []
            left_out: list[tuple[str, np.ndarray]] = []
            for opponent, cell in part.groupby(other, sort=True):
                values = cell[column].to_numpy(float)
                values = values[np.isfinite(values)]
                (cells if len(values) >= 2 else left_out).append((opponent, values))
            estimate, low, high = _mean_of_means([v for _, v in cells], n_resamples, confidence, seed)
            rows.append(
                {
                    "skill": skill,
                    "model": model,
                    "metric": column,
                    "estimate": estimate,
                    "ci_low": low,
                    "ci_high": high,
                    "n_opponents": len(cells),
                    "n_episodes": sum(len(v) for _, v in cells),
                    "left_out": ", ".join(str(o) for o, _ in left_out),
                }
            )
    return pd.DataFrame(
        rows,
        columns=["skill", "model", "metric", "estimate", "ci_low", "ci_high", "n_opponents", "n_episodes", "left_out"],
    )


def _mean_of_means(
    cells: list[np.ndarray], n_resamples: int, confidence: float, seed: int
) -> tuple[float, float, float]:
    if not cells:
        return np.nan, np.nan, np.nan
    estimate = float(np.mean([c.mean() for c in cells]))
    if all(bool(np.all(c == c[0])) for c in cells):
        return estimate, estimate, estimate

    def statistic(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean([s.mean(axis=axis) for s in samples], axis=0)

    method = "BCa" if sum(len(c) for c in cells) <= BCA_MAX_EPISODES else "percentile"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sps.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sps.bootstrap(
            tuple(cells),
            statistic,
            n_resamples=n_resamples,
            vectorized=True,
            confidence_level=confidence,
            method=method,
            rng=np.random.default_rng(seed),
        )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (np.isfinite(low) and np.isfinite(high)):
        alpha = (1 - confidence) / 2
        distribution = np.asarray(result.bootstrap_distribution, dtype=float)
        low, high = (float(q) for q in np.quantile(distribution[np.isfinite(distribution)], [alpha, 1 - alpha]))
    return estimate, low, high
