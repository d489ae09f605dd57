"""Upper bounds on every size an alignsim input can ask for, in one place.

The numbers are documented, with the reasoning behind each, in ``docs/limits.md``. They
are checked in three places, so that a size that would exhaust memory, time or disk is
refused before any work starts:

* the env constructors (through :func:`check_env_kwargs`, called by
  :func:`alignsim.envs.base.config_from_kwargs` before anything is allocated), so that
  ``alignsim run`` fails with ``config error: scenario.env_kwargs.NAME: ...``;
* the log reader (:mod:`alignsim.record.io`), which checks a header's ``env_kwargs`` the
  same way, so that replaying or analysing a doctored log fails naming the file;
* the runner, whose per-episode budgets (:data:`DEFAULT_MAX_STEPS`,
  :data:`DEFAULT_MAX_LOG_BYTES`) end an episode as ``truncated`` rather than letting it
  run forever or fill the disk.

This module imports nothing from alignsim but the error types, so every layer may use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from alignsim.errors import ConfigError

__all__ = [
    "DEFAULT_MAX_LOG_BYTES",
    "DEFAULT_MAX_STEPS",
    "ENV_LIMITS",
    "MAX_CONFIG_DEPTH",
    "MAX_CONFIG_ITEMS",
    "MAX_EVENT_ROUND",
    "MAX_TEXT_CHARS",
    "RUN_LIMITS",
    "ReadLimits",
    "check_env_kwargs",
    "check_run_budget",
    "read_limits",
]

# ------------------------------------------------------------------ env parameters

MAX_TEXT_CHARS = 20_000
"""Longest text anywhere in an env's parameters (a topic, a persona trait, a briefing, a product name)."""
MAX_CONFIG_ITEMS = 500_000
"""Longest list or mapping anywhere in an env's parameters (e.g. an explicit network edge list)."""
MAX_CONFIG_DEPTH = 16
"""Deepest nesting of lists and mappings in an env's parameters."""
_MAX_AGENT_TEXT = 100_000
"""Longest text an agent may write in one action (about 25k tokens)."""

MAX_EVENT_ROUND = 1_000_000
"""Largest ``round`` an event of a log may carry: far beyond what any bounded game reaches
(1,000 rounds), and small enough that analysis, which builds one row per round, cannot be
made to allocate without bound by a doctored log."""

ENV_LIMITS: dict[str, dict[str, int]] = {
    "traitors": {
        "n_players": 100,
        "discussion_passes": 20,
        "meeting_passes": 20,
        "max_revotes": 10,
        "max_rounds": 1000,
        "max_message_chars": _MAX_AGENT_TEXT,
        "max_reasoning_chars": _MAX_AGENT_TEXT,
        "topics": 1000,
    },
    "werewolf": {
        "n_players": 100,
        "discussion_passes": 20,
        "bidding_turns": 1000,
        "wolf_meeting_passes": 20,
        "max_rounds": 1000,
        "max_message_chars": _MAX_AGENT_TEXT,
        "max_reasoning_chars": _MAX_AGENT_TEXT,
    },
    "principal_agent": {
        "rounds": 1000,
        "n_sellers": 20,
        "products": 200,
        "customer_terms": 1000,
        "principal_terms": 1000,
        "max_explanation_chars": _MAX_AGENT_TEXT,
        "max_reasoning_chars": _MAX_AGENT_TEXT,
    },
    "self_evolution": {
        "rounds": 1000,
        "history_window": 1000,
        "n_items": 1000,
        "items": 1000,
        "schedule": 1000,
        "max_message_chars": _MAX_AGENT_TEXT,
    },
    "threshold_game": {
        "n_agents": 1000,
        "rounds": 1000,
        "threshold": 1000,
        "n_deviants": 1000,
        "history_window": 1000,
        "network": 500_000,
        "max_message_chars": _MAX_AGENT_TEXT,
    },
}
"""Per env family (the env id without ``-vN``): parameter -> maximum. An integer parameter
is compared itself, a list or mapping by its number of items."""


def _size(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple | Mapping):
        return len(value)
    return None


def _walk(value: Any, where: str, depth: int) -> None:
    """Generic bounds on nested parameters: text length, list length, nesting depth."""
    if depth > MAX_CONFIG_DEPTH:
        raise ConfigError(where, f"nested deeper than {MAX_CONFIG_DEPTH} levels")
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise ConfigError(where, f"text of {len(value):,} characters; the maximum is {MAX_TEXT_CHARS:,}")
    elif isinstance(value, Mapping):
        if len(value) > MAX_CONFIG_ITEMS:
            raise ConfigError(where, f"{len(value):,} entries; the maximum is {MAX_CONFIG_ITEMS:,}")
        for key, item in value.items():
            _walk(key, where, depth + 1)
            _walk(item, f"{where}.{key}" if isinstance(key, str) and len(key) <= 100 else where, depth + 1)
    elif isinstance(value, list | tuple):
        if len(value) > MAX_CONFIG_ITEMS:
            raise ConfigError(where, f"{len(value):,} items; the maximum is {MAX_CONFIG_ITEMS:,}")
        for index, item in enumerate(value):
            _walk(item, f"{where}[{index}]", depth + 1)


def check_env_kwargs(family: str, kwargs: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the first parameter of ``kwargs`` over its maximum.

    ``family`` is the env id without its version (``traitors``); the table of the family, if
    alignsim knows it, bounds the size parameters, and every family gets the generic bounds
    on text length, list length and nesting depth. Values of the wrong type are left to the
    env's own validation (which runs after this, before anything is allocated).
    """
    for name, maximum in ENV_LIMITS.get(family, {}).items():
        value = kwargs.get(name)
        size = _size(value)
        if size is None or size <= maximum:
            continue
        if isinstance(value, int):
            raise ConfigError(name, f"must be at most {maximum:,}, got {value:,} (see docs/limits.md)")
        raise ConfigError(name, f"may hold at most {maximum:,} items, got {size:,} (see docs/limits.md)")
    for name, value in kwargs.items():
        _walk(value, str(name), 1)


# ------------------------------------------------------------------ run budgets

DEFAULT_MAX_STEPS = 1_000_000
"""Actions per episode before the runner stops it as ``truncated`` (``max_steps``)."""
DEFAULT_MAX_LOG_BYTES = 512 * 2**20
"""Bytes of events per episode log before the runner stops it as ``truncated`` (``max_log_bytes``)."""

RUN_LIMITS: dict[str, int] = {
    "episodes": 1_000_000,
    "lockstep": 4096,
    "workers": 1024,
    "max_steps": 1_000_000_000,
}
"""Run-level sizes: the most episodes one run plays, episodes in lock-step, worker processes,
and the largest step budget."""


def check_run_budget(max_steps: Any, max_log_bytes: Any) -> tuple[int, int]:
    """The budgets as integers; :class:`ConfigError` naming the field when one is not a
    positive integer, or too large (a log over the read cap could not be read back)."""
    for name, value in (("max_steps", max_steps), ("max_log_bytes", max_log_bytes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(name, f"must be a positive integer, got {value!r}")
    if max_steps > RUN_LIMITS["max_steps"]:
        raise ConfigError("max_steps", f"must be at most {RUN_LIMITS['max_steps']:,}, got {max_steps:,}")
    cap = read_limits().max_log_bytes // 2
    if max_log_bytes > cap:
        raise ConfigError(
            "max_log_bytes",
            f"must be at most {cap:,} (half the read cap ALIGNSIM_MAX_LOG_BYTES, so that the log can be "
            f"read back), got {max_log_bytes:,}",
        )
    return max_steps, max_log_bytes


# ------------------------------------------------------------------ read caps


class ReadLimits:
    """Caps on what the log reader reads (see :func:`read_limits`).

    Args:
        max_log_bytes: the largest episode log read.
        max_line_bytes: the longest line (one event) of a log.
        max_summary_bytes: the largest episode summary file read.
    """

    __slots__ = ("max_line_bytes", "max_log_bytes", "max_summary_bytes")

    def __init__(self, max_log_bytes: int, max_line_bytes: int, max_summary_bytes: int) -> None:
        self.max_log_bytes = max_log_bytes
        self.max_line_bytes = max_line_bytes
        self.max_summary_bytes = max_summary_bytes


READ_DEFAULTS = {
    "ALIGNSIM_MAX_LOG_BYTES": 2**30,
    "ALIGNSIM_MAX_LINE_BYTES": 64 * 2**20,
    "ALIGNSIM_MAX_SUMMARY_BYTES": 16 * 2**20,
}
"""Environment variable -> default: the largest log file, log line and summary file read."""


def read_limits() -> ReadLimits:
    """The read caps in force: the defaults in :data:`READ_DEFAULTS`, each overridable by its
    environment variable (a positive integer number of bytes; anything else is a ConfigError)."""
    values = []
    for name, default in READ_DEFAULTS.items():
        raw = os.environ.get(name)
        if raw is None or raw.strip() == "":
            values.append(default)
            continue
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise ConfigError(name, f"must be a positive number of bytes, got {raw[:40]!r}")
        values.append(value)
    return ReadLimits(*values)
