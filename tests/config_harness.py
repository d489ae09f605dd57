"""Helpers for the hostile-config tests: run a command in a clean folder, see what it left behind."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from alignsim.cli import main


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    written: set[str]
    """Paths (relative to the working folder) that exist now and did not before."""


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def invoke(args: list[str], cwd: Path, capsys: pytest.CaptureFixture[str]) -> Outcome:
    """``alignsim ARGS`` in this process, in ``cwd``; what it printed and wrote."""
    before = tree(cwd)
    capsys.readouterr()
    here = Path.cwd()
    os.chdir(cwd)
    try:
        code = main(args)
    finally:
        os.chdir(here)
    out = capsys.readouterr()
    return Outcome(code, out.out, out.err, tree(cwd) - before)


def assert_rejected(outcome: Outcome, command: str, field: str) -> None:
    """Exit 2, one ``config error:`` line naming ``field``, no traceback, nothing written."""
    lines = outcome.stderr.strip().splitlines()
    assert outcome.code == 2, outcome.stderr + outcome.stdout
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith(f"alignsim {command}: config error: {field}:"), lines[0]
    assert "Traceback" not in outcome.stderr + outcome.stdout
    assert outcome.stdout == ""
    assert not outcome.written, f"wrote {sorted(outcome.written)}"
