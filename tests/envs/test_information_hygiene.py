"""Hidden roles and private channels never reach an agent that is not entitled to them.

Canary strings are planted in every private channel (role briefings, each player's private
reasoning, the traitors' meeting) over 200 seeded episodes. Every observation an agent
receives is checked: before each of its actions, and for every agent, alive or not, at the
end. Because observations are incremental, these checks cover every event ever delivered.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import alignsim.agents as agents
import alignsim.envs as envs
from alignsim.envs.traitors import EVENT_KINDS, decode_observation
from alignsim.record import schema as ev

KIND = {name: i for i, name in enumerate(EVENT_KINDS)}
BRIEFINGS = {"traitor": "CANARY-BRIEFING-TRAITOR", "faithful": "CANARY-BRIEFING-FAITHFUL"}
CANARY = re.compile(r"CANARY-[A-Z]+-[A-Za-z0-9_]+")


class CanaryPolicy:
    """The heuristic policy, with canaries in everything private it writes."""

    name = "canary"

    def __init__(self) -> None:
        self.inner = agents.make("traitors/heuristic")

    def reset(self, agents_, *, seed, env_id, episode=""):
        self.inner.reset(agents_, seed=seed, env_id=env_id, episode=episode)

    def act(self, agent: str, observation: dict[str, Any], space) -> dict[str, Any]:
        action = dict(self.inner.act(agent, observation, space))
        view = decode_observation(observation["observation"])
        if observation["action_mask"]["reasoning"][0]:
            action["reasoning"] = f"CANARY-REASONING-{agent}"
        if view.phase == "traitor_meeting":
            action["message"] = f"CANARY-MEETING-{agent}"
        return action


def entitled_roles(observer: int, roles: list[str], revealed: set[int], over: bool) -> set[int]:
    known = {observer} | revealed
    if roles[observer] == "traitor":
        known |= {j for j, r in enumerate(roles) if r == "traitor"}
    return set(range(len(roles))) if over else known


def check(observer: str, obs: dict[str, Any], roles: list[str], revealed: set[int], over: bool) -> list[str]:
    """Assert ``observer`` is entitled to everything in ``obs``; returns the canaries it saw."""
    i = int(observer.split("_")[1])
    traitor = roles[i] == "traitor"
    view = decode_observation(obs["observation"])
    allowed = entitled_roles(i, roles, revealed, over or view.phase == "game_over")
    for j, known in enumerate(view.known_roles):
        if j not in allowed:
            assert known == "unknown", f"{observer} sees the role of player_{j}"
    seen = []
    for event in obs["events"]:
        kind = event["kind"]
        if kind in (KIND["traitor_speech"], KIND["night_vote"]):
            assert traitor, f"{observer} (faithful) received a traitor-channel event"
        if event["role"] and kind == KIND["briefing"]:
            assert event["target"] == i
        for canary in CANARY.findall(event["text"]):
            seen.append(canary)
            if canary.startswith("CANARY-REASONING"):
                raise AssertionError(f"{observer} received private reasoning {canary}")
            if canary.startswith("CANARY-MEETING"):
                assert traitor, f"{observer} received meeting text {canary}"
            if canary.startswith("CANARY-BRIEFING"):
                assert event["text"].startswith(f"You are {observer}."), f"{observer} got another's briefing"
                assert canary == BRIEFINGS[roles[i]]
    return seen


@pytest.mark.parametrize(
    ("kwargs", "seeds"),
    [
        ({"n_players": 10, "n_traitors": 3}, range(0, 100)),
        (
            {
                "n_players": 6,
                "n_traitors": 2,
                "belief_reports": True,
                "tie_break": "revote",
                "speaking_order": "random",
            },
            range(100, 160),
        ),
        ({"n_players": 5, "n_traitors": 1, "belief_reports": True}, range(160, 200)),
    ],
)
def test_no_private_information_reaches_an_unentitled_observation(kwargs, seeds) -> None:
    env = envs.make("traitors-v0", briefings=BRIEFINGS, **kwargs)
    u = env.unwrapped
    policy = CanaryPolicy()
    seen: list[str] = []
    for seed in seeds:
        env.reset(seed=seed)
        policy.reset(env.possible_agents, seed=seed, env_id="traitors-v0")
        role_map = u.roles
        roles = [role_map[a] for a in env.possible_agents]
        revealed: set[int] = set()
        log: list[ev.Event] = list(u.drain_events())
        dead: set[str] = set()
        while env.agents:
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
                continue
            assert agent not in dead, f"dead {agent} was asked to act (seed {seed})"
            obs = env.observe(agent)
            seen += check(agent, obs, roles, revealed, over=False)
            env.step(policy.act(agent, obs, env.action_space(agent)))
            new = u.drain_events()
            log += new
            for e in new:
                if isinstance(e, ev.Elimination):
                    revealed.add(int(e.target.split("_")[1]))
                    dead.add(e.target)
            if u.phase == "game_over":
                for other in env.possible_agents:
                    check(other, env.observe(other), roles, revealed, over=True)
        traitors = {a for a, r in role_map.items() if r == "traitor"}
        for e in log:
            if isinstance(e, ev.RoleAssignment):
                assert e.visible_to == ()
            elif isinstance(e, ev.Reasoning | ev.Belief):
                assert e.visible_to == (e.actor,)
            elif isinstance(e, ev.Speech) and e.channel == "traitors":
                assert set(e.visible_to) <= traitors
            elif isinstance(e, ev.Vote) and e.vote == "night":
                assert set(e.visible_to) <= traitors and e.actor in traitors
            elif isinstance(e, ev.Speech):
                assert "CANARY" not in e.message, "a private canary leaked into public speech"
    # Positive control: entitled agents did receive the canaries, so the checks had material.
    assert set(BRIEFINGS.values()) <= set(seen)
    assert any(c.startswith("CANARY-MEETING") for c in seen)


def test_canary_check_catches_a_leak() -> None:
    """The checker itself must fail when a private text is delivered to the wrong agent."""
    obs = {
        "observation": np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0]),
        "events": (
            {
                "kind": KIND["speech"],
                "round": 1,
                "actor": 1,
                "target": 3,
                "role": 0,
                "claims": np.zeros(3, dtype=np.int64),
                "text": "player_1: CANARY-REASONING-player_1",
            },
        ),
        "action_mask": {},
    }
    with pytest.raises(AssertionError, match="private reasoning"):
        check("player_0", obs, ["faithful", "traitor", "faithful"], set(), over=False)
