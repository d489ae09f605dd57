"""Principal-agent delegation after "Of Models and Tin Men" (PettingZoo AEC), with repeated, audited play."""

from alignsim.envs.principal_agent.config import AUDIENCES, CONTRACTS, PrincipalAgentConfig, Product
from alignsim.envs.principal_agent.principal_agent import (
    CHARSET,
    EVENT_KINDS,
    PHASES,
    ROLES,
    PAView,
    PrincipalAgentEnv,
    decode_observation,
    env,
    raw_env,
)

__all__ = [
    "AUDIENCES",
    "CHARSET",
    "CONTRACTS",
    "EVENT_KINDS",
    "PHASES",
    "ROLES",
    "PAView",
    "PrincipalAgentConfig",
    "PrincipalAgentEnv",
    "Product",
    "decode_observation",
    "env",
    "raw_env",
]
