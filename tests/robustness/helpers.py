"""Helpers for the hostile-input tests: run the CLI as a user would, and doctor logs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ALIGNSIM = shutil.which("alignsim") or f"{sys.executable} -m alignsim.cli"


def cli(*args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``alignsim ARGS`` as a subprocess (a hang fails the test through ``timeout``)."""
    return subprocess.run([*ALIGNSIM.split(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def doctor_header(source: Path, target: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the log ``source`` at ``target`` whose header ``change`` has edited."""
    lines = source.read_bytes().split(b"\n")
    header = json.loads(lines[0])
    change(header)
    lines[0] = json.dumps(header).encode()
    target.write_bytes(b"\n".join(lines))
    return target


def assert_clean_error(stderr: str, *names: str) -> None:
    """No traceback, and every name (a file or a field) appears in the error output."""
    assert "Traceback" not in stderr, stderr
    for name in names:
        assert name in stderr, (name, stderr)
