"""Wall time of a 200-episode scripted sweep: parallel launchers on every core against the same sweep serially.

Runs the real command, ``alignsim sweep``, as a subprocess (so interpreter start, Hydra
composition, the preflight checks, job launching, logging and the final aggregation are all
in the time), rotating the launchers run by run so machine noise hits all alike:

* **serial**: ``hydra/launcher=basic`` (jobs one after another in one process);
* **local**: ``hydra/launcher=local`` (alignsim's joblib launcher, the default of
  ``alignsim sweep``) with ``n_jobs`` = the machine's cores;
* **joblib**: Hydra's ``hydra/launcher=joblib`` with ``n_jobs`` = the machine's cores.

Each run writes a fresh sweep folder; both sweeps must finish every episode. Workloads:

* ``mock-llm-10x20``: 10 jobs x 20 episodes of ``traitors/llm-v0`` with LLM agents on the
  deterministic scripted backend (``llm=mock``): the whole agent stack (prompts, memory,
  parsing, llm_call logging) with no model;
* ``4x50``: 4 jobs (seeds) x 50 episodes of ``traitors/classic-v0``;
* ``10x20``: 10 jobs (seeds) x 20 episodes of ``traitors/classic-v0`` (the seed protocol,
  10 players, scripted players);
* ``200x1``: 200 jobs x 1 episode (all per-job overhead, little work per job).

Run::

    python benchmarks/bench_sweep.py                 # every workload, 3 runs each per launcher
    python benchmarks/bench_sweep.py --repeats 5 --workloads 200x1 --launchers serial,local --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ALIGNSIM = shutil.which("alignsim") or f"{sys.executable} -m alignsim.cli"
WORKLOADS = {
    "mock-llm-10x20": ["scenario=traitors/llm-v0", "llm=mock", "seed=range(0,10)", "episodes=20"],
    "4x50": ["scenario=traitors/classic-v0", "seed=range(0,4)", "episodes=50"],
    "10x20": ["scenario=traitors/classic-v0", "seed=range(0,10)", "episodes=20"],
    "200x1": ["scenario=traitors/classic-v0", "seed=range(0,200)", "episodes=1"],
}


def sweep_once(workload: str, launcher: str, root: Path, index: int) -> float:
    name = f"{workload}-{launcher}-{index}"
    launcher_args = {
        "serial": ["hydra/launcher=basic"],
        "joblib": ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={os.cpu_count()}"],
        "local": ["hydra/launcher=local", f"hydra.launcher.n_jobs={os.cpu_count()}"],
    }[launcher]
    command = [
        *ALIGNSIM.split(),
        "sweep",
        f"name={name}",
        *WORKLOADS[workload],
        *launcher_args,
        "hydra.callbacks.aggregate.report=false",
    ]
    started = time.perf_counter()
    subprocess.run(command, cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    table = pd.read_csv(root / "sweeps" / name / "results.csv")
    if int(table["episodes_done"].sum()) != 200:
        raise SystemExit(f"{name}: {int(table['episodes_done'].sum())} episodes finished, expected 200")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workloads", default="mock-llm-10x20,4x50,10x20,200x1")
    parser.add_argument(
        "--launchers", default="serial,local,joblib", help="serial first; the others are compared with it"
    )
    parser.add_argument("--json", type=Path)
    ns = parser.parse_args()
    launchers = ns.launchers.split(",")
    if launchers[0] != "serial":
        parser.error("--launchers must start with serial")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for workload in ns.workloads.split(","):
            times: dict[str, list[float]] = {launcher: [] for launcher in launchers}
            for index in range(ns.repeats):
                # Rotate the order run by run so a slow spell of the machine hits every launcher.
                shift = index % len(launchers)
                for launcher in launchers[shift:] + launchers[:shift]:
                    times[launcher].append(sweep_once(workload, launcher, root, index))
            row: dict[str, object] = {"workload": workload, **{f"{k}_s": v for k, v in times.items()}}
            line = [workload]
            line.extend(
                f"{launcher} median {statistics.median(times[launcher]):.2f} s "
                f"[{min(times[launcher]):.2f}-{max(times[launcher]):.2f}]"
                for launcher in launchers
            )
            for launcher in launchers[1:]:
                ratios = [s / p for s, p in zip(times["serial"], times[launcher], strict=True)]
                row[f"serial_over_{launcher}_per_run"] = [round(r, 2) for r in ratios]
                row[f"serial_over_{launcher}_median"] = round(statistics.median(ratios), 2)
                runs = [round(r, 2) for r in ratios]
                line.append(f"serial / {launcher} = {statistics.median(ratios):.2f}x (runs: {runs})")
            results.append(row)
            print(f"{line[0]}: " + "; ".join(line[1:]), flush=True)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
    print(f"machine: {machine}; python {platform.python_version()}")
    if ns.json:
        ns.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
