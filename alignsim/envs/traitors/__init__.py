"""The Traitors social-deduction environment (PettingZoo AEC)."""

from alignsim.envs.traitors.traitors import (
    CHARSET,
    EVENT_KINDS,
    PHASES,
    ROLE_NAMES,
    TraitorsConfig,
    TraitorsEnv,
    TraitorsView,
    decode_observation,
    env,
    raw_env,
)

__all__ = [
    "CHARSET",
    "EVENT_KINDS",
    "PHASES",
    "ROLE_NAMES",
    "TraitorsConfig",
    "TraitorsEnv",
    "TraitorsView",
    "decode_observation",
    "env",
    "raw_env",
]
