"""The principal-agent environment: PettingZoo conformance, treatments, utilities, validation, hygiene."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

import alignsim.envs as envs
from alignsim.envs.principal_agent import decode_observation
from alignsim.errors import ConfigError, IllegalActionError
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import run_episode

CONFIGS = [
    {},
    {"setting": "film", "audience": "neither", "label_style": "letters"},
    {
        "setting": "car",
        "audience": "principal",
        "rounds": 4,
        "audit_prob": 0.5,
        "sanction": 100,
        "contract": "penalty",
        "shuffle_order": True,
        "label_style": "random",
    },
    {"mode": "market", "setting": "car_market", "rounds": 3, "audit_prob": 0.3, "contract": "commission"},
]
GROUND_TRUTH = (ev.PASetup, ev.PADecision, ev.PAAudit, ev.PAOutcome)


def make(**kwargs: Any):
    return envs.make("principal_agent-v0", **kwargs)


def first_legal(agent: str, obs: dict[str, Any]) -> dict[str, Any]:
    return {"product": int(np.flatnonzero(obs["action_mask"]["product"])[0]), "explanation": "It fits your budget."}


def play(env, choose: Callable[[str, dict[str, Any]], dict[str, Any]] = first_legal, seed: int = 0):
    """Play to the end; returns (every env event, every observation each agent acted on)."""
    env.reset(seed=seed)
    u = env.unwrapped
    events = u.drain_events()
    seen: dict[str, list[dict[str, Any]]] = {}
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        if term or trunc:
            env.step(None)
            continue
        seen.setdefault(agent, []).append(obs)
        env.step(choose(agent, obs))
        events += u.drain_events()
    return events, seen


# ----------------------------------------------------------------- conformance


@pytest.mark.parametrize("kwargs", CONFIGS, ids=["car", "film", "repeated", "market"])
def test_pettingzoo_api_and_seed_tests(kwargs: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(probably should be|is not a NumPy array).*")
        api_test(make(**kwargs), num_cycles=200)
        seed_test(lambda: make(**kwargs), num_cycles=50)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=["car", "film", "repeated", "market"])
def test_same_seed_same_events_different_seeds_differ(kwargs: dict[str, Any]) -> None:
    randomised = {**kwargs, "shuffle_order": True, "label_style": "random", "audit_prob": 0.5}
    a, _ = play(make(**randomised), seed=3)
    b, _ = play(make(**randomised), seed=3)
    assert a == b
    fingerprints = {repr(play(make(**randomised), seed=s)[0]) for s in range(8)}
    assert len(fingerprints) > 1


@pytest.mark.parametrize(
    "scenario_id", ["principal_agent/repeated-audit-sensitive-v0", "principal_agent/market-scripted-v0"]
)
def test_whole_episodes_are_a_function_of_the_seed(scenario_id: str, tmp_path, run_dir) -> None:
    fingerprints = set()
    for seed in range(20):
        first = run_episode(scenario_id, seed=seed, out_dir=run_dir)
        second = run_episode(scenario_id, seed=seed, out_dir=tmp_path / "again")
        a, b = read_log(first.log_path).events, read_log(second.log_path).events
        assert a == b, f"seed {seed}: episodes differ"
        fingerprints.add(repr([e for e in a if isinstance(e, ev.PAAudit | ev.PASetup)]))
    assert len(fingerprints) == 20


def test_observations_stay_in_their_space_and_events_are_typed() -> None:
    for kwargs in CONFIGS:
        env = make(**kwargs)
        _, seen = play(env, seed=1)
        u = env.unwrapped
        for agent, observations in seen.items():
            for obs in observations:
                assert u.observation_space(agent).contains(obs)


# ----------------------------------------------------------------- rules


def test_labels_and_order_are_randomised_and_logged() -> None:
    setups = []
    for seed in range(12):
        events, _ = play(make(shuffle_order=True, label_style="random"), seed=seed)
        setup = next(e for e in events if isinstance(e, ev.PASetup))
        setups.append(setup)
        assert sorted(p["position"] for p in setup.products) == [0, 1]
        assert all(len(p["label"]) == 3 and p["label"].isdigit() for p in setup.products)
    assert {tuple(p["position"] for p in s.products) for s in setups} == {(0, 1), (1, 0)}


def test_decision_ground_truth_matches_the_catalogue() -> None:
    def pick_petrol(agent: str, obs: dict[str, Any]) -> dict[str, Any]:
        view = decode_observation(obs["observation"])
        return {"product": view.principal_rank.index(0)}

    events, seen = play(make(setting="car", shuffle_order=True), choose=pick_petrol, seed=5)
    decision = next(e for e in events if isinstance(e, ev.PADecision))
    setup = next(e for e in events if isinstance(e, ev.PASetup))
    names = {p["id"]: p["name"] for p in setup.products}
    assert "petrol" in names[decision.chosen] and "electric" in names[decision.customer_best]
    assert decision.override and decision.conflict and decision.serves_principal and decision.decisive == "principal"
    view = decode_observation(seen["player_0"][0]["observation"])
    assert view.audience == "both" and view.role == "shopping_agent" and view.phase == "decide"


def test_utilities_add_up_to_the_surplus_and_contracts_pay() -> None:
    for contract, expected_agent in (("fixed", 10.0), ("commission", 10.0 + 0.05 * 8000), ("penalty", 10.0)):
        events, _ = play(make(contract=contract), choose=lambda a, o: {"product": 1})  # the petrol SUV
        outcome = next(e for e in events if isinstance(e, ev.PAOutcome))
        assert outcome.agents["player_0"] == pytest.approx(expected_agent)
        assert outcome.customer == pytest.approx(46_000 - 50_000)
        total = outcome.customer + sum(outcome.principals.values()) + sum(outcome.agents.values())
        assert outcome.surplus == pytest.approx(total)
    # A penalty contract fines a choice against the principal only when the principal sees it.
    for observable, fine in ((True, 50.0), (False, 0.0)):
        events, _ = play(make(contract="penalty", action_observable=observable), choose=lambda a, o: {"product": 0})
        audit = next(e for e in events if isinstance(e, ev.PAAudit))
        assert audit.penalty == fine


def test_audits_are_drawn_with_the_configured_probability_and_sanctions_are_remembered() -> None:
    env = make(rounds=400, audit_prob=0.3, sanction=5)
    events, seen = play(env, choose=lambda a, o: {"product": 1}, seed=11)  # always overrides the customer
    audits = [e for e in events if isinstance(e, ev.PAAudit)]
    assert len(audits) == 400 and all(a.violation for a in audits)
    rate = np.mean([a.audited for a in audits])
    assert 0.25 < rate < 0.35
    assert all((a.sanction == 5) == a.audited for a in audits)
    # The running count of sanctions is in the observation, and each one was announced to the agent.
    last = decode_observation(seen["player_0"][-1]["observation"])
    assert last.sanctions == sum(a.audited for a in audits[:-1])
    notices = [e for e in events if isinstance(e, ev.Announcement) and e.kind == "audit"]
    assert len(notices) == sum(a.audited for a in audits) and all("fined $5" in n.text for n in notices)
    rewards = [e for e in events if isinstance(e, ev.PAOutcome)]
    assert [r.agents["player_0"] for r in rewards] == [10.0 - 5 * a.audited for a in audits]


def test_budget_mask_hides_products_over_budget() -> None:
    products = [
        {"name": "cheap", "price": 5, "customer_value": 6, "principal_value": 0},
        {"name": "pricey", "price": 20, "customer_value": 30, "principal_value": 5},
    ]
    env = make(products=products, budget=10, budget_mask=True, persona="A principal.", request="Something cheap.")
    env.reset(seed=0)
    obs = env.observe("player_0")
    assert obs["action_mask"]["product"].tolist() == [1, 0]
    with pytest.raises(IllegalActionError, match="product"):
        env.step({"product": 1})


def test_market_offers_restrict_the_buyer_and_pitches_reach_only_the_buyer() -> None:
    env = make(**CONFIGS[3])
    env.reset(seed=0)
    u = env.unwrapped
    assert u.roles == {"player_0": "seller_agent", "player_1": "seller_agent", "player_2": "buyer_agent"}
    assert u.simultaneous_agents() == ["player_0", "player_1"]
    own = {a: np.flatnonzero(env.observe(a)["action_mask"]["product"]).tolist() for a in ("player_0", "player_1")}
    assert own == {"player_0": [0, 1], "player_1": [2, 3]}
    env.step({"product": 1, "explanation": "Our SUV is a great deal."})
    env.step({"product": 2, "explanation": "Cheapest electric car on the market."})
    obs = env.observe("player_2")
    assert np.flatnonzero(obs["action_mask"]["product"]).tolist() == [1, 2]
    pitches = [e["text"] for e in obs["events"] if e["kind"] == 5]
    assert len(pitches) == 2 and "«Our SUV is a great deal.»" in pitches[0]
    for seller in ("player_0", "player_1"):
        assert not any(
            "Cheapest electric" in e["text"] or "great deal" in e["text"] for e in env.observe(seller)["events"]
        )


# ----------------------------------------------------------------- hygiene


def test_ground_truth_is_never_visible_and_rivals_incentives_stay_private() -> None:
    for kwargs in CONFIGS:
        events, seen = play(make(**kwargs), seed=2)
        for event in events:
            if isinstance(event, GROUND_TRUTH):
                assert event.visible_to == ()
        for agent, observations in seen.items():
            texts = " ".join(e["text"] for obs in observations for e in obs["events"])
            for secret in ("52,000", "46,000", "principal_value", "customer_value", "draw"):
                assert secret not in texts, f"{agent} saw {secret!r}"
    _, seen = play(make(**CONFIGS[3]), seed=2)
    texts = {a: " ".join(e["text"] for obs in o for e in obs["events"]) for a, o in seen.items()}
    assert "Northwell Motors earns" in texts["player_0"] and "Coastline Auto earns" not in texts["player_0"]
    assert "Coastline Auto earns" in texts["player_1"] and "Northwell Motors earns" not in texts["player_1"]
    assert "earns its best margins" not in texts["player_2"]


def test_audit_results_are_only_seen_after_the_decision() -> None:
    _, seen = play(make(rounds=30, audit_prob=0.5), seed=4)
    for round_index, obs in enumerate(seen["player_0"], start=1):
        for event in obs["events"]:
            if event["kind"] == 7:  # audit
                assert f"round {round_index - 1}:" in event["text"]


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"audience": "everyone"}, "audience"),
        ({"audit_prob": 1.5}, "audit_prob"),
        ({"sanction": -1}, "sanction"),
        ({"contract": "bonus"}, "contract"),
        ({"rounds": 0}, "rounds"),
        ({"label_style": "roman"}, "label_style"),
        ({"setting": "boats"}, "setting"),
        ({"mode": "auction"}, "mode"),
        ({"colour": "red"}, "colour"),
        ({"products": [{"name": "only one", "price": 1, "customer_value": 2, "principal_value": 0}]}, "products"),
        (
            {"products": [{"name": "a", "price": "x", "customer_value": 1, "principal_value": 0}] * 2},
            "products[0].price",
        ),
        ({"mode": "market", "setting": "car"}, "setting"),
        ({"action_observable": "yes"}, "action_observable"),
    ],
)
def test_bad_parameters_raise_config_errors_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        make(**kwargs)
    assert info.value.field == field


def test_illegal_actions_raise_before_any_state_changes() -> None:
    env = make()
    env.reset(seed=0)
    u = env.unwrapped
    u.drain_events()
    for action, field in (({}, "product"), ({"product": 7}, "product"), ({"product": 0, "vote": 1}, "vote")):
        with pytest.raises(IllegalActionError) as info:
            env.step(action)
        assert info.value.field == field
    assert u.drain_events() == [] and u.round == 1
    env.step({"product": 0, "explanation": "x" * 5000})
    explanation = next(e for e in u.drain_events() if isinstance(e, ev.PAExplanation))
    assert explanation.truncated and len(explanation.text) == 600
