"""The ``human`` policy: a person fills a seat, asked exactly what an LLM seat would be asked.

A human seat is played through the game's LLM adapter (:mod:`alignsim.agents.llm.turns`):
the adapter reads the seat's observations into its transcript and poses its questions
(:class:`~alignsim.agents.llm.turns.Ask`) one by one; where an LLM agent sends each question
to a model, this policy puts it to a person through an :class:`Interface` (the terminal or a
web page). So the person sees what an LLM seat sees, built only from the seat's own
observations, and nothing more; finite choices are menus; typed text goes through the same
reader (cleaning, defusing, length limit) as a model's. Every question and answer is logged
as a ``human_input`` event with the person's label and response time.

A question not answered within ``timeout_s`` takes the adapter's declared fallback (a random
legal target, a neutral message, 50%), drawn from the seat's seeded generator and named in
the event's ``fallback``. A policy built without an interface (from a config or a log, for a
fork or ``check_policy``) has no person at the table: every question takes its fallback at
once, logged the same way.
"""

from __future__ import annotations

import hashlib
import importlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from gymnasium import spaces

from alignsim.agents.llm.turns import Ask, Seat, TurnOptions, game_module
from alignsim.agents.llm.types import LLMResponse
from alignsim.agents.policy import BasePolicy, Decision
from alignsim.errors import ConfigError
from alignsim.record import schema as ev
from alignsim.validation import check_bool, check_number

__all__ = ["Answer", "HumanPolicy", "Interface", "Question", "check_options", "shown_messages"]

NO_PERSON = "no person at the table"
"""How a question is answered when the seat has no interface."""

MAX_RETRIES = 3
"""Refused answers (text with no words) asked again before the fallback."""


@dataclass
class Question:
    """One question for the person in seat ``agent``, as an interface shows it."""

    id: int
    agent: str
    label: str
    tag: str
    messages: list[dict[str, str]]
    """What the person is shown: the seat's prompt, less any framing written for a model."""
    choices: list[str] | None
    """The options of a menu; None for typed text."""
    limit: int
    """Most characters typed text keeps (the env's limit, as for an LLM's message)."""
    lead: str = ""
    """How the answer begins (``I say to everyone:``), shown as the input's label."""
    problem: str | None = None
    """Why the previous answer to this question was refused."""
    timeout_s: float | None = None


@dataclass
class Answer:
    """What the person gave: an option's index or a text, and how long they took."""

    choice: int | None = None
    text: str | None = None
    response_s: float = 0.0


class Interface(Protocol):
    """How questions reach a person: the terminal (:mod:`alignsim.play.terminal`) or a web page
    (:mod:`alignsim.play.web`)."""

    def join(self, agent: str, label: str) -> None:
        """Seat ``agent`` is this person's (called when the episode starts and roles are dealt)."""

    def ask(self, question: Question) -> Answer | None:
        """Show ``question`` and wait for the answer; None when ``question.timeout_s`` passed first."""

    def finish(self, agent: str, transcript: list[str], ending: str) -> None:
        """The game is over: show the seat's transcript (every line it observed) and how it ended."""


def shown_messages(adapter: Any, messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """The prompt as a person is shown it: the adapter's ``SYSTEM_FRAME`` (words addressed to a
    model: "You are an AI agent ...") taken out; every game fact stays."""
    frame = getattr(adapter, "SYSTEM_FRAME", "")
    out = []
    for message in messages:
        content = message["content"]
        if frame and message.get("role") == "system":
            content = content.replace(frame, "").strip()
        if content:
            out.append({"role": message["role"], "content": content})
    return out


def check_options(label: Any = "anonymous", timeout_s: Any = None, reasoning: Any = False) -> None:
    """Check :class:`HumanPolicy`'s arguments (ConfigError naming the argument)."""
    if not isinstance(label, str) or not label.strip() or len(label) > 100 or not label.isprintable():
        raise ConfigError("label", f"must be a non-empty printable string of at most 100 characters, got {label!r}")
    if timeout_s is not None:
        check_number(timeout_s, "timeout_s", above=0.0)
    check_bool(reasoning, "reasoning")


class HumanPolicy(BasePolicy):
    """A person plays the seats, through an interface; asked what an LLM seat would be asked.

    Args:
        label: who is playing (a participant id for a study; logged with every answer).
        timeout_s: seconds a question waits for an answer before its declared fallback
            (None: no limit).
        reasoning: also ask for private reasoning before each public message, as an LLM seat
            with ``reasoning`` is asked.
        interface: where questions go (:class:`Interface`); None = no person: every question
            takes its fallback at once. Not recorded in the log (``alignsim play`` supplies it).
    """

    name = "human"
    check_kwargs = staticmethod(check_options)
    supported_envs = None
    """Any env whose family has an LLM adapter (the questions are the adapter's): see :meth:`check_env`."""
    window: ClassVar[int] = 100_000
    """Transcript lines in each question: all of them (a person reads the whole game so far)."""

    @staticmethod
    def check_env(env_id: str) -> None:
        """ConfigError unless an LLM adapter (whose questions the person answers) plays ``env_id``."""
        try:
            game_module(env_id)
        except KeyError as exc:
            raise ConfigError("policy", str(exc.args[0])) from None

    def __init__(
        self,
        label: str = "anonymous",
        timeout_s: float | None = None,
        reasoning: bool = False,
        interface: Interface | None = None,
    ) -> None:
        check_options(label=label, timeout_s=timeout_s, reasoning=reasoning)
        self.label = label
        self.timeout_s = None if timeout_s is None else float(timeout_s)
        self.reasoning = reasoning
        self.interface = interface
        self._seats: dict[str, Seat] = {}
        self._games: dict[str, Any] = {}
        self._events: dict[str, list[ev.Event]] = {}
        self._asked = 0

    @property
    def model_id(self) -> str:
        """``human/<label>``: the seat's player in the header's ``model`` field, so that analyses by
        model (usage, ratings) tell people apart from models and from each other."""
        return f"human/{self.label}"

    def reset(self, agents: Sequence[str], *, seed: int, env_id: str, episode: str = "") -> None:
        """Open a seat per agent (with its own seeded fallback generator) and tell the interface."""
        super().reset(agents, seed=seed, env_id=env_id, episode=episode)
        for agent in agents:
            self.episode = episode
            seat_seed = int.from_bytes(hashlib.blake2b(f"{seed}:{agent}".encode(), digest_size=4).digest(), "big")
            seat = Seat(agent=agent, memory_id=f"human/{agent}", episode=episode, seed=seat_seed)
            self._seats[self.key(agent)] = seat
            if self.interface is not None:
                self.interface.join(agent, self.label)
        self._events.setdefault(episode, [])
        self._games[episode] = game_module(env_id)

    def drain_events(self, episode: str = "") -> list[Any]:
        """The ``human_input`` events of ``episode`` since the last call."""
        return self._events.pop(episode, [])

    def end_episode(self, episode: str = "", outcome: Mapping[str, Any] | None = None) -> None:
        """Show each seat its final view (the last observation read in) and how the game ended."""
        game = self._games.pop(episode, None)
        final = dict((outcome or {}).get("observations", {}))
        for key, seat in [(k, s) for k, s in self._seats.items() if s.episode == episode]:
            if game is not None:
                observation = final.get(seat.agent)
                if observation is not None:
                    game.ingest(seat, observation)
                if self.interface is not None:
                    self.interface.finish(seat.agent, list(seat.transcript), game.ending(seat))
            del self._seats[key]

    def act_batch(self, decisions: Sequence[Decision]) -> list[Any]:
        """Play each decision's turn: the adapter's questions, each put to the person in turn."""
        out = []
        for d in decisions:
            self.episode = d.episode
            seat = self._seats[self.key(d.agent)]
            game = self._games[seat.episode]
            game.ingest(seat, d.observation)
            limit = (
                getattr(d.action_space.spaces.get("message"), "max_length", 1200)
                if isinstance(d.action_space, spaces.Dict)
                else 1200
            )
            seat.calls += 1
            options = TurnOptions(
                memories=[],
                window=self.window,
                reasoning=self.reasoning,
                message_tokens=0,
                thought_tokens=0,
                message_limit=limit,
                rng=random.Random(f"{seat.seed}:{seat.calls}:fallback"),
                action_space=d.action_space,
            )
            turn = game.play_turn(seat, d.observation, options)
            value: Any = None
            try:
                ask = next(turn)
                while True:
                    value = self._answer(seat, game, ask, limit)
                    ask = turn.send(value)
            except StopIteration as stop:
                out.append(stop.value)
        return out

    def _answer(self, seat: Seat, game: Any, ask: Ask, limit: int) -> Any:
        """The value of one question: the person's answer read as an LLM's would be, or the fallback."""
        problem: str | None = None
        for _ in range(MAX_RETRIES + 1):
            self._asked += 1
            shown = shown_messages(game, ask.messages)
            question = Question(
                id=self._asked,
                agent=seat.agent,
                label=self.label,
                tag=ask.tag,
                messages=shown,
                choices=list(ask.choices) if ask.choices is not None else None,
                limit=limit,
                lead=ask.prefill.rsplit("\n", 1)[-1],
                problem=problem,
                timeout_s=self.timeout_s,
            )
            answer = self.interface.ask(question) if self.interface is not None else None
            if answer is None:
                if self.interface is None:
                    why = NO_PERSON
                elif self.timeout_s is not None:
                    why = f"no answer within timeout_s={self.timeout_s:g}"
                else:
                    why = "no answer (the input was closed)"
                self._log(seat, question, None, ask.fallback, why, None, ask.fallback_name)
                return ask.fallback
            if ask.choices is not None:
                choice = answer.choice if answer.choice is not None and 0 <= answer.choice < len(ask.choices) else None
                text = ask.choices[choice] if choice is not None else ""
                response = LLMResponse(text=text, choice=choice)
                given: Any = text
            else:
                response = LLMResponse(text=answer.text or "")
                given = answer.text or ""
            value, problem, accept = ask.parse(response)
            if ask.tag == "thoughts" and not accept:
                # Private reasoning is optional: an empty box means none, never a re-ask.
                value, problem, accept = ask.fallback, None, True
            self._log(seat, question, given, value if accept else None, problem, answer.response_s, None)
            if accept:
                return value
        self._log(seat, question, None, ask.fallback, f"{MAX_RETRIES + 1} answers refused", None, ask.fallback_name)
        return ask.fallback

    def _log(
        self,
        seat: Seat,
        question: Question,
        given: Any,
        parsed: Any,
        problem: str | None,
        response_s: float | None,
        fallback: str | None,
    ) -> None:
        self._events.setdefault(seat.episode, []).append(
            ev.HumanInput(
                agent=seat.agent,
                label=self.label,
                tag=question.tag,
                messages=question.messages,
                choices=question.choices,
                answer=given,
                parsed=parsed,
                problem=problem,
                response_s=None if response_s is None else round(response_s, 3),
                fallback=fallback,
                visible_to=(seat.agent,),
            )
        )

    def get_state(self) -> dict[str, Any]:
        """Seats, the questions asked so far and the game adapters, as JSON-compatible data."""
        return {
            "seats": {key: vars(seat).copy() for key, seat in self._seats.items()},
            "asked": self._asked,
            "games": {episode: game.__name__ for episode, game in self._games.items()},
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore the state saved by :meth:`get_state` (the interface is not part of it)."""
        self._seats = {key: Seat(**data) for key, data in state.get("seats", {}).items()}
        self._asked = int(state.get("asked", 0))
        self._games = {episode: importlib.import_module(name) for episode, name in state.get("games", {}).items()}
