"""The invalid-action rate per agent and per model, in every family, with a Wilson interval."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from alignsim.analysis import analyze
from alignsim.analysis.api import _invalid_digest
from alignsim.analysis.frames import load_frames
from alignsim.analysis.invalid import format_rate, invalid_action_rates
from alignsim.analysis.stats import wilson_interval
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import run

FAULTY_MOCK = {"model": "mock/scripted", "backend_options": {"faults": 0.3}}
LLM_SCENARIOS = ("traitors/llm-v0", "principal_agent/car-v0", "self_evolution/atp-v0", "threshold_game/atp-v0")


def test_wilson_interval_values_and_edges() -> None:
    low, high = wilson_interval(0, 40)
    assert low == 0.0 and high == pytest.approx(0.0876, abs=1e-4)
    low, high = wilson_interval(40, 40)
    assert high == 1.0 and low == pytest.approx(1 - 0.0876, abs=1e-4)
    low, high = wilson_interval(5, 20)
    assert low == pytest.approx(0.1119, abs=1e-4) and high == pytest.approx(0.4687, abs=1e-4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@pytest.mark.parametrize("n", [10, 50, 200])
def test_wilson_interval_coverage_is_nominal_including_at_0_and_1(n: int) -> None:
    """Exact coverage (summed over the binomial distribution, no simulation)."""
    bounds = np.array([wilson_interval(x, n) for x in range(n + 1)])

    def coverage(p: float) -> float:
        inside = (bounds[:, 0] <= p) & (p <= bounds[:, 1])
        return float(sps.binom.pmf(np.arange(n + 1), n, p)[inside].sum())

    assert coverage(0.0) == pytest.approx(1.0) and coverage(1.0) == pytest.approx(1.0)
    grid = np.linspace(0.001, 0.999, 999)
    mean = np.mean([coverage(p) for p in grid])
    assert mean >= 0.945, mean  # nominal on average over p ...
    assert min(coverage(p) for p in grid) >= 0.80  # ... and never far below it


@pytest.fixture(scope="module")
def faulty_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two episodes of each family with LLM seats on a mock model that answers badly 30% of the time."""
    root = tmp_path_factory.mktemp("faulty")
    for scenario in LLM_SCENARIOS:
        run(scenario, seed=3, episodes=2, out_dir=root / scenario.replace("/", "-"), llm=FAULTY_MOCK)
    return root


def _decisions_by_order(log_path: Path) -> dict[str, tuple[int, int]]:
    """Per agent (invalid decisions, decisions), counted another way than the frames do: walking
    the log in order, an invalid_action marks the agent's next action as an invalid decision."""
    pending: dict[str, bool] = {}
    counts: dict[str, list[int]] = {}
    for event in read_log(log_path).events:
        if isinstance(event, ev.InvalidAction):
            pending[event.agent] = True
        elif isinstance(event, ev.Action):
            own = counts.setdefault(event.agent, [0, 0])
            own[1] += 1
            if pending.pop(event.agent, False):
                own[0] += 1
    return {agent: (c[0], c[1]) for agent, c in counts.items()}


def test_every_family_gets_the_rate_per_agent_and_per_model(faulty_runs: Path) -> None:
    result = analyze(faulty_runs, None, make_plots=False, make_report=False, n_resamples=50)
    table = result.invalid_actions
    assert set(table["scenario"]) == set(LLM_SCENARIOS)
    for scenario in LLM_SCENARIOS:
        part = table[table["scenario"] == scenario]
        models = part[part["level"] == "model"]
        assert list(models["unit"]) == ["mock/scripted"]
        assert int(models["decisions"].iloc[0]) > 0 and int(models["invalid"].iloc[0]) > 0, scenario
        agents = part[part["level"] == "agent"]
        assert agents["decisions"].sum() == models["decisions"].sum()
        assert agents["invalid"].sum() == models["invalid"].sum()
    defined = table[table["decisions"] > 0]
    assert np.allclose(defined["rate"], defined["invalid"] / defined["decisions"])
    # Rates pooled over two or more episodes have an interval holding the rate; one episode's
    # decisions are not independent trials, so it gets none (method "none").
    pooled = defined[defined["episodes"] > 1]
    assert len(pooled) and (pooled["method"] != "none").all()
    assert ((pooled["ci_low"] <= pooled["rate"]) & (pooled["rate"] <= pooled["ci_high"])).all()
    single = defined[defined["episodes"] == 1]
    assert (single["method"] == "none").all() and single["ci_low"].isna().all()
    assert "Invalid actions per model" in result.text()


def test_counts_match_an_independent_count_of_the_logs(faulty_runs: Path) -> None:
    frames = load_frames(faulty_runs)
    for log_path in sorted(faulty_runs.rglob("*.jsonl")):
        header = read_log(log_path).header
        mine = frames.agents[frames.agents["episode_id"] == header.episode_id].set_index("agent")
        for agent, (invalid, decisions) in _decisions_by_order(log_path).items():
            assert (int(mine.loc[agent, "invalid_decisions"]), int(mine.loc[agent, "decisions"])) == (
                invalid,
                decisions,
            ), (log_path.name, agent)
        summary = read_log(log_path).summary
        assert summary is not None
        assert mine["invalid_events"].sum() == sum(summary.invalid_actions.values())


def test_scripted_play_has_rate_zero_with_an_interval_and_no_decisions_is_na(tmp_path: Path) -> None:
    run("traitors/mini-v0", seed=1, episodes=2, out_dir=tmp_path)
    frames = load_frames(tmp_path)
    result = analyze(tmp_path, None, make_plots=False, make_report=False, n_resamples=50)
    model = result.invalid_actions[result.invalid_actions["level"] == "model"].iloc[0]
    assert model["invalid"] == 0 and model["rate"] == 0.0 and model["ci_low"] == 0.0 and 0 < model["ci_high"] < 1
    # A seat that never acted: no decisions, so no rate.
    frames.agents.loc[frames.agents["agent"] == "player_0", "decisions"] = 0
    frames.agents.loc[frames.agents["agent"] == "player_0", "invalid_decisions"] = 0
    table = invalid_action_rates(frames, result.episodes, by=["scenario"])
    row = table[(table["level"] == "agent") & (table["unit"] == "player_0")].iloc[0]
    assert row["decisions"] == 0 and math.isnan(row["rate"]) and math.isnan(row["ci_low"])
    assert format_rate(row["rate"], row["ci_low"], row["ci_high"]) == "n/a"
    only_player_0 = table[table["unit"] == "player_0"].assign(level="model")
    assert "n/a" in _invalid_digest(only_player_0, ["scenario"])
