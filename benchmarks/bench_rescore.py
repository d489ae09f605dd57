"""Re-scoring benchmark: how long analysis takes over 10,000 logged scripted Traitors episodes.

What it measures
----------------
1. **Generation** (not the subject, reported for context): 10,000 episodes, half
   ``traitors/classic-v0`` and half ``traitors/beliefs-v0`` (scripted heuristic players),
   written by :class:`alignsim.run.EpisodeRunner` from two worker processes into a cache
   folder. A later run finds the finished episodes there and reuses them.
2. **Re-scoring, cold**: :func:`alignsim.analysis.load_frames` parses every JSONL log
   (one process, then two worker processes), then the per-episode metric table
   (:func:`~alignsim.analysis.episode_table`: seed and corrected Traitors metrics,
   deception accounting, trust-graph metrics, detection), the per-round table and the
   aggregates with bootstrap CIs (:func:`~alignsim.analysis.summarize`). The logs are in the
   operating system's page cache (they were just written or read), so "cold" means no
   frame cache, not a cold disk.
3. **Re-scoring, warm**: the same with the parquet frame cache (``cache_dir``) already
   filled: frames are read back from parquet instead of parsing logs.

Each stage is timed once with ``time.perf_counter`` (they take seconds; the machine's
noise is small next to that) and reported as seconds and episodes per second.

How to run
----------
::

    python benchmarks/bench_rescore.py                 # 10,000 episodes; generation ~1-2 min the first time
    python benchmarks/bench_rescore.py --episodes 1000 # smaller
    python benchmarks/bench_rescore.py --cache DIR     # where logs and frame caches live

The parquet cache needs pyarrow (``pip install pyarrow``); without it the warm stage is
skipped. Logs go to ``$XDG_CACHE_HOME/alignsim/bench-rescore-<episodes>`` (default
``~/.cache``), about 130 KB per episode.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SCENARIOS = ("traitors/classic-v0", "traitors/beliefs-v0")


def _generate(task: tuple[str, int, int, int, str]) -> int:
    """Play episodes [start, stop) of one scenario into out_dir (skipping finished ones)."""
    from alignsim.run import EpisodeRunner

    scenario, seed, start, stop, out_dir = task
    with EpisodeRunner(scenario, out_dir=out_dir, flush="episode") as runner:
        for index in range(start, stop):
            runner.run(seed=seed, episode_index=index)
    return stop - start


def generate(root: Path, episodes: int, workers: int) -> tuple[list[Path], float, int]:
    per_scenario = episodes // len(SCENARIOS)
    folders = [root / scenario.replace("/", "_") for scenario in SCENARIOS]
    done = sum(len(list((f / "episodes").glob("*.summary.json"))) for f in folders if (f / "episodes").exists())
    started = time.perf_counter()
    if done < per_scenario * len(SCENARIOS):
        chunk = -(-per_scenario // workers)
        tasks = [
            (scenario, 7, start, min(start + chunk, per_scenario), str(folder))
            for scenario, folder in zip(SCENARIOS, folders, strict=True)
            for start in range(0, per_scenario, chunk)
        ]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_generate, tasks))
    return folders, time.perf_counter() - started, done


def timed(label: str, fn, rows: list[tuple[str, float]]):
    gc.collect()
    started = time.perf_counter()
    value = fn()
    rows.append((label, time.perf_counter() - started))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="processes for generation and the parallel parse")
    parser.add_argument("--cache", type=Path, default=None, help="folder for logs and frame caches")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()

    from alignsim.analysis import episode_table, load_frames, round_table, summarize

    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "alignsim"
    root = args.cache or base / f"bench-rescore-{args.episodes}"
    root.mkdir(parents=True, exist_ok=True)
    folders, generation_s, reused = generate(root, args.episodes, args.workers)
    n = args.episodes // len(SCENARIOS) * len(SCENARIOS)
    size_mb = sum(p.stat().st_size for f in folders for p in (f / "episodes").glob("*.jsonl")) / 1e6
    print(f"logs: {root} ({n} episodes, {size_mb:,.0f} MB); generation {generation_s:.1f} s ({reused} found done)")

    def score(frames):
        table = episode_table(frames)
        round_table(frames)
        return table

    rows: list[tuple[str, float]] = []
    frames = timed("cold: load_frames (parse JSONL, 1 process)", lambda: load_frames(folders), rows)
    del frames
    frames = timed(
        f"cold: load_frames (parse JSONL, {args.workers} processes)",
        lambda: load_frames(folders, jobs=args.workers),
        rows,
    )
    assert len(frames.episodes) == n, len(frames.episodes)
    table = timed("metrics: episode_table + round_table", lambda: score(frames), rows)
    timed(
        f"aggregates: summarize by scenario ({args.resamples} resamples, all metrics)",
        lambda: summarize(table, by=["scenario"], n_resamples=args.resamples),
        rows,
    )
    cache = root / "frame-cache"
    shutil.rmtree(cache, ignore_errors=True)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        print("pyarrow not installed: warm (cached) stage skipped")
    else:
        timed(
            "cache fill: load_frames(cache_dir) first time (parse + write parquet)",
            lambda: load_frames(folders, cache_dir=cache),
            rows,
        )
        warm = timed("warm: load_frames(cache_dir) (read parquet)", lambda: load_frames(folders, cache_dir=cache), rows)
        assert "0 parsed" in warm.notes[-1], warm.notes
        timed("metrics on warm frames: episode_table + round_table", lambda: score(warm), rows)

    totals = {
        "cold re-score (1 process parse + metrics)": rows[0][1] + rows[2][1],
        f"cold re-score ({args.workers}-process parse + metrics)": rows[1][1] + rows[2][1],
    }
    if len(rows) > 4:
        totals["warm re-score (cached frames + metrics)"] = rows[5][1] + rows[6][1]
    machine = platform.processor() or platform.machine()
    print(f"\nmachine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'stage':78} {'seconds':>8} {'episodes/s':>11}")
    for label, seconds in rows:
        print(f"{label:78} {seconds:8.2f} {n / seconds:11,.0f}")
    print()
    for label, seconds in totals.items():
        print(f"{label:78} {seconds:8.2f} {n / seconds:11,.0f}")


if __name__ == "__main__":
    main()
