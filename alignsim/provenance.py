"""Where an episode was played: package versions, the git commit of alignsim's source, the platform.

Recorded in every log header; computed once per process.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["platform_name", "provenance"]


@functools.cache
def provenance() -> tuple[dict[str, str], dict[str, Any] | None]:
    """Versions of Python and of the packages that decide outcomes, and ``{"commit", "dirty"}`` of the
    git checkout alignsim runs from (None outside one)."""
    versions = {"python": sys.version.split()[0]}
    for package in ("alignsim", "pettingzoo", "gymnasium", "numpy", "msgspec", "hydra-core"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    git = None
    source = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        # --no-optional-locks: reading the state must not refresh (write) the user's index, nor
        # leave an index.lock behind that blocks their next commit if this process is killed.
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        git = {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        pass
    return versions, git


@functools.cache
def platform_name() -> str:
    """``platform.platform()``, computed once."""
    return platform.platform()
