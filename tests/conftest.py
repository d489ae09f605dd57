"""Shared fixtures. Slow, GPU and network tests are opt-in (--runslow, --rungpu, --runnetwork)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
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


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Undo what an in-process CLI call did to logging (Hydra configures it per job).

    Otherwise a handler left on a logger keeps writing to the captured stderr of the test that
    made it; once that stream is closed, each record prints "--- Logging error ---" into a later
    test's stderr, and tests that check stderr is one line fail depending on their order.
    """
    manager = logging.Logger.manager
    root = logging.getLogger()
    before = {
        name: (logger.handlers[:], logger.level, logger.propagate, logger.disabled)
        for name, logger in [("", root), *manager.loggerDict.items()]
        if isinstance(logger, logging.Logger)
    }
    yield
    for name, logger in [("", root), *manager.loggerDict.items()]:
        if not isinstance(logger, logging.Logger):
            continue
        handlers, level, propagate, disabled = before.get(name, ([], logging.NOTSET, True, False))
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()  # a file handler (Hydra's job log) must not be left to the GC
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


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
