"""What both self-evolution envs share: rounds of sealed simultaneous choices.

Every round, each agent in turn (``player_0`` first) picks one of two displayed options
and may attach a message; nobody's observation changes until the round resolves, so the
runner batches a round's choices into one model call (:meth:`RoundChoiceEnv.simultaneous_agents`)
and no agent sees a peer's same-round choice. When the last agent has chosen, the
subclass resolves the round (payoffs, events), and the next round starts or the episode
ends (every agent terminated). The Parallel form is PettingZoo's AEC-to-Parallel
conversion, which is exact here because observations are fixed within a round.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import msgspec
import numpy as np
from gymnasium import spaces

from alignsim.envs.base import AlignsimAECEnv
from alignsim.envs.text import SELF_EVOLUTION_CHARSET, cleaner, need
from alignsim.errors import IllegalActionError
from alignsim.record import schema as ev

CHARSET: str = SELF_EVOLUTION_CHARSET
"""Characters of every text in observations and actions; agent text outside it becomes U+FFFD."""
_SAMPLE_TEXT_LENGTH = 24
_ACTION_KEYS = frozenset({"choice", "message"})
_HISTORY_TEXT_LIMIT = 100_000


clean_text = cleaner(CHARSET)
"""Replace characters outside :data:`CHARSET` with U+FFFD."""


def money(value: float) -> str:
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def need_int(value: Any, name: str, minimum: int) -> None:
    need(
        isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
        name,
        f"must be an integer >= {minimum}, got {value!r}",
    )


def need_probability(value: Any, name: str) -> None:
    need(
        isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0,
        name,
        f"must be a probability in [0, 1], got {value!r}",
    )


class RoundChoiceEnv(AlignsimAECEnv):
    """Base of the self-evolution envs: N agents, R rounds, one binary choice each per round.

    Self-evolution games have no winner (``winner`` stays None); an episode completes when
    its last round resolves. Subclasses set ``possible_agents``, ``rounds``,
    ``max_message_chars`` and the observation space, and implement :meth:`_setup` (draws at
    reset), :meth:`_observe`, :meth:`_choice_mask` and :meth:`_resolve` (the end of a round:
    payoffs and events).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "is_parallelizable": True}
    rounds: int
    max_message_chars: int
    agent_selection: str

    def _init_spaces(self, observation_space: spaces.Dict) -> None:
        self._action_space = spaces.Dict(
            {
                "choice": spaces.Discrete(2),
                "message": spaces.Text(max_length=self.max_message_chars, min_length=0, charset=CHARSET),
            }
        )
        self._observation_space = observation_space
        n_chars = len(CHARSET)
        self._text_on = (min(_SAMPLE_TEXT_LENGTH, self.max_message_chars), np.ones(n_chars, dtype=np.int8))
        self._text_off = (0, np.zeros(n_chars, dtype=np.int8))

    def _mask_space(self) -> spaces.Dict:
        return spaces.Dict(
            {
                "choice": spaces.MultiBinary(2),
                "message": spaces.Tuple(
                    (spaces.Discrete(self.max_message_chars + 1), spaces.MultiBinary(len(CHARSET)))
                ),
            }
        )

    @staticmethod
    def _history_space() -> spaces.Sequence:
        return spaces.Sequence(spaces.Text(max_length=_HISTORY_TEXT_LIMIT, min_length=0, charset=CHARSET))

    @staticmethod
    def _text_space() -> spaces.Text:
        return spaces.Text(max_length=_HISTORY_TEXT_LIMIT, min_length=0, charset=CHARSET)

    # ------------------------------------------------------------ PettingZoo API

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self._start_episode(seed)
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._phase_name = "setup"
        self._choices: dict[int, int] = {}
        self._messages: dict[int, str] = {}
        self._queue: list[int] = []
        self._over = False
        self._setup()
        self._start_round(1)

    def observe(self, agent: str) -> dict[str, Any]:
        return self._observe(self._index[agent])

    def _act(self, agent: str, action: Any) -> None:
        i = self._index[agent]
        choice, message = self._parse(i, action)
        self._clear_rewards()
        self._cumulative_rewards[agent] = 0.0
        self._step_count += 1
        self._queue.remove(i)
        self._choices[i] = choice
        if message:
            self._messages[i] = message
            self._emit(ev.Reasoning(actor=agent, text=message, **self._stamp(self._message_audience(i))))
        if not self._queue:
            self._phase_name = "outcome"
            self._resolve()
            self._accumulate_rewards()
            if self._round >= self.rounds:
                self._over = True
                self._round = self.rounds + 1
                for a in self.agents:
                    self.terminations[a] = True
                self.agent_selection = self.agents[0]
                return
            self._start_round(self._round + 1)
        self.agent_selection = self.possible_agents[self._queue[0]]

    def render(self) -> str | None:
        if self.render_mode is None:
            return None
        return "\n\n".join(f"{a}:\n{self.observe(a)['text']}" for a in self.possible_agents)

    # ------------------------------------------------------------ runner helpers

    def simultaneous_agents(self) -> list[str]:
        """Every agent still to choose this round (their observations are fixed until it resolves)."""
        if self._over or not self._queue:
            return [self.agent_selection] if self.agents else []
        return [self.possible_agents[i] for i in self._queue]

    def observation_digest(self, agent: str) -> str:
        encoded = msgspec.msgpack.encode(_plain(self.observe(agent)))
        return f"{zlib.crc32(encoded):08x}"

    def observe_with_digest(self, agent: str) -> tuple[dict[str, Any], str]:
        observation = self.observe(agent)
        return observation, f"{zlib.crc32(msgspec.msgpack.encode(_plain(observation))):08x}"

    @property
    def phase(self) -> str:
        return self._phase_name

    # ------------------------------------------------------------ internals

    def _start_round(self, r: int) -> None:
        self._round = r
        self._phase_name = "choice"
        self._choices = {}
        self._messages = {}
        self._queue = list(range(len(self.possible_agents)))
        self._on_round_start()
        self.agent_selection = self.possible_agents[0]

    def _on_round_start(self) -> None:
        """Hook: announce the round's question to each agent."""

    def _message_audience(self, i: int) -> tuple[int, ...]:
        """Who sees agent ``i``'s message (only its author unless a subclass says otherwise)."""
        return (i,)

    def _mask(self, i: int) -> dict[str, Any]:
        if self._over or i not in self._queue:
            return {"choice": np.zeros(2, dtype=np.int8), "message": self._text_off}
        return {"choice": self._choice_mask(i), "message": self._text_on}

    def _choice_mask(self, i: int) -> np.ndarray:
        return np.ones(2, dtype=np.int8)

    def _parse(self, i: int, action: Any) -> tuple[int, str]:
        agent = self.possible_agents[i]
        if not isinstance(action, Mapping):
            raise IllegalActionError(agent, "action", f"expected a dict with keys {sorted(_ACTION_KEYS)}")
        for key in action:
            if key not in _ACTION_KEYS:
                raise IllegalActionError(agent, str(key), f"unknown action key; keys are {sorted(_ACTION_KEYS)}")
        raw = action.get("choice")
        try:
            choice = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise IllegalActionError(agent, "choice", f"expected 0 or 1, got {raw!r}") from None
        mask = self._choice_mask(i)
        if choice not in (0, 1) or not mask[choice]:
            raise IllegalActionError(agent, "choice", f"{choice} is not legal; legal: {np.flatnonzero(mask).tolist()}")
        message = action.get("message") or ""
        if not isinstance(message, str):
            raise IllegalActionError(agent, "message", f"expected a string, got {type(message).__name__}")
        return choice, clean_text(message)[: self.max_message_chars]

    def _stamp(self, visible: Sequence[int]) -> dict[str, Any]:
        return {
            "step": self._step_count,
            "round": self._round,
            "phase": self._phase_name,
            "visible_to": tuple(self.possible_agents[i] for i in visible),
        }

    def _emit(self, event: ev.Event) -> None:
        self._log.append(event)

    def _announce(self, i: int, kind: str, text: str) -> None:
        self._emit(ev.Announcement(kind=kind, text=text, about=self.possible_agents[i], **self._stamp((i,))))

    # subclass hooks
    def _setup(self) -> None:
        raise NotImplementedError

    def _observe(self, i: int) -> dict[str, Any]:
        raise NotImplementedError

    def _resolve(self) -> None:
        raise NotImplementedError


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
