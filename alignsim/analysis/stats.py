"""Bootstrap confidence intervals over episodes, and sample-size (power) helpers.

Every aggregate in alignsim is a function of per-episode sums, resampled by episode (the
episode is the independent unit; rounds, votes and claims within an episode are not):

* a **mean** of a per-episode value: sum(value) / sum(1) over episodes where it is defined;
* a **pooled rate** (e.g. lies per claim): sum(numerator) / sum(denominator), so episodes
  weigh by how many claims they hold, and an episode with none adds nothing;
* a **correlation** (the Bullshit Index) from per-episode sufficient statistics.

Intervals come from :func:`scipy.stats.bootstrap` (BCa), with episodes resampled jointly
for all metrics of a group (``paired=True``), for up to :data:`BCA_MAX_EPISODES` episodes.
Above that, BCa's jackknife (O(n^2)) is too slow and BCa and percentile intervals agree
closely, so the percentile method is used, computed by one matrix product per group (see
``_percentile_distribution``). Resampling is seeded, so the
same logs and seed always give the same intervals. Where a bootstrap distribution is
degenerate (all episodes equal, or some resamples undefined), the interval is the
percentile interval of the defined resamples.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

__all__ = [
    "BCA_MAX_EPISODES",
    "Estimate",
    "bootstrap_mean",
    "bootstrap_ratio",
    "bootstrap_sums",
    "detectable_difference",
    "episodes_needed_means",
    "episodes_needed_proportions",
    "power_proportions",
    "wilson_interval",
]

BCA_MAX_EPISODES = 500
"""Above this many episodes, percentile intervals are used instead of BCa."""

DEFAULT_RESAMPLES = 2000
_BATCH_ELEMENTS = 4_000_000
"""Bound on resampled elements held at once (memory = 8 bytes x this x arrays)."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap confidence interval."""

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    """Episodes that contributed (where the statistic is defined)."""
    method: str
    """``BCa``, ``percentile``, ``exact`` (no variation) or ``none`` (too few episodes)."""


def bootstrap_sums(
    arrays: Sequence[np.ndarray],
    statistic: Callable[[list[np.ndarray]], np.ndarray],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
    method: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Bootstrap a statistic of per-episode sums, for several metrics at once.

    Args:
        arrays: per-episode quantities, each of shape ``(k, n)``: k metrics, n episodes.
            Episodes are resampled together across all arrays and metrics.
        statistic: maps the list of summed arrays (each of shape ``(k, ...)``) to the
            statistic, shape ``(k, ...)``. Undefined values (0/0) should be NaN.
        n_resamples: bootstrap resamples.
        confidence: confidence level of the two-sided interval.
        seed: seed of the resampling generator.
        method: ``BCa``, ``percentile`` or ``auto`` (BCa up to :data:`BCA_MAX_EPISODES`).

    Returns:
        ``(estimate, ci_low, ci_high, method_used)``, the first three of shape ``(k,)``.
    """
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    k, n = arrays[0].shape

    def on_sums(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return statistic([s.sum(axis=axis) for s in samples])

    estimate = on_sums(*arrays)
    if n < 2:
        nan = np.full(k, np.nan)
        return estimate, nan, nan, "none"
    if method == "auto":
        method = "BCa" if n <= BCA_MAX_EPISODES else "percentile"
    alpha = (1 - confidence) / 2
    if method == "percentile":
        distribution = _percentile_distribution(arrays, statistic, n_resamples, seed)
        low, high = np.full(k, np.nan), np.full(k, np.nan)
    else:
        batch = max(1, _BATCH_ELEMENTS // max(1, k * n * len(arrays)))
        with warnings.catch_warnings():
            # Degenerate distributions (every episode equal) make BCa warn and return NaN;
            # those metrics fall back to the percentile interval below.
            warnings.simplefilter("ignore", sps.DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            result = sps.bootstrap(
                tuple(arrays),
                on_sums,
                n_resamples=n_resamples,
                batch=batch,
                vectorized=True,
                paired=True,
                axis=-1,
                confidence_level=confidence,
                method=method,
                rng=np.random.default_rng(seed),
            )
        low = np.array(result.confidence_interval.low, dtype=float).reshape(k)
        high = np.array(result.confidence_interval.high, dtype=float).reshape(k)
        distribution = np.asarray(result.bootstrap_distribution, dtype=float).reshape(k, -1)
    for row in np.flatnonzero(~(np.isfinite(low) & np.isfinite(high)) & np.isfinite(estimate)):
        defined = distribution[row][np.isfinite(distribution[row])]
        if defined.size:
            low[row], high[row] = np.quantile(defined, [alpha, 1 - alpha])
    return estimate, low, high, method


def _percentile_distribution(
    arrays: list[np.ndarray], statistic: Callable[[list[np.ndarray]], np.ndarray], n_resamples: int, seed: int
) -> np.ndarray:
    """Bootstrap distribution, shape ``(k, n_resamples)``, by resampling episodes.

    The same scheme as ``scipy.stats.bootstrap(..., paired=True, method="percentile")``
    (each resample draws n episodes with replacement), computed as a matrix product of
    per-resample episode counts with the per-episode values, so all metrics of a group
    share one pass. For thousands of episodes and dozens of metrics this is about 15x
    faster than resampling every array (measured on 10,000 episodes x 60 metrics).
    """
    n = arrays[0].shape[1]
    rng = np.random.default_rng(seed)
    sums: list[list[np.ndarray]] = [[] for _ in arrays]
    per_batch = max(1, _BATCH_ELEMENTS // n)
    for start in range(0, n_resamples, per_batch):
        b = min(per_batch, n_resamples - start)
        draws = rng.integers(0, n, size=(b, n))
        counts = np.bincount((draws + (np.arange(b) * n)[:, None]).ravel(), minlength=b * n).reshape(b, n)
        counts = counts.astype(float)
        for store, array in zip(sums, arrays, strict=True):
            # (b, n) @ (n, k), transposed to (k, b): this operand order is the fast one for BLAS.
            store.append((counts @ array.T).T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(statistic([np.concatenate(store, axis=1) for store in sums]), dtype=float)


def bootstrap_ratio(
    numerator: np.ndarray,
    denominator: np.ndarray,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
    method: str = "auto",
) -> list[Estimate]:
    """Pooled ratios sum(numerator) / sum(denominator) with episode-bootstrap intervals.

    Args:
        numerator, denominator: shape ``(k, n)`` (k metrics, n episodes) or ``(n,)``.
            An episode with denominator 0 does not count towards that metric's ``n``.
    """
    den = np.atleast_2d(np.asarray(denominator, dtype=float))
    # A pooled rate counts nothing from an episode whose denominator is 0.
    num = np.where(den != 0, np.atleast_2d(np.asarray(numerator, dtype=float)), 0.0)
    used = (den != 0).sum(axis=1)
    # Only episodes that count for at least one metric are resampled.
    keep = (den != 0).any(axis=0)
    num, den = num[:, keep], den[:, keep]
    estimate, low, high, method = bootstrap_sums(
        [num, den], lambda s: s[0] / s[1], n_resamples=n_resamples, confidence=confidence, seed=seed, method=method
    )
    out = []
    for i in range(num.shape[0]):
        est = float(estimate[i]) if used[i] else math.nan
        values = num[i][den[i] != 0] / den[i][den[i] != 0]
        if used[i] == 0:
            out.append(Estimate(math.nan, math.nan, math.nan, 0, "none"))
        elif used[i] < 2:
            out.append(Estimate(est, math.nan, math.nan, int(used[i]), "none"))
        elif np.all(values == values[0]):
            # Every episode has the same ratio, so every resample does too.
            out.append(Estimate(est, est, est, int(used[i]), "exact"))
        else:
            out.append(Estimate(est, float(low[i]), float(high[i]), int(used[i]), method))
    return out


def bootstrap_mean(
    values: np.ndarray,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
    method: str = "auto",
) -> Estimate:
    """Mean of per-episode values (NaN = undefined, left out) with its bootstrap interval."""
    values = np.asarray(values, dtype=float)
    defined = np.isfinite(values)
    return bootstrap_ratio(
        np.where(defined, values, 0.0),
        defined.astype(float),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        method=method,
    )[0]


# ---------------------------------------------------------------- power


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    Unlike the Wald interval it is never degenerate at 0 or 1 (0 of 40 gives [0, 0.088],
    not [0, 0]) and stays inside [0, 1]. ``n == 0`` gives ``(nan, nan)``: no data, no interval.
    """
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def _z(p: float) -> float:
    return float(sps.norm.ppf(p))


def episodes_needed_proportions(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Episodes per arm to tell proportions ``p1`` and ``p2`` apart (two-sided z-test).

    Uses the normal approximation with pooled variance under the null:
    n = (z_{1-a/2} sqrt(2 pbar (1-pbar)) + z_{power} sqrt(p1 q1 + p2 q2))^2 / (p1 - p2)^2.

    Example: a faithful win rate of 0.40 against 0.50 needs 388 episodes per arm.
    """
    if not (0 <= p1 <= 1 and 0 <= p2 <= 1):
        raise ValueError(f"proportions must be in [0, 1], got {p1}, {p2}")
    if p1 == p2:
        raise ValueError("p1 and p2 must differ")
    pbar = (p1 + p2) / 2
    za, zb = _z(1 - alpha / 2), _z(power)
    n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p1 - p2) ** 2
    return math.ceil(n)


def power_proportions(n: int, p1: float, p2: float, *, alpha: float = 0.05) -> float:
    """Power of a two-sided z-test with ``n`` episodes per arm to tell ``p1`` from ``p2``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    pbar = (p1 + p2) / 2
    se0 = math.sqrt(2 * pbar * (1 - pbar) / n)
    se1 = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
    if se1 == 0:
        return 1.0 if p1 != p2 else alpha
    za = _z(1 - alpha / 2)
    return float(sps.norm.cdf((abs(p1 - p2) - za * se0) / se1))


def detectable_difference(n: int, p: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest rise above ``p`` that ``n`` episodes per arm detect with the given power.

    Solves :func:`power_proportions` (n, p, p + d) = power for d by bisection; returns NaN
    when even p -> 1 is not detectable.
    """
    if not 0 <= p < 1 or n < 1:
        return math.nan
    if power_proportions(n, p, 1.0, alpha=alpha) < power:
        return math.nan
    low, high = 0.0, 1.0 - p
    for _ in range(60):
        mid = (low + high) / 2
        if power_proportions(n, p, p + mid, alpha=alpha) >= power:
            high = mid
        else:
            low = mid
    return high


def episodes_needed_means(difference: float, sd: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Episodes per arm to detect a difference in means of a per-episode metric.

    n = 2 ((z_{1-a/2} + z_{power}) sd / difference)^2 (two-sided, equal variances).
    """
    if difference == 0:
        raise ValueError("difference must be non-zero")
    if sd < 0:
        raise ValueError(f"sd must be >= 0, got {sd}")
    return max(2, math.ceil(2 * ((_z(1 - alpha / 2) + _z(power)) * sd / difference) ** 2))
