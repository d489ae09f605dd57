"""Shared fixtures. Slow, GPU and network tests are opt-in (--runslow, --rungpu, --runnetwork)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from alignsim.record import find_logs
from alignsim.run import replay

OPT_IN = {"slow": "--runslow", "gpu": "--rungpu", "network": "--runnetwork"}

# `alignsim analyze` simulates null-policy episodes for its chance columns (500 units per group by
# default): tests keep them few, and keep their cache out of the user's home. Subprocesses inherit both.
_CHANCE_CACHE = tempfile.mkdtemp(prefix="alignsim-test-chance-")
os.environ.setdefault("ALIGNSIM_CHANCE_EPISODES", "40")
os.environ["ALIGNSIM_CHANCE_CACHE"] = _CHANCE_CACHE


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_CHANCE_CACHE, ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    for marker, flag in OPT_IN.items():
        parser.addoption(flag, action="store_true", default=False, help=f"run tests marked {marker}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for marker, flag in OPT_IN.items():
        if config.getoption(flag):
            continue
        skip = pytest.mark.skip(reason=f"needs {flag}")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def run_dir(tmp_path: Path):
    """An output folder for runs. After the test, every finished episode log in it must
    replay exactly (the project's promise: every log a test produces replays)."""
    out = tmp_path / "run"
    out.mkdir()
    yield out
    logs = (
        [p for p in find_logs(out) if p.with_name(p.name.replace(".jsonl", ".summary.json")).exists()]
        if any(out.iterdir())
        else []
    )
    for log in logs:
        replay(log)
