"""Batch generation throughput: alignsim's transformers backend against plain ``generate``.

The issue's GPU setup: a randomly initialised Llama-style model built from a config (no
weights to download; throughput does not depend on weight values), prompts of 512 tokens,
64 new tokens each; one "decision" is one such answer. Measured side by side in one run:

* **plain generate**: ``model.generate`` on left-padded batches of 1, 10 and 80 prompts
  (greedy, exactly 64 new tokens);
* **alignsim**: ``TransformersBackend.generate`` on the same 80 prompts as one batch of
  requests (greedy, ``max_tokens=64``), the path the runner takes.

By default every prompt is distinct from its first token, so the backend's prefix reuse has
nothing to reuse; ``--shared-prefix N`` makes the first N tokens common to all prompts (an
agent's prompts share the game's rules and framing), which the backend computes once and
plain ``generate`` computes for every prompt. The end-of-sequence token lies outside the
model's vocabulary, so every answer runs the full 64 tokens in both paths. The tokenizer is
a word-level one built in memory (one word = one token), so the prompt lengths are exact
and nothing is downloaded.

Run::

    python benchmarks/bench_generate.py --preset 8b --device cuda --dtype bfloat16  # the issue's setup
    python benchmarks/bench_generate.py --preset tiny                               # a CPU smoke run

Reference figures (H100, plain generate, 8B, bf16, from the issue): 0.43 decisions/s one
at a time, 3.7/s at batch 10, 25.7/s at batch 80.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # Llama-3-8B's shape.
    "8b": {
        "config": {
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "vocab_size": 128256,
            "max_position_embeddings": 8192,
            "rope_theta": 500000.0,
        },
        "prompt_tokens": 512,
        "new_tokens": 64,
        "batches": (1, 10, 80),
    },
    # The embedded model's shape (SmolLM2-135M): a CPU reference point.
    "135m": {
        "config": {
            "hidden_size": 576,
            "intermediate_size": 1536,
            "num_hidden_layers": 30,
            "num_attention_heads": 9,
            "num_key_value_heads": 3,
            "vocab_size": 49152,
            "max_position_embeddings": 8192,
            "tie_word_embeddings": True,
        },
        "prompt_tokens": 512,
        "new_tokens": 64,
        "batches": (1, 8),
    },
    # Small enough for a CPU test run.
    "tiny": {
        "config": {
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 1000,
            "max_position_embeddings": 512,
        },
        "prompt_tokens": 48,
        "new_tokens": 8,
        "batches": (1, 4, 8),
    },
}


def word_tokenizer(vocab_size: int) -> Any:
    """A word-level tokenizer: ``<pad>`` is 0, words ``w1`` ... are 1 ..., and ``<eos>`` is
    ``vocab_size``, one past the model's vocabulary, so the model can never end an answer early."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, **{f"w{i}": i for i in range(1, vocab_size)}, "<eos>": vocab_size}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>")
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    return tokenizer


def random_model(preset: dict[str, Any], device: str, dtype: str) -> Any:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(**preset["config"], eos_token_id=None, pad_token_id=0)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    return model.eval()


def prompts(count: int, length: int, vocab_size: int, seed: int = 0, shared: int = 0) -> list[str]:
    """``count`` prompts of ``length`` words; the first ``shared`` words are the same in all
    (like a game's rules), and each prompt differs from the others right after them."""
    rng = random.Random(seed)
    common = [rng.randrange(1, vocab_size) for _ in range(shared)]
    out = []
    for i in range(count):
        own = [1 + (i % (vocab_size - 1))] + [rng.randrange(1, vocab_size) for _ in range(length - shared - 1)]
        out.append(" ".join(f"w{w}" for w in common + own))
    return out


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def plain_generate(model: Any, tokenizer: Any, texts: list[str], batch: int, new_tokens: int, device: str) -> float:
    """Seconds for plain ``generate`` to answer ``texts`` in batches of ``batch``."""
    import torch

    tokenizer.padding_side = "left"
    synchronize(device)
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        encoded = tokenizer(texts[start : start + batch], return_tensors="pt", padding=True).to(device)
        with torch.inference_mode():
            out = model.generate(
                **encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, pad_token_id=0
            )
        assert out.shape[1] - encoded["input_ids"].shape[1] == new_tokens
    synchronize(device)
    return time.perf_counter() - started


def alignsim_generate(backend: Any, texts: list[str], new_tokens: int, device: str) -> float:
    from alignsim.agents.llm.types import LLMRequest, SamplingParams

    requests = [
        LLMRequest(
            messages=({"role": "user", "content": text},),
            params=SamplingParams(max_tokens=new_tokens, temperature=0.0, seed=i),
        )
        for i, text in enumerate(texts)
    ]
    backend.clear_prefix_cache()
    synchronize(device)
    started = time.perf_counter()
    responses = backend.generate(requests)
    synchronize(device)
    seconds = time.perf_counter() - started
    assert all(r.completion_tokens == new_tokens for r in responses), [r.completion_tokens for r in responses]
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="8b")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--one-at-a-time", type=int, default=3, help="prompts timed at batch 1 (slow on big models)")
    parser.add_argument("--shared-prefix", type=int, default=0, help="tokens every prompt starts with")
    parser.add_argument("--json", type=Path)
    ns = parser.parse_args(argv)

    import torch
    import transformers

    from alignsim.agents.llm.backends.transformers import TransformersBackend

    preset = PRESETS[ns.preset]
    vocab, length, new = preset["config"]["vocab_size"], preset["prompt_tokens"], preset["new_tokens"]
    widest = max(preset["batches"])
    tokenizer = word_tokenizer(vocab)
    model = random_model(preset, ns.device, ns.dtype)
    backend = TransformersBackend.from_model(model, tokenizer, model_id=f"random/{ns.preset}", max_batch=widest)
    if not 0 <= ns.shared_prefix < length:
        parser.error(f"--shared-prefix must be in [0, {length})")
    texts = prompts(widest, length, vocab, shared=ns.shared_prefix)
    assert len(tokenizer(texts[0])["input_ids"]) == length

    plain_generate(model, tokenizer, texts[:2], 2, new, ns.device)  # warm-up: kernels, allocator
    alignsim_generate(backend, prompts(2, length, vocab, seed=1, shared=ns.shared_prefix), new, ns.device)
    rows: list[dict[str, Any]] = []
    for batch in preset["batches"]:
        sample = texts[: ns.one_at_a_time] if batch == 1 else texts[:batch]
        seconds = plain_generate(model, tokenizer, sample, batch, new, ns.device)
        rows.append({"path": "plain generate", "batch": batch, "decisions": len(sample), "seconds": seconds})
    seconds = alignsim_generate(backend, texts, new, ns.device)
    rows.append({"path": "alignsim backend", "batch": widest, "decisions": widest, "seconds": seconds})
    for row in rows:
        row["decisions_per_s"] = row["decisions"] / row["seconds"]
        row["generated_tokens_per_s"] = row["decisions"] * new / row["seconds"]

    device_name = torch.cuda.get_device_name() if ns.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"## Batch generation: alignsim backend vs plain generate ({ns.preset}, {ns.device}, {ns.dtype})")
    print(
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; device: {device_name}; "
        f"torch {torch.__version__}, transformers {transformers.__version__}; prompt {length} tokens "
        f"({ns.shared_prefix} shared by all), {new} new"
    )
    print("\n| path | batch | decisions | seconds | decisions/s | generated tokens/s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['path']} | {row['batch']} | {row['decisions']} | {row['seconds']:.2f} | "
            f"{row['decisions_per_s']:.2f} | {row['generated_tokens_per_s']:.0f} |"
        )
    plain_widest = next(r for r in rows if r["path"] == "plain generate" and r["batch"] == widest)
    ratio = rows[-1]["decisions_per_s"] / plain_widest["decisions_per_s"]
    print(f"\nratio alignsim / plain generate at batch {widest}: {ratio:.2f}x (target on the 8b GPU setup: >= 4x)")
    if ns.json:
        summary = {"preset": ns.preset, "device": device_name, "shared_prefix": ns.shared_prefix}
        ns.json.write_text(json.dumps({**summary, "rows": rows, "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
