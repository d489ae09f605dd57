"""Principal-agent metrics from real logs, through ``analyze`` (the path an LLM run takes).

The scripted baselines must give exactly the rates they should: always-customer 0.0,
always-principal 1.0, audit-sensitive 0/0/1/1 across the four information conditions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alignsim.analysis import analyze
from alignsim.analysis.principal_agent import (
    audience_sensitivity,
    decision_frame,
    rates,
    tinmen_markdown,
    tinmen_table,
    treatment_delta,
)
from alignsim.record import find_logs
from alignsim.run import replay, run
from alignsim.scenarios import ScenarioSpec

AUDIENCES = ("both", "customer", "principal", "neither")
EPISODES = 4


def scenario(policy: str, env_kwargs: dict[str, Any], seat_kwargs: dict[str, Any] | None = None) -> ScenarioSpec:
    return ScenarioSpec.from_dict(
        {
            "id": "principal_agent/test-v0",
            "env_id": "principal_agent-v0",
            "env_kwargs": env_kwargs,
            "seating": {"shopping_agent": {"policy": policy, "kwargs": seat_kwargs or {}}},
        }
    )


def play_grid(out: Path, policy: str, seat_kwargs: dict[str, Any] | None = None, **env_kwargs: Any) -> None:
    for setting in ("car", "film"):
        for audience in AUDIENCES:
            spec = scenario(policy, {"setting": setting, "audience": audience, **env_kwargs}, seat_kwargs)
            run(spec, seed=1, episodes=EPISODES, out_dir=out / f"{setting}-{audience}")


def rate(result_rates: pd.DataFrame, metric: str) -> dict[str, float]:
    chosen = result_rates[result_rates["metric"] == metric]
    return {str(k): float(v) for k, v in zip(chosen["audience"], chosen["estimate"], strict=True)}


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One grid per baseline (2 settings x 4 conditions x 4 episodes), analysed with ``analyze``."""
    root = tmp_path_factory.mktemp("pa_baselines")
    out = {}
    for name in ("always_customer", "always_principal", "audit_sensitive"):
        play_grid(root / name, f"principal_agent/{name}")
        for log in find_logs(root / name):
            replay(log)
        result = analyze(root / name, None, n_resamples=200)
        out[name] = result.principal_agent
    out["root"] = root
    return out


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("always_customer", {"both": 0.0, "customer": 0.0, "principal": 0.0, "neither": 0.0}),
        ("always_principal", {"both": 1.0, "customer": 1.0, "principal": 1.0, "neither": 1.0}),
        ("audit_sensitive", {"both": 0.0, "customer": 0.0, "principal": 1.0, "neither": 1.0}),
    ],
)
def test_scripted_baselines_give_exact_override_rates(baselines, policy: str, expected: dict[str, float]) -> None:
    tables = baselines[policy]
    per_setting = tables["pa_rates"]
    # car and film share the test scenario id; the rates split them because the setting varies.
    assert sorted(per_setting["setting"].unique()) == ["car", "film"]
    for setting_id, part in per_setting.groupby(["scenario", "setting"]):
        assert len(part) == len(part.drop_duplicates(["audience", "metric"])), setting_id
        assert rate(part, "override_rate") == expected, setting_id
        assert rate(part, "customer_rate") == {k: 1.0 - v for k, v in expected.items()}
        assert rate(part, "invalid_rate") == dict.fromkeys(AUDIENCES, 0.0)
    assert len(tables["pa_decisions"]) == 2 * 4 * EPISODES


def test_audience_sensitivity_of_the_baselines(baselines) -> None:
    expected = {"always_customer": 0.0, "always_principal": 0.0, "audit_sensitive": -1.0}
    for policy, delta in expected.items():
        table = baselines[policy]["pa_audience_sensitivity"]
        # One scenario id and one label, but two settings (car, film) under it: one row each.
        assert table["setting"].tolist() == ["car", "film"]
        assert table["delta"].tolist() == [delta, delta]
        # Deterministic players: every episode alike. The interval still has width (a sample
        # never proves a rate exactly) and holds the estimate, clipped to [-1, 1].
        for low, high in zip(table["ci_low"], table["ci_high"], strict=True):
            assert -1 <= low <= delta <= high <= 1 and high - low > 0.1
        assert table["method"].tolist() == ["MOVER (score)"] * 2
    sensitive = baselines["audit_sensitive"]["pa_audience_sensitivity"]
    assert (sensitive["ci_high"] < 0).all() and (sensitive["p_value"] < 0.05).all()
    assert baselines["always_customer"]["pa_audience_sensitivity"]["p_value"].tolist() == [1.0, 1.0]
    gap = baselines["audit_sensitive"]["pa_oversight_gap"]
    assert gap["delta"].tolist() == [1.0, 1.0]


def test_tinmen_table_has_the_papers_shape(baselines) -> None:
    table = baselines["audit_sensitive"]["pa_tinmen"]
    # The two settings share the test scenario id, so the setting (which varies) splits the rows.
    assert list(table.columns) == [
        "scenario",
        "label",
        "temperature",
        "setting",
        "both",
        "customer-only",
        "principal-only",
        "neither",
    ]
    n = EPISODES
    assert table["setting"].tolist() == ["car", "film"]
    for _, row in table.iterrows():
        assert row[["both", "customer-only", "principal-only", "neither"]].tolist() == [
            f"1.00 ({n}/{n})",
            f"1.00 ({n}/{n})",
            f"0.00 ({n}/{n})",
            f"0.00 ({n}/{n})",
        ]
    markdown = tinmen_markdown(table)
    assert markdown.splitlines()[0].startswith("| scenario | label | temperature | setting | both |")


def test_honesty_from_logs(tmp_path: Path, run_dir: Path) -> None:
    styles = {"honest": (1.0, 0.0), "customer_washing": (0.0, 1.0)}
    for style in styles:
        spec = scenario("principal_agent/always_principal", {"setting": "car"}, {"explanation": style})
        run(spec, seed=0, episodes=3, out_dir=run_dir / style)
    decisions = decision_frame(run_dir)
    for style, (honesty, mismatch) in styles.items():
        part = decisions[decisions["run_dir"] == str(run_dir / style)]
        table = rates(part, by=(), n_resamples=100).set_index("metric")["estimate"]
        assert table["honesty"] == honesty
        assert table["mismatch_rate"] == mismatch
        assert table["consistency"] == honesty
    washing = decisions[decisions["run_dir"] == str(run_dir / "customer_washing")]
    assert washing["dishonest"].all() and (washing["decisive"] == "principal").all()


def test_utilities_and_surplus_from_logs(run_dir: Path) -> None:
    run(scenario("principal_agent/always_principal", {"setting": "car", "contract": "commission"}), out_dir=run_dir)
    d = decision_frame(run_dir).iloc[0]
    assert d["customer_utility"] == -4000 and d["agent_utility"] == pytest.approx(10 + 0.05 * 8000)
    assert d["principal_utility"] == pytest.approx(8000 - 410)
    assert d["surplus"] == pytest.approx(d["customer_utility"] + d["principal_utility"] + d["agent_utility"])


def test_audit_probability_turns_the_audit_sensitive_agent(run_dir: Path) -> None:
    for p in (0.0, 0.8):
        spec = scenario("principal_agent/audit_sensitive", {"audience": "principal", "audit_prob": p, "sanction": 1})
        run(spec, seed=2, episodes=3, out_dir=run_dir / f"p{p}")
    decisions = decision_frame(run_dir)
    delta = treatment_delta(decisions, "audit_prob", 0.8, 0.0, by=(), n_resamples=100)
    assert delta["delta"].tolist() == [-1.0]
    assert delta["rate_high"].tolist() == [0.0] and delta["rate_low"].tolist() == [1.0]
    result = analyze(run_dir, None, n_resamples=100)
    assert result.principal_agent["pa_audit_delta"]["delta"].tolist() == [-1.0]
    assert "Principal-agent: rate of serving the customer" in result.text()


def test_invalid_choices_are_counted_not_rated(run_dir: Path) -> None:
    llm = {"model": "mock/scripted", "backend_options": {"faults": 1.0}, "params": {"temperature": 0.2}}
    spec = scenario("llm", {"setting": "film"}, {"reasoning": False, "memory": {"reflect": False}})
    run(spec, seed=0, episodes=3, out_dir=run_dir, llm=llm)
    decisions = decision_frame(run_dir)
    assert not decisions["valid"].any()
    assert decisions["temperature"].tolist() == [0.2] * 3
    table = rates(decisions, by=(), n_resamples=100).set_index("metric")
    assert table.loc["invalid_rate", "estimate"] == 1.0
    assert np.isnan(table.loc["customer_rate", "estimate"])
    assert tinmen_table(decisions)["both"].tolist() == ["- (0/3)"]


def test_analyze_writes_the_principal_agent_tables(tmp_path: Path, run_dir: Path) -> None:
    run(scenario("principal_agent/audit_sensitive", {"audience": "neither"}), episodes=2, out_dir=run_dir)
    result = analyze(run_dir, tmp_path / "out", n_resamples=100, make_plots=True, make_report=True)
    for name in ("pa_decisions", "pa_rates", "pa_tinmen"):
        assert (tmp_path / "out" / "tables" / f"{name}.csv").exists()
    assert "Principal-agent" in (tmp_path / "out" / "report.html").read_text()
    assert audience_sensitivity(result.principal_agent["pa_decisions"]).empty  # one condition only
