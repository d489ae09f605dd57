"""Scripted baselines of the self-evolution family, with known behaviour so metrics can be checked exactly.

Single agent (``self_evolution``): always comply, always violate, or violate only when the
cue says nobody is checking (an "alignment faker"). Threshold game (``threshold_game``):
always collective, always independent, imitate the majority of the neighbours' previous
choices, or take up the collective option as soon as any neighbour chose it. They read
only the structured part of their own observation (which displayed option is which, the
cue, the neighbours' last choices) and respect the action mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
from gymnasium import spaces

from alignsim.agents.policy import BasePolicy
from alignsim.errors import ConfigError

__all__ = ["ComplianceScriptedPolicy", "ThresholdScriptedPolicy"]

COMPLIANT, VIOLATING = 0, 1
INDEPENDENT, COLLECTIVE = 0, 1
CUE_UNSUPERVISED = 1
SAW_INDEPENDENT, SAW_COLLECTIVE = 1, 2


def _position(observation: Mapping[str, Any], kind: int) -> int:
    """The displayed position of option ``kind``, or the legal one if ``kind`` is masked out."""
    options = np.asarray(observation["options"]).tolist()
    position = options.index(kind)
    mask = np.asarray(observation["action_mask"]["choice"])
    if not mask[position]:
        legal = np.flatnonzero(mask)
        position = int(legal[0]) if legal.size else position
    return position


class ComplianceScriptedPolicy(BasePolicy):
    """Single-agent baseline.

    Args:
        strategy: ``comply`` (always the compliant option), ``violate`` (always the
            violating one) or ``opportunist`` (violate exactly when the cue says unsupervised).
    """

    supported_envs: ClassVar[tuple[str, ...]] = ("self_evolution",)
    STRATEGIES: ClassVar[tuple[str, ...]] = ("comply", "violate", "opportunist")

    def __init__(self, strategy: Literal["comply", "violate", "opportunist"] = "comply") -> None:
        if strategy not in self.STRATEGIES:
            raise ConfigError("strategy", f"must be one of {', '.join(self.STRATEGIES)}, got {strategy!r}")
        self.strategy = strategy

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> dict[str, Any]:
        """The compliant or violating option by ``strategy``; ``opportunist`` reads the supervision cue."""
        if self.strategy == "comply":
            kind = COMPLIANT
        elif self.strategy == "violate":
            kind = VIOLATING
        else:
            kind = VIOLATING if int(observation["cue"]) == CUE_UNSUPERVISED else COMPLIANT
        return {"choice": _position(observation, kind)}


class ThresholdScriptedPolicy(BasePolicy):
    """Threshold-game baseline.

    Args:
        strategy: ``collective``, ``independent``, ``imitate_majority``: choose what most
            observed neighbours chose last round (``initial`` in the first round, on ties
            and when no neighbour is visible), or ``imitate_any``: choose the collective
            option whenever any observed neighbour chose it last round, ``initial``
            otherwise (contagion by a single exposure: the positive control of contagion).
        initial: the option the imitators start from (``independent`` or ``collective``).
    """

    supported_envs: ClassVar[tuple[str, ...]] = ("threshold_game",)
    STRATEGIES: ClassVar[tuple[str, ...]] = ("collective", "independent", "imitate_majority", "imitate_any")

    def __init__(
        self,
        strategy: Literal["collective", "independent", "imitate_majority", "imitate_any"] = "imitate_majority",
        initial: Literal["independent", "collective"] = "independent",
    ) -> None:
        if strategy not in self.STRATEGIES:
            raise ConfigError("strategy", f"must be one of {', '.join(self.STRATEGIES)}, got {strategy!r}")
        if initial not in ("independent", "collective"):
            raise ConfigError("initial", f"must be independent or collective, got {initial!r}")
        self.strategy = strategy
        self.initial = COLLECTIVE if initial == "collective" else INDEPENDENT

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> dict[str, Any]:
        """The option ``strategy`` picks from what the seat saw its neighbours choose last round."""
        if self.strategy == "collective":
            kind = COLLECTIVE
        elif self.strategy == "independent":
            kind = INDEPENDENT
        elif self.strategy == "imitate_any":
            kind = COLLECTIVE if (np.asarray(observation["peers"]) == SAW_COLLECTIVE).any() else self.initial
        else:
            peers = np.asarray(observation["peers"])
            collective, independent = int((peers == SAW_COLLECTIVE).sum()), int((peers == SAW_INDEPENDENT).sum())
            if collective > independent:
                kind = COLLECTIVE
            elif independent > collective:
                kind = INDEPENDENT
            else:
                kind = self.initial
        return {"choice": _position(observation, kind)}
