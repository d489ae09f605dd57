from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore


@dataclass
class AlignsimSweeperConf:
    _target_: str = "hydra_plugins.alignsim_sweeper.sweeper.AlignsimSweeper"
    max_batch_size: Optional[int] = None  # noqa: UP045  (OmegaConf's structured configs need Optional)
    params: Optional[dict[str, str]] = field(default=None)  # noqa: UP045


ConfigStore.instance().store(group="hydra/sweeper", name="alignsim", node=AlignsimSweeperConf, provider="alignsim")


class AlignsimSweeper(BasicSweeper):
    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Already done for every swept value by ``alignsim.sweep.preflight``."""
