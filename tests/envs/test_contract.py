"""The declared env contract: every runner hook is on the protocol, alignsim's base and the adapter
that serves a plain PettingZoo env; a plain env registered with no GameInfo runs, logs and replays;
what an env declares in its GameInfo (roles) is what the runner checks seating against."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

import alignsim.envs
from alignsim.envs import GameInfo
from alignsim.envs.base import AlignsimAECEnv, PettingZooGame, as_game
from alignsim.envs.contract import GameEnv, observation_digest
from alignsim.errors import ConfigError
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import replay, run, validate_scenario
from alignsim.scenarios import ScenarioSpec, SeatSpec


class CountdownEnv(AECEnv):
    """A plain PettingZoo AEC env that knows nothing of alignsim: two players take 1 or 2 from a pile
    of 7 in turn; whoever takes the last one scores 1."""

    metadata: ClassVar[dict[str, Any]] = {"name": "countdown_v0", "render_modes": [], "is_parallelizable": False}

    def __init__(self) -> None:
        super().__init__()
        self.possible_agents = ["player_0", "player_1"]
        self._action = spaces.Discrete(2)
        self._observation = spaces.Dict({"observation": spaces.Discrete(8), "action_mask": spaces.MultiBinary(2)})

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation

    def action_space(self, agent: str) -> spaces.Space:
        return self._action

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.agents = list(self.possible_agents)
        self.pile = 7
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self.agent_selection = self.agents[0]

    def observe(self, agent: str) -> dict[str, Any]:
        mask = np.array([1, 1 if self.pile >= 2 else 0], dtype=np.int8)
        return {"observation": self.pile, "action_mask": mask}

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.pile -= int(action) + 1
        self.rewards = dict.fromkeys(self.agents, 0.0)
        if self.pile <= 0:
            self.rewards[agent] = 1.0
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = self.agents[1 - self.agents.index(agent)]
        self._accumulate_rewards()


def make_countdown() -> Any:
    return wrappers.OrderEnforcingWrapper(CountdownEnv())


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    if "countdown-v0" not in alignsim.envs.ids():
        alignsim.envs.register("countdown-v0", f"{__name__}:make_countdown")


def _hooks() -> list[str]:
    return [name for name in vars(GameEnv) if not name.startswith("_")]


def test_every_runner_hook_is_declared_and_implemented_by_the_base_and_the_adapter() -> None:
    hooks = _hooks()
    assert set(hooks) == {
        "roles",
        "phase",
        "round",
        "winner",
        "simultaneous_agents",
        "observation_digest",
        "observe_with_digest",
        "drain_events",
    }
    for implementation in (AlignsimAECEnv, PettingZooGame):
        missing = [name for name in hooks if not hasattr(implementation, name)]
        assert not missing, f"{implementation.__name__} lacks {missing}"
        for name in hooks:
            declared = inspect.getattr_static(GameEnv, name)
            if callable(declared):
                own = inspect.getattr_static(implementation, name)
                assert inspect.signature(own).parameters.keys() == inspect.signature(declared).parameters.keys()


def test_a_plain_pettingzoo_env_gets_the_defaults_of_every_hook() -> None:
    env = make_countdown()
    env.reset(seed=0)
    game = as_game(env)
    assert isinstance(game, PettingZooGame)
    assert (dict(game.roles), game.phase, game.round, game.winner) == ({}, "", 0, None)
    assert game.simultaneous_agents() == ["player_0"]
    assert game.drain_events() == []
    observation, digest = game.observe_with_digest("player_0")
    assert observation["observation"] == 7
    assert digest == game.observation_digest("player_0") == observation_digest(env.observe("player_0"))


def test_a_plain_pettingzoo_env_runs_logs_and_replays_with_no_game_info(tmp_path) -> None:
    assert alignsim.envs.spec("countdown-v0").info is None
    spec = ScenarioSpec(
        id="countdown/random-v0", env_id="countdown-v0", env_kwargs={}, seating={"*": SeatSpec("random")}
    )
    results = run(spec, seed=1, episodes=2, out_dir=tmp_path)
    assert [r.summary.status for r in results] == ["completed", "completed"]
    for result in results:
        log = read_log(result.log_path)
        actions = log.of_type(ev.Action)
        assert actions and result.summary.steps == len(actions)
        assert sum(result.summary.rewards.values()) == 1.0
        assert log.end is not None and log.end.winner is None
        assert all(len(a.obs_digest) == 8 for a in actions)
        assert replay(result.log_path).steps == len(actions)


def test_seating_is_checked_against_the_roles_the_env_declares(tmp_path) -> None:
    """Roles come from GameInfo, not from the env's metadata (the countdown env has none there)."""
    if "rolecount-v0" not in alignsim.envs.ids():
        alignsim.envs.register(
            "rolecount-v0",
            f"{__name__}:make_countdown",
            info=GameInfo(family="countdown", roles=("starter", "responder")),
        )

    def scenario(key: str) -> ScenarioSpec:
        return ScenarioSpec(
            id="countdown/roles-v0", env_id="rolecount-v0", env_kwargs={}, seating={key: SeatSpec("random")}
        )

    validate_scenario(scenario("starter"))
    with pytest.raises(
        ConfigError, match=r"scenario\.seating\.banker: not a role of rolecount-v0 \(starter, responder\)"
    ):
        validate_scenario(scenario("banker"))
