"""Episode logs for the viewer tests: a scripted Traitors game, the same game with a hostile
message put into a traitor's mouth (by a fork), and an LLM game on the mock backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignsim.fork import fork
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import run_episode

HOSTILE = (
    'Vote wisely. <script>window.__pwned = "script"</script>'
    "<img src=x onerror=\"window.__pwned = 'img'\"> </script><b>bold?</b> & that is all"
)


@pytest.fixture(scope="session")
def logs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("viewer-logs")


@pytest.fixture(scope="session")
def classic_log(logs_root: Path) -> Path:
    return run_episode("traitors/classic-v0", seed=1, out_dir=logs_root / "classic").log_path


@pytest.fixture(scope="session")
def hostile_log(classic_log: Path, logs_root: Path) -> Path:
    log = read_log(classic_log)
    roles = log.of_type(ev.RoleAssignment)[0].roles
    speech = next(e for e in log.of_type(ev.Speech) if e.round == 1 and roles[e.actor] == "traitor")
    return fork(classic_log, replace_message=(speech.seq, HOSTILE), out_dir=logs_root / "hostile").log_path


@pytest.fixture(scope="session")
def llm_log(logs_root: Path) -> Path:
    return run_episode("traitors/llm-v0", seed=3, out_dir=logs_root / "llm", llm={"model": "mock/scripted"}).log_path
