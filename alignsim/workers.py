"""Worker fan-out: a run's episodes shared out to processes in chunks of ``lockstep``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from alignsim.scenarios import ScenarioSpec

if TYPE_CHECKING:
    from alignsim.run import EpisodeResult

__all__ = ["run_in_processes"]


def run_in_processes(
    spec: ScenarioSpec,
    jobs: list[tuple[int, int]],
    out_dir: str | os.PathLike[str],
    options: dict[str, Any],
    resume: bool,
    lockstep: int,
    workers: int,
    on_result: Callable[[EpisodeResult], Any],
) -> list[EpisodeResult]:
    """Play ``jobs`` in ``workers`` processes, each chunk of ``lockstep`` jobs with fresh policies;
    results in job order, each also handed to ``on_result`` as it arrives."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from alignsim.agents.llm.embedded import thread_share

    share = thread_share(workers)  # workers on a local model split the cores instead of oversubscribing them
    chunks = [jobs[i : i + lockstep] for i in range(0, len(jobs), lockstep)]
    results: dict[tuple[int, int], EpisodeResult] = {}
    # forkserver: workers start from a clean interpreter, not a copy of a process that may
    # hold threads or a loaded model.
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        futures = [
            pool.submit(_play_chunk, spec.to_dict(), chunk, str(out_dir), options, resume, lockstep, share)
            for chunk in chunks
        ]
        for future in as_completed(futures):
            for result in future.result():
                results[(result.summary.seed, result.summary.episode_index)] = result
                on_result(result)
    return [results[job] for job in jobs]


def _play_chunk(
    spec: Mapping[str, Any],
    chunk: list[tuple[int, int]],
    out_dir: str,
    options: dict[str, Any],
    resume: bool,
    lockstep: int,
    thread_share: str,
) -> list[EpisodeResult]:
    from alignsim.agents.llm.embedded import use_thread_share
    from alignsim.run import EpisodeRunner

    use_thread_share(thread_share)
    with EpisodeRunner(spec, out_dir=out_dir, **options) as runner:
        return runner.run_many(chunk, resume=resume, lockstep=lockstep)
