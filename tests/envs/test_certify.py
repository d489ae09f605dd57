"""Every built-in env and policy passes the shipped certifier (:mod:`alignsim.testing`), and the
certifier fails, naming the step, on an env or policy that breaks the contract."""

from __future__ import annotations

import importlib
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from gymnasium import spaces
from pettingzoo.utils import wrappers

import alignsim.agents as agents
import alignsim.envs as envs
from alignsim.agents.policy import BasePolicy
from alignsim.analysis import Metric, families
from alignsim.analysis.families import FamilyAnalysis, FamilyResult, LeanEvent
from alignsim.envs import GameInfo
from alignsim.envs.base import AlignsimAECEnv
from alignsim.errors import ConfigError
from alignsim.record import Event, register_event
from alignsim.run import validate_scenario
from alignsim.scenarios import ScenarioSpec, SeatSpec
from alignsim.testing import CertificationError, check_env, check_policy, policy_envs
from tests.envs.test_contract import CountdownEnv

transcript_module = importlib.import_module("alignsim.analysis.transcript")  # the package re-exports the function

SMALL: dict[str, dict[str, Any]] = {"traitors-v0": {"n_players": 5, "n_traitors": 1}}
"""Env parameters that keep a check to a second or two."""


def _built_in(factory: Any) -> bool:
    """Whether an entry point (``"module:attr"``), class or ``functools.partial`` comes from alignsim
    (other test modules register their own envs and policies in the same process)."""
    factory = getattr(factory, "func", factory)
    where = factory if isinstance(factory, str) else getattr(factory, "__module__", "")
    return where.startswith("alignsim.")


BUILT_IN_ENVS = [e for e in envs.ids() if _built_in(envs.spec(e).entry_point)]
SCRIPTED_POLICIES = [
    name
    for name in agents.ids()
    if _built_in(agents.spec(name).factory) and not getattr(agents.spec(name).load(), "uses_llm", False)
]


def test_the_parametrisation_covers_every_built_in_env_and_policy() -> None:
    assert set(BUILT_IN_ENVS) >= {"traitors-v0", "self_evolution-v0", "threshold_game-v0", "principal_agent-v0"}
    assert {"random", "traitors/heuristic", "principal_agent/always_customer", "threshold/collective"} <= set(
        SCRIPTED_POLICIES
    )


@pytest.mark.parametrize("env_id", BUILT_IN_ENVS)
def test_every_built_in_env_passes_check_env(env_id: str, tmp_path: Path) -> None:
    report = check_env(env_id, env_kwargs=SMALL.get(env_id), tmp_dir=tmp_path)
    assert report.steps[:3] == ["make", "api_test", "seed_test"]
    assert report.steps[-4:] == ["read_log", "replay", "analyze", "viewer"]
    if envs.spec(env_id).parallel_entry_point:
        assert "parallel_seed_test" in report.steps
    assert set(envs.game_info(env_id).events) & set(report.event_types), "the random run wrote no game events"
    assert report.family_analysed  # every built-in family has its analysis plug-in


@pytest.mark.parametrize(
    ("name", "env_id"), [(name, env_id) for name in SCRIPTED_POLICIES for env_id in policy_envs(name)]
)
def test_every_scripted_policy_passes_check_policy_on_every_env_it_plays(
    name: str, env_id: str, tmp_path: Path
) -> None:
    report = check_policy(name, env_id=env_id, env_kwargs=SMALL.get(env_id), tmp_dir=tmp_path)
    assert report.decisions > 0 and report.invalid == 0


@pytest.mark.parametrize("env_id", ["traitors-v0", "self_evolution-v0", "threshold_game-v0", "principal_agent-v0"])
def test_the_llm_policy_passes_check_policy_on_every_family_with_a_scripted_model(env_id: str, tmp_path: Path) -> None:
    assert env_id in policy_envs("llm")
    report = check_policy(
        "llm", env_id=env_id, env_kwargs=SMALL.get(env_id), policy_kwargs={"model": "mock/scripted"}, tmp_dir=tmp_path
    )
    assert report.decisions > 0
    assert 0.0 <= report.invalid_rate <= 1.0


# ------------------------------------------------------------------ the certifier can fail


class PlainCountdown(CountdownEnv):
    """The plain PettingZoo env of ``tests/envs/test_contract.py`` (no alignsim base, no GameInfo),
    with observations of the dtype PettingZoo's ``api_test`` asks for."""

    def observe(self, agent: str) -> dict[str, Any]:
        observation = super().observe(agent)
        return {**observation, "observation": np.int64(observation["observation"])}


class GlobalRandomCountdown(PlainCountdown):
    """Shows a number drawn from the process-wide ``random`` module: not a function of its seed."""

    def __init__(self) -> None:
        super().__init__()
        self._observation = spaces.Dict({**self._observation.spaces, "noise": spaces.Box(0.0, 1.0, (1,))})

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        super().reset(seed, options)
        self.noise = np.array([random.random()], dtype=np.float32)

    def observe(self, agent: str) -> dict[str, Any]:
        return {**super().observe(agent), "noise": self.noise}


@register_event
class Tally(Event, tag="certify_tally"):
    """A running total, logged by :class:`TallyEnv`."""

    total: int


class LeanTally(LeanEvent, tag="certify_tally"):
    """What the tally analysis reads of a ``certify_tally`` event."""

    total: int


class TallyEnv(AlignsimAECEnv):
    """Two players add 1 or 2 to a total, four turns; the env logs a ``certify_tally`` event per turn."""

    metadata: ClassVar[dict[str, Any]] = {"name": "tally_v0", "render_modes": [], "is_parallelizable": False}

    def __init__(self) -> None:
        super().__init__()
        self.possible_agents = ["player_0", "player_1"]
        self._action_space = spaces.Discrete(2)
        self._observation_space = spaces.Dict({"observation": spaces.Discrete(9), "action_mask": spaces.MultiBinary(2)})

    @property
    def roles(self) -> Mapping[str, str]:
        return {"player_0": "first", "player_1": "second"}

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self._start_episode(seed)
        self.total = 0
        self.agent_selection = "player_0"

    def observe(self, agent: str) -> dict[str, Any]:
        return {"observation": np.int64(self.total), "action_mask": np.ones(2, dtype=np.int8)}

    def _act(self, agent: str, action: Any) -> None:
        self._cumulative_rewards[agent] = 0.0
        self.total += int(action) + 1
        self._step_count += 1
        self._log.append(Tally(total=self.total, step=self._step_count, visible_to=tuple(self.agents)))
        if self._step_count >= 4:
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = "player_1" if agent == "player_0" else "player_0"
        self._accumulate_rewards()


def make_tally() -> Any:
    return wrappers.OrderEnforcingWrapper(TallyEnv())


def make_plain_countdown() -> Any:
    return wrappers.OrderEnforcingWrapper(PlainCountdown())


def make_random_countdown() -> Any:
    return wrappers.OrderEnforcingWrapper(GlobalRandomCountdown())


class TakeTwo(BasePolicy):
    """Always takes two from the countdown pile, even when one is left (masked out)."""

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> int:
        return 1


@pytest.fixture(scope="module", autouse=True)
def test_games() -> None:
    declared = GameInfo(family="tally", roles=("first", "second"), events=("certify_tally",), events_module=__name__)
    for env_id, entry, info in (
        ("plain_countdown-v0", f"{__name__}:make_plain_countdown", None),
        ("random_countdown-v0", f"{__name__}:make_random_countdown", None),
        ("tally-v0", f"{__name__}:make_tally", declared),
        ("tally_undeclared-v0", f"{__name__}:make_tally", GameInfo(family="tally", roles=("first", "second"))),
        ("tally_no_roles-v0", f"{__name__}:make_tally", GameInfo(family="tally", roles=("north", "south"))),
    ):
        if env_id not in envs.ids():
            envs.register(env_id, entry, info=info)
    if "test/take_two" not in agents.ids():
        agents.register("test/take_two", TakeTwo)


def test_a_plain_pettingzoo_env_without_game_info_and_a_game_with_its_own_events_pass(tmp_path: Path) -> None:
    plain = check_env("plain_countdown-v0", tmp_dir=tmp_path)
    assert plain.info.family == "plain_countdown" and "parallel_api_test" not in plain.steps
    tally = check_env("tally-v0", tmp_dir=tmp_path)
    assert tally.event_types == ["certify_tally"] and not tally.family_analysed  # neutral tables only
    assert check_policy("test/take_two", env_id="tally-v0", tmp_dir=tmp_path).roles == ["first", "second"]


def test_an_env_drawing_from_the_global_random_state_fails_the_seed_test(tmp_path: Path) -> None:
    with pytest.raises(CertificationError, match=r"check_env\(random_countdown-v0\): step 'seed_test' failed"):
        check_env("random_countdown-v0", tmp_dir=tmp_path)


def test_an_event_type_missing_from_game_info_fails_read_log(tmp_path: Path) -> None:
    with pytest.raises(
        CertificationError, match=r"step 'read_log' failed: .*'certify_tally' events but its GameInfo.events"
    ):
        check_env("tally_undeclared-v0", tmp_dir=tmp_path)


def test_roles_outside_the_declared_vocabulary_fail_make(tmp_path: Path) -> None:
    with pytest.raises(CertificationError, match=r"step 'make' failed: roles \['first', 'second'\] are not among"):
        check_env("tally_no_roles-v0", tmp_dir=tmp_path)


def test_a_transcript_that_shows_private_events_fails_the_viewer_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaky = transcript_module.transcript
    monkeypatch.setattr(transcript_module, "transcript", lambda log, **kw: leaky(log, private=True))
    with pytest.raises(CertificationError, match=r"step 'viewer' failed: a private event .* public transcript"):
        check_env("tally-v0", tmp_dir=tmp_path)


def test_a_policy_playing_masked_out_actions_fails_the_legal_step(tmp_path: Path) -> None:
    with pytest.raises(
        CertificationError,
        match=r"check_policy\(test/take_two\) as \*: step 'legal' failed: \d+ action\(s\) its observation's "
        r"action_mask forbids; first: .* player_\d action=1",
    ):
        check_policy("test/take_two", env_id="plain_countdown-v0", tmp_dir=tmp_path)


def test_a_policy_is_only_checked_on_an_env_it_plays(tmp_path: Path) -> None:
    with pytest.raises(CertificationError, match=r"step 'resolve' failed: it does not play plain_countdown-v0"):
        check_policy("traitors/heuristic", env_id="plain_countdown-v0", tmp_dir=tmp_path)


class TallyAnalysis(FamilyAnalysis):
    """Counts ``certify_tally`` events per episode."""

    family = "tally"
    events = (LeanTally,)
    metrics = (Metric("tally_marks", "Tally marks per game", "tally", "certify_tally events / episodes"),)

    def collect(self, path: Path, header: Any, events: Any) -> dict[str, list[Any]]:
        return {"marks": [[header.episode_id] for e in events if isinstance(e, LeanTally)]}

    def analyze(self, run: Any) -> FamilyResult:
        marks = len([row for row in run.rows.get("marks", []) if row[0] in set(run.episodes["episode_id"])])
        table = pd.DataFrame([{"metric": "tally_marks", "estimate": marks / max(len(run.episodes), 1)}])
        return FamilyResult(self.family, episodes=len(run.episodes), tables={"tally_marks": table}, data=table)


class SilentTallyAnalysis(TallyAnalysis):
    """Leaves its metric out of the report's definitions."""

    def definitions(self) -> list[dict[str, str]]:
        return []


def test_a_family_plug_in_is_checked_for_its_result_and_its_metric_definitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(families.REGISTRY._entries, "tally", TallyAnalysis())
    assert check_env("tally-v0", tmp_dir=tmp_path).family_analysed
    monkeypatch.setitem(families.REGISTRY._entries, "tally", SilentTallyAnalysis())
    with pytest.raises(CertificationError, match=r"step 'analyze' failed: .* lacks the definitions of the 'tally'"):
        check_env("tally-v0", tmp_dir=tmp_path)


@pytest.mark.parametrize(
    ("policy", "env_id"), [("self_evolution/opportunist", "threshold_game-v0"), ("threshold/collective", "traitors-v0")]
)
def test_a_scripted_baseline_is_refused_before_any_work_in_an_env_it_does_not_play(policy: str, env_id: str) -> None:
    """The baselines are registered as ``functools.partial`` of their class, and ``self_evolution``
    is both an env name and the family of ``threshold_game-v0``: neither may let a policy into an
    env whose observations it cannot read (the single-agent baseline crashed on the threshold
    game's missing ``cue`` mid-run)."""
    scenario = ScenarioSpec(id="check/wrong-seat-v0", env_id=env_id, env_kwargs={}, seating={"*": SeatSpec(policy)})
    with pytest.raises(ConfigError, match=rf"scenario\.seating\.\*\.policy: policy '{policy}' plays .*, not "):
        validate_scenario(scenario)
    assert env_id not in policy_envs(policy)
