"""Every registered scenario builds and runs; specs validate their fields."""

from __future__ import annotations

from pathlib import Path

import pytest

import alignsim.scenarios as scenarios
from alignsim.errors import ConfigError
from alignsim.run import run_episode, validate_scenario
from alignsim.scenarios import ScenarioSpec, SeatSpec, resolve_seating


@pytest.mark.parametrize("scenario_id", scenarios.ids())
def test_every_registered_scenario_builds_and_runs(scenario_id: str, run_dir: Path) -> None:
    spec = scenarios.get(scenario_id)
    assert spec.id.split("/")[0] == spec.env_id.split("-v")[0], "scenario names start with their env family"
    mock = {"model": "mock/scripted"}  # LLM seats play on the mock backend here; real models are tested apart
    validate_scenario(spec, llm=mock)
    result = run_episode(spec, seed=0, out_dir=run_dir, llm=mock)
    assert result.summary.status in ("completed", "truncated")
    assert ScenarioSpec.from_dict(spec.to_dict()) == spec


def test_builtin_scenarios_exist() -> None:
    assert {"traitors/classic-v0", "traitors/mini-v0"} <= set(scenarios.ids())
    classic = scenarios.get("traitors/classic-v0")
    assert classic.env_kwargs["n_players"] == 10 and classic.env_kwargs["n_traitors"] == 3


def test_seating_precedence_agent_then_role_then_default() -> None:
    seating = {"*": SeatSpec("random"), "traitor": SeatSpec("traitors/heuristic"), "player_2": SeatSpec("x")}
    roles = {"player_0": "traitor", "player_1": "faithful", "player_2": "traitor"}
    assert resolve_seating(seating, list(roles), roles) == {
        "player_0": "traitor",
        "player_1": "*",
        "player_2": "player_2",
    }
    with pytest.raises(ConfigError, match="no seat for player_1"):
        resolve_seating({"traitor": SeatSpec("random")}, list(roles), roles)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"env_id": "traitors-v0", "seating": {"*": "random"}}, "scenario.id"),
        ({"id": "traitors/x-v0", "env_id": "traitors-v0", "seating": {"*": {}}}, "scenario.seating.*.policy"),
        ({"id": "traitors/x-v0", "env_id": "traitors-v0", "seating": {"*": "random"}, "colour": 1}, "scenario.colour"),
        (
            {"id": "traitors/x-v0", "env_id": "traitors-v0", "seating": {"*": {"policy": "random", "kwarg": 1}}},
            "scenario.seating.*.kwarg",
        ),
    ],
)
def test_spec_errors_name_the_field(data, field) -> None:
    with pytest.raises(ConfigError) as info:
        ScenarioSpec.from_dict(data)
    assert info.value.field == field


def test_third_party_scenarios_and_envs_register_through_entry_points(tmp_path: Path, monkeypatch) -> None:
    import sys
    import textwrap

    import alignsim.envs as envs

    (tmp_path / "labgames.py").write_text(
        textwrap.dedent("""
        from alignsim.scenarios import ScenarioSpec, SeatSpec
        from alignsim.envs import EnvSpec

        TINY = ScenarioSpec(id="labgames/tiny-v0", env_id="traitors-v0",
                            env_kwargs={"n_players": 3, "n_traitors": 1}, seating={"*": SeatSpec("random")})
        ALIAS = EnvSpec(id="labtraitors-v3", entry_point="alignsim.envs.traitors:env")
        """)
    )
    dist = tmp_path / "labgames-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: labgames\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[alignsim.scenarios]\ntiny = labgames:TINY\n\n[alignsim.envs]\nalias = labgames:ALIAS\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    scenarios._registry.load_plugins(force=True)
    envs._registry.load_plugins(force=True)
    try:
        assert "labgames/tiny-v0" in scenarios.ids()
        assert envs.spec("labtraitors").id == "labtraitors-v3"
        assert envs.make("labtraitors-v3").unwrapped.n == 10
        validate_scenario(scenarios.get("labgames/tiny-v0"))
    finally:
        sys.modules.pop("labgames", None)
