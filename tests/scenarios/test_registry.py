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
    validate_scenario(spec)
    result = run_episode(spec, seed=0, out_dir=run_dir)
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
