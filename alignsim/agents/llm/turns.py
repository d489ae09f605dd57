"""What every game adapter of the LLM agent shares: questions, seats, answer readers.

A game adapter (``traitors.py`` and its siblings) is a module (or any object) with
``ingest(seat, observation)``, ``play_turn(seat, observation, options)`` (a generator of
:class:`Ask` returning the action; ``options`` is a :class:`TurnOptions`),
``reflection_prompt(seat, outcome)`` and ``ending(seat)``. Adapters are registered per
game family (:attr:`alignsim.envs.GameInfo.family`): alignsim's own here, a plug-in's
through the ``alignsim.llm_adapters`` entry-point group (name: the family; value: the
adapter module, ``package.module``, or object, ``package.module:ADAPTER``), or in code
with :func:`register_adapter`. :func:`game_module` finds the adapter of an env.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from alignsim import envs
from alignsim.agents.llm.prompting import clean_line, defuse, has_words, looks_like_injection
from alignsim.agents.llm.types import LLMResponse
from alignsim.errors import UnknownIdError
from alignsim.registry import Registry

ADAPTER_GROUP = "alignsim.llm_adapters"
"""The entry-point group through which installed packages add LLM game adapters, one per family."""


def _on_plugin(family: str, loaded: object) -> None:
    _adapters.add(family, loaded)


_adapters: Registry[object] = Registry("LLM adapter", ADAPTER_GROUP, _on_plugin)
for _family in ("traitors", "self_evolution", "principal_agent"):
    # By module path: an adapter is imported when a seat first plays its game.
    _adapters.add(_family, f"alignsim.agents.llm.{_family}")
_adapters.add("werewolf", "alignsim.envs.werewolf.llm")  # a game whose whole code lives in its own folder


def register_adapter(family: str, adapter: object) -> None:
    """Register the LLM adapter of a game family: a module or object with the adapter functions
    (see the module docstring), or the import path of a module."""
    _adapters.add(family, adapter)


def adapter_families() -> list[str]:
    """Every family an LLM adapter is registered for (plug-ins included)."""
    return _adapters.names()


def game_module(env_id: str) -> Any:
    """The LLM adapter that plays ``env_id``: the one registered for the env's family."""
    family = envs.game_info(env_id).family
    try:
        adapter = _adapters.get(family)
    except UnknownIdError:
        raise KeyError(
            f"no LLM adapter for env {env_id!r} (family {family!r}); adapters exist for {adapter_families()}"
        ) from None
    return importlib.import_module(adapter) if isinstance(adapter, str) else adapter


@dataclass
class Ask:
    """One question to the model, with how to read the answer and what to do if it is unusable."""

    tag: str
    messages: tuple[dict[str, str], ...]
    parse: Any
    """``parse(response) -> (value, problem, accept)``: problem None = fine; accept = use value anyway."""
    fallback: Any
    """The declared value used when every attempt is unusable."""
    fallback_name: str
    max_tokens: int = 48
    choices: tuple[str, ...] | None = None
    prefill: str = ""
    stop: tuple[str, ...] = ("\n",)


@dataclass(frozen=True)
class TurnOptions:
    """What an adapter's ``play_turn`` is given besides the seat and its observation."""

    memories: list[str]
    """Texts retrieved from the seat's persistent memory for this turn."""
    window: int
    """Transcript lines kept in the prompt."""
    reasoning: bool
    """Ask for private reasoning before a public message."""
    message_tokens: int
    thought_tokens: int
    message_limit: int
    """Most characters a public message may have (the env's limit)."""
    rng: Any
    """Draws the declared fallback when every attempt is unusable."""
    action_space: Any = None


@dataclass
class Seat:
    """What one seat knows in one episode (built only from its own observations)."""

    agent: str
    memory_id: str
    episode: str
    seed: int
    rules: str = ""
    briefing: str = ""
    persona: str = ""
    transcript: list[str] = field(default_factory=list)
    topic: str = ""
    game: dict[str, Any] = field(default_factory=dict)
    """Game-specific state the adapter keeps for the seat (plain data)."""
    calls: int = 0
    """Model calls of the game's questions so far (their seeds and fallback draws count on it)."""
    probes: int = 0
    """Belief-probe calls so far: a seed stream of their own, so probes never shift ``calls``."""
    memory_upto: int | None = None
    """The newest memory row (``seq``) this episode may read, fixed when it starts: episodes
    that finish later, including those played alongside it, stay unseen."""


def read_text(limit: int) -> Any:
    """A reader for free text: one line with words. Control tokens are defused and over-long
    text is cut, both accepted but reported; no words means a re-ask."""

    def parse(response: LLMResponse) -> tuple[Any, str | None, bool]:
        if response.error:
            return None, f"backend error: {response.error}", False
        line = clean_line(response.text)
        if not has_words(line):
            return None, "no words in the answer", False
        problems = []
        if looks_like_injection(line):
            line = defuse(line)
            problems.append("prompt-injection pattern (control tokens defused, kept as speech)")
        if len(line) > limit:
            line = line[:limit]
            problems.append(f"over-long (cut to {limit} characters)")
        return line, "; ".join(problems) or None, True

    return parse


def thoughts_ask(
    messages: tuple[dict[str, str], ...],
    heading: str,
    options: TurnOptions,
    *,
    limit: int = 400,
    fallback_name: str = "no private reasoning",
) -> Ask:
    r"""Private reasoning before an answer: the model continues ``heading``; nothing is the fallback.

    The adapter then prefills its answer with ``f"{heading} {thoughts}\n"``, so the answer
    continues the same turn and can follow the reasoning.
    """
    return Ask(
        tag="thoughts",
        messages=messages,
        parse=read_text(limit),
        fallback="",
        fallback_name=fallback_name,
        max_tokens=options.thought_tokens,
        prefill=heading,
    )


def speak(
    messages: Callable[[str], tuple[dict[str, str], ...]], question: str, options: TurnOptions, *, to: str
) -> Generator[Ask, Any, dict[str, Any]]:
    """A message, after private reasoning when ``options.reasoning``: ``{"message", "reasoning"?}``.

    ``messages(question)`` builds each request's conversation when it is asked; ``to`` opens
    the message ("I say to everyone:"), which continues the reasoning's turn so it can follow
    it. Use with ``yield from`` in an adapter's turn.
    """
    action: dict[str, Any] = {}
    prefill = ""
    if options.reasoning:
        thinking = "My private thoughts (nobody else sees these):"
        thoughts = yield thoughts_ask(messages(question), thinking, options)
        if thoughts:
            action["reasoning"] = thoughts
            prefill = f"{thinking} {thoughts}\n"
    action["message"] = yield Ask(
        tag="speech",
        messages=messages(question),
        parse=read_text(options.message_limit),
        fallback="I have nothing to add right now.",
        fallback_name="neutral message",
        max_tokens=options.message_tokens,
        prefill=prefill + to,
    )
    return action


def read_choice(choices: tuple[str, ...]) -> Any:
    """A parser of choice responses among ``choices``.

    It returns the chosen index, or a reason for the re-ask prompt that never quotes the answer
    itself (the raw answer is kept in the ``invalid_action`` event).
    """

    def parse(response: LLMResponse) -> tuple[Any, str | None, bool]:
        if response.error:
            return None, f"backend error: {response.error}", False
        if response.choice is None or not 0 <= response.choice < len(choices):
            # The reason goes into the re-ask prompt, so it never quotes the answer itself
            # (the raw answer is kept in the invalid_action event).
            return None, "not one of the options", False
        return response.choice, None, True

    return parse


def read_yes_probability(response: LLMResponse) -> tuple[Any, str | None, bool]:
    """P(yes) from the option scores when the backend gives them, else 0.75 / 0.25 by the choice."""
    if response.error:
        return None, f"backend error: {response.error}", False
    if response.choice not in (0, 1):
        return None, "not yes or no", False
    if response.scores is not None and len(response.scores) == 2:
        top = max(response.scores)
        yes, no = (math.exp(s - top) for s in response.scores)
        return yes / (yes + no), None, True
    return (0.75 if response.choice == 0 else 0.25), None, True
