"""Any OpenAI-compatible chat server: ``vllm serve``, ``transformers serve``, llama.cpp, hosted APIs.

Requests of a batch are sent concurrently (bounded by ``concurrency``); transport errors,
HTTP 429 and 5xx are retried with exponential back-off and then reported in the
response's ``error``. Choice requests use the server's structured outputs when
``choice_mode="structured"`` (vLLM's ``structured_outputs``), otherwise the options are
listed in the prompt and the answer is matched to one of them (``choice_mode="prompt"``;
an answer matching none is returned with ``choice=None`` for the agent to handle).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import Any

from alignsim.agents.llm.embedded import ModelUnavailableError
from alignsim.agents.llm.types import LLMRequest, LLMResponse

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIBackend:
    """Client for an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    Args:
        model: the model name the server expects.
        base_url: e.g. ``http://127.0.0.1:8000/v1``; default ``$OPENAI_BASE_URL``.
        api_key: default ``$OPENAI_API_KEY`` (any string for local servers).
        concurrency: most requests in flight at once.
        attempts: tries per request before giving up.
        backoff_s: wait before the first retry of a request; it doubles before each further one.
        timeout_s: per-request timeout.
        choice_mode: ``prompt`` or ``structured`` (see module docstring).
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 8,
        attempts: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 120.0,
        choice_mode: str = "prompt",
    ) -> None:
        try:
            import httpx
        except ImportError as exc:
            raise ModelUnavailableError('the openai backend needs httpx; run: pip install -e ".[openai]"') from exc
        self._httpx = httpx
        self.model = model
        self.model_id = f"openai/{model}"
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "none"
        self.concurrency = concurrency
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        if choice_mode not in ("prompt", "structured"):
            raise ValueError(f"choice_mode must be 'prompt' or 'structured', got {choice_mode!r}")
        self.choice_mode = choice_mode
        self.info = {"base_url": self.base_url, "choice_mode": choice_mode}

    def close(self) -> None:
        """Nothing to release: each :meth:`generate` opens and closes its own HTTP client."""
        pass

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """Send ``requests`` concurrently, at most ``concurrency`` at once.

        Transport failures and retryable HTTP statuses are retried, up to ``attempts`` tries each."""
        return asyncio.run(self._all(requests))

    async def _all(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        limit = asyncio.Semaphore(self.concurrency)
        headers = {"Authorization": f"Bearer {self.api_key}"}
        async with self._httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout_s) as client:

            async def one(request: LLMRequest) -> LLMResponse:
                async with limit:
                    return await self._one(client, request)

            return list(await asyncio.gather(*(one(r) for r in requests)))

    def _payload(self, request: LLMRequest) -> dict[str, Any]:
        messages = chat_messages(request, list_choices=self.choice_mode == "prompt")
        params = request.params
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": params.max_tokens if request.choices is None else CHOICE_TOKENS,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            payload["stop"] = list(params.stop)
        if request.choices is not None and self.choice_mode == "structured":
            payload["structured_outputs"] = {"choice": list(request.choices)}
        if request.json_schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "action", "schema": request.json_schema},
            }
        return payload

    async def _one(self, client: Any, request: LLMRequest) -> LLMResponse:
        payload = self._payload(request)
        started = time.perf_counter()
        error = "no attempt made"
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                reply = await client.post("/chat/completions", json=payload)
            except self._httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if reply.status_code in RETRY_STATUS:
                error = f"HTTP {reply.status_code}: {reply.text[:200]}"
                continue
            if reply.status_code != 200:
                return LLMResponse(
                    text="",
                    error=f"HTTP {reply.status_code}: {reply.text[:500]}",
                    finish_reason="error",
                    latency_s=time.perf_counter() - started,
                )
            body = reply.json()
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
            usage = body.get("usage") or {}
            index = match_choice(text, request.choices) if request.choices is not None else None
            return LLMResponse(
                text=text,
                choice=index,
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                latency_s=time.perf_counter() - started,
                finish_reason=choice.get("finish_reason") or "stop",
            )
        return LLMResponse(
            text="",
            error=f"gave up after {self.attempts} attempts: {error}",
            finish_reason="error",
            latency_s=time.perf_counter() - started,
        )


CHOICE_TOKENS = 16
"""Token budget of the answer to a choice request in prompt mode (an option's name, not prose)."""


def chat_messages(request: LLMRequest, *, list_choices: bool) -> list[dict[str, str]]:
    """The chat messages sent for ``request``: its messages, then (with ``list_choices``, for
    servers without constrained decoding) an instruction naming the options, then the
    prefill as the start of an assistant turn."""
    messages = [dict(m) for m in request.messages]
    if request.choices is not None and list_choices:
        options = ", ".join(request.choices)
        messages.append({"role": "user", "content": f"Answer with exactly one of: {options}."})
    if request.prefill:
        # Continue an assistant turn; servers that support it treat a trailing
        # assistant message as the start of the reply.
        messages.append({"role": "assistant", "content": request.prefill})
    return messages


def match_choice(text: str, choices: tuple[str, ...]) -> int | None:
    """The option the answer names: an exact match, else the only option mentioned as a whole word."""
    answer = text.strip().strip(".!\"'`").strip()
    for k, choice in enumerate(choices):
        if answer.lower() == choice.lower():
            return k
    mentioned = [
        k for k, choice in enumerate(choices) if re.search(rf"(?<![\w]){re.escape(choice)}(?![\w])", text, re.I)
    ]
    return mentioned[0] if len(mentioned) == 1 else None
