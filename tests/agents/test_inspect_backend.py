"""The ``inspect/<model>`` backend outside an eval, on Inspect's mock model (``mockllm/model``)."""

from __future__ import annotations

from typing import Any

import pytest

from alignsim.agents.llm.backends import make_backend
from alignsim.agents.llm.types import LLMRequest, SamplingParams

pytest.importorskip("inspect_ai", reason="inspect-ai is part of the test extra")

MESSAGES = (
    {"role": "system", "content": "You are player_0 in a social-deduction game."},
    {"role": "user", "content": "Whom do you vote to banish?"},
)


class Mock:
    """Answers for ``mockllm/model`` (its ``custom_outputs``), recording what each call was sent."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.seen: list[tuple[list[Any], Any]] = []

    def __call__(self, messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> Any:
        from inspect_ai.model import ModelOutput, ModelUsage

        self.seen.append((messages, config))
        last = messages[-1].text
        if last == "boom":
            raise RuntimeError("the provider is down")
        reply = next((text for cue, text in self.answers.items() if cue in last), "player_2 for sure")
        output = ModelOutput.from_content(model="mockllm", content=reply)
        output.usage = ModelUsage(input_tokens=11, output_tokens=4, total_tokens=15)
        return output


def test_requests_params_choices_and_errors() -> None:
    mock = Mock({"Answer with exactly one of": "player_2.", "Speak": "I trust player_1."})
    backend = make_backend("inspect/mockllm/model", custom_outputs=mock)
    assert backend.model_id == "inspect/mockllm/model"
    params = SamplingParams(max_tokens=21, temperature=0.3, top_p=0.8, seed=17, stop=("\n",))
    try:
        answers = backend.generate(
            [
                LLMRequest(messages=(*MESSAGES, {"role": "user", "content": "Speak"}), params=params),
                LLMRequest(messages=MESSAGES, choices=("player_1", "player_2"), params=params),
                LLMRequest(messages=MESSAGES, choices=("player_1", "player_3"), prefill="I vote", params=params),
                LLMRequest(messages=(*MESSAGES, {"role": "user", "content": "boom"}), params=params),
            ]
        )
    finally:
        backend.close()
    speech, vote, unmatched, failed = answers
    assert speech.text == "I trust player_1." and speech.choice is None and speech.error is None
    assert (speech.prompt_tokens, speech.completion_tokens) == (11, 4)
    assert vote.choice == 1 and vote.text == "player_2."
    # An answer that names no option comes back unmatched: the agent re-asks, then falls back.
    assert unmatched.choice is None and unmatched.error is None
    assert failed.error is not None and "the provider is down" in failed.error and failed.text == ""
    by_text = {messages[-1].text: (messages, config) for messages, config in mock.seen}
    _, config = by_text["Speak"]
    assert (config.max_tokens, config.temperature, config.top_p, config.seed, config.stop_seqs) == (
        21,
        0.3,
        0.8,
        17,
        ["\n"],
    )
    messages, config = by_text["I vote"]  # the prefill is the start of the assistant's turn
    assert messages[-2].text == "Answer with exactly one of: player_1, player_3."
    assert messages[-1].role == "assistant" and config.max_tokens < 21
