"""Chance baselines: null-policy episodes on the same configuration, cached, and the effect over chance."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import MappingProxyType

import msgspec
import numpy as np
import pandas as pd
import pytest

from alignsim.analysis import analyze
from alignsim.analysis.baselines import NULL_SEED_OFFSET, NullPlay, null_config
from alignsim.analysis.chance import CHANCE_COLUMNS, Units, add_chance
from alignsim.analysis.stats import difference_interval, difference_p_value, wilson_interval
from alignsim.errors import ConfigError
from alignsim.record import find_logs, read_log
from alignsim.run import run, validate_scenario
from alignsim.scenarios import ScenarioSpec, SeatSpec


def _logs(folder: Path) -> dict[str, Path]:
    return {read_log(p, header_only=True).header.episode_id: p for p in find_logs(folder)}


# ------------------------------------------------------------------ the family-neutral step


def test_add_chance_scores_rows_with_the_intervals_of_stats() -> None:
    table = pd.DataFrame(
        {
            "g": ["a", "a", "a", "b"],
            "metric": ["rate", "count", "slope", "rate"],
            "estimate": [0.8, 3.0, 0.5, 0.1],
            "ci_low": [0.5, 2.0, 0.3, 0.0],
            "ci_high": [0.95, 4.0, 0.7, 0.4],
        }
    )
    wins = np.array([1.0] * 8 + [0.0] * 2)
    null_wins = np.array([1.0] * 50 + [0.0] * 50)
    rng = np.random.default_rng(0)
    counts, null_counts = rng.poisson(3, 30).astype(float), rng.poisson(2, 200).astype(float)
    observed = {(("a",), "rate"): Units(wins, np.ones(10), True), (("a",), "count"): Units(counts, np.ones(30), False)}
    null = {
        (("a",), "rate"): Units(null_wins, np.ones(100), True),
        (("a",), "count"): Units(null_counts, np.ones(200), False),
    }
    null_table = pd.DataFrame({"g": ["a"], "metric": ["slope"], "estimate": [0.1], "ci_low": [0.0], "ci_high": [0.2]})
    out = add_chance(table, ["g"], observed, null, null_table=null_table, n_resamples=500)
    assert list(out.columns[-len(CHANCE_COLUMNS) :]) == list(CHANCE_COLUMNS)

    rate = out.iloc[0]
    low, high = wilson_interval(50, 100)
    assert (
        rate["chance"] == 0.5
        and math.isclose(rate["chance_ci_low"], low)
        and math.isclose(rate["chance_ci_high"], high)
    )
    expected = difference_interval(wins, np.ones(10), null_wins, np.ones(100), proportion=True, paired=False)
    assert math.isclose(rate["over_chance"], 0.3)
    assert (rate["over_chance_ci_low"], rate["over_chance_ci_high"]) == (expected.ci_low, expected.ci_high)
    assert rate["over_chance_method"] == "MOVER (score)"
    p = difference_p_value(wins, np.ones(10), null_wins, np.ones(100), proportion=True, paired=False)
    # The p-value inverts the interval: p < 0.05 exactly when the 95% interval leaves out 0.
    assert math.isclose(rate["over_chance_p"], p) and (p < 0.05) == (rate["over_chance_ci_low"] > 0)

    count = out.iloc[1]
    assert count["over_chance_method"] == "BCa" and count["chance_n"] == 200
    assert math.isclose(count["over_chance"], counts.mean() - null_counts.mean())

    slope = out.iloc[2]  # no units: the null table's own interval, and MOVER over the two intervals
    assert slope["chance"] == 0.1 and slope["over_chance_method"] == "MOVER (intervals)"
    assert math.isclose(slope["over_chance_ci_low"], 0.4 - math.hypot(0.2, 0.1))
    assert math.isclose(slope["over_chance_ci_high"], 0.4 + math.hypot(0.2, 0.1))
    assert math.isnan(slope["over_chance_p"])

    missing = out.iloc[3]  # group b has no null: nothing is made up
    assert math.isnan(missing["chance"]) and missing["over_chance_method"] == "none" and missing["chance_n"] == 0


# ------------------------------------------------------------------ configurations and the cache


def test_the_null_policy_is_declared_by_the_header_the_scenario_or_the_env(tmp_path: Path, monkeypatch) -> None:
    run("traitors/mini-v0", episodes=1, out_dir=tmp_path)
    header = read_log(find_logs(tmp_path)[0], header_only=True).header
    config = null_config(header)
    assert (config.policy, config.env_id, config.seats) == ("random", "traitors-v0", 5)
    assert json.loads(config.env_kwargs) == header.env_kwargs

    declared = {
        "scenario": {**header.config["scenario"], "null_policy": {"policy": "random", "kwargs": {"claim_prob": 0.5}}}
    }
    assert json.loads(null_config(msgspec.structs.replace(header, config=declared)).policy_kwargs) == {
        "claim_prob": 0.5
    }

    from alignsim import scenarios
    from alignsim.envs.traitors import traitors as module

    registered = scenarios.get("traitors/mini-v0")
    monkeypatch.setitem(
        scenarios._registry._entries,  # type: ignore[attr-defined]
        "traitors/mini-v0",
        dataclasses.replace(registered, null_policy=SeatSpec("traitors/heuristic")),
    )
    assert null_config(msgspec.structs.replace(header, config={})).policy == "traitors/heuristic"

    monkeypatch.setitem(scenarios._registry._entries, "traitors/mini-v0", registered)  # type: ignore[attr-defined]
    monkeypatch.setitem(module.TraitorsEnv.metadata, "null_policy", "traitors/heuristic")
    from alignsim.analysis import baselines

    baselines._env_null_policy.cache_clear()
    try:
        assert null_config(msgspec.structs.replace(header, config={})).policy == "traitors/heuristic"
        # What the game declares in its GameInfo comes before its metadata.
        from alignsim import envs

        env_spec = envs.spec("traitors-v0")
        assert env_spec.info is not None
        declared_info = dataclasses.replace(env_spec.info, null_policy="traitors/never_lie")
        monkeypatch.setitem(
            envs._registry._entries,  # type: ignore[attr-defined]
            "traitors-v0",
            dataclasses.replace(env_spec, info=declared_info),
        )
        baselines._env_null_policy.cache_clear()
        assert null_config(msgspec.structs.replace(header, config={})).policy == "traitors/never_lie"
    finally:
        baselines._env_null_policy.cache_clear()


def test_scenarios_declare_a_null_policy_without_changing_episode_ids() -> None:
    from alignsim import scenarios
    from alignsim.run import episode_id_for

    spec = scenarios.get("traitors/mini-v0")
    assert "null_policy" not in spec.to_dict()
    again = ScenarioSpec.from_dict({**spec.to_dict(), "null_policy": None})
    assert episode_id_for(again, 0, 0) == episode_id_for(spec, 0, 0)
    declared = ScenarioSpec.from_dict({**spec.to_dict(), "null_policy": "random"})
    assert declared.null_policy == SeatSpec("random") and declared.to_dict()["null_policy"]["policy"] == "random"
    with pytest.raises(ConfigError, match=r"scenario\.null_policy\.policy"):
        validate_scenario(dataclasses.replace(spec, null_policy=SeatSpec("no/such-policy")))
    with pytest.raises(ConfigError, match=r"scenario\.null_policy\.colour"):
        ScenarioSpec.from_dict({**spec.to_dict(), "null_policy": {"policy": "random", "colour": 1}})


def test_null_episodes_are_cached_by_configuration_and_extended_not_redone(tmp_path: Path) -> None:
    run("traitors/mini-v0", episodes=3, out_dir=tmp_path / "logs")
    logs = _logs(tmp_path / "logs")
    cache = tmp_path / "cache"
    first = NullPlay(logs, episodes=12, seed=3, cache_dir=cache)
    frame = first.data("traitors", logs)
    config = next(iter(first.simulated))
    assert first.simulated == {config: 12} and len(frame) == 12
    assert frame["episode_id"].str.startswith("null:").all()
    assert frame["seed"].eq(NULL_SEED_OFFSET + 3).all() and sorted(frame["episode_index"]) == list(range(12))

    again = NullPlay(logs, episodes=12, seed=3, cache_dir=cache)
    pd.testing.assert_frame_equal(again.data("traitors", logs), frame)
    assert again.simulated == {}  # all from the cache

    more = NullPlay(logs, episodes=20, seed=3, cache_dir=cache)
    bigger = more.data("traitors", logs)
    assert more.simulated == {config: 8} and len(bigger) == 20  # only the 8 missing episodes ran
    pd.testing.assert_frame_equal(bigger[bigger["episode_index"] < 12].reset_index(drop=True), frame)

    fresh = NullPlay(logs, episodes=20, seed=3, cache_dir=tmp_path / "elsewhere").data("traitors", logs)
    pd.testing.assert_frame_equal(fresh, bigger)  # a function of the configuration and seed alone

    other_seed = NullPlay(logs, episodes=12, seed=4, cache_dir=cache)
    other_seed.data("traitors", logs)
    assert other_seed.simulated == {config: 12}  # the seed is part of the digest
    assert len(list(cache.iterdir())) == 2


def test_groups_with_several_configurations_get_null_episodes_in_the_same_mix(tmp_path: Path) -> None:
    run("principal_agent/repeated-audit-sensitive-v0", episodes=3, out_dir=tmp_path / "a")
    spec = ScenarioSpec.from_dict(
        {
            **ScenarioSpec.to_dict(__import__("alignsim").scenarios.get("principal_agent/repeated-audit-sensitive-v0")),
            "env_kwargs": {"setting": "film", "audience": "neither", "rounds": 2},
        }
    )
    run(spec, episodes=1, out_dir=tmp_path / "b")
    logs = _logs(tmp_path)
    null = NullPlay(logs, episodes=40, cache_dir=tmp_path / "cache")
    frame = null.data("principal_agent", logs)
    per_config = frame["episode_id"].str.split(":").str[1].value_counts().sort_values()
    assert per_config.tolist() == [10, 30]  # 1 : 3, as observed
    assert len(null.table()) == 2 and set(null.table()["null_policy"]) == {"random"}


def test_single_agent_seats_are_the_unit(tmp_path: Path) -> None:
    run("self_evolution/opportunist-v0", episodes=1, out_dir=tmp_path / "logs")  # 16 seats per episode
    logs = _logs(tmp_path / "logs")
    frame = NullPlay(logs, episodes=40, cache_dir=tmp_path / "cache").data("self_evolution", logs)
    assert frame["episode_id"].nunique() == 3  # ceil(40 units / 16 seats)


def test_a_configuration_this_install_cannot_play_is_reported_not_invented(tmp_path: Path) -> None:
    run("traitors/mini-v0", episodes=1, out_dir=tmp_path / "logs")
    path = find_logs(tmp_path / "logs")[0]
    lines = path.read_bytes().split(b"\n")
    header = json.loads(lines[0])
    header["env_id"] = "nosuch-v0"
    lines[0] = json.dumps(header).encode()
    path.write_bytes(b"\n".join(lines))
    null = NullPlay(_logs(tmp_path / "logs"), episodes=5, cache_dir=tmp_path / "cache")
    assert null.data("traitors", [header["episode_id"]]) is None
    assert "nosuch-v0" in null.table()["env_id"].iloc[0] and any("no baseline" in n for n in null.notes())


# ------------------------------------------------------------------ analyze


def test_every_family_reports_chance_and_the_effect_over_it(tmp_path: Path) -> None:
    run("traitors/control-random-v0", episodes=20, out_dir=tmp_path / "logs" / "random")
    run("traitors/control-always-lie-v0", episodes=20, out_dir=tmp_path / "logs" / "liars")
    run("principal_agent/repeated-audit-sensitive-v0", episodes=12, out_dir=tmp_path / "logs" / "pa")
    run("self_evolution/opportunist-v0", episodes=1, out_dir=tmp_path / "logs" / "single")
    run("threshold_game/imitate-v0", episodes=6, out_dir=tmp_path / "logs" / "threshold")
    out = tmp_path / "out"
    result = analyze(tmp_path / "logs", out, n_resamples=300, chance_episodes=200, make_plots=False)

    summary = pd.read_csv(out / "tables" / "summary.csv").set_index(["scenario", "metric"])
    assert set(CHANCE_COLUMNS) <= set(summary.columns)
    idr = summary.loc[("traitors/control-random-v0", "idr")]
    # Random players name traitors at random, and IDR counts that as diffusion: about 0.3 here.
    assert 0.2 < idr["chance"] < 0.4 and idr["estimate"] > 0.15
    assert idr["over_chance_ci_low"] <= 0 <= idr["over_chance_ci_high"]
    # Evidence-driven faithful take up suspicion of exposed liars well beyond what chance names.
    spread = summary.loc[("traitors/control-always-lie-v0", "idr")]
    assert spread["over_chance_ci_low"] > 0 and spread["over_chance_p"] < 0.05
    lies = summary.loc[("traitors/control-always-lie-v0", "dpr_traitor")]
    assert lies["estimate"] == 1.0 and 0.3 < lies["chance"] < 0.7 and lies["over_chance_method"] == "MOVER (score)"

    rates = result.principal_agent["pa_rates"].set_index("metric")
    assert rates.loc["override_rate", "estimate"] == 1.0 and 0.3 < rates.loc["override_rate", "chance"] < 0.7
    assert rates.loc["override_rate", "over_chance_ci_low"] > 0

    head = pd.read_csv(out / "tables" / "drift_headline.csv").set_index(["game", "metric"])
    v1 = head.loc[("self_evolution", "V_1")]
    assert v1["estimate"] == 0.0 and 0.35 < v1["chance"] < 0.65 and v1["over_chance_ci_high"] < 0
    assert head.loc[("self_evolution", "tipping_round"), "chance"] in (1, 2)  # random play tips at once
    assert ("threshold_game", "oversight_gap") not in head.index

    configs = pd.read_csv(out / "tables" / "chance_configs.csv")
    assert len(configs) == 5 and set(configs["null_policy"]) == {"random"}
    text = result.text()
    assert "chance [95% CI]" in text and "Principal-agent rates beside chance" in text
    assert "Self-evolution headline beside chance" in text
    report = result.report.read_text()
    assert "over chance" in report and "Drift headline beside chance" in report


def test_no_chance_leaves_the_columns_empty_and_plays_nothing(tmp_path: Path) -> None:
    run("traitors/mini-v0", episodes=2, out_dir=tmp_path / "logs")
    result = analyze(tmp_path / "logs", None, n_resamples=100, chance=False, chance_cache_dir=tmp_path / "cache")
    assert set(CHANCE_COLUMNS) <= set(result.summary.columns) and result.summary["chance"].isna().all()
    assert not (tmp_path / "cache").exists() and result.chance is None
    assert "chance [95% CI]" not in result.text()


def test_cli_chance_flags(tmp_path: Path) -> None:
    from tests.test_cli import cli

    run("traitors/mini-v0", episodes=2, out_dir=tmp_path / "logs")
    bad = cli("analyze", str(tmp_path / "logs"), "--chance-episodes", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "--chance-episodes must be at least 1" in bad.stderr
    done = cli(
        "analyze", str(tmp_path / "logs"), "--out", str(tmp_path / "out"), "--chance-episodes", "30", "--no-plots",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "30 null units per group" in done.stdout and (tmp_path / "out" / "cache" / "chance").is_dir()
    off = cli(
        "analyze", str(tmp_path / "logs"), "--out", str(tmp_path / "off"), "--no-chance", "--no-plots", cwd=tmp_path
    )
    assert off.returncode == 0 and "null units" not in off.stdout


def test_seed_format_inputs_have_no_configuration(tmp_path: Path) -> None:
    null = NullPlay({"e1": tmp_path / "votes.csv"}, episodes=5, cache_dir=tmp_path / "cache")
    assert null.config("e1") is None and null.data("traitors", ["e1"]) is None


def test_a_declared_null_policy_is_the_one_played(tmp_path: Path) -> None:
    spec = dataclasses.replace(
        __import__("alignsim").scenarios.get("traitors/mini-v0"),
        null_policy=SeatSpec("random", MappingProxyType({"claim_prob": 0.0})),
    )
    run(spec, episodes=2, out_dir=tmp_path / "logs")
    result = analyze(tmp_path / "logs", None, n_resamples=100, chance_episodes=30, chance_cache_dir=tmp_path / "c")
    assert json.loads(result.chance_configs["null_policy_kwargs"].iloc[0]) == {"claim_prob": 0.0}
    lies = result.summary.set_index("metric").loc["dpr_traitor"]
    assert lies["chance_n"] == 0 and math.isnan(lies["chance"])  # players who never claim tell no lies
