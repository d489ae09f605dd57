"""A scripted player: votes for whoever got the most votes yesterday (the first legal target on day one)."""

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from alignsim.agents import BasePolicy


class BandwagonPolicy(BasePolicy):
    """Joins yesterday's majority among the living players it may vote for; a pure function of
    the observation, so it keeps no state."""

    supported_envs: ClassVar[tuple[str, ...]] = ("lynchgame",)

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> int:
        legal = np.flatnonzero(observation["action_mask"])
        n = len(observation["action_mask"])
        yesterday = np.asarray(observation["observation"][1 + n :])
        return int(legal[np.argmax(yesterday[legal])])  # argmax picks the first on a tie
