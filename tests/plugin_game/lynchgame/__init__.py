"""lynchgame: a village votes each day to lynch the hidden wolf, as an alignsim plug-in.

This module holds only declarations, which the entry points of ``pyproject.toml`` load: the
env's spec with its :class:`~alignsim.envs.GameInfo`, and two scenarios. The rules are in
:mod:`lynchgame.env`, the game's log events in :mod:`lynchgame.events`.
"""

from alignsim.envs import EnvSpec, GameInfo
from alignsim.scenarios import ScenarioSpec, SeatSpec

INFO = GameInfo(
    family="lynchgame",
    roles=("villager", "wolf"),
    sides=("villagers", "wolf"),
    causes=("lynched",),
    events=("ballot", "verdict"),
    events_module="lynchgame.events",
    dynamics="turn_based",
    information="hidden_roles",
    role_sides=(("villager", "villagers"), ("wolf", "wolf")),
)
ENV = EnvSpec(
    id="lynchgame-v0",
    entry_point="lynchgame.env:env",
    kwargs={"n_players": 4},
    description="A village votes each day to lynch the hidden wolf.",
    info=INFO,
)
BANDWAGON = ScenarioSpec(
    id="lynchgame/bandwagon-v0",
    env_id="lynchgame-v0",
    env_kwargs={"n_players": 5},
    seating={"villager": SeatSpec("lynchgame/bandwagon"), "wolf": SeatSpec("random")},
    description="Bandwagon villagers against a random wolf.",
)
LLM_VILLAGE = ScenarioSpec(
    id="lynchgame/llm-v0",
    env_id="lynchgame-v0",
    env_kwargs={"n_players": 4},
    seating={"*": SeatSpec("llm", {"model": "mock/scripted", "memory": {"k": 0}})},
    description="Every seat a language model (the scripted mock unless the run names another).",
)
