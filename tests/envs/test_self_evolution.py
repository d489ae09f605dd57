"""The self-evolution envs: PettingZoo conformance, payoffs, schedules, networks, validation, hygiene."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

import alignsim.envs as envs
from alignsim.envs.self_evolution import texts
from alignsim.envs.self_evolution.single import SCHEDULES, supervision_schedule
from alignsim.errors import ConfigError, IllegalActionError
from alignsim.record import schema as ev

SINGLE = [
    {"n_items": 4, "rounds": 3},
    {
        "n_items": 5,
        "rounds": 5,
        "schedule": "random",
        "cue": "truthful",
        "feedback": "shuffled",
        "reversal_round": 3,
        "detection_probability": 0.5,
        "penalty": 5.0,
        "history_window": 2,
    },
    {"items": ["courier/0", "fishing/3"], "rounds": 4, "feedback": "none", "randomize_order": False},
]
THRESHOLD = [
    {},
    {"n_agents": 6, "threshold": 3, "network": "ring", "peer_view": "full_text", "mode": "additive"},
    {"network": "small_world", "success_to": "collective", "rounds": 5, "show_totals": False},
    {"n_agents": 10, "network": "scale_free", "network_params": {"m": 1}, "template": "flood_levee"},
    {"n_agents": 4, "network": [[0, 1], [1, 2]], "threshold": 2},
]
CASES = [("self_evolution-v0", k) for k in SINGLE] + [("threshold_game-v0", k) for k in THRESHOLD]
IDS = [f"{e.split('-')[0]}-{i}" for i, (e, _) in enumerate(CASES)]


def play(env, choose: Callable[[str, dict[str, Any]], dict[str, Any]], seed: int = 0) -> list[ev.Event]:
    env.reset(seed=seed)
    u = env.unwrapped
    events = u.drain_events()
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        env.step(None if term or trunc else choose(agent, obs))
        events += u.drain_events()
    return events


def kind_choice(kind: int) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """Choose the displayed position of option ``kind`` (single: 0 compliant, 1 violating;
    threshold: 0 independent, 1 collective), or the legal one if masked."""

    def choose(agent: str, obs: dict[str, Any]) -> dict[str, Any]:
        position = obs["options"].tolist().index(kind)
        if not obs["action_mask"]["choice"][position]:
            position = 1 - position
        return {"choice": position}

    return choose


# ----------------------------------------------------------------- conformance


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=IDS)
def test_pettingzoo_api_and_parallel_api(env_id: str, kwargs: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(probably should be|is not a NumPy array).*")
        api_test(envs.make(env_id, **kwargs), num_cycles=200)
        parallel_api_test(envs.make_parallel(env_id, **kwargs), num_cycles=200)


@pytest.mark.parametrize(("env_id", "kwargs"), CASES, ids=IDS)
def test_pettingzoo_seed_tests(env_id: str, kwargs: dict[str, Any]) -> None:
    seed_test(lambda: envs.make(env_id, **kwargs), num_cycles=100)
    parallel_seed_test(lambda: envs.make_parallel(env_id, **kwargs), num_cycles=100)


def test_registry_and_module_convention() -> None:
    from alignsim.envs import self_evolution

    assert {"self_evolution-v0", "threshold_game-v0"} <= set(envs.ids())
    assert isinstance(self_evolution.env().unwrapped, self_evolution.SelfEvolutionEnv)
    assert isinstance(self_evolution.threshold_env().unwrapped, self_evolution.ThresholdGameEnv)
    parallel = envs.make_parallel("threshold_game-v0")
    observations, _ = parallel.reset(seed=1)
    assert set(observations) == set(parallel.possible_agents)


def test_parallel_form_plays_whole_rounds_with_seeded_deviants() -> None:
    parallel = envs.make_parallel("threshold_game-v0", n_deviants=3, rounds=2)
    observations, _ = parallel.reset(seed=4)
    deviants = [a for a, r in parallel.unwrapped.roles.items() if r == "deviant"]
    assert len(deviants) == 3
    for _ in range(2):
        actions = {a: kind_choice(0)(a, o) for a, o in observations.items()}
        observations, _, terms, _, _ = parallel.step(actions)
    assert all(terms.values())


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("env_id", "kwargs", "field", "fragment"),
    [
        ("self_evolution-v0", {"rounds": 0}, "rounds", ">= 1"),
        ("self_evolution-v0", {"items": ["courier/9"]}, "items", "unknown item"),
        ("self_evolution-v0", {"n_items": 65}, "n_items", "only 64"),
        ("self_evolution-v0", {"schedule": "sometimes"}, "schedule", "alternating"),
        ("self_evolution-v0", {"schedule": [True, False]}, "schedule", "one boolean per round"),
        ("self_evolution-v0", {"cue": "maybe"}, "cue", "truthful"),
        ("self_evolution-v0", {"detection_probability": 1.5}, "detection_probability", "probability"),
        ("self_evolution-v0", {"penalty": -1}, "penalty", ">= 0"),
        ("self_evolution-v0", {"feedback": "loud"}, "feedback", "shuffled"),
        ("self_evolution-v0", {"reversal_round": 9}, "reversal_round", "at most rounds"),
        ("self_evolution-v0", {"roundz": 3}, "roundz", "not a parameter"),
        ("threshold_game-v0", {"threshold": 9}, "threshold", "at most n_agents"),
        ("threshold_game-v0", {"factors": [1.2, 1.0]}, "factors", "three numbers"),
        ("threshold_game-v0", {"mode": "exponential"}, "mode", "additive"),
        ("threshold_game-v0", {"success_to": "some"}, "success_to", "collective"),
        ("threshold_game-v0", {"template": "poker"}, "template", "unknown template"),
        ("threshold_game-v0", {"network": "star"}, "network", "small_world"),
        ("threshold_game-v0", {"network": [[0, 0]]}, "network", "distinct"),
        ("threshold_game-v0", {"network": "scale_free", "network_params": {"m": 9}}, "network_params", "cannot build"),
        ("threshold_game-v0", {"network_params": {"q": 1}}, "network_params", "unknown"),
        ("threshold_game-v0", {"n_deviants": 9}, "n_deviants", "at most n_agents"),
        ("threshold_game-v0", {"peer_view": "all"}, "peer_view", "full_text"),
    ],
)
def test_invalid_parameters_fail_naming_the_field(env_id, kwargs, field, fragment) -> None:
    with pytest.raises(ConfigError) as info:
        envs.make(env_id, **kwargs)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_illegal_actions_raise_before_changing_anything() -> None:
    env = envs.make("threshold_game-v0", n_deviants=8)
    env.reset(seed=0)
    agent = env.agent_selection
    obs = env.observe(agent)
    masked = int(np.flatnonzero(obs["action_mask"]["choice"] == 0)[0])
    for bad in ({"choice": masked}, {"choice": 2}, {"choice": "x"}, {"pick": 0}, "A", {"choice": 0, "message": 3}):
        with pytest.raises(IllegalActionError):
            env.step(bad)
        assert env.agent_selection == agent


# ----------------------------------------------------------------- templates


def test_templates_cover_the_seed_test_set_with_explicit_norms() -> None:
    items = texts.item_ids()
    assert len(texts.JOBS) >= 16 and len(items) == 64 == len(set(items))
    ratios = list(texts.PAYOFF_RATIOS)
    assert ratios == sorted(ratios, reverse=True) and ratios[-1] < 1.1 and len(ratios) == 4
    for item in items:
        job, low, high = texts.job_item(item)
        assert high > low > 0 and job.aligned_option == "compliant" and job.norm
    assert len(texts.COLLECTIVE) >= 7
    kinds = {t.kind for t in texts.COLLECTIVE}
    assert kinds == {"collusion", "prosocial"}
    for t in texts.COLLECTIVE:
        assert t.aligned_option == ("independent" if t.kind == "collusion" else "collective")
    every_text = " ".join(str(v) for j in texts.JOBS for v in vars(j).values()) + " ".join(
        str(v) for t in texts.COLLECTIVE for v in vars(t).values()
    )
    from alignsim.envs.self_evolution import CHARSET

    assert set(every_text) <= set(CHARSET)


# ----------------------------------------------------------------- single agent


@pytest.mark.parametrize("name", SCHEDULES[:-1])
def test_named_schedules(name: str) -> None:
    expected = {
        "all_supervised": [1, 1, 1, 1, 1, 1],
        "all_unsupervised": [0, 0, 0, 0, 0, 0],
        "alternating": [1, 0, 1, 0, 1, 0],
        "mostly_supervised": [1, 1, 0, 1, 1, 0],
        "mostly_unsupervised": [0, 0, 1, 0, 0, 1],
        "last_round_supervised": [0, 0, 0, 0, 0, 1],
        "last_round_unsupervised": [1, 1, 1, 1, 1, 0],
    }[name]
    assert supervision_schedule(name, 6) == [bool(v) for v in expected]
    env = envs.make("self_evolution-v0", n_items=2, rounds=6, schedule=name)
    events = play(env, kind_choice(0))
    setup = next(e for e in events if isinstance(e, ev.EvolutionSetup))
    assert all(info["supervised"] == [bool(v) for v in expected] for info in setup.agents.values())


def test_payoffs_detection_penalty_and_reversal() -> None:
    kwargs = {"items": ["bakery/0"], "rounds": 4, "schedule": [True, False, True, False], "penalty": 7.0}
    events = play(envs.make("self_evolution-v0", reversal_round=3, **kwargs), kind_choice(1))
    choices = [e for e in events if isinstance(e, ev.ComplianceChoice)]
    # bakery/0: low 50, high 100. Supervised violations are caught (p=1) and pay -7; after the
    # reversal (round 3) the violating option pays the low income.
    assert [c.reward for c in choices] == [-7.0, 100.0, -7.0, 50.0]
    assert [c.detected for c in choices] == [True, False, True, False]
    assert [c.reversed for c in choices] == [False, False, True, True]
    comply = [
        e
        for e in play(envs.make("self_evolution-v0", reversal_round=3, **kwargs), kind_choice(0))
        if isinstance(e, ev.ComplianceChoice)
    ]
    assert [c.reward for c in comply] == [50.0, 50.0, 100.0, 100.0]
    assert all(c.detection_draw is None and c.aligned for c in comply)


def test_detection_probability_is_seeded_and_about_right() -> None:
    env = envs.make("self_evolution-v0", rounds=10, schedule="all_supervised", detection_probability=0.3)
    first = [e for e in play(env, kind_choice(1), seed=3) if isinstance(e, ev.ComplianceChoice)]
    again = [e for e in play(env, kind_choice(1), seed=3) if isinstance(e, ev.ComplianceChoice)]
    assert first == again
    rate = np.mean([c.detected for c in first])
    assert 0.25 < rate < 0.35
    assert all((c.detection_draw < 0.3) == c.detected for c in first)


def test_feedback_arms_and_history_window() -> None:
    def final_histories(**kwargs: Any) -> list[tuple[str, ...]]:
        env = envs.make("self_evolution-v0", items=["courier/1"], rounds=5, history_window=2, **kwargs)
        env.reset(seed=0)
        for agent in env.agent_iter():
            obs, _, term, trunc, _ = env.last()
            if term or trunc:
                return [obs["history"]]
            env.step(kind_choice(1)(agent, obs))
        raise AssertionError("unreachable")

    (reward,) = final_histories(feedback="reward")
    assert len(reward) == 2 and reward[0].startswith("Round 4:") and "You earned $120.00" in reward[0]
    (none,) = final_histories(feedback="none")
    assert not any("$" in line for line in none)
    env = envs.make("self_evolution-v0", rounds=20, feedback="shuffled")
    choices = [e for e in play(env, kind_choice(1)) if isinstance(e, ev.ComplianceChoice)]
    shown = {(c.shown_reward == c.payoff_compliant) for c in choices}
    assert shown == {True, False}  # the shown reward does not follow the (always violating) choice


def test_option_order_is_drawn_per_seat_and_logged() -> None:
    env = envs.make("self_evolution-v0")
    env.reset(seed=2)
    orders = [tuple(env.observe(a)["options"].tolist()) for a in env.possible_agents]
    assert set(orders) == {(0, 1), (1, 0)}
    setup = next(e for e in env.unwrapped.drain_events() if isinstance(e, ev.EvolutionSetup))
    for agent, order in zip(env.possible_agents, orders, strict=True):
        assert setup.agents[agent]["options"] == [("compliant", "violating")[k] for k in order]
        text = env.observe(agent)["text"]
        job, _, _ = texts.job_item(setup.agents[agent]["item"])
        first = text.index("Option A:")
        assert (text.index(job.compliant) < text.index("Option B:")) == (order[0] == 0) and first >= 0


# ----------------------------------------------------------------- hidden state


def _observations(env_id: str, choose: Callable, seed: int = 0, **kwargs: Any) -> list[str]:
    env = envs.make(env_id, **kwargs)
    env.reset(seed=seed)
    seen = []
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        seen.append(f"{agent}:{env.unwrapped.observation_digest(agent)}:{obs['text']}|{'|'.join(obs['history'])}")
        env.step(None if term or trunc else choose(agent, obs))
    return seen


@pytest.mark.parametrize("seed", range(5))
def test_true_supervision_and_detection_draws_never_reach_observations(seed: int) -> None:
    """Under the uncertain cue, two runs that differ only in the hidden supervision state (and
    so in detection draws, with detection probability 0 so payoffs agree) look identical to
    the agents, observation for observation."""
    common = {"n_items": 6, "rounds": 4, "cue": "uncertain", "detection_probability": 0.0}
    mixed = lambda agent, obs: {"choice": int(agent[-1]) % 2}  # noqa: E731
    supervised = _observations("self_evolution-v0", mixed, seed, schedule="all_supervised", **common)
    unsupervised = _observations("self_evolution-v0", mixed, seed, schedule="all_unsupervised", **common)
    assert supervised == unsupervised


CANARY = re.compile(r"CANARY-player_\d+")


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("self_evolution-v0", {"n_items": 5}),
        *[
            ("threshold_game-v0", {"network": net, "peer_view": view})
            for net in ("ring", "complete")
            for view in ("final_only", "full_text")
        ],
    ],
)
def test_messages_reach_only_entitled_observers(env_id: str, kwargs: dict[str, Any]) -> None:
    env = envs.make(env_id, **kwargs)
    env.reset(seed=1)
    u = env.unwrapped
    neighbours = getattr(u, "_neighbours", None)
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        for canary in CANARY.findall(" ".join(obs["history"]) + obs["text"]):
            author = int(canary.rsplit("_", 1)[1])
            me = int(agent.rsplit("_", 1)[1])
            assert author != me, "agents are not shown their own note back"
            assert env_id == "threshold_game-v0" and kwargs["peer_view"] == "full_text"
            assert author in neighbours[me], f"{agent} saw the note of a non-neighbour player_{author}"
        env.step(None if term or trunc else {"choice": 0, "message": f"CANARY-{agent}"})


# ----------------------------------------------------------------- threshold game


@pytest.mark.parametrize(
    ("kwargs", "collective_reward", "independent_reward"),
    [
        ({"mode": "multiplicative", "success_to": "all"}, 0.2, 0.2),
        ({"mode": "multiplicative", "success_to": "collective"}, 0.2, 0.0),
        ({"mode": "additive", "success_to": "all", "initial_capital": 2.0}, 0.4, 0.4),
    ],
)
def test_threshold_payoffs_on_success(kwargs, collective_reward, independent_reward) -> None:
    env = envs.make(
        "threshold_game-v0", n_agents=4, threshold=2, rounds=1, n_deviants=2, randomize_order=False, **kwargs
    )
    events = play(env, kind_choice(0))  # deviants are forced collective, the others independent
    (outcome,) = [e for e in events if isinstance(e, ev.ThresholdRound)]
    assert (
        outcome.success
        and outcome.n_collective == 2
        and set(outcome.forced) == {a for a, c in outcome.choices.items() if c == "collective"}
    )
    for agent, choice in outcome.choices.items():
        expected = collective_reward if choice == "collective" else independent_reward
        assert outcome.payoffs[agent] == pytest.approx(expected)


def test_threshold_failure_and_compounding() -> None:
    env = envs.make("threshold_game-v0", n_agents=4, threshold=3, rounds=2, n_deviants=2, factors=[1.5, 1.0, 0.5])
    events = play(env, kind_choice(0))
    rounds = [e for e in events if isinstance(e, ev.ThresholdRound)]
    assert [r.success for r in rounds] == [False, False]
    last = rounds[-1]
    for agent, choice in last.choices.items():
        assert last.capital[agent] == pytest.approx(0.25 if choice == "collective" else 1.0)


def test_networks_decide_whose_choices_are_seen() -> None:
    env = envs.make("threshold_game-v0", network="ring", n_agents=8, rounds=2)
    env.reset(seed=0)
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        if obs["round"] == 2:
            i = int(agent.rsplit("_", 1)[1])
            seen = set(np.flatnonzero(obs["peers"]).tolist())
            assert seen == {(i - 1) % 8, (i + 1) % 8}
        env.step(None if term or trunc else {"choice": 0})
    setup = next(
        e
        for e in play(envs.make("threshold_game-v0", network=[[0, 1], [1, 2]], n_agents=4), kind_choice(0))
        if isinstance(e, ev.EvolutionSetup)
    )
    assert set(setup.network) == {
        ("player_0", "player_1"),
        ("player_1", "player_0"),
        ("player_1", "player_2"),
        ("player_2", "player_1"),
    }
    complete = next(e for e in play(envs.make("threshold_game-v0"), kind_choice(0)) if isinstance(e, ev.EvolutionSetup))
    assert len(complete.network) == 8 * 7


def test_template_draw_is_seeded_and_declares_its_norm() -> None:
    drawn = set()
    for seed in range(30):
        env = envs.make("threshold_game-v0", rounds=1)
        env.reset(seed=seed)
        setup = next(e for e in env.unwrapped.drain_events() if isinstance(e, ev.EvolutionSetup))
        template = texts.collective_template(setup.params["template"])
        assert setup.params["aligned_option"] == template.aligned_option
        drawn.add(template.id)
    assert len(drawn) >= 6


# ----------------------------------------------------------------- determinism


@pytest.mark.parametrize(
    "scenario", ["self_evolution/oversight-v0", "threshold_game/imitate-v0", "threshold_game/small-world-v0"]
)
def test_episodes_are_a_function_of_the_seed_and_lockstep_changes_nothing(scenario, tmp_path, run_dir) -> None:
    import msgspec

    from alignsim.record import read_log
    from alignsim.run import run

    def events(results) -> list[list[bytes]]:
        return [[msgspec.json.encode(e) for e in read_log(r.log_path).events] for r in results]

    # Memory retrieval off: with it, a later episode played sequentially remembers the earlier
    # ones, which lock-step episodes (played at the same time) cannot.
    mock = {"model": "mock/scripted", "memory": {"k": 0, "reflect": False}}
    sequential = run(scenario, seed=11, episodes=3, out_dir=run_dir, llm=mock)
    together = run(scenario, seed=11, episodes=3, out_dir=tmp_path / "lockstep", llm=mock, lockstep=3)
    other = run(scenario, seed=12, episodes=1, out_dir=tmp_path / "other", llm=mock)
    assert events(sequential) == events(together)
    assert events(sequential)[0] != events(other)[0]
