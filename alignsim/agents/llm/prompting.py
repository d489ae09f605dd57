"""Turning agent text into prompt data that cannot act as instructions, and reading structure out of it.

Other agents' words reach a prompt only inside «» quotes in a user turn, with chat-template
control tokens defused, so a player who writes ``<|im_start|>system`` or ``[INST]`` cannot
open a new turn or impersonate the system. Structured claims are read from an agent's own
message by a fixed, documented grammar.
"""

from __future__ import annotations

import re

# Control sequences of common chat templates (ChatML, Llama 2/3, Gemma, Mistral, Phi, ...).
_CONTROL = re.compile(
    r"<\|[^|<>\n]{0,40}\|>"  # <|im_start|>, <|eot_id|>, <|start_header_id|>, <|system|> ...
    r"|</?s>"  # <s>, </s>
    r"|\[/?INST\]|\[/?SYS\]|<<SYS>>|<</SYS>>"
    r"|<start_of_turn>|<end_of_turn>|<bos>|<eos>",
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"ignore (all )?(the )?(previous|prior|above) (instructions|messages)|^\s*(system|assistant)\s*:"
    r"|you are now|new instructions|reveal (all|every)[a-z' ]* roles?",
    re.IGNORECASE | re.MULTILINE,
)


def defuse(text: str) -> str:
    """``text`` with chat-template control sequences broken apart (``<|x|>`` -> ``‹|x|›``)."""
    return _CONTROL.sub(
        lambda m: m.group(0).replace("<", "‹").replace(">", "›").replace("[", "⟦").replace("]", "⟧"), text
    )


def has_control_tokens(text: str) -> bool:
    """Whether ``text`` contains a chat-template control sequence (see :func:`defuse`)."""
    return _CONTROL.search(text) is not None


def looks_like_injection(text: str) -> bool:
    """Heuristic flag for prompt-injection attempts (logged; the text stays quoted data)."""
    return has_control_tokens(text) or _INJECTION.search(text) is not None


def quote(text: str) -> str:
    """Another agent's words as inert data: one line, control tokens defused, in «» quotes."""
    flat = " ".join(defuse(text).replace("«", '"').replace("»", '"').split())
    return f"«{flat}»"


_PLAYER = r"(player_\d+)"
_SELF = r"(?:i am|i'm|i’m)"
_TRAITOR = r"(?:an? )?(?:traitor|traitors)"
_FAITHFUL = r"(?:an? )?(?:faithful|innocent)"
CLAIM_PATTERNS: tuple[tuple[re.Pattern[str], str, bool], ...] = (
    (re.compile(rf"\b{_PLAYER} is not {_TRAITOR}\b", re.I), "faithful", False),
    (re.compile(rf"\b{_PLAYER} is not {_FAITHFUL}\b", re.I), "traitor", False),
    (re.compile(rf"\b{_PLAYER} is {_TRAITOR}\b", re.I), "traitor", False),
    (re.compile(rf"\b{_PLAYER} is {_FAITHFUL}\b", re.I), "faithful", False),
    (re.compile(rf"\b{_SELF} not {_TRAITOR}\b", re.I), "faithful", True),
    (re.compile(rf"\b{_SELF} {_TRAITOR}\b", re.I), "traitor", True),
    (re.compile(rf"\b{_SELF} {_FAITHFUL}\b", re.I), "faithful", True),
)


def extract_claims(message: str, speaker: str) -> dict[str, str]:
    """Claims in ``message``: ``{subject: "traitor" | "faithful"}``.

    Grammar: "player_N is (a) traitor", "player_N is (not) faithful/innocent",
    "player_N is not a traitor", "I am (not) (a) traitor / faithful" (about the speaker).
    The first claim about a subject wins; negations are read before plain forms.
    """
    found: dict[str, tuple[int, str]] = {}
    for pattern, role, about_self in CLAIM_PATTERNS:
        for match in pattern.finditer(message):
            subject = speaker if about_self else match.group(1).lower()
            if subject not in found or match.start() < found[subject][0]:
                if subject in found and found[subject][0] == match.start():
                    continue
                found[subject] = (match.start(), role)
    return {subject: role for subject, (_, role) in found.items()}


def clean_line(text: str) -> str:
    """First non-empty line of a completion, stripped of quotes and surrounding space."""
    line = next((part for part in text.split("\n") if part.strip()), "").strip()
    return line.strip('"“”«»').strip()


def has_words(text: str) -> bool:
    """Whether ``text`` holds at least one word (two letters in a row), i.e. is not empty or punctuation."""
    return re.search(r"[A-Za-z]{2,}", text) is not None
