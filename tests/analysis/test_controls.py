"""Known-answer controls: each ``controls_<family>`` experiment runs (scripted, small) and every control PASSes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from alignsim.analysis import analyze
from alignsim.analysis.controls import CONTROLS, verdict
from alignsim.analysis.stats import Estimate
from alignsim.cli import main
from alignsim.sweep import preflight

# family -> (overrides that keep the run small, control rows expected)
EXPERIMENTS = {
    "traitors": ([], 6),  # the experiment's own 60 games per arm: detection over chance needs them
    "principal_agent": (["episodes=15"], 2),
    "self_evolution": (["episodes=2"], 12),  # 6 schedules x (opportunist, complier), 16 seats each
    "threshold_game": (["episodes=10"], 6),  # 3 networks x (imitators, independents)
}


def test_verdicts() -> None:
    def est(value: float, low: float, high: float, n: int = 10) -> Estimate:
        return Estimate(value, low, high, n, "test")

    assert verdict("> 0", est(0.5, 0.1, 0.9)) == "PASS"
    assert verdict("> 0", est(0.5, 0.0, 0.9)) == "FAIL"  # touching the null is not excluding it
    assert verdict("< 0", est(-0.5, -0.9, -0.1)) == "PASS"
    assert verdict("< 0", est(0.5, 0.1, 0.9)) == "FAIL"
    assert verdict("= 0", est(0.0, -0.1, 0.1)) == "PASS"
    assert verdict("= 0", est(0.3, 0.1, 0.5)) == "FAIL"
    assert verdict("= 0", est(0.0, math.nan, math.nan)).startswith("FAIL")  # nothing to judge
    assert verdict("= 0", est(0.0, -0.1, 0.1, n=0)).startswith("FAIL")


def test_every_control_has_a_positive_and_a_negative_arm_and_a_runnable_experiment() -> None:
    from alignsim import scenarios

    for family in EXPERIMENTS:
        arms = {(c.check, c.arm) for c in CONTROLS if c.family == family}
        for check in {c for c, _ in arms}:
            assert {(check, "positive"), (check, "negative")} <= arms, (family, check)
        pre = preflight([f"+experiment=controls_{family}"])
        swept = set(pre.sweep["scenario"])
        assert {c.scenario for c in CONTROLS if c.family == family} == swept
    for control in CONTROLS:
        scenarios.get(control.scenario)  # registered


@pytest.mark.parametrize("family", list(EXPERIMENTS))
def test_controls_experiment_passes(family: str, tmp_path: Path) -> None:
    overrides, rows = EXPERIMENTS[family]
    sweep = tmp_path / "sweep"
    code = main(
        [
            "run",
            "-m",
            f"+experiment=controls_{family}",
            *overrides,
            f"hydra.sweep.dir={sweep}",
            "hydra.callbacks.aggregate.report=false",
            "progress=false",
        ]
    )
    assert code == 0
    result = analyze(
        sweep,
        None,
        n_resamples=300,
        chance=family == "traitors",  # only the Traitors controls are stated over chance
        chance_episodes=200,
        chance_cache_dir=tmp_path / "chance",
        make_plots=False,
        make_report=False,
        write_frames=False,
    )
    controls = result.controls
    assert len(controls) == rows, controls
    failed = controls[controls["result"] != "PASS"]
    assert failed.empty, failed.to_string()
    assert set(controls["arm"]) == {"positive", "negative"}
    assert f"Known-answer controls: {rows}/{rows} PASS" in result.text()
