"""A new game written on alignsim's env base: PettingZoo's api test, the runner, the log, replay.

The game follows docs/tutorials/environment.md ("Write an environment"): two players pick 0-2 for three
rounds and score when they match; it exists only in this test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.test import api_test
from pettingzoo.utils import wrappers

import alignsim.envs
from alignsim.envs.base import AlignsimAECEnv, config_from_kwargs
from alignsim.errors import ConfigError
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import replay, run
from alignsim.scenarios import ScenarioSpec, SeatSpec


@dataclass(frozen=True)
class MatchConfig:
    rounds: int = 3
    choices: int = 3


class MatchEnv(AlignsimAECEnv):
    metadata: ClassVar[dict[str, Any]] = {"name": "match_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(render_mode)
        self.config = config_from_kwargs(MatchConfig, "match", kwargs)
        self.possible_agents = ["player_0", "player_1"]
        # Each player's last pick + 1, or ``choices + 1`` before the first round.
        self._observation_space = spaces.Box(1, self.config.choices + 1, shape=(2,), dtype=np.int64)
        self._action_space = spaces.Discrete(self.config.choices)

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self._start_episode(seed)
        self._last = np.full(2, self.config.choices + 1, dtype=np.int64)
        self._picks: dict[str, int] = {}
        self.agent_selection = self.agents[0]

    def observe(self, agent: str) -> np.ndarray:
        return self._last.copy()

    def _act(self, agent: str, action: Any) -> None:
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._picks[agent] = int(action)
        if len(self._picks) < 2:
            self.agent_selection = self.agents[1]
            self._accumulate_rewards()
            return
        first, second = (self._picks[a] for a in self.agents)
        self._last = np.array([first + 1, second + 1], dtype=np.int64)
        score = 1.0 if first == second else 0.0
        self.rewards = dict.fromkeys(self.agents, score)
        self._round += 1
        self._step_count += 1
        self._log.append(
            ev.Announcement(
                kind="round", text=f"round {self._round}: {first} vs {second}", visible_to=tuple(self.agents)
            )
        )
        self._picks = {}
        if self._round >= self.config.rounds:
            self.terminations = dict.fromkeys(self.agents, True)
            self.winner = "both" if score else None
        self.agent_selection = self.agents[0]
        self._accumulate_rewards()


def make_match(**kwargs: Any) -> Any:
    return wrappers.OrderEnforcingWrapper(MatchEnv(**kwargs))


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    if "match-v0" not in alignsim.envs.ids():
        alignsim.envs.register("match-v0", f"{__name__}:make_match")


def test_a_new_env_on_the_base_passes_pettingzoos_api_test() -> None:
    api_test(make_match(), num_cycles=50)
    with pytest.raises(ConfigError, match="not a parameter of match; parameters are: choices, rounds"):
        MatchEnv(colour="red")
    with pytest.raises(ConfigError, match="render_mode"):
        MatchEnv(render_mode="human")


def test_a_new_env_runs_logs_and_replays_through_the_runner(tmp_path) -> None:
    spec = ScenarioSpec(
        id="match/random-v0", env_id="match-v0", env_kwargs={"rounds": 4}, seating={"*": SeatSpec("random")}
    )
    results = run(spec, seed=3, episodes=2, out_dir=tmp_path)
    assert [r.summary.status for r in results] == ["completed", "completed"]
    log = read_log(results[0].log_path)
    rounds = log.of_type(ev.Announcement)
    assert [e.text.split(":")[0] for e in rounds] == ["round 1", "round 2", "round 3", "round 4"]
    assert all(e.visible_to == ("player_0", "player_1") for e in rounds)
    assert len(log.of_type(ev.Action)) == 8 and results[0].summary.steps == 8
    for result in results:
        replay(result.log_path)
