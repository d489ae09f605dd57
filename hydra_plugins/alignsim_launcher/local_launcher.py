"""A joblib launcher that ships Hydra's state to each worker once, not with every job.

Hydra's own joblib launcher pickles the config loader, the composed config, the task
function and every registered config (Hydra's singletons) for each job, and each worker
unpickles them again for each job: in a sweep of many short jobs that costs more than the
jobs. Here the state is pickled once per launch; a worker unpickles it the first time it
sees it and keeps it, so each job sends only its index and overrides. Each job is still
composed and run by Hydra itself (``load_sweep_config`` + ``run_job``), in the worker,
exactly as the stock launchers do.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cloudpickle
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from joblib import Parallel, cpu_count, delayed
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)

# The launch state this worker process has unpickled, by digest: a worker serves many jobs.
_unpacked: dict[str, tuple[HydraContext, DictConfig, TaskFunction]] = {}


def restore_hydra_state(singleton_state: dict[Any, Any]) -> None:
    """In a fresh worker process: Hydra's globals and registered configs as in the launching
    process, and alignsim's resolvers (one of them names the job folders)."""
    setup_globals()
    Singleton.set_state(singleton_state)
    import alignsim.conf  # noqa: F401


def _state(digest: str, packed: bytes) -> tuple[HydraContext, DictConfig, TaskFunction]:
    if digest not in _unpacked:
        _unpacked.clear()
        hydra_context, config, task_function, singleton_state = cloudpickle.loads(packed)
        restore_hydra_state(singleton_state)
        _unpacked[digest] = (hydra_context, config, task_function)
    return _unpacked[digest]


def execute_job(
    index: int, overrides: Sequence[str], digest: str, packed: bytes, thread_share: str | None = None
) -> JobReturn:
    """Runs in a worker: compose this job's config and run it, as Hydra's launchers do.
    ``thread_share``: this worker's CPU threads for a local model (see alignsim's embedded module)."""
    if thread_share is not None:
        from alignsim.agents.llm.embedded import use_thread_share

        use_thread_share(thread_share)
    hydra_context, config, task_function = _state(digest, packed)
    return compose_and_run(index, overrides, hydra_context, config, task_function)


def compose_and_run(
    index: int, overrides: Sequence[str], hydra_context: HydraContext, config: DictConfig, task_function: TaskFunction
) -> JobReturn:
    """One job, given Hydra's state in this process: compose its config, then run it."""
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{index}"
        sweep_config.hydra.job.num = index
    HydraConfig.instance().set_config(sweep_config)
    return run_job(
        hydra_context=hydra_context,
        config=sweep_config,
        task_function=task_function,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )


def log_jobs(job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> None:
    for index, overrides in enumerate(job_overrides):
        log.info(f"\t#{initial_job_idx + index} : {' '.join(filter_overrides(overrides))}")


class SweepLauncher(Launcher):
    """What alignsim's launchers share: Hydra's state from ``setup`` and the start of a launch."""

    config: DictConfig | None = None
    task_function: TaskFunction | None = None
    hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context

    def _begin(self) -> tuple[HydraContext, DictConfig, TaskFunction]:
        """Logging as Hydra's launchers set it up, and the sweep folder; returns the state."""
        setup_globals()
        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        return self.hydra_context, self.config, self.task_function


class LocalLauncher(SweepLauncher):
    def __init__(self, n_jobs: int = -1) -> None:
        self.n_jobs = n_jobs

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        hydra_context, config, task_function = self._begin()
        workers = cpu_count() if self.n_jobs == -1 else self.n_jobs
        if workers < 1:
            raise ValueError(f"hydra.launcher.n_jobs must be -1 or at least 1, got {self.n_jobs}")
        log.info(f"Launching {len(job_overrides)} jobs on {workers} worker process(es)")
        log_jobs(job_overrides, initial_job_idx)
        if workers == 1:  # in this process, whose Hydra state is already in place
            return [
                compose_and_run(initial_job_idx + index, overrides, hydra_context, config, task_function)
                for index, overrides in enumerate(job_overrides)
            ]
        from alignsim.agents.llm.embedded import thread_share

        share = thread_share(workers)  # jobs on a local model split the cores instead of oversubscribing them
        packed = cloudpickle.dumps((hydra_context, config, task_function, Singleton.get_state()))
        digest = hashlib.blake2b(packed, digest_size=16).hexdigest()
        runs: list[Any] = Parallel(n_jobs=workers, backend="loky", batch_size=1)(
            delayed(execute_job)(initial_job_idx + index, list(overrides), digest, packed, share)
            for index, overrides in enumerate(job_overrides)
        )
        return runs
