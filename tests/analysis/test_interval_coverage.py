"""Intervals that mean what they say: exact numbers against references, and coverage by simulation.

The coverage test is statistical, not a timing test: for each cell of a grid of true
proportions p and episode counts n it draws ``REPS`` seeded samples, computes alignsim's
95% interval for each, and counts how often the interval holds p. The estimate of a
coverage c from REPS draws has standard error sqrt(c (1 - c) / REPS); the tolerance is that
error times the normal quantile that keeps the chance of a false alarm anywhere on the
grid under 1% (Bonferroni over cells and both sides). Required: coverage within
[0.93, 0.97] at n >= 30 and >= 0.90 at n = 10, widened by the tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from alignsim.analysis.stats import (
    bootstrap_sums,
    difference_interval,
    difference_p_value,
    holm,
    proportion_interval,
    ratio_interval,
    wilson_interval,
)

P_GRID = (0.02, 0.1, 0.5, 0.9, 0.98)
N_GRID = (10, 30, 100)
DESIGNS = ("one outcome per episode", "statements, independent", "statements, clustered (ICC 0.1)")
REPS = 1500
CELLS = len(P_GRID) * len(N_GRID) * len(DESIGNS)
TOLERANCE = float(sps.norm.ppf(1 - 0.01 / (2 * CELLS))) * math.sqrt(0.95 * 0.05 / REPS)


def _sample(design: str, p: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One data set: per-episode numerators and denominators."""
    if design == "one outcome per episode":
        return rng.binomial(1, p, size=n).astype(float), np.ones(n)
    statements = 1 + rng.poisson(5, size=n)  # an episode holds 1 to ~12 claims
    if design == "statements, independent":
        per_episode = np.full(n, p)
    else:
        # Episodes differ in how often their speakers lie: p_i ~ Beta with intra-class correlation 0.1.
        icc = 0.1
        per_episode = rng.beta(p * (1 - icc) / icc, (1 - p) * (1 - icc) / icc, size=n)
    return rng.binomial(statements, per_episode).astype(float), statements.astype(float)


@pytest.mark.parametrize("design", DESIGNS)
def test_coverage_is_nominal_over_the_grid_including_the_edges(design: str) -> None:
    rng = np.random.default_rng(20261207)
    failures = []
    for n in N_GRID:
        for p in P_GRID:
            hits = 0
            for _ in range(REPS):
                numerator, denominator = _sample(design, p, n, rng)
                est = proportion_interval(numerator, denominator)
                assert est.ci_low < est.ci_high, f"zero-width interval at p={p}, n={n}: {est}"
                hits += est.ci_low <= p <= est.ci_high
            coverage = hits / REPS
            low, high = (0.93, 0.97) if n >= 30 else (0.90, 1.0)
            if not low - TOLERANCE <= coverage <= high + TOLERANCE:
                failures.append(f"p={p} n={n}: coverage {coverage:.3f}")
    assert not failures, f"{design}: outside [0.93, 0.97] (n >= 30) / >= 0.90 (n = 10) ± {TOLERANCE:.3f}: {failures}"


def test_a_sample_all_at_one_still_gets_an_interval() -> None:
    """The case that broke the bootstrap: 15 wins in 15 games gave [1, 1]."""
    est = ratio_interval(np.ones(15), np.ones(15), proportion=True)[0]
    assert est.estimate == 1.0 and est.ci_high == 1.0
    assert est.ci_low == pytest.approx(15 / (15 + 1.959964**2))
    assert est.method == "Wilson"


def test_wilson_numbers_match_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    for x, n in ((0, 10), (1, 30), (15, 30), (29, 30), (100, 100), (7, 13)):
        for confidence in (0.9, 0.95, 0.99):
            low, high = wilson_interval(x, n, confidence)
            reference = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
            assert (float(low), float(high)) == pytest.approx(reference, abs=1e-12)


def test_cluster_wilson_uses_the_episode_clustered_effective_size() -> None:
    """Hand computation: 4 episodes with 1/2, 0/3, 3/4 and 2/5 lies per claim."""
    lies, claims = np.array([1.0, 0.0, 3.0, 2.0]), np.array([2.0, 3.0, 4.0, 5.0])
    est = proportion_interval(lies, claims)
    r = 6 / 14
    mean_claims = 14 / 4
    variance = sum((y - r * m) ** 2 for y, m in zip(lies, claims, strict=True)) / (4 * 3) / mean_claims**2
    n_eff = min(r * (1 - r) / variance, 14)
    t = sps.t.ppf(0.975, 3)
    centre = (r + t * t / (2 * n_eff)) / (1 + t * t / n_eff)
    half = t * math.sqrt(r * (1 - r) / n_eff + t * t / (4 * n_eff**2)) / (1 + t * t / n_eff)
    assert est.method == "cluster Wilson" and est.n == 4
    assert (est.ci_low, est.ci_high) == pytest.approx((centre - half, centre + half))


def test_signed_quantities_are_bootstrapped_even_when_the_sample_looks_like_a_proportion() -> None:
    differences = np.array([0.1, 0.3, 0.0, 0.2, 0.5, 0.1])
    est = ratio_interval(differences, np.ones(6), proportion=False, n_resamples=500)[0]
    assert est.method == "BCa" and est.ci_low < 0.2 < est.ci_high


def test_bca_interval_numbers_match_scipy_at_the_stated_level() -> None:
    """The interval is BCa at 95%, not another method or level (a 97.5% interval is ~40% wider)."""
    values = np.random.default_rng(11).exponential(size=40)
    _, low, high, method = bootstrap_sums(
        [values[None, :], np.ones((1, 40))], lambda s: s[0] / s[1], n_resamples=3000, seed=4
    )
    reference = sps.bootstrap(
        (values, np.ones(40)),
        lambda v, w, axis=-1: v.sum(axis=axis) / w.sum(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=3000,
        confidence_level=0.95,
        method="BCa",
        rng=np.random.default_rng(4),
    ).confidence_interval
    assert method == "BCa"
    assert (low[0], high[0]) == pytest.approx((reference.low, reference.high))
    wider = sps.bootstrap(
        (values,), np.mean, n_resamples=3000, confidence_level=0.975, method="BCa", rng=np.random.default_rng(4)
    ).confidence_interval
    assert wider.high - wider.low > 1.1 * (high[0] - low[0])


DIFFERENCE_CELLS = ((0.02, 0.02), (0.1, 0.5), (0.98, 0.02), (0.5, 0.5), (0.9, 0.98))


@pytest.mark.parametrize("design", [DESIGNS[0], DESIGNS[2]])
def test_treatment_differences_cover_including_rates_at_zero_and_one(design: str) -> None:
    """MOVER intervals of a difference of two independent arms' rates. MOVER is conservative
    where both rates sit near an edge (coverage up to 1.0), so only the floor is asserted."""
    reps = 800
    tolerance = float(sps.norm.ppf(1 - 0.01 / (len(DIFFERENCE_CELLS) * 2 * 2))) * math.sqrt(0.95 * 0.05 / reps)
    rng = np.random.default_rng(7)
    failures = []
    for n in (30, 100):
        for pa, pb in DIFFERENCE_CELLS:
            hits = 0
            for _ in range(reps):
                est = difference_interval(
                    *_sample(design, pa, n, rng), *_sample(design, pb, n, rng), proportion=True, paired=False
                )
                assert est.ci_low < est.ci_high
                hits += est.ci_low <= pa - pb <= est.ci_high
            if hits / reps < 0.93 - tolerance:
                failures.append(f"{pa} - {pb}, n={n}: {hits / reps:.3f}")
    assert not failures, failures


def test_p_values_agree_with_the_interval_and_holm_with_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    p_values = []
    for _ in range(40):
        a = _sample(DESIGNS[2], rng.uniform(0.1, 0.6), 12, rng)
        b = _sample(DESIGNS[2], rng.uniform(0.1, 0.6), 12, rng)
        est = difference_interval(*a, *b, proportion=True, paired=False)
        p = difference_p_value(*a, *b, proportion=True, paired=False)
        assert (p < 0.05) == (not est.ci_low <= 0 <= est.ci_high)
        p_values.append(p)
    assert holm(p_values) == pytest.approx(multipletests(p_values, method="holm")[1])
    assert np.isnan(holm([0.01, np.nan])[1]) and holm([0.01, np.nan])[0] == pytest.approx(0.01)
