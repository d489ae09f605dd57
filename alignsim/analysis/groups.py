"""Which run parameters differ between episodes: the automatic split every family's tables use.

Pooling episodes that ran under different parameters (audit probability 0.3 with 0.6, two
models, two temperatures) makes a cell for a treatment nobody ran. Each analysis therefore
splits its tables by every parameter that varies among the episodes it analyses
(:func:`varying_keys`), leaving out only the per-episode draws it deliberately pools over.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

__all__ = ["short_value", "varying_keys"]


def varying_keys(records: Iterable[Mapping[str, Any]], *, leave_out: Collection[str] = ()) -> list[str]:
    """The keys whose value differs between ``records`` (a key a record lacks counts as None), sorted.

    Values are compared by ``repr``, so ``1`` and ``1.0`` differ: normalise numbers first
    where that matters.
    """
    records = list(records)
    keys = sorted({k for r in records for k in r} - set(leave_out))
    return [k for k in keys if len({repr(r.get(k)) for r in records}) > 1]


def short_value(value: Any) -> str:
    """A compact rendering of a parameter value for group labels (``0.3``, ``(a,b)``)."""
    if isinstance(value, list | tuple):
        return "(" + ",".join(short_value(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
