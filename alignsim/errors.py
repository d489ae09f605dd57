"""Typed errors. Every error alignsim raises on bad input derives from :class:`AlignsimError`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MAX_MESSAGE_CHARS = 4000
"""Longest error message alignsim prints; longer ones are cut (see :func:`clip`)."""


def clip(text: str, limit: int = 500) -> str:
    """``text`` cut to about ``limit`` characters, saying how much was cut.

    Error messages quote values from configs and logs, which can be megabytes long (a
    10 MB message in a replay mismatch); the start of a value is enough to recognise it.
    """
    text = str(text)
    if len(text) <= limit:
        return text
    keep = max(limit - 40, 1)
    return f"{text[:keep]}... [{len(text) - keep:,} more characters cut]"


def did_you_mean(name: object, known: Iterable[object]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or ``""`` when none is close."""
    choices = [str(k) for k in known]
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class AlignsimError(Exception):
    """Base class of every error alignsim raises on purpose.

    A message longer than :data:`MAX_MESSAGE_CHARS` is cut (with a note of how much), so
    that no error prints a whole megabyte-sized value.
    """

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str) and len(args[0]) > MAX_MESSAGE_CHARS:
            args = (clip(args[0], MAX_MESSAGE_CHARS),)
        super().__init__(*args)


class ConfigError(AlignsimError, ValueError):
    """A configuration value is invalid. The message names the field.

    Args:
        field: the dotted name of the offending field (``env_kwargs.n_players``), kept as ``field``.
        message: what is wrong with its value.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class UnknownIdError(AlignsimError, KeyError):
    """A registry lookup (env, scenario, policy) found no entry of that name.

    Args:
        kind: what was looked up (``env``, ``scenario``, ``policy``).
        name: the name asked for.
        known: the registered names, listed in the message with the closest match.
    """

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = known
        listing = ", ".join(known) if known else "(none registered)"
        super().__init__(f"unknown {kind} {name!r}{did_you_mean(name, known)}; registered: {listing}")

    def __str__(self) -> str:
        """The message itself (KeyError would print its repr, in quotes)."""
        return str(self.args[0])


class IllegalActionError(AlignsimError, ValueError):
    """An action is outside the acting agent's legal set (see its ``action_mask``).

    Args:
        agent: the acting agent.
        field: the action field at fault (``vote``, ``message``).
        reason: why the value is not legal.
    """

    def __init__(self, agent: str, field: str, reason: str) -> None:
        self.agent = agent
        self.field = field
        self.reason = reason
        super().__init__(f"illegal action by {agent}: {field}: {reason}")


class LogFormatError(AlignsimError, ValueError):
    """An episode log cannot be read (wrong schema version, broken header, bad event)."""


class ReplayMismatchError(AlignsimError, AssertionError):
    """Replaying a log produced something different from what the log recorded."""
