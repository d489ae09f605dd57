"""What crosses the line between agents and language-model backends.

A backend takes a batch of :class:`LLMRequest` and returns one :class:`LLMResponse` per
request, in order. Every sampling parameter is explicit on the request, so a logged
request says exactly how its output was produced.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import msgspec


class SamplingParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How to sample. Every field is explicit; there are no backend-side defaults."""

    max_tokens: int = 64
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0
    """Per-request seed: the same request with the same seed gives the same output on the same backend."""
    stop: tuple[str, ...] = ()


class LLMRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One generation or choice request.

    With ``choices``, the backend returns the index of one of them (log-probability
    scoring or constrained decoding), so the answer is legal by construction. With
    ``prefill``, generation continues an assistant turn that starts with that text.
    """

    messages: tuple[dict[str, str], ...]
    params: SamplingParams = SamplingParams()
    choices: tuple[str, ...] | None = None
    json_schema: dict[str, Any] | None = None
    prefill: str = ""
    tag: str = ""
    """Free label for logs and usage accounting (e.g. ``speech``, ``vote``)."""

    def key(self) -> bytes:
        """Canonical bytes identifying the request (messages, params, choices, prefill)."""
        return msgspec.json.encode([self.messages, self.params, self.choices, self.json_schema, self.prefill])


class LLMResponse(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The answer to one request."""

    text: str
    """Generated text (for choice requests, the chosen option's text)."""
    choice: int | None = None
    """Index into ``request.choices`` for choice requests."""
    scores: tuple[float, ...] | None = None
    """Per-choice log-probabilities, where the backend computes them."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: str = "stop"
    error: str | None = None
    """Set when the backend failed for this request; ``text`` is then empty."""
    cached: bool = False


@runtime_checkable
class Backend(Protocol):
    """A language model behind a batch-first interface."""

    model_id: str
    """``provider/model``, recorded in logs."""

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """Answer ``requests`` in order. Must not raise for a bad output: report it in ``error``."""

    def close(self) -> None:
        """Release the model, connections, files."""
