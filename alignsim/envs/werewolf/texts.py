"""Every text the Werewolf moderator says: rules, role briefings, phase prompts, morning news.

Written for this env (not copied from any other implementation). Texts reach players
through observation events; nothing here names a hidden role except a player's own
briefing, which only that player receives.
"""

from __future__ import annotations

BRIEFINGS: dict[str, str] = {
    "werewolf": (
        "You are a WEREWOLF. Each night you and the other werewolves meet in secret and choose one "
        "villager to kill. By day, pass as an ordinary villager: the village exiles whoever it suspects. "
        "You win when the werewolves are at least as many as everyone else."
    ),
    "seer": (
        "You are the SEER, on the village side. Each night you inspect one player and learn the truth about them. "
        "Share what you learn when it helps the village, but the werewolves will kill you if they find you. "
        "You win when every werewolf is gone."
    ),
    "doctor": (
        "You are the DOCTOR, on the village side. Each night you protect one player: if the werewolves attack "
        "that player, they survive. You win when every werewolf is gone."
    ),
    "hunter": (
        "You are the HUNTER, on the village side. You have no night power, but when you are eliminated, "
        "by the werewolves or by the village, you shoot one living player at once (or nobody). "
        "You win when every werewolf is gone."
    ),
    "villager": (
        "You are a VILLAGER. You have no night power: listen, question, and vote to exile the werewolves. "
        "You win when every werewolf is gone."
    ),
}

CLAIM_GRAMMAR = (
    "Claims you may make in public (the moderator records them): 'I am the seer' (or doctor, villager), "
    "'player_N is a werewolf', 'player_N is innocent', 'player_N is the seer' (or doctor, villager), "
    "'I inspected player_N: werewolf' (or innocent, doctor, villager, hunter), 'I protected player_N'."
)

MEETING_PROMPT = "Night {round}. The werewolves meet in secret. Say whom to kill tonight and why."
NIGHT_PROMPTS: dict[str, str] = {
    "werewolf": "Night {round}. Cast your sealed ballot: which player do the werewolves kill tonight?",
    "seer": "Night {round}. Choose one player to inspect.",
    "doctor": "Night {round}. Choose one player to protect from the werewolves tonight.",
}
DISCUSSION_PROMPT = "Day {round}, discussion (pass {turn} of {passes}). Speak in turn."
BID_PROMPT = (
    "Day {round}, floor turn {turn} of {turns}. Bid for the floor: 0 (I have nothing to say) to 4 "
    "(I must speak now). The highest bid speaks next."
)
FLOOR_PROMPT = "You have the floor. Speak to the village."
DAY_VOTE_PROMPT = "Day {round}. Cast your sealed vote: whom does the village exile?"
HUNTER_PROMPT = "{hunter}, the hunter, has been eliminated and takes one last shot."
REVOTE_PROMPT = "The vote is tied. Vote again, among: {candidates}."


def rules_text(
    *,
    n_players: int,
    n_werewolves: int,
    seer: bool,
    doctor: bool,
    seer_learns: str,
    hunter: bool = False,
    doctor_self_protect: bool,
    doctor_repeat_protect: bool,
    reveal_exiled: str,
    reveal_killed: str,
    discussion_order: str,
    discussion_passes: int,
    tie_break: str,
    max_rounds: int,
) -> str:
    """The rules, as every player reads them at the start (the same text for everyone)."""
    specials = [name for name, on in (("a seer", seer), ("a doctor", doctor), ("a hunter", hunter)) if on]
    n_villagers = n_players - n_werewolves - len(specials)
    cast = ", ".join([f"{n_werewolves} werewolves", *specials, f"{n_villagers} villagers"])
    lines = [
        f"Werewolf with {n_players} players: {cast}. Player names are player_0 to player_{n_players - 1}.",
        "Every round has a night, then a day. The game starts at night.",
        "Night: the werewolves meet in secret and vote on one player to kill (ties settled by a random draw).",
    ]
    if seer:
        what = "their role" if seer_learns == "role" else "only whether they are a werewolf"
        lines.append(f"The seer inspects one player each night and learns {what}.")
    if doctor:
        limits = []
        if not doctor_self_protect:
            limits.append("not themselves")
        if not doctor_repeat_protect:
            limits.append("not the same player two nights in a row")
        extra = f" ({'; '.join(limits)})" if limits else ""
        lines.append(f"The doctor protects one player each night{extra}; a protected player survives an attack.")
    if hunter:
        lines.append(
            "When the hunter is eliminated, it immediately shoots one living player of its choice (or nobody)."
        )
    order = {
        "fixed": "in seat order",
        "random": "in a random order drawn each day",
        "bidding": "by bidding: before each turn everyone bids 0-4 for the floor and the highest bid speaks",
    }[discussion_order]
    lines.append(f"Day: the night's death is announced, then the living discuss ({order}; {discussion_passes} passes).")
    tie = {
        "random": "a tie is settled by a random draw",
        "revote": "a tie leads to one revote among the tied, then a random draw",
        "none": "on a tie nobody is exiled",
    }[tie_break]
    lines.append(f"Then everyone alive casts a sealed vote; the most votes is exiled ({tie}). Votes are then shown.")
    shown = {"role": "their role is revealed", "side": "their side is revealed", "none": "nothing is revealed"}
    lines.append(f"When a player is exiled {shown[reveal_exiled]}; when killed at night {shown[reveal_killed]}.")
    lines.append(
        "The village wins when no werewolf is left; the werewolves win when they are at least as many as "
        f"everyone else. After {max_rounds} rounds the game stops undecided."
    )
    lines.append(CLAIM_GRAMMAR)
    return " ".join(lines)


def morning_text(round_: int, victim: str | None, revealed: str | None) -> str:
    """The morning news: who died in the night, and what is revealed about them."""
    if victim is None:
        return f"Morning of day {round_}. Nobody died in the night."
    shown = f" They were {_article(revealed)}." if revealed else ""
    return f"Morning of day {round_}. {victim} was killed by the werewolves in the night.{shown}"


def exile_text(target: str, revealed: str | None) -> str:
    """The announcement of an exile."""
    shown = f" They were {_article(revealed)}." if revealed else " Their role stays secret."
    return f"{target} is exiled by the village.{shown}"


def inspection_text(target: str, result: str) -> str:
    """The seer's private result."""
    if result == "village":
        return f"You inspected {target}: they are not a werewolf."
    return f"You inspected {target}: they are {_article(result)}."


def shot_text(target: str, revealed: str | None) -> str:
    """The announcement of a player shot by the hunter."""
    shown = f" They were {_article(revealed)}." if revealed else ""
    return f"{target} is shot by the hunter.{shown}"


def shot_choice_text(hunter: str, target: str | None) -> str:
    """What the hunter chose (public)."""
    return f"{hunter} shoots {target}." if target else f"{hunter} spares everyone."


def protection_text(target: str) -> str:
    """The doctor's private confirmation of its protection."""
    return f"You protected {target} tonight."


def _article(word: str | None) -> str:
    if word == "village":
        return "on the village side"
    if word in ("seer", "doctor", "hunter"):
        return f"the {word}"
    return f"a {word}"
