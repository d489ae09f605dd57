"""The werewolf scenarios run through ``alignsim run`` with scripted and mock-LLM players."""

from __future__ import annotations

from pathlib import Path

import pytest

import alignsim.scenarios as scenarios
from alignsim.envs.werewolf import events as wev
from alignsim.record import find_logs, read_log
from alignsim.record import schema as ev
from tests.config_harness import invoke

PRESETS = ["werewolf/arena-v0", "werewolf/kaggle-v0", "werewolf/secret-mafia-v0"]
LLM_SEATS = [f"scenario.seating.{role}.policy=llm" for role in ("werewolf", "seer", "doctor", "villager")]


def logs(out: Path) -> list:
    return [read_log(p) for p in find_logs(out)]


def test_every_werewolf_scenario_is_registered_and_cites_its_rules() -> None:
    ids = {s for s in scenarios.ids() if s.startswith("werewolf/")}
    assert set(PRESETS) | {"werewolf/heuristic-v0", "werewolf/random-v0", "werewolf/llm-v0"} <= ids
    arena, kaggle, mafia = (scenarios.get(s) for s in PRESETS)
    assert arena.env_kwargs["discussion_order"] == "bidding" and arena.env_kwargs["n_players"] == 8
    assert kaggle.env_kwargs["seer_learns"] == "side"
    assert mafia.env_kwargs["discussion_passes"] == 3 and mafia.env_kwargs["n_players"] == 6
    assert "Werewolf Arena" in arena.description and "Kaggle" in kaggle.description
    assert "SecretMafia" in mafia.description


@pytest.mark.parametrize("scenario", [*PRESETS, "werewolf/heuristic-v0", "werewolf/random-v0"])
def test_a_preset_runs_with_scripted_players(scenario: str, tmp_path: Path, capsys) -> None:
    done = invoke(["run", f"scenario={scenario}", "episodes=2", f"out_dir={tmp_path}"], tmp_path, capsys)
    assert done.code == 0, done.stderr
    episodes = logs(tmp_path)
    assert len(episodes) == 2
    for log in episodes:
        end = [e for e in log.events if isinstance(e, wev.GameEnd)]
        assert end and end[0].winner in ("village", "werewolves", None)
    if scenario == "werewolf/arena-v0":
        assert any(isinstance(e, wev.Floor) for log in episodes for e in log.events)


@pytest.mark.parametrize("scenario", PRESETS)
def test_a_preset_runs_with_mock_llm_players(scenario: str, tmp_path: Path, capsys) -> None:
    args = ["run", f"scenario={scenario}", "llm=mock", *LLM_SEATS, "scenario.env_kwargs.max_rounds=1"]
    done = invoke([*args, f"out_dir={tmp_path}"], tmp_path, capsys)
    assert done.code == 0, done.stderr
    (log,) = logs(tmp_path)
    calls = [e for e in log.events if isinstance(e, ev.LLMCall)]
    assert len({c.agent for c in calls}) >= 4  # every seat that got a turn is a model
    assert any(isinstance(e, wev.Speech) and e.channel == "public" for e in log.events)
    assert any(isinstance(e, wev.GameEnd) for e in log.events)


def test_the_llm_scenario_runs_with_the_mock_model(tmp_path: Path, capsys) -> None:
    done = invoke(
        ["run", "scenario=werewolf/llm-v0", "llm=mock", "episodes=2", f"out_dir={tmp_path}"], tmp_path, capsys
    )
    assert done.code == 0, done.stderr
    assert len(logs(tmp_path)) == 2


def test_a_bad_werewolf_parameter_is_a_one_line_config_error(tmp_path: Path, capsys) -> None:
    done = invoke(["run", "scenario=werewolf/kaggle-v0", "scenario.env_kwargs.n_werewolves=4"], tmp_path, capsys)
    assert done.code == 2
    assert done.stderr.strip().startswith("alignsim run: config error: scenario.env_kwargs.n_werewolves:")
    assert not done.written


def test_the_presets_seat_a_hunter_when_the_game_deals_one(tmp_path: Path, capsys) -> None:
    args = [
        "run",
        "scenario=werewolf/kaggle-v0",
        "scenario.env_kwargs.hunter=true",
        "episodes=2",
        f"out_dir={tmp_path}",
    ]
    done = invoke(args, tmp_path, capsys)
    assert done.code == 0, done.stderr
    roles = [next(e.roles for e in log.events if isinstance(e, ev.RoleAssignment)) for log in logs(tmp_path)]
    assert all("hunter" in r.values() for r in roles)
