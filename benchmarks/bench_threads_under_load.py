"""The embedded model on a busy CPU: thread settings compared, idle and with competing processes.

A shared machine (a laptop running a browser, a CI runner, a sweep with one job per core)
is the normal case for the embedded default. torch's OpenMP threads spin while they wait
for each other; when another process holds a core, a spinning thread burns the time slice
its partner needs, and a 2-thread forward pass can take 20x longer. This benchmark runs
the same work under each setting, interleaved, on an idle machine and with ``--load N``
competing CPU-bound processes (busy loops), and prints times and ratios side by side.

Settings (each a fresh process, so OpenMP reads its environment at start):

* ``torch default``: what alignsim did before: torch's thread count (one per core), the
  OpenMP runtime's default wait policy (spin, then sleep);
* ``1 thread``: ``threads=1``;
* ``passive, all cores``: one thread per core, ``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep);
* ``alignsim default``: no settings at all, what a user gets.

Work: ``--work generate`` (default) times one 32-token answer of the embedded model
(after loading; 3 repeats, the median counts), ``--work game`` times the README's main job,
``alignsim run`` (``traitors/llm-v0``, seed 0) as a whole command.

Run::

    python benchmarks/bench_threads_under_load.py --work generate --load 0 1
    python benchmarks/bench_threads_under_load.py --work game --load 0 1

Writes ``benchmarks/results_threads_<work>.json`` (ignored by git); RESULTS.md has the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETTINGS: dict[str, dict[str, str]] = {
    # OMP_WAIT_POLICY="" reads as unset to the OpenMP runtime and keeps alignsim from setting it.
    "torch default": {"OMP_WAIT_POLICY": "", "ALIGNSIM_THREADS": "torch"},
    "1 thread": {"ALIGNSIM_THREADS": "1"},
    "passive, all cores": {"OMP_WAIT_POLICY": "PASSIVE", "ALIGNSIM_THREADS": str(len(os.sched_getaffinity(0)))},
    "alignsim default": {},
}

GENERATE = """
import statistics, sys, time
from alignsim.agents.llm.backends import make_backend
from alignsim.agents.llm.types import LLMRequest, SamplingParams
backend = make_backend("transformers/embedded")
request = LLMRequest(
    messages=({"role": "user", "content": "Describe your favourite place to a stranger, in detail."},),
    params=SamplingParams(max_tokens=32, temperature=0.0, seed=0),
)
backend.generate([request])  # warm-up: first-call allocations
times = []
for _ in range(3):
    backend.clear_prefix_cache()
    started = time.perf_counter()
    backend.generate([request])
    times.append(time.perf_counter() - started)
import torch
print(statistics.median(times), torch.get_num_threads())
"""


def _busy_loops(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def _environment(setting: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "ALIGNSIM_THREADS", "OMP_NUM_THREADS")}
    env.update(setting)
    return env


def _run_once(work: str, setting: dict[str, str], timeout: float) -> tuple[float, str]:
    env = _environment(setting)
    if work == "generate":
        done = subprocess.run(
            [sys.executable, "-c", GENERATE], env=env, capture_output=True, text=True, timeout=timeout, check=True
        )
        seconds, threads = done.stdout.split()[-2:]
        return float(seconds), threads
    alignsim = str(Path(sys.executable).with_name("alignsim"))
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [alignsim, "run", f"out_dir={out}/run", "progress=false"],
            env=env,
            capture_output=True,
            timeout=timeout,
            check=True,
        )
        return time.perf_counter() - started, "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", choices=["generate", "game"], default="generate")
    parser.add_argument("--load", type=int, nargs="+", default=[0, 1], help="competing busy processes")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved rounds over all settings")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before one run is abandoned")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ns = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    threads: dict[str, str] = {}
    for load in ns.load:
        loops = _busy_loops(load)
        try:
            time.sleep(2.0)  # let the competitors settle on their cores
            for _ in range(ns.repeats):
                for name in ns.settings:
                    try:
                        seconds, used = _run_once(ns.work, SETTINGS[name], ns.timeout)
                    except subprocess.TimeoutExpired:
                        seconds, used = float("inf"), "?"
                    results.setdefault(name, {}).setdefault(str(load), []).append(seconds)
                    threads[name] = used
                    print(f"load {load}  {name:22} {seconds:8.2f} s  (threads {used})", flush=True)
        finally:
            for loop in loops:
                loop.kill()
    print()
    loads = [str(load) for load in ns.load]
    print(f"{'setting':22} " + " ".join(f"{'load ' + x:>12}" for x in loads) + "   loaded / idle")
    for name in ns.settings:
        medians = [statistics.median(results[name][x]) for x in loads]
        ratio = f"{medians[-1] / medians[0]:.2f}x" if len(medians) > 1 and medians[0] else "-"
        print(f"{name:22} " + " ".join(f"{m:11.2f}s" for m in medians) + f"   {ratio}")
    out = Path(__file__).with_name(f"results_threads_{ns.work}.json")
    out.write_text(
        json.dumps(
            {
                "work": ns.work,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "threads": threads,
                "seconds": results,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
