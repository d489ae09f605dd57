"""Any model Inspect AI can call (``inspect/openai/gpt-4o``, ``inspect/anthropic/...``,
``inspect/mockllm/model``), through Inspect's model API.

Inside an Inspect evaluation (the tasks in :mod:`alignsim.inspect_eval`) the game runs in a
worker thread of the eval's event loop; each batch of requests is sent back to that loop,
so every model call is made by the eval's own model object (its ``--model-args``, limits,
retries and usage accounting) and appears in the sample's transcript. Elsewhere (e.g.
``alignsim run llm.model=inspect/openai/gpt-4o``) the backend keeps a private event loop in
a thread and calls ``inspect_ai.model.get_model(name)`` there.

Choice requests list the options in the prompt and match the answer to one of them, as the
``openai`` backend does in ``choice_mode="prompt"``: an answer naming none comes back with
``choice=None``, for the agent to re-ask and then take its declared fallback. Every sampling
parameter of a request (``max_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop``) is
passed on the call, so it takes precedence over any default set on the Inspect model.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from alignsim.agents.llm.backends.openai import CHOICE_TOKENS, chat_messages, match_choice
from alignsim.agents.llm.embedded import ModelUnavailableError
from alignsim.agents.llm.types import LLMRequest, LLMResponse

INSTALL_HINT = 'the inspect backend needs inspect-ai; run: pip install -e ".[inspect]"'

_IN_EVAL: ContextVar[bool] = ContextVar("alignsim_inspect_eval_thread", default=False)
"""True in a thread whose game runs inside an Inspect sample (see :func:`eval_thread`)."""


@contextlib.contextmanager
def eval_thread() -> Iterator[None]:
    """Mark the current context as an Inspect sample's: a game started from it (with
    ``anyio.to_thread.run_sync``, which copies the context) sends its model calls to the
    sample's event loop."""
    token = _IN_EVAL.set(True)
    try:
        yield
    finally:
        _IN_EVAL.reset(token)


class InspectBackend:
    """Batches of alignsim requests as calls of an Inspect ``Model``.

    Args:
        model: an Inspect model name, ``provider/model`` (e.g. ``openai/gpt-4o``). Inside an
            eval whose model has this name, that very model object is used.
        model_args: keyword arguments for ``get_model`` where the model is created here.
    """

    def __init__(self, model: str, **model_args: Any) -> None:
        try:
            import inspect_ai.model  # noqa: F401
        except ImportError as exc:
            raise ModelUnavailableError(INSTALL_HINT) from exc
        self.model = model
        self.model_id = f"inspect/{model}"
        self.model_args = model_args
        self.info = {"choice_mode": "prompt"}
        self._portal: Any = None
        self._portal_cm: Any = None

    def close(self) -> None:
        """Stop the event loop kept for the model's HTTP clients."""
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
            self._portal = self._portal_cm = None

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """Answer ``requests`` through the Inspect model.

        Inside an eval the calls run on the eval's own event loop, otherwise on a long-lived loop
        of this backend's own.
        """
        import anyio.from_thread

        if _IN_EVAL.get():
            return anyio.from_thread.run(self._batch, requests)
        if self._portal is None:
            # One long-lived loop, so that the model's HTTP clients outlive a batch.
            self._portal_cm = anyio.from_thread.start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
        return self._portal.call(self._batch, requests)

    def _resolve(self) -> Any:
        from inspect_ai.model import get_model

        if not self.model_args:
            try:
                active = get_model()  # the model under evaluation, with its own arguments
            except ValueError:  # no eval and no INSPECT_EVAL_MODEL
                active = None
            if active is not None and str(active) == self.model:
                return active
        return get_model(self.model, **self.model_args)

    async def _batch(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        from inspect_ai.util import collect

        model = self._resolve()
        return await collect(*(self._one(model, request) for request in requests))

    async def _one(self, model: Any, request: LLMRequest) -> LLMResponse:
        from inspect_ai.model import (
            ChatMessageAssistant,
            ChatMessageSystem,
            ChatMessageUser,
            GenerateConfig,
            ResponseSchema,
        )
        from inspect_ai.util import JSONSchema, LimitExceededError

        kinds = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}
        messages = [kinds[m["role"]](content=m["content"]) for m in chat_messages(request, list_choices=True)]
        params = request.params
        config = GenerateConfig(
            max_tokens=params.max_tokens if request.choices is None else CHOICE_TOKENS,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=params.seed,
            stop_seqs=list(params.stop) or None,
            response_schema=(
                ResponseSchema(name="action", json_schema=JSONSchema.model_validate(request.json_schema))
                if request.json_schema is not None
                else None
            ),
        )
        started = time.perf_counter()
        try:
            output = await model.generate(messages, config=config)
        except LimitExceededError:
            raise  # the sample's token, time or message limit: Inspect ends the sample
        except Exception as exc:  # Inspect has already retried what it retries
            return LLMResponse(
                text="",
                error=f"{type(exc).__name__}: {exc}"[:500],
                finish_reason="error",
                latency_s=time.perf_counter() - started,
            )
        text = output.completion or ""
        usage = output.usage
        return LLMResponse(
            text=text,
            choice=match_choice(text, request.choices) if request.choices is not None else None,
            prompt_tokens=int(usage.input_tokens) if usage is not None else 0,
            completion_tokens=int(usage.output_tokens) if usage is not None else 0,
            latency_s=time.perf_counter() - started,
            # Inspect says max_tokens where OpenAI-compatible servers (and our other backends) say length.
            finish_reason="length" if output.stop_reason == "max_tokens" else str(output.stop_reason),
            error=output.error,
        )
