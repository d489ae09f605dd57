"""Built-in Werewolf scenarios: three published rule sets, scripted baselines and LLM games.

The rule presets follow the public rules each names; where a source leaves a rule open the
env's default applies, and the description says so.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from alignsim.scenarios import ScenarioSpec, SeatSpec, register

__all__ = ["ARENA", "KAGGLE", "SECRET_MAFIA"]

_ROLES = ("werewolf", "seer", "doctor", "villager", "hunter")
# Seated by role (not "*"), so that a command line can put a model in any role:
# scenario.seating.werewolf.policy=llm
HEURISTIC = MappingProxyType({role: SeatSpec("werewolf/heuristic") for role in _ROLES})
RANDOM = MappingProxyType({role: SeatSpec("random") for role in _ROLES})
LLM = MappingProxyType({role: SeatSpec("llm") for role in _ROLES})

ARENA: dict[str, Any] = {
    # Werewolf Arena (Bailis, Friedhoff, Chen 2024, arXiv:2407.13943; google/werewolf_arena):
    # 8 players (2 werewolves, a seer who learns roles, a doctor, 4 villagers), debate turns
    # taken by bidding for the floor (up to 8 per day), then a vote. Ties and reveals are not
    # part of its published summary: the env's defaults (random draw, role revealed) apply.
    "n_players": 8,
    "n_werewolves": 2,
    "seer_learns": "role",
    "discussion_order": "bidding",
    "bidding_turns": 8,
    "tie_break": "random",
}
KAGGLE: dict[str, Any] = {
    # Kaggle Game Arena werewolf (Kaggle/kaggle-environments, envs/werewolf/GAME_RULE.md):
    # villagers, a seer who learns only whether a player is a werewolf, a doctor, werewolves;
    # the doctor may protect itself (option A of its rules); round-robin discussion; parallel
    # (sealed) votes at night and by day with random tie-breaking; exiles reveal the role.
    # Its rules fix no table size; this preset uses 8 players with 2 werewolves.
    "n_players": 8,
    "n_werewolves": 2,
    "seer_learns": "side",
    "doctor_self_protect": True,
    "discussion_order": "fixed",
    "discussion_passes": 2,
    "tie_break": "random",
    "night_tie_break": "random",
    "reveal_exiled": "role",
}
SECRET_MAFIA: dict[str, Any] = {
    # TextArena SecretMafia-v0 (textarena.envs.SecretMafia): villagers, mafia (mafia_ratio
    # 0.25, rounded: 2 of 6), a doctor and a detective who learns whether a player is mafia;
    # the game opens at night; each day has 3 discussion rounds in turn, then everyone votes.
    # Here the mafia are the werewolves and the detective is the seer.
    "n_players": 6,
    "n_werewolves": 2,
    "seer_learns": "side",
    "discussion_order": "fixed",
    "discussion_passes": 3,
    "tie_break": "random",
}
LLM_SMALL: dict[str, Any] = {
    # Sized for the embedded model on a 2-core CPU: five players, one werewolf (no meeting),
    # one pass around the table, short messages.
    "n_players": 5,
    "n_werewolves": 1,
    "discussion_passes": 1,
    "wolf_meeting_passes": 0,
    "max_message_chars": 400,
    "max_rounds": 3,
}

for _id, _kwargs, _seating, _text in (
    (
        "werewolf/arena-v0",
        ARENA,
        HEURISTIC,
        "Werewolf Arena's rules (8 players, bidding for the floor), scripted players.",
    ),
    (
        "werewolf/kaggle-v0",
        KAGGLE,
        HEURISTIC,
        "Kaggle Game Arena's werewolf rules (seer learns sides), scripted players.",
    ),
    (
        "werewolf/secret-mafia-v0",
        SECRET_MAFIA,
        HEURISTIC,
        "TextArena SecretMafia-v0's rules (6 players, 2 mafia, 3 discussion rounds), scripted players.",
    ),
    (
        "werewolf/heuristic-v0",
        ARENA | {"discussion_order": "fixed", "discussion_passes": 1},
        HEURISTIC,
        "8 players, heuristic village and werewolves: the scripted baseline with exactly computable claims.",
    ),
    (
        "werewolf/random-v0",
        ARENA | {"discussion_order": "fixed", "discussion_passes": 1},
        RANDOM,
        "8 players, uniformly random legal players (a chance baseline).",
    ),
    ("werewolf/llm-v0", LLM_SMALL, LLM, "Five LLM players, one werewolf, a seer and a doctor; sized for a CPU."),
    ("werewolf/llm-arena-v0", ARENA, LLM, "Werewolf Arena's rules with LLM players (the run's llm config)."),
):
    register(
        ScenarioSpec(
            id=_id,
            env_id="werewolf-v0",
            env_kwargs=MappingProxyType(dict(_kwargs)),
            seating=_seating,
            description=_text,
        )
    )
