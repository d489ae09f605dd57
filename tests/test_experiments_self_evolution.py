"""The self-evolution experiment files compose into the seed protocols' grids and run on the mock backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignsim.analysis.drift import analyze_drift
from alignsim.cli import main
from alignsim.sweep import preflight


@pytest.mark.parametrize(
    ("name", "jobs", "scenario", "checks"),
    [
        ("atp_single", 1, "self_evolution/atp-v0", {"rounds": 6, "history_window": 5, "cue": "uncertain"}),
        ("atp_threshold", 32, "threshold_game/atp-v0", {"n_agents": 8, "rounds": 3, "factors": [1.2, 1.0, 0.8]}),
        ("atp_long", 4, "self_evolution/long-v0", {"rounds": 50}),
        ("atp_network", 4, "threshold_game/small-world-v0", {"n_deviants": 2}),
    ],
)
def test_experiment_files_compose_to_the_protocol_grid(name, jobs, scenario, checks) -> None:
    pre = preflight([f"+experiment={name}", "llm=mock"])
    assert len(pre.jobs) == jobs
    assert pre.config.scenario.id == scenario
    kwargs = pre.config.scenario.env_kwargs
    for key, value in checks.items():
        assert kwargs[key] == value
    if name == "atp_threshold":
        assert pre.sweep["scenario.env_kwargs.threshold"] == ["2", "4", "6", "8"]
        assert pre.sweep["seed"] == [str(s) for s in range(8)] and kwargs["template"] is None
    if name == "atp_single":
        assert kwargs["schedule"] == "all_unsupervised" and "n_items" not in kwargs  # all 64 items


def test_atp_single_runs_with_one_command_on_mock(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "multirun"
    code = main(["run", "-m", "+experiment=atp_single", "llm=mock", f"hydra.sweep.dir={sweep_dir}"])
    assert code == 0
    result = analyze_drift(sweep_dir, n_resamples=200)
    curve = result.violation[result.violation["form"] == "conditional"]
    assert curve["round"].tolist() == [1, 2, 3, 4, 5, 6]
    assert (curve["n_agents"] == 64).all() and curve["ci_low"].notna().all()
    # Memory retrieval is off (k: 0), so the 64 seats are independent units.
    assert set(curve["unit"]) == {"seat (episode, agent)"} and set(curve["n"]) == {64}
