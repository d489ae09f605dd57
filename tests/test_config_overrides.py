"""Documented overrides work verbatim: env parameters and seating without ``+`` on every built-in
scenario, the README's examples as written (``llm=mock`` added so no model is loaded), cross-play
in ``run`` and ``sweep``, Hydra's own flags (``--config-dir=DIR``, ``--cfg job``), ``alignsim list``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from alignsim import envs, scenarios
from alignsim.scenarios import ScenarioSpec
from alignsim.sweep import preflight
from tests.config_harness import invoke


def header(out: Path) -> dict:
    log = next((out / "episodes").glob("*.jsonl"))
    return json.loads(log.read_text().splitlines()[0])


def models_by_role(out: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for log in (out / "episodes").glob("*.jsonl"):
        head = json.loads(log.read_text().splitlines()[0])
        roles = next(json.loads(line)["roles"] for line in log.read_text().splitlines() if '"role_assignment"' in line)
        for agent, seat in head["seating"].items():
            found.setdefault(roles[agent], set()).add(seat["model"])
    return found


def _hydra_value(value: object) -> str:
    return json.dumps(value) if not isinstance(value, str) else f"'{value}'"


@pytest.mark.parametrize("scenario_id", scenarios.ids())
def test_env_and_seating_overrides_need_no_plus_on_every_scenario(scenario_id: str) -> None:
    spec = scenarios.get(scenario_id)
    env = envs.make(spec.env_id, **spec.env_kwargs)
    parameters = dataclasses.asdict(env.unwrapped.config)
    roles = env.unwrapped.metadata["roles"]
    env.close()
    name, value = next(
        (k, v) for k, v in parameters.items() if k not in spec.env_kwargs and isinstance(v, bool | int | str)
    )
    role = roles[-1]
    overrides = [
        f"scenario={scenario_id}",
        "llm=mock",
        f"scenario.env_kwargs.{name}={_hydra_value(value)}",
        f"scenario.seating.{role}.policy=random",
    ]
    covering = spec.seating.get("*")
    llm_cover = covering is not None and covering.policy == "llm" and roles[0] != role
    if llm_cover:
        overrides.append(f"scenario.seating.{roles[0]}.kwargs.model=mock/other")
    pre = preflight(overrides, multirun=False)
    effective = ScenarioSpec.from_dict(pre.resolved["scenario"])
    assert effective.env_kwargs[name] == value
    assert effective.seating[role].policy == "random"
    if llm_cover:
        assert effective.seating[roles[0]].policy == "llm"
        assert effective.seating[roles[0]].kwargs["model"] == "mock/other"
    assert all(not line.startswith("+") for line in overrides)


def test_readme_env_kwargs_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    done = invoke(
        [
            "run",
            "scenario.env_kwargs.tie_break=revote",
            "scenario.env_kwargs.belief_reports=true",
            "llm=mock",
            f"out_dir={out}",
        ],
        tmp_path,
        capsys,
    )
    assert done.code == 0, done.stderr
    kwargs = header(out)["env_kwargs"]
    assert kwargs["tie_break"] == "revote" and kwargs["belief_reports"] is True


def test_llm_option_overrides_need_no_plus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # docs/memory.md writes `llm.memory.path=FILE`; the memory dict is empty by default, so
    # Hydra alone would refuse the key unless written `+llm.memory.path`.
    out, memory = tmp_path / "out", tmp_path / "population.sqlite"
    done = invoke(
        ["run", "llm=mock", f"llm.memory.path={memory}", "llm.backend_options.faults=0.2", f"out_dir={out}"],
        tmp_path,
        capsys,
    )
    assert done.code == 0, done.stderr
    assert memory.is_file()
    assert header(out)["config"]["llm"]["backend_options"] == {"faults": 0.2}
    # A misspelt option is still refused, by alignsim's own check, naming it.
    done = invoke(["run", "llm=mock", f"llm.memory.pth={memory}"], tmp_path, capsys)
    assert done.code == 2 and "llm.memory.pth" in done.stderr and "did you mean 'path'" in done.stderr


def test_readme_seating_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    done = invoke(["run", "scenario.seating.faithful.policy=random", "llm=mock", f"out_dir={out}"], tmp_path, capsys)
    assert done.code == 0, done.stderr
    seats = header(out)["seating"].values()
    assert {s["policy"] for s in seats if s["role"] == "faithful"} == {"random"}
    assert {s["policy"] for s in seats if s["role"] == "*"} == {"llm"}  # the traitor keeps the default seat


@pytest.mark.parametrize("scenario_id", ["traitors/llm-v0", "traitors/llm-classic-v0"])
def test_cross_play_override_in_run(scenario_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    done = invoke(
        [
            "run",
            f"scenario={scenario_id}",
            "llm=mock",
            "scenario.seating.traitor.kwargs.model=mock/other",
            f"out_dir={out}",
        ],
        tmp_path,
        capsys,
    )
    assert done.code == 0, done.stderr
    assert models_by_role(out) == {"traitor": {"mock/other"}, "faithful": {"mock/scripted"}}
    # A cross-play episode reruns identically: each seat's recorded answers under its own model.
    again = invoke(["replay", str(out), "--rerun", str(tmp_path / "rerun")], tmp_path, capsys)
    assert again.code == 0 and again.stdout.rstrip().endswith("1/1 identical"), again.stdout


def test_cross_play_sweep_with_comma_separated_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = invoke(
        [
            "sweep",
            "name=cross",
            "scenario=traitors/llm-v0",
            "llm=mock",
            "scenario.seating.traitor.kwargs.model=mock/a,mock/b",
            "scenario.seating.faithful.kwargs.model=mock/a,mock/b",
            "hydra/launcher=basic",
            "hydra.callbacks.aggregate.report=false",
        ],
        tmp_path,
        capsys,
    )
    assert done.code == 0, done.stderr
    sweep = tmp_path / "sweeps" / "cross"
    pairs = set()
    for job in sorted(p for p in sweep.iterdir() if (p / "episodes").is_dir()):
        found = models_by_role(job)
        pairs.add((*found["traitor"], *found["faithful"]))
    assert pairs == {("mock/a", "mock/a"), ("mock/a", "mock/b"), ("mock/b", "mock/a"), ("mock/b", "mock/b")}
    assert len(pd.read_csv(sweep / "results.csv")) == 4


def test_cross_play_experiment_on_the_classic_scenario() -> None:
    pre = preflight(
        [
            "+experiment=traitors_crossplay",
            "llm=mock",
            "scenario.seating.traitor.kwargs.model=mock/a,mock/b",
            "scenario.seating.faithful.kwargs.model=mock/a,mock/b",
        ]
    )
    assert len(pre.jobs) == 4 and pre.config.scenario.id == "traitors/llm-classic-v0"


def test_hydra_flags_in_every_spelling(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "myconf" / "scenario"
    conf.mkdir(parents=True)
    spec = scenarios.get("traitors/mini-v0").to_dict() | {"id": "traitors/my-game-v0"}
    (conf / "my_game.yaml").write_text(json.dumps(spec))
    out = tmp_path / "out"
    done = invoke(
        ["run", f"--config-dir={tmp_path / 'myconf'}", "scenario=my_game", f"out_dir={out}"], tmp_path, capsys
    )
    assert done.code == 0, done.stderr
    assert header(out)["scenario"] == "traitors/my-game-v0"
    for flags, expected in (
        (["--cfg", "job"], "scenario:"),
        (["--cfg=hydra"], "hydra:"),
        (["-c", "all"], "sweeper:"),
        (["--info", "defaults"], "Defaults List"),
        (["--info"], "Config search path"),
    ):
        shown = invoke(["run", "scenario=traitors/mini-v0", *flags], tmp_path, capsys)
        assert shown.code == 0, shown.stderr
        assert expected in shown.stdout
        assert not shown.written
    job = invoke(["run", "--cfg", "job", "scenario=traitors/mini-v0", "seed=7"], tmp_path, capsys).stdout
    assert "seed: 7" in job and "hydra:" not in job


def test_list_shows_every_kind_a_config_can_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    everything = invoke(["list"], tmp_path, capsys).stdout
    for heading in ("environments", "scenarios", "policies", "llm configs", "experiments", "model providers"):
        assert heading in everything
    for kind, name in (
        ("llm", "mock"),
        ("experiments", "traitors_crossplay"),
        ("backends", "openai/MODEL"),
        ("policies", "random"),
        ("scenarios", "traitors/llm-classic-v0"),
        ("envs", "principal_agent-v0"),
    ):
        listing = invoke(["list", kind], tmp_path, capsys).stdout
        headings = [line for line in listing.splitlines() if not line.startswith(" ")]
        assert name in listing and len(headings) == 1
