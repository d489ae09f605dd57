"""Canary tests: the seer's results, the werewolves' meeting and ballots, the doctor's protections,
briefings and private reasoning never reach an unentitled observation, log audience or prompt.

Canary strings are planted in every private text (briefings by config, inspection and
protection texts by patching the moderator's texts, meeting messages and reasoning by the
policy); a checker then reads every observation delivered to every player over 200+ seeded
scripted episodes, every event's ``visible_to`` in their logs, and every prompt of mock-LLM
games read back from the logs the runner wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

import alignsim.agents as agents
import alignsim.envs as envs
from alignsim.envs.werewolf import events as wev
from alignsim.envs.werewolf import texts
from alignsim.envs.werewolf.werewolf import EVENT_KINDS, decode_observation
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import run
from alignsim.scenarios import ScenarioSpec, SeatSpec

KIND = {name: i for i, name in enumerate(EVENT_KINDS)}
BRIEFINGS = {role: f"CANARY-BRIEFING-{role.upper()} {texts.BRIEFINGS[role]}" for role in texts.BRIEFINGS}
CANARY = re.compile(r"CANARY-[A-Z]+-[A-Za-z0-9_]+")
MEETING_MARK = "(werewolves' secret meeting)"


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Canaries in the moderator's private texts: the seer's results and the doctor's protections."""
    inspection, protection = texts.inspection_text, texts.protection_text
    monkeypatch.setattr(texts, "inspection_text", lambda t, r: f"CANARY-INSPECTION-{t} " + inspection(t, r))
    monkeypatch.setattr(texts, "protection_text", lambda t: f"CANARY-PROTECTION-{t} " + protection(t))


class CanaryPolicy:
    """The heuristic (or random) policy, with canaries in the meeting messages and private reasoning it writes."""

    def __init__(self, inner: str) -> None:
        self.inner = agents.make(inner)

    def reset(self, agents_: list[str], *, seed: int, env_id: str) -> None:
        self.inner.reset(agents_, seed=seed, env_id=env_id)

    def act(self, agent: str, observation: dict[str, Any], space: Any) -> dict[str, Any]:
        action = dict(self.inner.act(agent, observation, space))
        mask = observation["action_mask"]
        if mask["reasoning"][0]:
            action["reasoning"] = f"CANARY-REASONING-{agent}"
        if decode_observation(observation["observation"]).phase == "night_meeting":
            action["message"] = f"CANARY-MEETING-{agent}"
        return action


def check(observer: str, obs: Mapping[str, Any], roles: Mapping[str, str], known_ok: dict[int, set[str]]) -> list[str]:
    """Assert ``observer`` is entitled to everything in ``obs``; returns the canaries it saw.

    ``known_ok[j]``: what the observer may know about player j besides "unknown" (its own role,
    partners, its own inspections, public reveals); everything once the game is over.
    """
    i = int(observer.split("_")[1])
    role = roles[observer]
    view = decode_observation(obs["observation"])
    if view.phase != "game_over":
        for j, known in enumerate(view.known):
            assert known == "unknown" or known in known_ok.get(j, set()), f"{observer} knows player_{j} is {known}"
    seen = []
    for event in obs["events"]:
        kind, text = event["kind"], event["text"]
        if kind in (KIND["wolf_speech"], KIND["night_vote"]) or text.startswith("The werewolves' ballot"):
            assert role == "werewolf", f"{observer} ({role}) received the werewolves' channel: {text}"
        if kind == KIND["inspection"]:
            assert role == "seer" and event["actor"] == i, f"{observer} ({role}) received an inspection"
        if kind == KIND["protection"]:
            assert role == "doctor" and event["actor"] == i, f"{observer} ({role}) received a protection"
        if kind == KIND["briefing"]:
            assert event["target"] == i, f"{observer} received another player's briefing"
        for canary in CANARY.findall(text):
            seen.append(canary)
            what = canary.split("-")[1]
            assert what != "REASONING", f"{observer} received private reasoning {canary}"
            if what == "MEETING":
                assert role == "werewolf", f"{observer} ({role}) received meeting text {canary}"
            if what == "INSPECTION":
                assert role == "seer", f"{observer} ({role}) received the seer's result {canary}"
            if what == "PROTECTION":
                assert role == "doctor", f"{observer} ({role}) received the doctor's protection {canary}"
            if what == "BRIEFING":
                assert canary == f"CANARY-BRIEFING-{role.upper()}", f"{observer} ({role}) got {canary}"
                assert text.startswith(f"You are {observer}."), f"{observer} got another's briefing"
    return seen


def check_audiences(log: list[ev.Event], roles: Mapping[str, str]) -> None:
    """Every private event in the log names exactly its entitled audience in ``visible_to``."""
    wolves = {a for a, r in roles.items() if r == "werewolf"}
    for e in log:
        if isinstance(e, ev.RoleAssignment | wev.NightOutcome):
            assert e.visible_to == ()
        elif isinstance(e, ev.Reasoning | wev.Bid):
            assert e.visible_to == (e.actor,)
        elif isinstance(e, wev.RoleBriefing):
            assert e.visible_to == (e.player,)
        elif isinstance(e, wev.Inspection):
            assert roles[e.actor] == "seer" and e.visible_to == (e.actor,)
        elif isinstance(e, wev.NightAction):
            if e.action == "kill":
                assert set(e.visible_to) <= wolves and e.actor in wolves
            else:
                assert (
                    e.visible_to == (e.actor,) and roles[e.actor] == {"inspect": "seer", "protect": "doctor"}[e.action]
                )
        elif (isinstance(e, wev.Speech) and e.channel == "werewolves") or (
            isinstance(e, wev.VoteResult) and e.vote == "night"
        ):
            assert set(e.visible_to) <= wolves
        elif isinstance(e, wev.Speech | ev.Announcement) and len(e.visible_to) > 1:
            text = e.message if isinstance(e, wev.Speech) else e.text
            assert "CANARY" not in text, f"a private canary reached a shared text: {text}"


def play_checked(kwargs: dict[str, Any], seeds: range, inner: str) -> list[str]:
    env = envs.make("werewolf-v0", briefings=BRIEFINGS, **kwargs)
    u = env.unwrapped
    policy = CanaryPolicy(inner)
    seen: list[str] = []
    for seed in seeds:
        env.reset(seed=seed)
        policy.reset(env.possible_agents, seed=seed, env_id="werewolf-v0")
        roles = u.roles
        index = {a: i for i, a in enumerate(env.possible_agents)}
        wolves = {index[a] for a, r in roles.items() if r == "werewolf"}
        # What each observer may know beyond "unknown", grown as the game reveals things.
        known_ok = {a: {index[a]: {roles[a]}} for a in env.possible_agents}
        for a in env.possible_agents:
            if roles[a] == "werewolf":
                for j in wolves:
                    known_ok[a][j] = {"werewolf"}
        log = list(u.drain_events())
        while env.agents:
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
                continue
            obs = env.observe(agent)
            seen += check(agent, obs, roles, known_ok[agent])
            env.step(policy.act(agent, obs, env.action_space(agent)))
            new = u.drain_events()
            log += new
            for e in new:
                if isinstance(e, wev.Inspection):
                    known_ok[e.actor].setdefault(index[e.target], set()).add(e.result)
                elif isinstance(e, wev.Reveal) and e.value is not None:
                    for a in env.possible_agents:
                        known_ok[a].setdefault(index[e.target], set()).add(e.value)
            if u.phase == "game_over":
                for other in env.possible_agents:
                    seen += check(other, env.observe(other), roles, known_ok[other])
        check_audiences(log, roles)
    return seen


CONFIGS = [
    ({}, range(0, 80), "werewolf/heuristic"),
    (
        {"discussion_order": "bidding", "bidding_turns": 4, "seer_learns": "side", "reveal_exiled": "side"},
        range(80, 140),
        "werewolf/heuristic",
    ),
    (
        {"n_players": 6, "discussion_passes": 3, "reveal_killed": "none", "tie_break": "revote"},
        range(140, 180),
        "random",
    ),
    (
        {"n_players": 10, "n_werewolves": 3, "hunter": True, "discussion_order": "random", "wolf_meeting_passes": 2},
        range(180, 210),
        "werewolf/heuristic",
    ),
]


def test_no_private_information_reaches_an_unentitled_observation_over_210_episodes(planted: None) -> None:
    seen: list[str] = []
    for kwargs, seeds, inner in CONFIGS:
        seen += play_checked(kwargs, seeds, inner)
    # Positive control: the entitled players did receive every kind of canary, so the checks had material.
    kinds = {c.split("-")[1] for c in seen}
    assert {"BRIEFING", "MEETING", "INSPECTION", "PROTECTION"} <= kinds
    assert {c for c in seen if c.startswith("CANARY-BRIEFING")} == {
        f"CANARY-BRIEFING-{r.upper()}" for r in texts.BRIEFINGS
    }


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"kind": KIND["inspection"], "actor": 2, "text": "You inspected player_0: a werewolf."}, "inspection"),
        ({"kind": KIND["speech"], "actor": 1, "text": "player_1: CANARY-PROTECTION-player_4"}, "protection"),
        ({"kind": KIND["wolf_speech"], "actor": 0, "text": "player_0: CANARY-MEETING-player_0"}, "channel"),
        ({"kind": KIND["speech"], "actor": 1, "text": "player_1: CANARY-REASONING-player_1"}, "private reasoning"),
    ],
)
def test_the_checker_catches_a_leak(event: dict[str, Any], message: str) -> None:
    """The checker itself fails when a private text reaches a villager (player_5)."""
    n = 8
    vector = np.zeros(6 + 2 * n + 1, dtype=np.int64)[: 6 + 1 + 2 * n]
    vector = np.array([3, 1, 1, 5, 4, 2] + [1] + [1] * (n - 1) + [0] * n)
    vector[6 + n + 5] = 4
    full = {"round": 1, "target": 8, "role": 0, "claims": np.zeros(n, dtype=np.int64)} | event
    obs = {"observation": vector, "events": (full,), "action_mask": {}}
    roles = {f"player_{i}": r for i, r in enumerate(["werewolf", "werewolf", "seer", "doctor"] + ["villager"] * 4)}
    with pytest.raises(AssertionError, match=message):
        check("player_5", obs, roles, {5: {"villager"}})


def test_the_checker_catches_a_known_role_leak() -> None:
    n = 8
    vector = np.array([3, 1, 1, 5, 4, 2] + [1] * n + [0] * n)
    vector[6 + n + 5] = 4
    vector[6 + n + 0] = 1  # player_5 (a villager) would know that player_0 is a werewolf
    obs = {"observation": vector, "events": (), "action_mask": {}}
    roles = {f"player_{i}": r for i, r in enumerate(["werewolf", "werewolf", "seer", "doctor"] + ["villager"] * 4)}
    with pytest.raises(AssertionError, match="knows player_0"):
        check("player_5", obs, roles, {5: {"villager"}})


# ------------------------------------------------------------------ prompts, read back from the logs


def prompt_leaks(log_path: Any) -> tuple[list[str], set[str]]:
    """(leaks, canary kinds seen by entitled seats) over every prompt of one logged episode."""
    log = read_log(log_path)
    roles = next(e.roles for e in log.events if isinstance(e, ev.RoleAssignment))
    leaks: list[str] = []
    seen: set[str] = set()
    for call in (e for e in log.events if isinstance(e, ev.LLMCall)):
        role = roles[call.agent]
        prompt = "\n".join(m["content"] for m in call.messages) + call.prefill
        if MEETING_MARK in prompt:
            seen.add("MEETING")
            if role != "werewolf":
                leaks.append(f"{call.agent} ({role}) prompted with the werewolves' meeting")
        for canary in CANARY.findall(prompt):
            what = canary.split("-")[1]
            seen.add(what)
            entitled = {
                "INSPECTION": role == "seer",
                "PROTECTION": role == "doctor",
                "BRIEFING": canary == f"CANARY-BRIEFING-{role.upper()}",
            }.get(what, False)
            if not entitled:
                leaks.append(f"{call.agent} ({role}) prompted with {canary}")
    return leaks, seen


def test_no_private_information_reaches_an_unentitled_prompt(planted: None, tmp_path) -> None:
    mock = {"model": "mock/scripted", "memory": {"k": 0, "reflect": False}}
    scenario = ScenarioSpec(
        id="werewolf/canary-v0",
        env_id="werewolf-v0",
        env_kwargs={"n_players": 6, "discussion_passes": 1, "briefings": BRIEFINGS, "max_rounds": 3},
        seating={"*": SeatSpec("llm", mock)},
    )
    results = run(scenario, seed=5, episodes=6, out_dir=tmp_path, llm=mock)
    seen: set[str] = set()
    for result in results:
        leaks, kinds = prompt_leaks(result.log_path)
        assert not leaks, leaks
        seen |= kinds
    assert {"MEETING", "INSPECTION", "PROTECTION", "BRIEFING"} <= seen
