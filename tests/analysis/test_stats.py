"""Bootstrap intervals, aggregation and power helpers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from alignsim.analysis.metrics import round_curve, summarize
from alignsim.analysis.stats import (
    bootstrap_mean,
    bootstrap_ratio,
    bootstrap_sums,
    detectable_difference,
    episodes_needed_means,
    episodes_needed_proportions,
    power_proportions,
)


def test_mean_interval_is_seeded_and_brackets_the_mean() -> None:
    values = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    first = bootstrap_mean(values, seed=1)
    assert first == bootstrap_mean(values, seed=1)
    assert first.estimate == pytest.approx(0.7)
    assert first.ci_low < 0.7 < first.ci_high and first.n == 10 and first.method == "BCa"


def test_degenerate_and_tiny_samples() -> None:
    # Every episode equal: a bootstrap has nothing to resample, so it gives no interval
    # rather than a zero-width one.
    flat = bootstrap_mean(np.ones(5) * 3.0)
    assert flat.method == "no variation" and math.isnan(flat.ci_low) and math.isnan(flat.ci_high)
    single = bootstrap_mean(np.array([0.4, np.nan]))
    assert single.n == 1 and single.method == "none" and math.isnan(single.ci_low)
    assert math.isnan(bootstrap_mean(np.array([np.nan])).estimate)


def test_pooled_ratio_weighs_episodes_by_denominator() -> None:
    # 1/1 and 0/3 pool to 1/4, not to the mean of ratios 1/2; an empty episode adds nothing.
    est = bootstrap_ratio(np.array([1.0, 0.0, 5.0]), np.array([1.0, 3.0, 0.0]))[0]
    assert est.estimate == pytest.approx(0.25) and est.n == 2


def test_percentile_path_matches_scipy_on_large_samples() -> None:
    values = np.random.default_rng(7).exponential(size=800)
    ours = bootstrap_mean(values, n_resamples=1000, seed=3)
    assert ours.method == "percentile"
    theirs = sps.bootstrap(
        (values,), np.mean, method="percentile", n_resamples=1000, rng=np.random.default_rng(3)
    ).confidence_interval
    assert (ours.ci_low, ours.ci_high) == pytest.approx((theirs.low, theirs.high))


def test_power_helpers() -> None:
    # (1.96 sqrt(2 * 0.45 * 0.55) + 0.8416 sqrt(0.24 + 0.25))^2 / 0.1^2 = 387.3 -> 388.
    assert episodes_needed_proportions(0.4, 0.5) == 388
    assert power_proportions(388, 0.4, 0.5) == pytest.approx(0.80, abs=0.005)
    # 2 * ((1.96 + 0.8416) * 0.3 / 0.1)^2 = 141.3 -> 142.
    assert episodes_needed_means(0.1, 0.3) == 142
    assert detectable_difference(388, 0.4) == pytest.approx(0.1, abs=0.002)
    with pytest.raises(ValueError):
        episodes_needed_proportions(0.5, 0.5)


def test_summarize_reports_groups_counts_and_settings() -> None:
    table = pd.DataFrame(
        {
            "scenario": ["a", "a", "a", "b", "b"],
            "faithful_win": [1.0, 0.0, 1.0, 0.0, 0.0],
            "n_lies_traitor": [2.0, 1.0, 0.0, 3.0, 3.0],
            "n_claims_traitor": [4.0, 1.0, 0.0, 3.0, 6.0],
        }
    )
    out = summarize(table, by=["scenario"], metrics=["faithful_win", "dpr_traitor"], n_resamples=300, seed=5)
    rows = out.set_index(["scenario", "metric"])
    assert rows.loc[("a", "faithful_win"), "estimate"] == pytest.approx(2 / 3)
    assert rows.loc[("a", "dpr_traitor"), "estimate"] == pytest.approx(3 / 5)  # pooled: (2 + 1) / (4 + 1)
    assert rows.loc[("a", "dpr_traitor"), "n"] == 2  # the episode with no claims does not count
    # No faithful win in 2 games: a proportion at 0 gets Wilson's [0, z^2 / (n + z^2)], never [0, 0].
    zero = rows.loc[("b", "faithful_win")]
    assert zero["method"] == "Wilson" and zero["ci_low"] == 0
    assert zero["ci_high"] == pytest.approx(1.959964**2 / (2 + 1.959964**2))
    assert set(out["n_resamples"]) == {300} and set(out["seed"]) == {5} and set(out["n_episodes"]) == {3, 2}


def test_round_curve_works_for_any_per_round_rate() -> None:
    # A self-evolution style violation rate V_t: 3 episodes, rounds 1..3 (one stops early).
    rounds = pd.DataFrame(
        {
            "episode_id": ["e1", "e1", "e1", "e2", "e2", "e2", "e3", "e3"],
            "round": [1, 2, 3, 1, 2, 3, 1, 2],
            "violation": [0.0, 0.5, 1.0, 0.0, 0.0, 1.0, 0.5, 1.0],
        }
    )
    both = round_curve(rounds, "violation", n_resamples=200)
    curve = both[both["form"] == "conditional"].set_index("round")
    assert curve["estimate"].tolist() == pytest.approx([0.5 / 3, 1.5 / 3, 1.0])
    assert curve["n"].tolist() == [3, 3, 2] and curve["at_risk"].tolist() == [3, 3, 2]
    # Over all episodes, each episode's mean over rounds 1..r; e3 (ended, no status: not
    # censored) carries its mean 0.75 into round 3.
    cumulative = both[both["form"] == "cumulative"].set_index("round")
    assert cumulative["estimate"].tolist() == pytest.approx([0.5 / 3, (0.25 + 0 + 0.75) / 3, (0.5 + 1 / 3 + 0.75) / 3])
    assert cumulative["n"].tolist() == [3, 3, 3]
    # Round 3: both episodes at 1.0 (two 0/1 outcomes): Wilson's interval, not [1, 1].
    assert curve.loc[3, "method"] == "Wilson"
    assert curve.loc[3, "ci_high"] == 1 and curve.loc[3, "ci_low"] == pytest.approx(2 / (2 + 1.959964**2))


# ------------------------------------------------- exactness of the intervals (mutation testing)


def _ratio_statistic(numerator, denominator, axis=-1):
    return numerator.sum(axis=axis) / denominator.sum(axis=axis)


def test_bca_path_is_scipy_bca_over_episodes() -> None:
    # Our interval must be exactly scipy's paired BCa of sum(num)/sum(den): same resamples,
    # confidence level and seed (a looser check lets a changed level, pairing or method pass).
    values = np.random.default_rng(2).exponential(size=40)
    ours = bootstrap_mean(values, n_resamples=999, seed=4, confidence=0.9)
    theirs = sps.bootstrap(
        (values, np.ones_like(values)),
        _ratio_statistic,
        paired=True,
        vectorized=True,
        method="BCa",
        n_resamples=999,
        confidence_level=0.9,
        rng=np.random.default_rng(4),
    ).confidence_interval
    assert ours.method == "BCa" and (ours.ci_low, ours.ci_high) == pytest.approx((theirs.low, theirs.high))
    # bootstrap_sums itself, at its defaults: 95%, 2000 resamples, seed 0, BCa up to 500 episodes.
    den = np.random.default_rng(3).integers(1, 5, size=40).astype(float)
    estimate, low, high, method = bootstrap_sums([values[None, :] * den, den[None, :]], lambda s: s[0] / s[1])
    theirs = sps.bootstrap(
        (values * den, den),
        _ratio_statistic,
        paired=True,
        vectorized=True,
        n_resamples=2000,
        rng=np.random.default_rng(0),
    ).confidence_interval
    assert method == "BCa" and (low[0], high[0]) == pytest.approx((theirs.low, theirs.high))
    assert estimate[0] == pytest.approx((values * den).sum() / den.sum())
    assert bootstrap_mean(values) == bootstrap_mean(values, seed=0), "the default seed is 0"
    assert bootstrap_ratio(values * den, den) == bootstrap_ratio(values * den, den, seed=0)
    # An explicit method is honoured below 500 episodes too.
    percentile = bootstrap_mean(values, n_resamples=999, seed=4, method="percentile")
    theirs = sps.bootstrap(
        (values,), np.mean, method="percentile", n_resamples=999, rng=np.random.default_rng(4)
    ).confidence_interval
    assert percentile.method == "percentile"
    assert (percentile.ci_low, percentile.ci_high) == pytest.approx((theirs.low, theirs.high))


def test_fewer_than_two_episodes_give_no_interval_and_two_do() -> None:
    estimate, low, high, method = bootstrap_sums([np.array([[3.0]]), np.array([[4.0]])], lambda s: s[0] / s[1])
    assert method == "none" and estimate.tolist() == [0.75] and np.isnan(low).all() and np.isnan(high).all()
    two = bootstrap_mean(np.array([0.2, 0.8]), n_resamples=200)
    assert two.n == 2 and two.method != "none" and 0.2 <= two.ci_low <= 0.5 <= two.ci_high <= 0.8


def test_bca_up_to_500_episodes_and_percentile_above() -> None:
    values = np.random.default_rng(5).random(501)
    assert bootstrap_mean(values[:500], n_resamples=100).method == "BCa"
    assert bootstrap_mean(values, n_resamples=100).method == "percentile"


def test_percentile_resamples_in_batches_like_one_scipy_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    import alignsim.analysis.stats as stats

    # Room for 300 resamples of 600 episodes at a time: 1000 resamples take four batches.
    monkeypatch.setattr(stats, "_BATCH_ELEMENTS", 600 * 300)
    values = np.random.default_rng(8).exponential(size=600)
    ours = bootstrap_mean(values, n_resamples=1000, seed=6)
    theirs = sps.bootstrap(
        (values,), np.mean, method="percentile", n_resamples=1000, rng=np.random.default_rng(6)
    ).confidence_interval
    assert ours.method == "percentile" and (ours.ci_low, ours.ci_high) == pytest.approx((theirs.low, theirs.high))


@pytest.mark.parametrize("n", [40, 600], ids=["BCa", "percentile"])
def test_several_metrics_at_once_equal_each_alone(n: int) -> None:
    rng = np.random.default_rng(9)
    num = rng.integers(0, 4, size=(2, n)).astype(float)
    den = num + rng.integers(1, 3, size=(2, n))
    together = bootstrap_ratio(num, den, n_resamples=500, seed=2)
    alone = [bootstrap_ratio(num[i], den[i], n_resamples=500, seed=2)[0] for i in range(2)]
    for joint, single in zip(together, alone, strict=True):
        assert (joint.n, joint.method) == (single.n, single.method)
        assert (joint.estimate, joint.ci_low, joint.ci_high) == pytest.approx(
            (single.estimate, single.ci_low, single.ci_high), rel=1e-12
        )
    assert together[0] != together[1] and all(e.ci_low < e.estimate < e.ci_high for e in together)


@pytest.mark.parametrize("n", [40, 600], ids=["BCa", "percentile"])
def test_a_metric_undefined_in_most_resamples_falls_back_to_defined_ones(n: int) -> None:
    # Metric 1 has a denominator in 3 of n episodes: most resamples leave it 0/0 (NaN), so
    # BCa gives no interval; the percentile interval of the defined resamples is used.
    num = np.zeros((2, n))
    den = np.ones((2, n))
    num[0, : n // 2] = 1.0
    den[1, 3:] = 0.0
    num[1, :3] = [0.0, 1.0, 2.0]
    steady, sparse = bootstrap_ratio(num, den, n_resamples=400, seed=1)
    assert steady.estimate == pytest.approx(0.5) and steady.ci_low < 0.5 < steady.ci_high
    assert sparse.n == 3 and sparse.estimate == pytest.approx(1.0)
    assert 0.0 <= sparse.ci_low < 1.0 < sparse.ci_high <= 2.0


def test_ratio_edge_cases_carry_the_right_fields() -> None:
    empty = bootstrap_mean(np.array([np.nan, np.nan]))
    assert (empty.n, empty.method) == (0, "none")
    assert all(math.isnan(x) for x in (empty.estimate, empty.ci_low, empty.ci_high))
    single = bootstrap_ratio(np.array([1.0, 7.0]), np.array([4.0, 0.0]))[0]
    assert (single.estimate, single.n, single.method) == (0.25, 1, "none")
    assert math.isnan(single.ci_low) and math.isnan(single.ci_high)
    same = bootstrap_ratio(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]))[0]
    # Every episode alike: no bootstrap interval, never a zero-width one.
    assert (same.estimate, same.method) == (0.5, "no variation")
    assert math.isnan(same.ci_low) and math.isnan(same.ci_high)
    # Equal products, different ratios (1/2 and 2/1): not "exact".
    assert bootstrap_ratio(np.array([1.0, 2.0]), np.array([2.0, 1.0]))[0].method != "exact"


def test_power_helpers_validate_and_handle_the_edges() -> None:
    # Both ends of [0, 1] are proportions, for either arm.
    assert episodes_needed_proportions(0.0, 1.0) == episodes_needed_proportions(1.0, 0.0) >= 1
    for p1, p2 in ((-0.1, 0.5), (0.5, -0.1), (1.1, 0.5), (0.5, 1.1)):
        with pytest.raises(ValueError, match=r"^proportions must be in \[0, 1\], got "):
            episodes_needed_proportions(p1, p2)
    with pytest.raises(ValueError, match=r"^p1 and p2 must differ$"):
        episodes_needed_proportions(0.3, 0.3)
    assert 0 < power_proportions(1, 0.2, 0.9) < 1
    with pytest.raises(ValueError, match=r"^n must be at least 1, got 0$"):
        power_proportions(0, 0.2, 0.9)
    # No variance at all: certain detection when the proportions differ, alpha when they do not.
    assert power_proportions(10, 0.0, 1.0) == 1.0 and power_proportions(10, 1.0, 1.0, alpha=0.1) == 0.1
    with pytest.raises(ValueError, match=r"^difference must be non-zero$"):
        episodes_needed_means(0.0, 1.0)
    with pytest.raises(ValueError, match=r"^sd must be >= 0, got -1\.0$"):
        episodes_needed_means(0.1, -1.0)
    assert episodes_needed_means(0.1, 0.0) == 2  # no spread: the two-episode minimum


def test_detectable_difference_solves_the_power_equation() -> None:
    for n, p, alpha in ((388, 0.4, 0.05), (388, 0.4, 0.01), (200, 0.9, 0.05), (50, 0.0, 0.05)):
        d = detectable_difference(n, p, alpha=alpha)
        assert 0 < d <= 1 - p
        assert power_proportions(n, p, p + d, alpha=alpha) == pytest.approx(0.8, abs=1e-6)
    assert detectable_difference(388, 0.4, alpha=0.01) > detectable_difference(388, 0.4)
    assert 0 < detectable_difference(1, 0.0) <= 1  # one episode per arm detects 0 -> 1
    for n, p in ((0, 0.4), (388, 1.0), (388, 1.5), (388, -0.1)):
        assert math.isnan(detectable_difference(n, p))
    assert math.isnan(detectable_difference(2, 0.5))  # not even p -> 1 is detectable
    # 6 episodes per arm detect 0.3 -> 1 with 80% power at alpha 0.05 (80.4%), not at 0.01 (48%).
    assert detectable_difference(6, 0.3) > 0 and math.isnan(detectable_difference(6, 0.3, alpha=0.01))
