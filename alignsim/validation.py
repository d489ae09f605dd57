"""Small value checks shared by the config validators: each raises ConfigError naming the field.

They only look (``os.access``, ``stat``): checking that a path is writable never creates it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from alignsim.errors import ConfigError, did_you_mean

__all__ = ["check_bool", "check_choice", "check_int", "check_keys", "check_number", "check_writable", "join"]


def join(prefix: str, field: str) -> str:
    """``prefix.field`` (``field`` alone when there is no prefix)."""
    return f"{prefix}.{field}" if prefix else field


def check_int(value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` if it is an int (a bool is not) within ``[minimum, maximum]``, else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(field, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(field, f"must be at most {maximum}, got {value}")
    return value


def check_number(
    value: Any,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
) -> float:
    """A finite int or float within ``[minimum, maximum]`` and, with ``above``, strictly greater than it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(field, f"must be a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(field, f"must be >= {minimum:g}, got {value:g}")
    if above is not None and value <= above:
        raise ConfigError(field, f"must be > {above:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ConfigError(field, f"must be <= {maximum:g}, got {value:g}")
    return float(value)


def check_bool(value: Any, field: str) -> bool:
    """``value`` if it is a bool, else ConfigError (``"yes"`` and ``1`` are refused, not coerced)."""
    if not isinstance(value, bool):
        raise ConfigError(field, f"must be true or false, got {value!r}")
    return value


def check_choice(value: Any, field: str, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``, else ConfigError listing them (with a close match)."""
    known = list(choices)
    if value not in known:
        raise ConfigError(field, f"{value!r} is not one of {', '.join(map(repr, known))}{did_you_mean(value, known)}")
    return value


def check_keys(mapping: Any, field: str, known: Iterable[str], *, what: str = "option") -> Mapping[str, Any]:
    """``mapping`` must be a mapping whose keys are all in ``known``; the error names the first unknown key."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ConfigError(field, f"must be a mapping of {what}s, got {mapping!r}")
    names = sorted(known)
    for key in mapping:
        if key not in names:
            raise ConfigError(
                join(field, str(key)), f"unknown {what}{did_you_mean(key, names)}; known: {', '.join(names)}"
            )
    return mapping


def check_writable(path: Any, field: str, *, folder: bool) -> Path:
    """``path`` can be written (a file, or with ``folder`` a folder) by this process, without creating it.

    An existing path must be of the right kind and writable; a new one must lie under a writable
    folder (its nearest existing ancestor), with no file in the way.
    """
    if not isinstance(path, str | os.PathLike) or not str(path).strip():
        raise ConfigError(field, f"must be a path, got {path!r}")
    target = Path(path).expanduser()
    kind = "folder" if folder else "file"
    if target.exists():
        if folder and not target.is_dir():
            raise ConfigError(field, f"{str(path)!r} is a file, not a folder")
        if not folder and target.is_dir():
            raise ConfigError(field, f"{str(path)!r} is a folder, not a file")
        if not os.access(target, os.W_OK | (os.X_OK if folder else 0)):
            raise ConfigError(field, f"{str(path)!r} is not writable")
        return target
    ancestor = target.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(field, f"cannot create the {kind} {str(path)!r}: {ancestor} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(field, f"cannot create the {kind} {str(path)!r}: {ancestor} is not writable")
    return target
