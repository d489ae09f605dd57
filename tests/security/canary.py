"""Canaries for the config-safety tests: whatever here gets called leaves a file behind.

Every callable writes the file named by its ``path`` argument (or ``$ALIGNSIM_CANARY``), so a
test that finds no file knows that no route reached it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any


def touch(path: str = "", *args: Any, **kwargs: Any) -> logging.Handler:
    """Write the canary file; returns a handler so that logging's factories accept it too."""
    Path(path or os.environ["ALIGNSIM_CANARY"]).write_text("called\n")
    return logging.NullHandler()


class Canary(logging.Handler):
    """A class (callback, launcher, sweeper or logging handler) whose construction writes the canary."""

    def __init__(self, *args: Any, path: str = "", **kwargs: Any) -> None:
        super().__init__()
        touch(path)


class Pickled:
    """Unpickling this calls :func:`touch` (what ``--experimental-rerun`` would do with a config pickle)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return touch, (self.path,)
