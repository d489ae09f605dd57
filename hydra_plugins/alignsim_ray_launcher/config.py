from dataclasses import dataclass
from typing import Optional

from hydra.core.config_store import ConfigStore


@dataclass
class RayLauncherConf:
    _target_: str = "hydra_plugins.alignsim_ray_launcher.ray_launcher.RayLauncher"
    address: Optional[str] = None  # noqa: UP045  (Hydra's structured configs need Optional)
    """None: start a local Ray cluster in this process; ``auto``: join the cluster this machine
    belongs to (``ray start --head`` / a Slurm-started cluster); ``ray://HOST:10001``: a remote one."""
    num_cpus: Optional[int] = None  # noqa: UP045
    """CPUs of a local cluster (None: all of this machine's)."""
    cpus_per_job: float = 1.0
    gpus_per_job: float = 0.0
    max_retries: int = 0
    """Ray re-runs a job whose worker died this many times; finished episodes are skipped on a re-run."""


ConfigStore.instance().store(group="hydra/launcher", name="ray", node=RayLauncherConf, provider="alignsim")
