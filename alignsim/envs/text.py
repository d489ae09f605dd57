"""Text helpers shared by the built-in envs: character sets, cleaning agent text, config checks.

Each env declares the characters of its ``Text`` spaces; agent text outside them becomes
U+FFFD so that observations stay inside the declared space. The three character sets
differ and stay distinct constants: a set is part of an env's observation and action
spaces (``gymnasium.spaces.Text(charset=...)``, the text masks) and of the logs they
produced, so changing one would change outcomes for the same seed and actions (a new env
version). The Traitors allows more typographic punctuation (daggers, primes, angle
quotes) than principal-agent; self-evolution keeps to printable ASCII and guillemets.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

import numpy as np

from alignsim.errors import ConfigError

__all__ = [
    "PRINCIPAL_AGENT_CHARSET",
    "SELF_EVOLUTION_CHARSET",
    "TRAITORS_CHARSET",
    "cleaner",
    "need",
    "readonly",
]

_LATIN_1 = "".join(chr(c) for c in range(0xA0, 0x100))

TRAITORS_CHARSET: str = string.printable + _LATIN_1 + "‐‑‒–—―‘’‚‛“”„‟†‡•…‰′″‹›€™" + "\ufffd"
"""Printable ASCII, Latin-1 and common typographic punctuation (The Traitors' messages and reasoning)."""
PRINCIPAL_AGENT_CHARSET: str = string.printable + _LATIN_1 + "‐‑‒–—―‘’‚‛“”„‟•…€™" + "\ufffd"
"""Printable ASCII, Latin-1 and a smaller set of punctuation (principal-agent explanations)."""
SELF_EVOLUTION_CHARSET: str = string.printable + "«»\ufffd"
"""Printable ASCII and guillemets (self-evolution and threshold-game notes)."""

_ASCII_OUTSIDE_PRINTABLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
"""The ASCII characters ``string.printable`` leaves out (every charset above holds the rest)."""


def cleaner(charset: str) -> Callable[[str], str]:
    """A function replacing every character of a text outside ``charset`` (which must hold
    ``string.printable``) with U+FFFD; plain printable ASCII is returned as is, unscanned."""
    allowed = frozenset(charset)
    if not allowed.issuperset(string.printable):
        raise ValueError("the charset must hold string.printable")

    def clean(text: str) -> str:
        if text.isascii() and not _ASCII_OUTSIDE_PRINTABLE.search(text):
            return text
        return "".join(c if c in allowed else "\ufffd" for c in text)

    return clean


def need(ok: bool, name: str, message: str) -> None:
    """ConfigError naming the parameter ``name`` unless ``ok`` (for env configs' ``__post_init__``)."""
    if not ok:
        raise ConfigError(name, message)


def readonly(array: np.ndarray) -> np.ndarray:
    """``array``, made read-only (observation parts shared between calls must not be mutated)."""
    array.flags.writeable = False
    return array
