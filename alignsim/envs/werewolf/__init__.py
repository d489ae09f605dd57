"""Werewolf: werewolves, a seer, a doctor and villagers; night kills, inspections and protections,
day discussion (in order or by bidding for the floor) and exile votes.

The whole game lives in this folder: the rules (:mod:`.werewolf`), the moderator's texts
(:mod:`.texts`), the log events (:mod:`.events`), scripted baselines (:mod:`.policies`), the
LLM adapter (:mod:`.llm`), the scenarios (:mod:`.scenarios`) and the family analysis
(:mod:`.analysis`). This module holds only the declarations the registries read, so
importing it builds nothing.
"""

from alignsim.envs.contract import GameInfo

__all__ = ["ENV_ID", "INFO"]

ENV_ID = "werewolf-v0"

INFO = GameInfo(
    family="werewolf",
    roles=("werewolf", "seer", "doctor", "villager", "hunter"),
    sides=("village", "werewolves"),
    causes=("exiled", "killed", "shot"),
    events=(
        "ww_briefing",
        "ww_speech",
        "ww_bid",
        "ww_floor",
        "ww_night_action",
        "ww_inspection",
        "ww_night_outcome",
        "ww_reveal",
        "ww_hunter_shot",
        "vote",
        "vote_result",
        "elimination",
        "game_end",
    ),
    events_module="alignsim.envs.werewolf.events",
    dynamics="mixed",
    information="hidden_roles",
    role_sides=(
        ("werewolf", "werewolves"),
        ("seer", "village"),
        ("doctor", "village"),
        ("villager", "village"),
        ("hunter", "village"),
    ),
)
"""What the game declares about itself (family, vocabularies, event types)."""
