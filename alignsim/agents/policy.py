"""The policy interface every seat-filler implements: scripted baselines, LLM agents, plug-ins.

A policy object serves one or more seats (agents), possibly in several episodes at once
(the runner can play episodes in lock-step so that their turns batch together). The
runner calls :meth:`Policy.reset` at the start of each episode with the seats it fills
and the episode's id, then asks for actions through :meth:`Policy.act_batch`, one
:class:`Decision` or several at once: all of its seats that act on unchanged observations
(a sealed vote) and the same turn of every episode in lock-step. Each :class:`Decision`
names its episode, so per-episode state never mixes; the runner sets nothing else on the
policy. A policy sees only the observations
the env gives its own seats. Its state is explicit: :meth:`Policy.get_state` returns
JSON-compatible data from which :meth:`Policy.set_state` restores it exactly.

Optional hooks: ``drain_events(episode)`` returns log events the policy produced for that
episode (``llm_call``, ``memory_write``, agent-level ``invalid_action``), which the runner
writes before the action they led to; ``end_episode(episode, outcome)`` lets a policy close
an episode (write reflections to persistent memory, free per-episode state).

An action the env refuses is logged as ``invalid_action`` and replaced by a random legal
action from the episode's seeded ``fallback`` generator (``alignsim.run``); a policy that
wants another recovery (re-asking a model, abstaining) does it itself before answering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from gymnasium import spaces

Action = Mapping[str, Any] | Any
"""What ``env.step`` takes; for alignsim envs, a dict keyed like the action space."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One pending action: which seat, what it observes, what it may do."""

    agent: str
    observation: Any
    action_space: spaces.Space
    episode: str = ""
    """Which episode the seat is in (several may be in flight at once)."""


@runtime_checkable
class Policy(Protocol):
    """What the runner needs from anything that fills a seat."""

    name: str
    """Registry name, recorded in the episode log."""

    def reset(self, agents: Sequence[str], *, seed: int, env_id: str, episode: str = "") -> None:
        """Start ``episode``, in which this policy plays ``agents``; ``seed`` drives its randomness."""

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> Action:
        """The action of ``agent`` given its observation."""

    def act_batch(self, decisions: Sequence[Decision]) -> list[Action]:
        """Actions for several seats at once, in order."""

    def get_state(self) -> dict[str, Any]:
        """JSON-compatible state from which ``set_state`` restores this policy exactly."""

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore a state returned by ``get_state``."""

    def close(self) -> None:
        """Release resources (models, files)."""


class BasePolicy:
    """Convenience base: implement :meth:`act` (or :meth:`act_batch`) and the state methods.

    Attributes:
        supported_envs: env names (without version, ``threshold_game``) or game families
            (:attr:`alignsim.envs.GameInfo.family`, ``self_evolution``) this policy
            understands; ``None`` = any.
    """

    name: str = "base"
    supported_envs: ClassVar[tuple[str, ...] | None] = None
    uses_llm: ClassVar[bool] = False
    """True for policies that take a ``backend`` argument (the runner supplies the run's default)."""

    episode: str = ""
    """The episode of the decision being made: :meth:`act_batch` sets it from each
    :class:`Decision` before calling :meth:`act`, so that :meth:`key` separates episodes."""

    def reset(self, agents: Sequence[str], *, seed: int, env_id: str, episode: str = "") -> None:
        """Remember ``seed`` for ``episode`` (in :attr:`seeds`) and the env being played."""
        self.seeds = getattr(self, "seeds", {})
        self.seeds[episode] = seed
        self.seed = seed
        self.env_id = env_id

    def key(self, agent: str) -> str:
        """State key of ``agent`` in the current episode."""
        return f"{self.episode}/{agent}" if self.episode else agent

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> Action:
        """Answer one decision through :meth:`act_batch` (for policies that implement only that)."""
        return self.act_batch([Decision(agent, observation, action_space, self.episode)])[0]

    def act_batch(self, decisions: Sequence[Decision]) -> list[Action]:
        """Call :meth:`act` for each decision in turn, with :attr:`episode` set from the decision."""
        if type(self).act is BasePolicy.act:
            raise NotImplementedError(f"{type(self).__name__} must implement act or act_batch")
        out = []
        for d in decisions:
            self.episode = d.episode
            out.append(self.act(d.agent, d.observation, d.action_space))
        return out

    def drain_events(self, episode: str = "") -> list[Any]:
        """No events of its own; policies that log calls or memory writes override this."""
        return []

    def end_episode(self, episode: str = "", outcome: Mapping[str, Any] | None = None) -> None:
        """Nothing to close; policies with per-episode state or memories override this."""
        pass

    def get_state(self) -> dict[str, Any]:
        """No state: a scripted policy that draws no randomness of its own is restored by its arguments."""
        return {}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Accept only the empty state of :meth:`get_state`; a non-empty one is a bug (ValueError)."""
        if state:
            raise ValueError(f"{type(self).__name__} keeps no state, got {sorted(state)}")

    def close(self) -> None:
        """Nothing to release."""
        pass

    def __enter__(self) -> BasePolicy:
        """The policy itself; leaving the block calls :meth:`close`."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Release the policy's resources (:meth:`close`), also after an exception."""
        self.close()
