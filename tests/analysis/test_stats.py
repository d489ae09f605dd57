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
