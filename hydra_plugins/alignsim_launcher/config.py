"""``hydra/launcher=local``: every job of a multirun on a joblib process pool on this machine."""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore


@dataclass
class LocalLauncherConf:
    _target_: str = "hydra_plugins.alignsim_launcher.local_launcher.LocalLauncher"
    n_jobs: int = -1
    """Worker processes; -1: one per CPU core of this machine."""


ConfigStore.instance().store(group="hydra/launcher", name="local", node=LocalLauncherConf, provider="alignsim")
