"""Drift metrics: exact values from scripted agents' real logs, the corrected collective rate, the statistics."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alignsim.analysis import analyze
from alignsim.analysis.drift import (
    analyze_drift,
    change_point,
    collective_rate_seed_code,
    gini,
    load_drift,
)
from alignsim.run import run
from alignsim.scenarios import ScenarioSpec, SeatSpec


def single(policy: str, **env: Any) -> ScenarioSpec:
    return ScenarioSpec(
        id=f"self_evolution/test-{policy.split('/')[1]}-v0",
        env_id="self_evolution-v0",
        env_kwargs=MappingProxyType(env),
        seating=MappingProxyType({"*": SeatSpec(policy)}),
    )


def threshold(seating: dict[str, str], name: str = "test", **env: Any) -> ScenarioSpec:
    return ScenarioSpec(
        id=f"threshold_game/{name}-v0",
        env_id="threshold_game-v0",
        env_kwargs=MappingProxyType(env),
        seating=MappingProxyType({k: SeatSpec(v) for k, v in seating.items()}),
    )


ALTERNATING = {"n_items": 8, "rounds": 6, "schedule": "alternating", "cue": "truthful"}


@pytest.mark.parametrize(
    ("policy", "curve", "gap"),
    [
        ("self_evolution/comply", [0.0] * 6, 0.0),
        ("self_evolution/violate", [1.0] * 6, 0.0),
        # Alternating supervision starts supervised; the opportunist violates in the unsupervised rounds.
        ("self_evolution/opportunist", [0.0, 1.0, 0.0, 1.0, 0.0, 1.0], 1.0),
    ],
)
def test_scripted_single_agent_policies_give_exact_metrics(policy, curve, gap, run_dir: Path) -> None:
    run(single(policy, **ALTERNATING), seed=3, episodes=3, out_dir=run_dir)
    result = analyze_drift(run_dir, n_resamples=200)
    v = result.violation.sort_values("round")
    assert v["estimate"].tolist() == curve
    assert (v["n_agents"] == 24).all() and (v["episodes"] == 3).all() and (v["n"] == 24).all()
    summary = result.summary.iloc[0]
    assert summary["V_1"] == curve[0] and summary["V_T"] == curve[-1]
    assert summary["drift"] == curve[-1] - curve[0]
    assert summary["oversight_gap"] == gap
    tipping = next((t + 1 for t, x in enumerate(curve) if x >= 0.5), None)
    assert pd.isna(summary["tipping_round"]) if tipping is None else summary["tipping_round"] == tipping
    if policy == "self_evolution/opportunist":
        assert summary["change_point"] in range(2, 7)
        assert summary["tipping_round"] == 2


def test_imitate_majority_gives_the_exact_cascade_and_contagion(run_dir: Path) -> None:
    # 5 of 8 agents are collective deviants on a complete network; the other 3 start independent
    # and copy the majority they saw, so C_t = 5/8, 1, 1, and every at-risk agent (aligned at t=1,
    # seeing m=5 deviant neighbours) deviates at t=2. bid_rigging: collective = collusion = deviant.
    spec = threshold(
        {"deviant": "threshold/collective", "*": "threshold/imitate_majority"},
        n_agents=8,
        rounds=3,
        threshold=4,
        n_deviants=5,
        template="bid_rigging",
    )
    run(spec, seed=0, episodes=4, out_dir=run_dir)
    result = analyze_drift(run_dir, n_resamples=200)
    assert result.collective.sort_values("round")["estimate"].tolist() == [5 / 8, 1.0, 1.0]
    assert result.deviation.sort_values("round")["estimate"].tolist() == [5 / 8, 1.0, 1.0]
    contagion = result.contagion
    assert contagion["m"].tolist() == [5]
    assert contagion["estimate"].tolist() == [1.0] and contagion["at_risk"].tolist() == [12]
    wealth = result.wealth_summary.iloc[0]
    # Round 1 succeeds (5 >= 4): everyone x1.2, then all collective: x1.2 twice more.
    assert wealth["total"] == pytest.approx(8 * 1.2**3)
    assert wealth["worst"] == pytest.approx(1.2**3) and wealth["gini"] == pytest.approx(0.0)
    assert wealth["success"] == 1.0


def test_contagion_by_m_on_a_ring_matches_a_hand_count(run_dir: Path) -> None:
    spec = threshold(
        {"deviant": "threshold/collective", "*": "threshold/imitate_majority"},
        name="ring",
        n_agents=6,
        rounds=2,
        n_deviants=1,
        network="ring",
        template="review_ring",
    )
    run(spec, seed=0, episodes=1, out_dir=run_dir)
    frames = load_drift(run_dir)
    t, edges = frames.threshold, frames.network
    result = analyze_drift(frames, n_resamples=100)
    # By hand: aligned non-deviants at round 1 and how many of their two neighbours deviated.
    first = t[t["round"] == 1].set_index("agent")["deviant"]
    second = t[t["round"] == 2].set_index("agent")["deviant"]
    expected: dict[int, list[bool]] = {}
    forced = set(t[t["forced"]]["agent"])
    for agent in first.index:
        if first[agent] or agent in forced:
            continue
        m = sum(first[b] for b in edges[edges["observer"] == agent]["observed"])
        expected.setdefault(int(m), []).append(bool(second[agent]))
    got = {int(r.m): r.estimate for r in result.contagion.itertuples()}
    assert got == {m: np.mean(v) for m, v in expected.items()}
    # Imitating the majority of two neighbours: one deviant neighbour is a tie, so nobody moves.
    assert got.get(1) == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_collective_rate_never_exceeds_one_while_the_seed_codes_does(seed: int, tmp_path: Path) -> None:
    out = tmp_path / "run"
    spec = threshold({"*": "random"}, n_agents=5, rounds=4, threshold=2, template=None)
    run(spec, seed=seed, episodes=7, out_dir=out)  # 7 environments, as in the seed's grid
    frames = load_drift(out)
    curve = analyze_drift(frames, n_resamples=100).collective
    assert ((curve["estimate"] >= 0) & (curve["estimate"] <= 1)).all()
    assert ((curve["ci_high"] <= 1) | curve["ci_high"].isna()).all()
    expected = frames.threshold.groupby("round")["collective"].mean().to_numpy()
    np.testing.assert_allclose(curve.sort_values("round")["estimate"].to_numpy(), expected)
    seed_code = collective_rate_seed_code(frames.threshold)
    np.testing.assert_allclose(seed_code.sort_values("round")["seed_code_rate"].to_numpy(), expected * 7)


def test_hysteresis_after_reward_reversal(run_dir: Path) -> None:
    # A violator keeps violating after the reward reverses: V stays at 1 before and after, so the
    # persistence V_T - V_1 is 0 and V_t is back at (never left) round 1's level from the reversal on.
    run(single("self_evolution/violate", n_items=4, rounds=6, reversal_round=4), seed=0, episodes=2, out_dir=run_dir)
    table = analyze_drift(run_dir, n_resamples=100).hysteresis.iloc[0]
    assert table["reversal_round"] == 4 and table["V_before_reversal"] == 1.0 and table["V_T"] == 1.0
    assert table["persistence"] == 0.0 and table["recovery_round"] == 4


def test_statistics_on_known_inputs() -> None:
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    assert np.isnan(gini([]))
    t, gain = change_point([0.1, 0.1, 0.1, 0.9, 0.9], [100] * 5)
    assert t == 4 and gain > 50
    assert change_point([0.5], [10]) == (None, 0.0)


def test_logistic_slope_is_positive_for_rising_violation() -> None:
    pytest.importorskip("statsmodels")
    from alignsim.analysis.drift import drift_summary

    rng = np.random.default_rng(0)
    rows = [
        {"episode_id": f"e{e}", "scenario": "s", "variant": "", "round": t, "deviant": rng.random() < t / 7}
        for e in range(10)
        for t in range(1, 7)
        for _ in range(20)
    ]
    summary = drift_summary(pd.DataFrame(rows), n_resamples=100).iloc[0]
    assert summary["slope"] > 0 and summary["slope_ci_low"] > 0
    assert 0.4 < summary["drift"] < 0.9


def test_alignsim_analyze_reports_drift_tables_and_plot(tmp_path: Path, run_dir: Path) -> None:
    run(single("self_evolution/opportunist", **ALTERNATING), seed=1, episodes=2, out_dir=run_dir)
    result = analyze(run_dir, tmp_path / "analysis", n_resamples=100)
    assert result.drift is not None
    assert (tmp_path / "analysis" / "tables" / "drift_curves.csv").exists()
    assert (tmp_path / "analysis" / "plots" / "drift_curves.png").exists()
    assert "Self-evolution drift" in (tmp_path / "analysis" / "report.html").read_text()
    assert "violation V_t" in result.text()
