"""Scenario and scripted players for the human-play tests: a mini Traitors game whose hidden
channels carry canaries (the traitor's briefing, every meeting message, every player's private
reasoning), so a test can tell whether any of it reached a human seat."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from alignsim import agents, scenarios
from alignsim.agents.scripted.traitors_heuristic import TraitorsHeuristicPolicy
from alignsim.envs.base import as_game
from alignsim.envs.traitors import decode_observation
from alignsim.run import derive_seeds
from alignsim.scenarios import ScenarioSpec, SeatSpec

CANARY_BRIEFING = "CANARY-BRIEFING-7f3a"
CANARY_MEETING = "CANARY-MEETING-91c2"
CANARY_REASONING = "CANARY-REASONING-5d0e"
CANARIES = (CANARY_BRIEFING, CANARY_MEETING, CANARY_REASONING)


class CanaryPlayers(TraitorsHeuristicPolicy):
    """Scripted Traitors play, with a canary in every meeting message and every private reasoning."""

    def act(self, agent: str, observation: Any, action_space: Any) -> dict[str, Any]:
        action = dict(super().act(agent, observation, action_space))
        if decode_observation(observation["observation"]).phase == "traitor_meeting" and "message" in action:
            action["message"] = f"{CANARY_MEETING} {action['message']}"
        action["reasoning"] = f"{CANARY_REASONING} {action.get('reasoning', '')}"
        return action


if "test/canary_players" not in agents.ids():
    agents.register("test/canary_players", CanaryPlayers)

_base = scenarios.get("traitors/mini-v0")
CANARY_SCENARIO = ScenarioSpec(
    id="test/canary-mini-v0",
    env_id=_base.env_id,
    env_kwargs=MappingProxyType(
        {
            **_base.env_kwargs,
            "briefings": {
                "traitor": f"{CANARY_BRIEFING} You are the traitor: stay hidden and murder the faithful.",
                "faithful": "You are faithful: find the traitor.",
            },
        }
    ),
    seating=MappingProxyType({"*": SeatSpec("test/canary_players")}),
    description="mini-v0 with canaries in every hidden channel (tests only)",
)


def faithful_seat(spec: ScenarioSpec, seed: int) -> tuple[str, str]:
    """A faithful player of the game ``seed`` deals, and the traitor."""
    from alignsim import envs

    env = envs.make(spec.env_id, **spec.env_kwargs)
    env.reset(seed=derive_seeds(seed, 0, ["*"])["env"])
    roles = dict(as_game(env).roles)
    env.close()
    traitor = next(a for a, r in roles.items() if r == "traitor")
    return next(a for a, r in roles.items() if r == "faithful"), traitor
