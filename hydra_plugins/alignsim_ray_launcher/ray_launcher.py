from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.alignsim_launcher.local_launcher import (
    SweepLauncher,
    compose_and_run,
    log_jobs,
    restore_hydra_state,
)

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
    restore_hydra_state(singleton_state)
    return compose_and_run(index, overrides, hydra_context, config, task_function)


class RayLauncher(SweepLauncher):
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

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        try:
            import ray
        except ImportError:
            raise ImportError("hydra/launcher=ray needs Ray: pip install 'alignsim[ray]'") from None
        hydra_context, config, task_function = self._begin()
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
        log_jobs(job_overrides, initial_job_idx)
        remote = ray.remote(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job, max_retries=self.max_retries)(
            _execute_job
        )
        # Hydra's state goes into the object store once; every task gets a reference to it.
        context_ref, config_ref = ray.put(hydra_context), ray.put(config)
        task_ref, singletons_ref = ray.put(task_function), ray.put(Singleton.get_state())
        refs = [
            remote.remote(initial_job_idx + index, list(overrides), context_ref, config_ref, task_ref, singletons_ref)
            for index, overrides in enumerate(job_overrides)
        ]
        try:
            return list(ray.get(refs))
        finally:
            if started_here:
                ray.shutdown()
