"""CPU thread choice for local models: explicit, environment, automatic, and shared among processes."""

from __future__ import annotations

import os

import pytest

from alignsim.agents.llm.embedded import cpu_threads, thread_share, use_thread_share
from alignsim.errors import AlignsimError

CORES = len(os.sched_getaffinity(0))


def test_explicit_then_environment_then_every_usable_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIGNSIM_THREADS", raising=False)
    assert cpu_threads() == cpu_threads("auto") == CORES
    assert cpu_threads(3) == 3 and cpu_threads("torch") is None
    monkeypatch.setenv("ALIGNSIM_THREADS", "1")
    assert cpu_threads() == 1 and cpu_threads("auto") == 1
    assert cpu_threads(2) == 2, "an explicit backend option wins over the environment"
    for bad in (0, -2, "many"):
        with pytest.raises(AlignsimError, match="threads must be"):
            cpu_threads(bad)


def test_concurrent_processes_share_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIGNSIM_THREADS", raising=False)
    assert thread_share(1) == str(CORES)
    assert thread_share(CORES) == "1" and thread_share(CORES * 4) == "1"
    monkeypatch.setenv("ALIGNSIM_THREADS", "5")
    assert thread_share(2) == "5", "the user's own setting is passed on unchanged"
    use_thread_share("1")
    assert os.environ["ALIGNSIM_THREADS"] == "1" and cpu_threads() == 1


def test_openmp_waits_passively_unless_the_user_says_otherwise() -> None:
    import subprocess
    import sys

    code = "import os, alignsim.agents.llm.embedded; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout == "PASSIVE\n"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout == "ACTIVE\n"
