"""werewolf-v0's rules, masks, config checks and its Parallel form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

import alignsim.envs as envs
from alignsim.envs.werewolf import events as wev
from alignsim.envs.werewolf.werewolf import CLAIM_CODES, WerewolfEnv, decode_observation
from alignsim.errors import ConfigError, IllegalActionError
from alignsim.record import schema as ev
from alignsim.testing import check_env

# player_0, player_1 werewolves; player_2 seer; player_3 doctor; player_4.. villagers
FORCED = {"player_0": "werewolf", "player_1": "werewolf", "player_2": "seer", "player_3": "doctor"}
Chooser = Callable[[str, dict[str, Any], WerewolfEnv], dict[str, Any]]


def first_legal(agent: str, obs: dict[str, Any], env: WerewolfEnv) -> dict[str, Any]:
    """Speak a line, bid 1, take the first legal target in sealed phases."""
    phase = decode_observation(obs["observation"]).phase
    legal = np.flatnonzero(obs["action_mask"]["target"]).tolist()
    if phase == "discussion":
        return {"message": f"{agent} speaks."}
    if phase == "bid":
        return {"bid": 1}
    return {"target": legal[0]}


def play(env: Any, choose: Chooser, *, seed: int = 0, until: Callable[[list[ev.Event]], bool] | None = None) -> list:
    """Play ``env`` (AEC) with ``choose`` until it ends (or ``until(log)``); returns the log."""
    u = env.unwrapped
    env.reset(seed=seed)
    log = list(u.drain_events())
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        if term or trunc:
            env.step(None)
            continue
        env.step(choose(agent, obs, u))
        log += u.drain_events()
        if until is not None and until(log):
            break
    return log


def of(log: list, cls: type) -> list:
    return [e for e in log if isinstance(e, cls)]


# ------------------------------------------------------------------ PettingZoo and alignsim certification


def test_check_env_passes_on_bidding_revote_and_hidden_reveals(tmp_path) -> None:
    """check_env (make, api_test, seed_test, parallel_api_test, parallel_seed_test, run, read_log,
    replay, analyze, viewer) on a non-default rule set; tests/envs/test_certify.py runs the defaults."""
    kwargs = {
        "discussion_order": "bidding",
        "bidding_turns": 3,
        "tie_break": "revote",
        "reveal_exiled": "side",
        "reveal_killed": "none",
        "seer_learns": "side",
        "doctor_repeat_protect": False,
        "doctor_self_protect": False,
        "hunter": True,
    }
    report = check_env("werewolf-v0", env_kwargs=kwargs, tmp_dir=tmp_path)
    assert {"api_test", "seed_test", "parallel_api_test", "parallel_seed_test", "replay"} <= set(report.steps)
    assert {"ww_bid", "ww_floor", "ww_inspection", "ww_night_outcome"} <= set(report.event_types)


@pytest.mark.filterwarnings("ignore::UserWarning")  # PettingZoo advises Box spaces: advice, not a failure
def test_pettingzoo_tests_on_both_forms_with_random_discussion_order() -> None:
    api_test(envs.make("werewolf-v0", discussion_order="random", n_players=6, n_werewolves=1), num_cycles=200)
    seed_test(lambda: envs.make("werewolf-v0", discussion_order="random"), num_cycles=200)
    parallel_api_test(envs.make_parallel("werewolf-v0", discussion_order="bidding"), num_cycles=200)
    parallel_seed_test(lambda: envs.make_parallel("werewolf-v0", discussion_order="bidding"), num_cycles=200)


# ------------------------------------------------------------------ config


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_players": 3}, "n_players"),
        ({"n_werewolves": 4}, "n_werewolves"),
        ({"n_werewolves": 0}, "n_werewolves"),
        ({"forced_roles": {"player_0": "seer", "player_1": "seer"}}, "forced_roles"),
        ({"forced_roles": {"player_9": "seer"}}, "forced_roles"),
        ({"forced_roles": {"player_0": "witch"}}, "forced_roles"),
        ({"discussion_order": "loudest"}, "discussion_order"),
        ({"seer_learns": "aura"}, "seer_learns"),
        ({"n_players": 10**6}, "n_players"),
        ({"briefings": {"mayor": "x"}}, "briefings"),
        ({"n_wolves": 2}, "n_wolves"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        envs.make("werewolf-v0", **kwargs)
    assert info.value.field == field


# ------------------------------------------------------------------ the deal


def test_the_deal_is_a_seeded_chance_step_with_forced_roles_first() -> None:
    env = envs.make("werewolf-v0", n_players=8, forced_roles={"player_5": "seer"})
    deals = []
    for seed in (1, 1, 2, 3, 4):
        env.reset(seed=seed)
        roles = env.unwrapped.roles
        assert roles["player_5"] == "seer"
        assert sorted(roles.values()).count("werewolf") == 2
        assert sorted(roles.values()).count("doctor") == 1
        deals.append(tuple(roles.values()))
        (assignment,) = of(env.unwrapped.drain_events(), ev.RoleAssignment)
        assert assignment.visible_to == () and assignment.forced == ("player_5",)
    assert deals[0] == deals[1] and len(set(deals)) > 2


def test_each_player_is_briefed_alone_and_werewolves_learn_their_partners() -> None:
    env = envs.make("werewolf-v0", forced_roles=FORCED)
    env.reset(seed=0)
    briefings = {e.player: e for e in of(env.unwrapped.drain_events(), wev.RoleBriefing)}
    assert briefings["player_0"].partners == ("player_1",) and briefings["player_0"].visible_to == ("player_0",)
    assert briefings["player_2"].role == "seer" and briefings["player_2"].partners == ()
    known = decode_observation(env.observe("player_0")["observation"]).known
    assert known[:4] == ("werewolf", "werewolf", "unknown", "unknown")
    assert decode_observation(env.observe("player_4")["observation"]).known[:4] == ("unknown",) * 4


# ------------------------------------------------------------------ night


def night_chooser(kill: int, inspect: int, protect: int) -> Chooser:
    def choose(agent: str, obs: dict[str, Any], env: WerewolfEnv) -> dict[str, Any]:
        view = decode_observation(obs["observation"])
        if view.phase == "night_action":
            return {"target": {"werewolf": kill, "seer": inspect, "doctor": protect}[view.role]}
        return first_legal(agent, obs, env)

    return choose


def test_a_protected_target_survives_and_the_save_is_logged_for_no_one() -> None:
    env = envs.make("werewolf-v0", forced_roles=FORCED)
    log = play(env, night_chooser(5, 0, 5), until=lambda log: bool(of(log, wev.NightOutcome)))
    (outcome,) = of(log, wev.NightOutcome)
    assert outcome.attacked == "player_5" and outcome.saved and outcome.victim is None
    assert outcome.visible_to == ()
    assert not of(log, wev.Elimination)
    env.step(first_legal(env.agent_selection, env.observe(env.agent_selection), env.unwrapped))
    texts = [e.text for e in of(env.unwrapped.drain_events() + log, ev.Announcement)]
    assert any("Nobody died" in t for t in texts)


def test_an_unprotected_target_dies_and_every_night_action_is_logged_to_its_actor() -> None:
    env = envs.make("werewolf-v0", forced_roles=FORCED)
    log = play(env, night_chooser(5, 0, 3), until=lambda log: bool(of(log, wev.Elimination)))
    actions = {(e.actor, e.action): e for e in of(log, wev.NightAction)}
    assert actions[("player_0", "kill")].visible_to == ("player_0", "player_1")
    assert actions[("player_2", "inspect")].visible_to == ("player_2",)
    assert actions[("player_3", "protect")].target == "player_3"
    (inspection,) = of(log, wev.Inspection)
    assert (inspection.target, inspection.result, inspection.visible_to) == ("player_0", "werewolf", ("player_2",))
    (death,) = of(log, wev.Elimination)
    assert (death.target, death.cause, death.revealed_role) == ("player_5", "killed", "villager")
    seer_view = decode_observation(env.observe("player_2")["observation"])
    assert seer_view.known[0] == "werewolf" and not seer_view.alive[5]


def test_the_seer_learns_only_the_side_when_so_configured() -> None:
    env = envs.make("werewolf-v0", forced_roles=FORCED, seer_learns="side")
    log = play(env, night_chooser(5, 3, 3), until=lambda log: bool(of(log, wev.Inspection)))
    assert of(log, wev.Inspection)[0].result == "village"
    assert decode_observation(env.observe("player_2")["observation"]).known[3] == "village"


def test_doctor_masks_follow_the_self_and_repeat_protection_rules() -> None:
    env = envs.make("werewolf-v0", forced_roles=FORCED, doctor_self_protect=False, doctor_repeat_protect=False)
    play(env, night_chooser(5, 0, 4), until=lambda log: bool(of(log, wev.NightOutcome)))
    # Play through day 1 to the next night's actions.
    u = env.unwrapped
    while not (u.phase == "night_action" and u.round == 2):
        agent = env.agent_selection
        env.step(night_chooser(6, 0, 4)(agent, env.observe(agent), u))
    mask = env.observe("player_3")["action_mask"]["target"]
    assert not mask[3], "self-protection is off"
    assert not mask[4], "player_4 was protected last night"
    with pytest.raises(IllegalActionError):
        while env.agent_selection != "player_3":
            agent = env.agent_selection
            env.step(night_chooser(6, 0, 4)(agent, env.observe(agent), u))
        env.step({"target": 4})


def test_the_werewolves_meeting_reaches_only_the_werewolves() -> None:
    def choose(agent: str, obs: dict[str, Any], env: WerewolfEnv) -> dict[str, Any]:
        if decode_observation(obs["observation"]).phase == "night_meeting":
            return {"message": "kill player_6", "target": 6}
        return night_chooser(6, 0, 3)(agent, obs, env)

    env = envs.make("werewolf-v0", forced_roles=FORCED)
    log = play(env, choose, until=lambda log: bool(of(log, wev.NightOutcome)))
    meeting = [e for e in of(log, wev.Speech) if e.channel == "werewolves"]
    assert len(meeting) == 2 and all(e.visible_to == ("player_0", "player_1") for e in meeting)
    assert meeting[0].proposal == "player_6"


# ------------------------------------------------------------------ day, votes, win check


def vote_for(targets: dict[str, int], night: Chooser) -> Chooser:
    def choose(agent: str, obs: dict[str, Any], env: WerewolfEnv) -> dict[str, Any]:
        if decode_observation(obs["observation"]).phase == "day_vote":
            return {"target": targets.get(agent, np.flatnonzero(obs["action_mask"]["target"])[0])}
        return night(agent, obs, env)

    return choose


def test_speech_claims_are_logged_as_structured_claims() -> None:
    code = {name: i for i, name in enumerate(CLAIM_CODES)}

    def choose(agent: str, obs: dict[str, Any], env: WerewolfEnv) -> dict[str, Any]:
        if decode_observation(obs["observation"]).phase == "discussion" and agent == "player_2":
            claims = [0] * 8
            claims[2], claims[0], claims[3], claims[4] = (
                code["seer"],
                code["inspected_werewolf"],
                code["protected"],
                code["village"],
            )
            return {"message": "I am the seer.", "claims": claims}
        return night_chooser(5, 0, 3)(agent, obs, env)

    env = envs.make("werewolf-v0", forced_roles=FORCED)
    log = play(env, choose, until=lambda log: any(e.actor == "player_2" for e in of(log, wev.Speech)))
    speech = next(e for e in of(log, wev.Speech) if e.actor == "player_2")
    assert {(c.kind, c.subject, c.value) for c in speech.claims} == {
        ("role", "player_2", "seer"),
        ("evidence", "player_0", "werewolf"),
        ("protection", "player_3", "protected"),
        ("role", "player_4", "village"),
    }


def test_an_evidence_claim_about_oneself_is_illegal() -> None:
    env = envs.make("werewolf-v0", forced_roles=FORCED, wolf_meeting_passes=0)
    play(env, night_chooser(5, 0, 3), until=lambda log: env.unwrapped.phase == "discussion")
    agent = env.agent_selection
    i = int(agent.split("_")[1])
    claims = [0] * 8
    claims[i] = CLAIM_CODES.index("inspected_werewolf")
    with pytest.raises(IllegalActionError, match="claims"):
        env.step({"message": "x", "claims": claims})


def test_the_win_check_runs_after_the_night_kill() -> None:
    # 5 players, 2 werewolves: killing a villager on night 1 leaves 2 against 2.
    env = envs.make("werewolf-v0", n_players=5, forced_roles=FORCED)
    log = play(env, night_chooser(4, 0, 3), until=lambda log: bool(of(log, wev.GameEnd)))
    end = of(log, wev.GameEnd)[0]
    assert end.winner == "werewolves" and end.round == 1
    assert not of(log, wev.Vote), "no day vote after the game is decided"
    rewards = {a: env.unwrapped._cumulative_rewards[a] for a in env.possible_agents}
    assert rewards["player_0"] == 1.0 and rewards["player_4"] == -1.0


def test_exiling_the_last_werewolf_ends_the_game_for_the_village() -> None:
    env = envs.make("werewolf-v0", n_players=6, n_werewolves=1, forced_roles={"player_0": "werewolf"})
    choose = vote_for({f"player_{i}": 0 for i in range(1, 6)} | {"player_0": 1}, night_chooser(5, 0, 5))
    log = play(env, choose)
    (exile,) = [e for e in of(log, wev.Elimination) if e.cause == "exiled"]
    assert exile.target == "player_0" and exile.revealed_role == "werewolf"
    assert of(log, wev.GameEnd)[0].winner == "village"


@pytest.mark.parametrize(("rule", "resolutions"), [("none", ["none"]), ("revote", ["revote", "random"])])
def test_day_vote_ties_follow_the_tie_rule(rule: str, resolutions: list[str]) -> None:
    # 6 players: 3 votes for player_4, 3 for player_5 (every ballot, revotes included).
    targets = {"player_0": 4, "player_1": 4, "player_2": 4, "player_3": 5, "player_4": 5, "player_5": 4}
    env = envs.make("werewolf-v0", n_players=6, forced_roles=FORCED, tie_break=rule, reveal_exiled="none")
    log = play(
        env,
        vote_for(targets | {"player_5": 4, "player_4": 5, "player_0": 5}, night_chooser(4, 0, 4)),
        until=lambda log: any(e.vote == "day" and e.resolution != "revote" for e in of(log, wev.VoteResult)),
    )
    day = [e for e in of(log, wev.VoteResult) if e.vote == "day"]
    assert [e.resolution for e in day] == resolutions
    assert day[0].tied == ("player_4", "player_5")
    exiles = [e for e in of(log, wev.Elimination) if e.cause == "exiled"]
    if rule == "none":
        assert not exiles
    else:
        assert exiles and exiles[0].revealed_role is None


def test_bidding_gives_the_floor_to_the_highest_bid_then_to_a_named_player_on_a_tie() -> None:
    def choose(agent: str, obs: dict[str, Any], env: WerewolfEnv) -> dict[str, Any]:
        view = decode_observation(obs["observation"])
        if view.phase == "bid":
            if view.turn == 1:
                return {"bid": 4 if agent == "player_6" else 0}
            return {"bid": 3 if agent in ("player_4", "player_5") else 1}
        if view.phase == "discussion":
            return {"message": "I suspect player_5."}
        return night_chooser(7, 0, 3)(agent, obs, env)

    env = envs.make("werewolf-v0", forced_roles=FORCED, discussion_order="bidding", bidding_turns=2)
    log = play(env, choose, until=lambda log: len(of(log, wev.Floor)) == 2)
    first, second = of(log, wev.Floor)
    assert (first.speaker, first.bid, first.resolution) == ("player_6", 4, "highest")
    assert (second.speaker, second.tied, second.resolution) == ("player_5", ("player_4", "player_5"), "mentioned")
    bids = of(log, wev.Bid)
    assert all(b.visible_to == (b.actor,) for b in bids) and len(bids) == 14


def test_undecided_games_stop_at_max_rounds_with_truncation() -> None:
    # Nobody can be exiled (abstentions) and the doctor always guards the one target.
    env = envs.make(
        "werewolf-v0", n_players=8, forced_roles=FORCED, allow_abstain=True, max_rounds=2, doctor_repeat_protect=True
    )
    abstain = {f"player_{i}": 8 for i in range(8)}
    log = play(env, vote_for(abstain, night_chooser(5, 0, 5)))
    end = of(log, wev.GameEnd)[0]
    assert end.winner is None and all(env.unwrapped.truncations.values())


# ------------------------------------------------------------------ Parallel form


def test_the_parallel_form_batches_sealed_phases_and_replaces_an_illegal_action() -> None:
    par = envs.make_parallel("werewolf-v0", forced_roles=FORCED, wolf_meeting_passes=0)
    _, infos = par.reset(seed=3)
    acting = [a for a in par.agents if infos[a]["acting"]]
    assert acting == ["player_0", "player_1", "player_2", "player_3"]
    actions = {a: {"target": 5} for a in acting}
    actions["player_3"] = {"target": 4}
    actions["player_2"] = {"target": 2}  # the seer cannot inspect itself
    *_, infos = par.step(actions)
    assert "not legal" in infos["player_2"]["illegal_action"]
    assert "illegal_action" not in infos["player_0"]
    log = par.aec.drain_events()
    inspection = of(log, wev.Inspection)[0]
    assert inspection.target == "player_0"  # the first legal target replaced the illegal one
    assert of(log, wev.NightOutcome)[0].victim == "player_5"


def test_render_shows_only_the_public_record() -> None:
    env = envs.make("werewolf-v0", forced_roles=FORCED, render_mode="ansi")
    play(env, night_chooser(5, 0, 3), until=lambda log: bool(of(log, wev.Vote)))
    text = env.unwrapped.render()
    assert "player_5 was killed" in text and "Night 1 falls" in text
    assert "You inspected" not in text and "You protected" not in text and "fellow werewolves" not in text


# ------------------------------------------------------------------ the optional hunter

HUNTER = FORCED | {"player_4": "hunter"}


def shoot(target: int, base: Chooser) -> Chooser:
    def choose(agent: str, obs: dict[str, Any], env: WerewolfEnv) -> dict[str, Any]:
        if decode_observation(obs["observation"]).phase == "hunter_shot":
            return {"target": target}
        return base(agent, obs, env)

    return choose


def test_a_hunter_killed_at_night_shoots_before_the_day() -> None:
    env = envs.make("werewolf-v0", forced_roles=HUNTER, hunter=True)
    log = play(
        env,
        shoot(0, night_chooser(4, 1, 3)),
        until=lambda log: (
            bool(of(log, wev.Floor))
            or any(isinstance(e, ev.Announcement) and e.kind == "prompt" and "discussion" in e.text for e in log)
        ),
    )
    (shot,) = of(log, wev.HunterShot)
    assert (shot.actor, shot.target, len(shot.visible_to)) == ("player_4", "player_0", 8)
    causes = [(e.target, e.cause, e.revealed_role) for e in of(log, wev.Elimination)]
    assert causes == [("player_4", "killed", "hunter"), ("player_0", "shot", "werewolf")]
    assert env.unwrapped.phase == "discussion" and env.unwrapped.round == 1


def test_an_exiled_hunter_may_spare_everyone_and_the_night_follows() -> None:
    env = envs.make("werewolf-v0", n_players=8, forced_roles=HUNTER, hunter=True)
    votes = {f"player_{i}": 4 for i in range(8)} | {"player_4": 5}
    log = play(env, shoot(8, vote_for(votes, night_chooser(5, 0, 5))), until=lambda log: bool(of(log, wev.HunterShot)))
    (shot,) = of(log, wev.HunterShot)
    assert shot.target is None
    assert env.unwrapped.phase in ("night_meeting", "night_action") and env.unwrapped.round == 2


def test_the_hunter_shot_that_removes_the_last_werewolf_ends_the_game() -> None:
    env = envs.make(
        "werewolf-v0",
        n_players=6,
        n_werewolves=1,
        forced_roles={"player_0": "werewolf", "player_4": "hunter"},
        hunter=True,
    )
    log = play(env, shoot(0, night_chooser(4, 1, 3)))
    assert of(log, wev.GameEnd)[0].winner == "village"
    assert [e.cause for e in of(log, wev.Elimination)] == ["killed", "shot"]


def test_hunter_claim_codes_exist_only_when_a_hunter_is_dealt() -> None:
    plain, hunted = envs.make("werewolf-v0"), envs.make("werewolf-v0", hunter=True)
    assert plain.action_space("player_0")["claims"].nvec[0] == 11
    assert hunted.action_space("player_0")["claims"].nvec[0] == len(CLAIM_CODES) == 13
