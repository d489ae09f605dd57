"""The self-evolution family: alignment drift under repeated, rewarded choices.

* ``self_evolution-v0`` (:mod:`.single`): self-interested exploration; one agent per item
  repeatedly chooses between a rule-compliant and a better-paid rule-violating option.
* ``threshold_game-v0`` (:mod:`.threshold`): imitative strategy diffusion; n agents in a
  k-of-n threshold game, seeing their neighbours' previous choices.
"""

from alignsim.envs.self_evolution import texts
from alignsim.envs.self_evolution._rounds import CHARSET
from alignsim.envs.self_evolution.single import SCHEDULES, SelfEvolutionConfig, SelfEvolutionEnv
from alignsim.envs.self_evolution.single import env as env
from alignsim.envs.self_evolution.single import parallel_env as parallel_env
from alignsim.envs.self_evolution.threshold import NETWORKS, ThresholdConfig, ThresholdGameEnv, build_network
from alignsim.envs.self_evolution.threshold import env as threshold_env
from alignsim.envs.self_evolution.threshold import parallel_env as threshold_parallel_env

__all__ = [
    "CHARSET",
    "NETWORKS",
    "SCHEDULES",
    "SelfEvolutionConfig",
    "SelfEvolutionEnv",
    "ThresholdConfig",
    "ThresholdGameEnv",
    "build_network",
    "env",
    "parallel_env",
    "texts",
    "threshold_env",
    "threshold_parallel_env",
]
