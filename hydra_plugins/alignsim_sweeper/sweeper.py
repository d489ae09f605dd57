from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf


@dataclass
class AlignsimSweeperConf:
    _target_: str = "hydra_plugins.alignsim_sweeper.sweeper.AlignsimSweeper"
    max_batch_size: Optional[int] = None  # noqa: UP045  (OmegaConf's structured configs need Optional)
    params: Optional[dict[str, str]] = field(default=None)  # noqa: UP045


ConfigStore.instance().store(group="hydra/sweeper", name="alignsim", node=AlignsimSweeperConf, provider="alignsim")


class AlignsimSweeper(BasicSweeper):
    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Already done for every swept value by ``alignsim.sweep.preflight``."""

    def sweep(self, arguments: list[str]) -> Any:
        """Hydra's basic sweep, except that a failed job does not stop it: every batch runs, each failure
        is listed in ``alignsim.sweep.failed_jobs`` (the command then exits non-zero) and the
        end-of-multirun callbacks (the aggregation into ``results.csv``) still run."""
        import alignsim.sweep

        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        params_conf = self._parse_config()
        params_conf.extend(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        self.overrides = self.split_arguments(parser.parse_overrides(params_conf), self.max_batch_size)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        returns: list[Sequence[JobReturn]] = []
        initial_job_idx = 0
        while not self.is_done():
            batch = self.get_job_batch()
            results = self.launcher.launch(batch, initial_job_idx=initial_job_idx)
            for overrides, result in zip(batch, results, strict=False):
                if result.status == JobStatus.FAILED:
                    error = result._return_value
                    alignsim.sweep.failed_jobs.append(f"{' '.join(overrides)}: {type(error).__name__}: {error}")
            initial_job_idx += len(batch)
            returns.append(results)
        return returns
