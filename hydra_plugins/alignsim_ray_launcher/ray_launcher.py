from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.alignsim_launcher.local_launcher import compose_and_run

log = logging.getLogger(__name__)


def _execute_job(
    index: int,
    overrides: Sequence[str],
    hydra_context: HydraContext,
    config: DictConfig,
    task_function: TaskFunction,
    singleton_state: dict[Any, Any],
) -> JobReturn:
    """Runs inside a Ray worker: rebuild Hydra's state there, then run the job as Hydra would."""
    setup_globals()
    Singleton.set_state(singleton_state)
    import alignsim.conf  # noqa: F401  (registers the resolver that names job folders)

    return compose_and_run(index, overrides, hydra_context, config, task_function)


class RayLauncher(Launcher):
    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        cpus_per_job: float = 1.0,
        gpus_per_job: float = 0.0,
        max_retries: int = 0,
    ) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.cpus_per_job = cpus_per_job
        self.gpus_per_job = gpus_per_job
        self.max_retries = max_retries
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        try:
            import ray
        except ImportError:
            raise ImportError("hydra/launcher=ray needs Ray: pip install 'alignsim[ray]'") from None
        setup_globals()
        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(
                address=self.address,
                num_cpus=self.num_cpus if self.address is None else None,
                include_dashboard=False,
                log_to_driver=True,
                configure_logging=False,
            )
        log.info(f"Ray is launching {len(job_overrides)} jobs on {ray.cluster_resources().get('CPU', 0):g} CPUs")
        for index, overrides in enumerate(job_overrides):
            log.info(f"\t#{initial_job_idx + index} : {' '.join(filter_overrides(overrides))}")
        remote = ray.remote(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job, max_retries=self.max_retries)(
            _execute_job
        )
        state = Singleton.get_state()
        refs = [
            remote.remote(
                initial_job_idx + index,
                list(overrides),
                self.hydra_context,
                self.config,
                self.task_function,
                state,
            )
            for index, overrides in enumerate(job_overrides)
        ]
        try:
            return list(ray.get(refs))
        finally:
            if started_here:
                ray.shutdown()
