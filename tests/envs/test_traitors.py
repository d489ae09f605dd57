"""The Traitors environment: PettingZoo conformance, rules, masks, tie-breaks, validation."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

import alignsim.envs as envs
from alignsim.envs.traitors import TraitorsConfig, decode_observation
from alignsim.errors import ConfigError, IllegalActionError, UnknownIdError
from alignsim.record import schema as ev

CONFIGS = [
    {},
    {"n_players": 5, "n_traitors": 1, "belief_reports": True, "discussion_passes": 1},
    {"n_players": 7, "n_traitors": 2, "tie_break": "revote", "night_tie_break": "revote", "speaking_order": "random"},
    {
        "n_players": 4,
        "n_traitors": 1,
        "tie_break": "none",
        "allow_abstain": True,
        "allow_self_vote": True,
        "structured_claims": False,
        "post_banishment_comments": False,
        "meeting_passes": 0,
        "max_rounds": 2,
    },
    {"n_players": 15, "n_traitors": 4, "discussion_passes": 3, "belief_reports": True},
]


def make(**kwargs: Any):
    return envs.make("traitors-v0", **kwargs)


def play(env, choose: Callable[[str, dict[str, Any]], dict[str, Any]], seed: int = 0) -> list[ev.Event]:
    """Play to the end with ``choose``; returns every env event."""
    env.reset(seed=seed)
    u = env.unwrapped
    events = u.drain_events()
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        env.step(None if term or trunc else choose(agent, obs))
        events += u.drain_events()
    return events


def legal_targets(obs: dict[str, Any]) -> list[int]:
    mask = obs["action_mask"]["target"]
    return [j for j in np.flatnonzero(mask).tolist() if j < len(mask) - 1]


def first_legal(agent: str, obs: dict[str, Any]) -> dict[str, Any]:
    view = decode_observation(obs["observation"])
    action: dict[str, Any] = {}
    targets = legal_targets(obs)
    if targets and view.phase in ("day_vote", "night_vote"):
        action["target"] = targets[0]
    if view.phase == "belief":
        action["beliefs"] = [50 if part[1:].any() else 0 for part in obs["action_mask"]["beliefs"]]
    return action


# ----------------------------------------------------------------- conformance


@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_pettingzoo_api_test(kwargs: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        # api_test warns that Dict observations/actions are not Box/Discrete; that is by design.
        warnings.filterwarnings("ignore", message=".*(probably should be|is not a NumPy array).*")
        api_test(make(**kwargs), num_cycles=2000)


@pytest.mark.parametrize("kwargs", CONFIGS[:3], ids=["default", "mini", "revote"])
def test_pettingzoo_seed_test(kwargs: dict[str, Any]) -> None:
    seed_test(lambda: make(**kwargs), num_cycles=200)


def test_registry_and_module_convention() -> None:
    from alignsim.envs import traitors

    assert "traitors-v0" in envs.ids()
    assert envs.spec("traitors").id == "traitors-v0"  # unversioned resolves to newest
    assert isinstance(traitors.env().unwrapped, traitors.TraitorsEnv)
    with pytest.raises(UnknownIdError, match="traitors-v0"):
        envs.make("traitor-v9")
    with pytest.raises(Exception, match="no parallel form"):
        envs.make_parallel("traitors-v0")


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"n_players": 2, "n_traitors": 1}, "n_players", "at least 3"),
        ({"n_players": 10, "n_traitors": 5}, "n_traitors", "less than half"),
        ({"n_players": 10, "n_traitors": 0}, "n_traitors", "at least 1"),
        ({"tie_break": "coin"}, "tie_break", "'random', 'revote' or 'none'"),
        ({"n_traitorz": 3}, "n_traitorz", "not a parameter"),
        ({"forced_roles": {"player_12": "traitor"}}, "forced_roles", "unknown player"),
        ({"forced_roles": {"player_1": "villain"}}, "forced_roles", "'faithful' or 'traitor'"),
        (
            {"n_traitors": 1, "forced_roles": {"player_1": "traitor", "player_2": "traitor"}},
            "forced_roles",
            "forces 2 traitors",
        ),
        ({"n_players": "ten"}, "n_players", "must be an integer"),
        ({"personas": [{"age": 30}]}, "personas", "one persona per player"),
        ({"max_rounds": 0}, "max_rounds", "positive integer"),
    ],
)
def test_invalid_parameters_fail_on_construction_naming_the_field(kwargs, field, fragment) -> None:
    with pytest.raises(ConfigError) as info:
        make(**kwargs)
    assert info.value.field == field
    assert fragment in str(info.value)


# ----------------------------------------------------------------- roles and setup


def test_forced_roles_are_respected_and_the_rest_drawn_by_seed() -> None:
    env = make(forced_roles={"player_0": "traitor", "player_1": "faithful"})
    deals = set()
    for seed in range(30):
        env.reset(seed=seed)
        roles = env.unwrapped.roles
        assert roles["player_0"] == "traitor" and roles["player_1"] == "faithful"
        assert sum(r == "traitor" for r in roles.values()) == 3
        deals.add(tuple(sorted(a for a, r in roles.items() if r == "traitor")))
    assert len(deals) > 5


def test_traitors_know_each_other_and_faithful_know_only_themselves() -> None:
    env = make()
    env.reset(seed=4)
    roles = env.unwrapped.roles
    for agent in env.possible_agents:
        view = decode_observation(env.observe(agent)["observation"])
        for other, known in zip(env.possible_agents, view.known_roles, strict=True):
            if other == agent or (roles[agent] == "traitor" and roles[other] == "traitor"):
                assert known == roles[other]
            else:
                assert known == "unknown"


def test_rules_announced_match_the_active_protocol() -> None:
    env = make(tie_break="revote", revote_fallback="none", allow_abstain=True, n_players=8, n_traitors=2)
    env.reset(seed=0)
    rules = next(e for e in env.unwrapped.drain_events() if isinstance(e, ev.Announcement) and e.kind == "rules")
    assert "There are 8 players. 2 of them are traitors" in rules.text
    assert "revote among the tied players; if that is tied too, nobody is eliminated" in rules.text
    assert "You may abstain." in rules.text


def test_personas_are_seeded_and_configurable() -> None:
    env = make(n_players=3, n_traitors=1, personas=[{"age": 30, "occupation": "diver"}] * 3)
    env.reset(seed=0)
    personas = [e for e in env.unwrapped.drain_events() if isinstance(e, ev.Announcement) and e.kind == "persona"]
    assert len(personas) == 3 and "works as a diver" in personas[0].text
    a, b = make(), make()
    a.reset(seed=9)
    b.reset(seed=9)
    assert a.unwrapped.personas == b.unwrapped.personas


# ----------------------------------------------------------------- win checks


def test_win_check_runs_after_the_day_banishment_not_only_after_the_night() -> None:
    # 2 traitors among 5: banishing a faithful leaves 2 v 2, so the traitors win at once,
    # before any meeting or murder (the seed code only checked after the night).
    env = make(
        n_players=5, n_traitors=2, forced_roles={"player_0": "traitor", "player_1": "traitor"}, discussion_passes=1
    )

    def vote_player_4(agent, obs):
        view = decode_observation(obs["observation"])
        if view.phase == "day_vote":
            return {"target": 4 if agent != "player_4" else 3}
        return first_legal(agent, obs)

    events = play(env, vote_player_4)
    end = [e for e in events if isinstance(e, ev.GameEnd)]
    assert len(end) == 1 and end[0].winner == "traitors"
    banishment = next(e for e in events if isinstance(e, ev.Elimination))
    assert banishment.phase == "day_vote" and banishment.target == "player_4"
    assert end[0].round == 1 and end[0].step == banishment.step
    assert not any(e.phase in ("traitor_meeting", "night_vote") for e in events)
    assert env.unwrapped.winner == "traitors"


def test_faithful_win_as_soon_as_the_last_traitor_is_banished() -> None:
    env = make(n_players=5, n_traitors=1, forced_roles={"player_2": "traitor"}, discussion_passes=1)

    def vote_traitor(agent, obs):
        view = decode_observation(obs["observation"])
        if view.phase == "day_vote":
            return {"target": 2 if agent != "player_2" else 0}
        return first_legal(agent, obs)

    events = play(env, vote_traitor)
    end = next(e for e in events if isinstance(e, ev.GameEnd))
    assert end.winner == "faithful" and end.round == 1
    elim = next(e for e in events if isinstance(e, ev.Elimination))
    assert elim.target == "player_2" and elim.revealed_role == "traitor"


def test_rewards_go_to_whole_teams_including_eliminated_members() -> None:
    env = make(n_players=5, n_traitors=1, forced_roles={"player_2": "traitor"}, discussion_passes=1)
    env.reset(seed=0)
    rewards: dict[str, float] = {}
    for agent in env.agent_iter():
        obs, reward, term, trunc, _ = env.last()
        if term or trunc:
            rewards[agent] = reward
            env.step(None)
            continue
        view = decode_observation(obs["observation"])
        env.step({"target": 2 if agent != "player_2" else 0} if view.phase == "day_vote" else first_legal(agent, obs))
    assert rewards == {"player_0": 1.0, "player_1": 1.0, "player_2": -1.0, "player_3": 1.0, "player_4": 1.0}


def test_max_rounds_truncates_with_no_winner() -> None:
    # Nobody can die: the days abstain and the two traitors split their night votes, which
    # with night_tie_break="none" murders no one. So the game can only end at max_rounds.
    env = make(
        n_players=6,
        n_traitors=2,
        tie_break="none",
        night_tie_break="none",
        max_rounds=2,
        forced_roles={"player_0": "traitor", "player_1": "traitor"},
        allow_abstain=True,
    )

    def stall(agent, obs):
        view = decode_observation(obs["observation"])
        if view.phase == "day_vote":
            return {"target": 6}  # the abstain slot
        if view.phase == "night_vote":
            targets = legal_targets(obs)
            return {"target": targets[0] if agent == "player_0" else targets[-1]}
        return first_legal(agent, obs)

    env.reset(seed=0)
    u = env.unwrapped
    events = u.drain_events()
    final: dict[str, tuple[float, bool, bool]] = {}
    for agent in env.agent_iter():
        obs, reward, term, trunc, _ = env.last()
        if term or trunc:
            final[agent] = (reward, term, trunc)
        env.step(None if term or trunc else stall(agent, obs))
        events += u.drain_events()

    end = next(e for e in events if isinstance(e, ev.GameEnd))
    assert end.winner is None and u.winner is None
    assert end.reason == "no winner after 2 rounds"
    assert end.round == 2 and len(end.alive) == 6
    assert not any(isinstance(e, ev.Elimination) for e in events)
    results = [e for e in events if isinstance(e, ev.VoteResult)]
    assert [(r.vote, r.round, r.resolution) for r in results] == [
        ("day", 1, "no_votes"),
        ("night", 1, "none"),
        ("day", 2, "no_votes"),
        ("night", 2, "none"),
    ], "exactly max_rounds rounds are played"
    assert max(e.round for e in events) == 2
    # Every player ends truncated (not terminated) with reward 0: an undecided game.
    assert final == {a: (0.0, False, True) for a in env.possible_agents}


# ----------------------------------------------------------------- votes, masks, ties


@pytest.mark.parametrize("seed", range(6))
def test_vote_masks_exclude_dead_self_and_non_faithful_night_targets(seed: int) -> None:
    env = make(n_players=7, n_traitors=2)
    # Reusing one env across episodes must not carry masks over from an earlier deal.
    for earlier in range(seed):
        play(env, first_legal, seed=100 + earlier)
    env.reset(seed=seed)
    u = env.unwrapped
    roles = u.roles
    seen_phases = set()
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        if term or trunc:
            env.step(None)
            continue
        view = decode_observation(obs["observation"])
        targets = legal_targets(obs)
        alive = {f"player_{j}" for j, a in enumerate(view.alive) if a}
        assert agent in alive, "a dead player was selected to act"
        if view.phase == "day_vote":
            assert {f"player_{j}" for j in targets} == alive - {agent}
        if view.phase == "night_vote":
            assert roles[agent] == "traitor"
            assert {f"player_{j}" for j in targets} == {a for a in alive if roles[a] == "faithful"}
        seen_phases.add(view.phase)
        env.step(first_legal(agent, obs))
    assert {"day_vote", "night_vote", "discussion", "introduction"} <= seen_phases


def test_illegal_actions_raise_before_changing_anything() -> None:
    env = make(n_players=5, n_traitors=1, belief_reports=True, discussion_passes=1)
    env.reset(seed=0)
    u = env.unwrapped
    u.drain_events()
    agent = env.agent_selection
    bad_actions = [
        ("action", "vote"),
        ("target", {"target": 0}),  # no target is taken in the introduction
        ("beliefs", {"beliefs": [10] * 5}),
        ("claims", {"claims": [0, 0, 0, 0, 7]}),
        ("claims", {"claims": [1, 2]}),
        ("nonsense", {"nonsense": 1}),
        ("message", {"message": 42}),
    ]
    for field, action in bad_actions:
        with pytest.raises(IllegalActionError) as info:
            env.step(action)
        assert info.value.field == field and info.value.agent == agent
        assert env.agent_selection == agent and u.drain_events() == []
    # A vote for oneself or a dead player is refused in the day vote.
    while u.phase != "day_vote":
        env.step(first_legal(env.agent_selection, env.observe(env.agent_selection)))
    voter = env.agent_selection
    with pytest.raises(IllegalActionError, match="not legal"):
        env.step({"target": int(voter.split("_")[1])})
    with pytest.raises(IllegalActionError, match="message"):
        env.step({"target": legal_targets(env.observe(voter))[0], "message": "votes carry no speech"})


@pytest.mark.parametrize("rule", ["random", "revote", "none"])
def test_tie_break_rules(rule: str) -> None:
    # 6 players, 1 traitor (player_0). Day votes split 3-3 between player_1 and player_2.
    env = make(
        n_players=6,
        n_traitors=1,
        forced_roles={"player_0": "traitor"},
        tie_break=rule,
        revote_fallback="none",
        discussion_passes=1,
    )
    env.reset(seed=3)
    u = env.unwrapped
    events = u.drain_events()
    ballots = 0
    while u.round == 0 or (u.round == 1 and u.phase != "post_banishment" and env.agents and u.winner is None):
        agent = env.agent_selection
        obs = env.observe(agent)
        if u.phase == "day_vote":
            split = {"player_0": 1, "player_1": 2, "player_2": 1, "player_3": 1, "player_4": 2, "player_5": 2}
            env.step({"target": split[agent]})
        else:
            env.step(first_legal(agent, obs))
        new = u.drain_events()
        ballots += sum(isinstance(e, ev.VoteResult) for e in new)
        events += new
        if u.phase == "traitor_meeting":
            break
    results = [e for e in events if isinstance(e, ev.VoteResult) and e.vote == "day"]
    votes = [e for e in events if isinstance(e, ev.Vote) and e.vote == "day"]
    assert results[0].tied == ("player_1", "player_2")
    if rule == "random":
        assert results[0].resolution == "random" and results[0].selected in ("player_1", "player_2")
    elif rule == "none":
        assert results[0].resolution == "none" and results[0].selected is None
        assert not any(isinstance(e, ev.Elimination) for e in events)
        assert len(votes) == 6  # votes of a round with no elimination are still logged
    else:
        assert results[0].resolution == "revote" and results[0].selected is None
        assert [r.ballot for r in results] == [1, 2]
        assert len(votes) == 12 and {v.ballot for v in votes} == {1, 2}
        # the revote repeats the same split, and revote_fallback="none" eliminates nobody
        assert results[1].resolution == "none"


def test_revote_is_restricted_to_the_tied_candidates() -> None:
    env = make(n_players=6, n_traitors=1, forced_roles={"player_0": "traitor"}, tie_break="revote", discussion_passes=1)
    env.reset(seed=3)
    u = env.unwrapped
    split = {"player_0": 1, "player_1": 2, "player_2": 1, "player_3": 1, "player_4": 2, "player_5": 2}
    revote_called = False
    while not revote_called:
        agent = env.agent_selection
        env.step({"target": split[agent]} if u.phase == "day_vote" else first_legal(agent, env.observe(agent)))
        revote_called = any(isinstance(e, ev.VoteResult) and e.resolution == "revote" for e in u.drain_events())
    assert u.phase == "day_vote"
    for agent in u.simultaneous_agents():
        expected = {1, 2} - {int(agent.split("_")[1])}
        assert set(legal_targets(env.observe(agent))) == expected


def test_random_tie_break_is_seeded() -> None:
    outcomes = []
    for seed in (11, 11, 12, 13, 14, 15, 16, 17):
        env = make(n_players=6, n_traitors=1, forced_roles={"player_0": "traitor"}, discussion_passes=1)
        env.reset(seed=seed)
        u = env.unwrapped
        split = {"player_0": 1, "player_1": 2, "player_2": 1, "player_3": 1, "player_4": 2, "player_5": 2}
        while u.phase not in ("post_banishment", "game_over"):
            agent = env.agent_selection
            env.step({"target": split[agent]} if u.phase == "day_vote" else first_legal(agent, env.observe(agent)))
        banished = [e for e in u.drain_events() if isinstance(e, ev.Elimination)]
        outcomes.append(banished[0].target)
    assert outcomes[0] == outcomes[1]
    assert set(outcomes) == {"player_1", "player_2"}


# ----------------------------------------------------------------- speech, beliefs, text


def test_speech_splits_public_message_private_reasoning_and_claims() -> None:
    env = make(n_players=5, n_traitors=1)
    env.reset(seed=0)
    u = env.unwrapped
    u.drain_events()
    speaker = env.agent_selection
    env.step(
        {
            "message": "Hello all.",
            "reasoning": "SECRET PLAN",
            "claims": [2, 0, 0, 0, 1] if speaker != "player_0" else [1, 0, 0, 0, 2],
        }
    )
    events = u.drain_events()
    speech = next(e for e in events if isinstance(e, ev.Speech))
    reasoning = next(e for e in events if isinstance(e, ev.Reasoning))
    assert speech.message == "Hello all." and speech.channel == "public"
    assert set(speech.visible_to) == set(env.possible_agents)
    assert reasoning.visible_to == (speaker,) and reasoning.text == "SECRET PLAN"
    assert {(c.subject, c.role) for c in speech.claims} in (
        {("player_0", "traitor"), ("player_4", "faithful")},
        {("player_0", "faithful"), ("player_4", "traitor")},
    )
    nxt = env.agent_selection
    texts = [e["text"] for e in env.observe(nxt)["events"]]
    assert any("Hello all." in t for t in texts) and not any("SECRET PLAN" in t for t in texts)


def test_text_is_sanitised_and_cut_to_the_limit() -> None:
    env = make(n_players=5, n_traitors=1, max_message_chars=20)
    env.reset(seed=0)
    u = env.unwrapped
    u.drain_events()
    env.step({"message": "naïve “quotes” 漢字 and then a very long tail"})
    speech = next(e for e in u.drain_events() if isinstance(e, ev.Speech))
    assert speech.truncated and len(speech.message) == 20
    assert speech.message.startswith("naïve “quotes” \ufffd\ufffd")
    obs = env.observe(env.agent_selection)
    assert env.observation_space(env.agent_selection).contains(obs)


def test_belief_reports_are_required_private_and_logged() -> None:
    env = make(n_players=5, n_traitors=1, belief_reports=True, discussion_passes=1)
    env.reset(seed=0)
    u = env.unwrapped
    while u.phase != "belief":
        env.step(first_legal(env.agent_selection, env.observe(env.agent_selection)))
    u.drain_events()
    agent = env.agent_selection
    with pytest.raises(IllegalActionError, match="belief report is required"):
        env.step({})
    i = int(agent.split("_")[1])
    beliefs = [0 if j == i else 25 for j in range(5)]
    env.step({"beliefs": beliefs})
    belief = next(e for e in u.drain_events() if isinstance(e, ev.Belief))
    assert belief.visible_to == (agent,)
    assert belief.probs == {f"player_{j}": 0.25 for j in range(5) if j != i}


def test_sealed_phases_expose_every_pending_voter() -> None:
    env = make(n_players=6, n_traitors=1, discussion_passes=1)
    env.reset(seed=0)
    u = env.unwrapped
    while u.phase != "day_vote":
        assert u.simultaneous_agents() == [env.agent_selection]
        env.step(first_legal(env.agent_selection, env.observe(env.agent_selection)))
    pending = u.simultaneous_agents()
    assert pending == u.alive
    before = {a: u.observation_digest(a) for a in pending}
    for agent in pending:
        assert u.observation_digest(agent) == before[agent], "a sealed vote changed another voter's observation"
        assert legal_targets(env.observe(agent))
        env.step({"target": legal_targets(env.observe(agent))[0]})


def test_config_dataclass_round_trips() -> None:
    cfg = TraitorsConfig(n_players=8, n_traitors=2, tie_break="revote")
    assert TraitorsConfig.from_kwargs(**cfg.to_dict()) == cfg


# ----------------------------------------------------------------- texts and errors (mutation testing)


def test_night_votes_are_labelled_as_night_votes_in_what_the_traitors_see() -> None:
    from alignsim.envs.traitors import EVENT_KINDS

    # Two traitors split their night votes: a tie, one revote, still tied, nobody murdered.
    env = make(
        n_players=6,
        n_traitors=2,
        night_tie_break="revote",
        revote_fallback="none",
        max_rounds=1,
        forced_roles={"player_0": "traitor", "player_1": "traitor"},
        allow_abstain=True,
    )
    env.reset(seed=0)
    seen: list[dict[str, Any]] = []
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        if agent == "player_0":
            seen += obs["events"]
        if term or trunc:
            env.step(None)
            continue
        view = decode_observation(obs["observation"])
        if view.phase == "night_vote":
            targets = legal_targets(obs)
            env.step({"target": targets[0] if agent == "player_0" else targets[-1]})
        else:
            env.step({"target": 6} if view.phase == "day_vote" else first_legal(agent, obs))
    kind_of = {e["text"]: EVENT_KINDS[e["kind"]] for e in seen}
    murders = [text for text in kind_of if "voted to murder" in text]
    assert murders and all(kind_of[text] == "night_vote" for text in murders)
    results = [text for text in kind_of if text.startswith("Night vote (")]
    assert len(results) == 2 and not any(text.startswith("Day vote (player") for text in kind_of)
    assert results[0].endswith("tied between player_2, player_5; there will be a revote.")
    assert results[1].endswith("nobody is chosen for murder.")
    assert "Day vote (no votes): nobody is banished." in kind_of
    assert any(text.startswith("Game over: undecided (no winner after 1 rounds).") for text in kind_of)


def test_illegal_actions_name_the_agent_the_field_and_the_reason() -> None:
    env = make(n_players=5, n_traitors=1, belief_reports=True, discussion_passes=1)
    env.reset(seed=0)
    u = env.unwrapped

    def refused(action: Any, field: str, reason: str) -> None:
        agent = env.agent_selection
        with pytest.raises(IllegalActionError) as info:
            env.step(action)
        assert (info.value.agent, info.value.field, info.value.reason) == (agent, field, reason)

    while u.phase != "belief":
        env.step(first_legal(env.agent_selection, env.observe(env.agent_selection)))
    refused({}, "beliefs", "a belief report is required in this phase")
    refused({"beliefs": 70}, "beliefs", "expected 5 integers, got 70")
    refused({"beliefs": ["x"] * 5}, "beliefs", "expected 5 integers, got ['x', 'x', 'x', 'x', 'x']")
    refused({"beliefs": [101] * 5}, "beliefs", "101 for player_0 is not legal (0-100 for living others, 0 otherwise)")
    while u.phase != "day_vote":
        env.step(first_legal(env.agent_selection, env.observe(env.agent_selection)))
    refused({"target": "player_1"}, "target", "expected an integer, got 'player_1'")
    refused(
        "vote", "action", "expected a dict with keys ['beliefs', 'claims', 'message', 'reasoning', 'target'], got str"
    )
    me = int(env.agent_selection.split("_")[1])
    legal = np.flatnonzero(env.observe(env.agent_selection)["action_mask"]["target"]).tolist()
    refused({"target": me}, "target", f"{me} is not legal in phase day_vote; legal: {legal}")
    target = legal_targets(env.observe(env.agent_selection))[0]
    refused({"target": target, "message": "hi"}, "message", "no message is taken in phase day_vote")


def test_config_errors_name_the_field() -> None:
    for kwargs, field, reason in (
        ({"max_message_chars": 0}, "max_message_chars", "must be a positive integer"),
        ({"topics": []}, "topics", "must not be empty"),
        ({"forced_roles": {"player_0": "spy"}}, "forced_roles", "role of player_0 must be 'faithful' or 'traitor'"),
        ({"forced_roles": {"player_99": "traitor"}}, "forced_roles", "unknown player 'player_99'"),
        (
            {"n_players": 5, "n_traitors": 1, "forced_roles": {f"player_{i}": "faithful" for i in range(5)}},
            "forced_roles",
            "forces 5 faithful but only 4 seats are faithful",
        ),
        ({"briefings": {"spy": "psst"}}, "briefings", "keys must be roles (faithful, traitor), got ['spy']"),
    ):
        with pytest.raises(ConfigError) as info:
            TraitorsConfig(**kwargs)
        assert info.value.field == field and reason in str(info.value), str(info.value)


def test_saying_nothing_is_in_the_action_space_and_publishes_nothing() -> None:
    env = make()
    env.reset(seed=0)
    space = env.action_space(env.agent_selection)
    assert space["message"].min_length == 0 and space["reasoning"].min_length == 0
    u = env.unwrapped
    while u.phase != "discussion":
        env.step(first_legal(env.agent_selection, env.observe(env.agent_selection)))
    u.drain_events()
    env.step({"claims": [0] * 10})  # all-zero claims are no claims: nothing is said
    assert not any(isinstance(e, ev.Speech) for e in u.drain_events())


def test_random_speaking_order_shuffles_and_fixed_order_does_not() -> None:
    def first_speakers(order: str, seed: int) -> list[str]:
        env = make(speaking_order=order)
        env.reset(seed=seed)
        u = env.unwrapped
        while u.phase != "discussion":
            env.step(first_legal(env.agent_selection, env.observe(env.agent_selection)))
        speakers = []
        while u.phase == "discussion" and len(speakers) < 10:
            speakers.append(env.agent_selection)
            env.step(first_legal(env.agent_selection, env.observe(env.agent_selection)))
        return speakers

    in_order = [f"player_{i}" for i in range(10)]
    assert all(first_speakers("fixed", seed) == in_order for seed in range(3))
    shuffled = [first_speakers("random", seed) for seed in range(3)]
    assert all(sorted(s) == sorted(in_order) for s in shuffled) and any(s != in_order for s in shuffled)


def test_human_rendering_prints_the_public_record(capsys: pytest.CaptureFixture[str]) -> None:
    env = make(render_mode="human")
    env.reset(seed=0)
    assert env.render() is None
    assert "There are 10 players. 3 of them are traitors" in capsys.readouterr().out


def test_each_player_gets_its_briefing_as_a_briefing() -> None:
    from alignsim.envs.traitors import EVENT_KINDS

    env = make(n_players=5, n_traitors=1, briefings={"traitor": "You betray.", "faithful": "You trust."})
    env.reset(seed=0)
    roles = env.unwrapped.roles
    for agent in env.possible_agents:
        briefings = [e["text"] for e in env.observe(agent)["events"] if EVENT_KINDS[e["kind"]] == "briefing"]
        assert len(briefings) == 1 and ("You betray." if roles[agent] == "traitor" else "You trust.") in briefings[0]
