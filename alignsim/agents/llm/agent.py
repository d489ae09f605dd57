"""LLMAgent: a policy that asks a language model, with memory that persists across episodes.

For every batch of decisions the agent builds one turn per seat with the game's adapter
(registered per game family in :mod:`alignsim.agents.llm.turns`: ``traitors.py`` and its
siblings, or a plug-in's through the ``alignsim.llm_adapters`` entry points); the
turns ask their questions in lock-step, so each round of questions across all seats of all
episodes in the batch is one ``backend.generate`` call. An unusable answer is logged as an
``invalid_action`` and re-asked (with a note saying why), at most ``max_reasks`` times;
then the turn's declared fallback is used and logged. Every model call is logged as an
``llm_call`` event with the full prompt, parameters, raw output and what was made of it.
"""

from __future__ import annotations

import hashlib
import importlib
import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from gymnasium import spaces

from alignsim.agents.llm.backends import BackendPool, check_backend_options, check_model
from alignsim.agents.llm.memory import AgentMemory
from alignsim.agents.llm.prompting import defuse, looks_like_injection
from alignsim.agents.llm.turns import Ask, Seat, TurnOptions, game_module
from alignsim.agents.llm.types import Backend, LLMRequest, LLMResponse, SamplingParams
from alignsim.agents.llm.wrappers import CachedBackend
from alignsim.agents.policy import BasePolicy, Decision
from alignsim.errors import ConfigError
from alignsim.probes import ANSWERS, ProbeAnswer, ProbeRequest
from alignsim.record import schema as ev
from alignsim.record.schema import MEMORY_DEFAULTS
from alignsim.validation import check_bool, check_choice, check_int, check_keys, check_number, check_writable

SHARED_BACKENDS = BackendPool()
"""Backends shared by every LLMAgent in the process that names the same model and options."""


def release_backends() -> None:
    """Close every shared backend (frees model memory)."""
    SHARED_BACKENDS.close()


SAMPLING_PARAMS = ("temperature", "top_p")
EMBEDDERS = ("lexical", "minilm")


def check_options(
    model: Any = "transformers/embedded",
    params: Any = None,
    backend_options: Any = None,
    cache: Any = None,
    max_reasks: Any = 2,
    reasoning: Any = True,
    message_tokens: Any = 40,
    thought_tokens: Any = 24,
    window: Any = 48,
    memory: Any = None,
    backend: Any = None,
) -> None:
    """Check :class:`LLMAgent`'s arguments with no side effect (no model loaded, no file created).

    Raises ConfigError naming the argument (``params.temperature``, ``memory.k``,
    ``backend_options.faults``, ...). Paths (``cache``, ``memory.path``) must be writable.
    """
    if backend is None:
        check_model(model)
        check_backend_options(model, backend_options)
    params = check_keys(params, "params", SAMPLING_PARAMS, what="sampling parameter")
    if "temperature" in params:
        check_number(params["temperature"], "params.temperature", minimum=0.0)
    if "top_p" in params:
        check_number(params["top_p"], "params.top_p", above=0.0, maximum=1.0)
    if cache is not None:
        check_writable(cache, "cache", folder=False)
    check_int(max_reasks, "max_reasks", minimum=0)
    check_bool(reasoning, "reasoning")
    for name, value in (("message_tokens", message_tokens), ("thought_tokens", thought_tokens), ("window", window)):
        check_int(value, name, minimum=1)
    memory = check_keys(memory, "memory", MEMORY_DEFAULTS, what="memory option")
    if memory.get("path") is not None:
        check_writable(memory["path"], "memory.path", folder=False)
    if "embedder" in memory:
        check_choice(memory["embedder"], "memory.embedder", EMBEDDERS)
    if "k" in memory:
        check_int(memory["k"], "memory.k", minimum=0)
    if "namespace" in memory and not (isinstance(memory["namespace"], str) and memory["namespace"]):
        raise ConfigError("memory.namespace", f"must be a non-empty string, got {memory['namespace']!r}")
    if "reflect" in memory:
        check_bool(memory["reflect"], "memory.reflect")


def _seat_key(episode: str, agent: str) -> str:
    """The key :meth:`BasePolicy.key` gives ``agent`` in ``episode``."""
    return f"{episode}/{agent}" if episode else agent


class LLMAgent(BasePolicy):
    """Plays its seats by asking a language model.

    Args:
        model: ``provider/model`` (``transformers/embedded``, ``mock/scripted``, ``openai/<name>``, ...).
        params: sampling defaults: ``temperature``, ``top_p``.
        backend_options: keyword arguments for the backend (e.g. ``faults`` for mock,
            ``base_url`` for openai, ``device`` for transformers).
        cache: SQLite file caching responses by model, prompt, parameters and seed.
        max_reasks: re-asks after an unusable answer before the fallback.
        reasoning: ask for private reasoning before each public message.
        message_tokens, thought_tokens: token budgets of a message and of private reasoning.
        window: transcript lines kept in the prompt (older events reach it through memory).
        memory: ``path`` (SQLite file or None for in-process), ``embedder`` (``lexical`` or
            ``minilm``), ``k`` (memories per prompt), ``namespace`` (identities are
            ``namespace/agent``), ``reflect`` (write an LLM reflection after each episode).
        backend: a ready backend object (overrides ``model``).
    """

    name = "llm"
    uses_llm: ClassVar[bool] = True
    check_kwargs = staticmethod(check_options)
    """Validates the arguments without building anything (see ``alignsim.run.validate_scenario``)."""
    supported_envs = None
    """Any env whose family has an LLM adapter: see :meth:`check_env`."""

    @staticmethod
    def check_env(env_id: str) -> None:
        """ConfigError unless an LLM adapter is registered for the family of ``env_id`` (before any work)."""
        try:
            game_module(env_id)
        except KeyError as exc:
            raise ConfigError("policy", str(exc.args[0])) from None

    default_model: ClassVar[str] = "transformers/embedded"
    """The model a seat answers with when neither it nor the run's ``llm`` config names one."""

    @staticmethod
    def offline_kwargs(kwargs: Mapping[str, Any], backend: Backend) -> dict[str, Any]:
        """The arguments that rebuild a logged seat (``rerun``, ``fork``) without touching a file it did
        not create: its recorded ``kwargs`` answering through ``backend``, its memory in process (the
        runner loads the rows it started with), no response cache."""
        out = dict(kwargs)
        out["memory"] = {**dict(kwargs.get("memory") or {}), "path": None}
        out["backend"] = backend
        out.pop("cache", None)
        return out

    def __init__(
        self,
        model: str = default_model,
        params: Mapping[str, Any] | None = None,
        backend_options: Mapping[str, Any] | None = None,
        cache: str | None = None,
        max_reasks: int = 2,
        reasoning: bool = True,
        message_tokens: int = 40,
        thought_tokens: int = 24,
        window: int = 48,
        memory: Mapping[str, Any] | None = None,
        backend: Backend | None = None,
    ) -> None:
        check_options(
            model=model,
            params=params,
            backend_options=backend_options,
            cache=cache,
            max_reasks=max_reasks,
            reasoning=reasoning,
            message_tokens=message_tokens,
            thought_tokens=thought_tokens,
            window=window,
            memory=memory,
            backend=backend,
        )
        params = dict(params or {})
        self.temperature = float(params.get("temperature", 0.7))
        self.top_p = float(params.get("top_p", 0.95))
        memory_config = {**MEMORY_DEFAULTS, **dict(memory or {})}
        self.model = backend.model_id if backend is not None else model
        self.backend_options = dict(backend_options or {})
        self.cache = cache
        self.max_reasks = max_reasks
        self.reasoning = reasoning
        self.message_tokens = message_tokens
        self.thought_tokens = thought_tokens
        self.window = window
        self.memory_config = memory_config
        self.memory = AgentMemory(memory_config["path"], embedder=memory_config["embedder"])
        self._backend = backend
        self._seats: dict[str, Seat] = {}
        self._games: dict[str, Any] = {}
        self._events: dict[str, list[ev.Event]] = {}
        self._unsaved: dict[str, list[tuple[str, str, str, str, int, float]]] = {}
        """Per episode, the memories it wrote, stored together when it ends (see ``end_episode``)."""
        self._said: dict[str, tuple[tuple[dict[str, str], ...], str]] = {}
        """Per seat key, its latest public statement in context: the prompt it answered and its whole
        answer (prefill included), so a belief probe continues that very conversation."""

    @property
    def model_id(self) -> str:
        """The ``provider/model`` string its seats answer with."""
        return self.model

    @property
    def backend(self) -> Backend:
        """The backend answering its requests, created on first use.

        It is shared with every seat of the same model and options (:data:`SHARED_BACKENDS`) and
        wrapped in a response cache when ``cache`` is set.
        """
        if self._backend is None:
            inner = SHARED_BACKENDS.get(self.model, **self.backend_options)
            self._backend = CachedBackend(inner, self.cache) if self.cache else inner
        return self._backend

    def close(self) -> None:
        """Close the memory database; the shared backend stays open for other seats."""
        self.memory.close()

    # ------------------------------------------------------------------ episodes

    def reset(self, agents: Sequence[str], *, seed: int, env_id: str, episode: str = "") -> None:
        """Open a seat per agent: its memory identity, its seed, and the memories visible to it.

        Only memories stored before the episode starts are visible, so episodes in play together
        never read each other.
        """
        super().reset(agents, seed=seed, env_id=env_id, episode=episode)
        namespace = self.memory_config["namespace"]
        # The episode reads its memory as it is now; what other episodes store later stays unseen.
        upto = self.memory.high_water()
        for agent in agents:
            self.episode = episode
            seat_seed = int.from_bytes(hashlib.blake2b(f"{seed}:{agent}".encode(), digest_size=4).digest(), "big")
            self._seats[self.key(agent)] = Seat(
                agent=agent, memory_id=f"{namespace}/{agent}", episode=episode, seed=seat_seed, memory_upto=upto
            )
        self._events.setdefault(episode, [])
        self._games[episode] = game_module(env_id)

    def memory_digest(self, episode: str, agent: str) -> str:
        """A hash of the memories the seat can read in this episode (recorded in the log header)."""
        self.episode = episode
        seat = self._seats[self.key(agent)]
        return self.memory.digest(seat.memory_id, seat.memory_upto)

    def memory_snapshot(self, episode: str, agent: str, after: int = 0) -> list[list[Any]]:
        """The rows (``seq > after``) of the memories the seat can read in this episode, for a
        rerun (see ``run.rerun``)."""
        self.episode = episode
        seat = self._seats[self.key(agent)]
        return self.memory.rows(seat.memory_id, after, seat.memory_upto)

    def forget_episode(self, episode: str) -> int:
        """Drop what an unfinished earlier attempt at ``episode`` stored (the runner calls this
        before playing the episode again); the number of rows dropped."""
        return self.memory.discard_episode(episode)

    def restore_memory(self, rows: Sequence[Sequence[Any]]) -> None:
        """Replace the memory with snapshot rows (of any number of identities)."""
        self.memory.load(sorted(rows, key=lambda row: row[0]))

    def drain_events(self, episode: str = "") -> list[Any]:
        """The ``llm_call``, ``memory_write`` and ``invalid_action`` events of ``episode`` since the last call."""
        return self._events.pop(episode, [])

    def end_episode(self, episode: str = "", outcome: Mapping[str, Any] | None = None) -> None:
        """Remember how the game ended (facts and, with ``reflect``, the model's own reflection)."""
        self.episode = episode
        seats = [(key, seat) for key, seat in self._seats.items() if seat.episode == episode]
        final = dict((outcome or {}).get("observations", {}))
        game = self._games.pop(episode, None)
        asks = []
        for _, seat in seats if game is not None else ():
            observation = final.get(seat.agent)
            if observation is not None:
                self._remember(seat, game.ingest(seat, observation))
            ending = game.ending(seat)
            if ending:
                self._write_memory(seat, f"Game {episode or 'earlier'}: {ending}", "outcome", 0.9)
            if self.memory_config["reflect"]:
                asks.append((seat, game.reflection_prompt(seat, ending)))
        if asks:
            requests = [self._request(seat, "reflection", prompt, max_tokens=40) for seat, prompt in asks]
            responses = self.backend.generate(requests)
            for (seat, _), request, response in zip(asks, requests, responses, strict=True):
                text = " ".join(response.text.split())[:300]
                usable = response.error is None and any(c.isalpha() for c in text)
                self._log_call(seat, request, response, parsed=text if usable else None, valid=usable)
                if not usable:
                    self._invalid(seat, response.error or "no words in the reflection", response.text, "no reflection")
                elif looks_like_injection(text) or len(response.text) > 300:
                    self._invalid(seat, "reflection defused or cut", response.text, "kept: defused and cut")
                    text = defuse(text)
                if usable:
                    self._write_memory(seat, f"Reflection after game {episode or 'earlier'}: {text}", "reflection", 0.8)
        # All of the episode's memories become visible at once, to episodes that start from now on.
        self.memory.add_many(self._unsaved.pop(episode, []))
        for key, _ in seats:
            del self._seats[key]
            self._said.pop(key, None)

    # ------------------------------------------------------------------ acting

    def act_batch(self, decisions: Sequence[Decision]) -> list[Any]:
        """Play one turn for each decision, batching every model call of the same step across decisions.

        Each seat reads its observation into its transcript, retrieves memories, then its game adapter
        asks its questions; the requests of all decisions go to the backend together, and an unusable
        answer is re-asked up to ``max_reasks`` times before the seeded fallback.
        """
        turns, seats = [], []
        for d in decisions:
            self.episode = d.episode
            seat = self._seats[self.key(d.agent)]
            seats.append(seat)
            game = self._games[seat.episode]
            self._remember(seat, game.ingest(seat, d.observation))
            query = " ".join(seat.transcript[-6:])
            k = self.memory_config["k"]
            memories = (
                [
                    m.text
                    for m in self.memory.retrieve(
                        seat.memory_id, query, k, exclude_episode=seat.episode, upto=seat.memory_upto
                    )
                ]
                if k
                else []
            )
            rng = random.Random(f"{seat.seed}:{seat.calls}:fallback")
            limit = (
                getattr(d.action_space.spaces.get("message"), "max_length", 1200)
                if isinstance(d.action_space, spaces.Dict)
                else 1200
            )
            options = TurnOptions(
                memories=memories,
                window=self.window,
                reasoning=self.reasoning,
                message_tokens=self.message_tokens,
                thought_tokens=self.thought_tokens,
                message_limit=limit,
                rng=rng,
                action_space=d.action_space,
            )
            turn = game.play_turn(seat, d.observation, options)
            turns.append(turn)
        return self._drive(turns, seats)

    def _drive(self, turns: list[Any], seats: list[Seat]) -> list[Any]:
        """Run the turns' questions in lock-step: one backend call per round of questions."""
        results: list[Any] = [None] * len(turns)
        pending: dict[int, tuple[Ask, int, str]] = {}

        def advance(i: int, value: Any, first: bool = False) -> None:
            try:
                ask = next(turns[i]) if first else turns[i].send(value)
            except StopIteration as stop:
                results[i] = stop.value
                return
            pending[i] = (ask, 0, "")

        for i in range(len(turns)):
            advance(i, None, first=True)
        while pending:
            order = sorted(pending)
            requests = []
            for i in order:
                ask, attempt, problem = pending[i]
                prompt = ask.messages
                if attempt:
                    last = dict(prompt[-1])
                    last["content"] += f"\n\n(Your previous answer could not be used: {problem}. Answer again.)"
                    prompt = (*prompt[:-1], last)
                requests.append(
                    self._request(
                        seats[i],
                        ask.tag,
                        prompt,
                        max_tokens=ask.max_tokens,
                        choices=ask.choices,
                        prefill=ask.prefill,
                        stop=ask.stop,
                    )
                )
            responses = self.backend.generate(requests)
            for i, request, response in zip(order, requests, responses, strict=True):
                ask, attempt, _ = pending.pop(i)
                value, problem, accept = ask.parse(response)
                seat = seats[i]
                self._log_call(seat, request, response, parsed=value, valid=problem is None)
                if ask.choices is None and ask.tag != "thoughts" and value:
                    # A statement (speech, explanation): kept as the context of a belief probe.
                    self._said[_seat_key(seat.episode, seat.agent)] = (ask.messages, f"{ask.prefill} {value}".strip())
                if problem is None:
                    advance(i, value)
                elif accept:
                    self._invalid(seat, problem, response.text, "kept: " + problem.split(" (")[0])
                    advance(i, value)
                elif attempt < self.max_reasks:
                    self._invalid(seat, problem, response.text, "re-ask")
                    pending[i] = (ask, attempt + 1, problem)
                else:
                    self._invalid(seat, problem, response.text, ask.fallback_name)
                    advance(i, ask.fallback)
        return results

    # ------------------------------------------------------------------ belief probes

    def probe_beliefs(self, requests: Sequence[ProbeRequest]) -> list[ProbeAnswer]:
        """Ask each seat privately whether it believes a proposition it just asserted (see
        :mod:`alignsim.probes`).

        The question continues the seat's own conversation: the prompt it answered when it made
        the statement, its whole answer (private reasoning included) as the assistant's turn,
        then the question, as a choice request among :data:`~alignsim.probes.ANSWERS` (legal by
        construction). Probes draw their seeds from a stream of their own (``Seat.probes``), not
        from the counter the game's questions use, so the seat's later game answers are the same
        with and without probes; they write no memory and leave the transcript alone. An
        unusable answer is re-asked up to ``max_reasks`` times, then recorded as no answer (never
        a guessed one). Each call is logged as an ``llm_call`` tagged ``belief_probe``.
        """
        answers: list[ProbeAnswer | None] = [None] * len(requests)
        pending: dict[int, int] = {}  # request index -> attempt
        cost: dict[int, list[int]] = {}
        prompts: dict[int, tuple[dict[str, str], ...]] = {}
        for i, probe in enumerate(requests):
            said = self._said.get(_seat_key(probe.episode, probe.agent))
            seat = self._seats.get(_seat_key(probe.episode, probe.agent))
            if said is None or seat is None or probe.statement_text.strip() not in said[1]:
                # Never probe in a conversation other than the one that produced the statement.
                answers[i] = ProbeAnswer(None, reason="the statement's conversation is not this seat's latest")
                continue
            context, answer = said
            prompts[i] = (
                *context,
                {"role": "assistant", "content": answer},
                {"role": "user", "content": probe.question},
            )
            pending[i] = 0
            cost[i] = [0, 0, 0]
        while pending:
            order = sorted(pending)
            requests_out = []
            for i in order:
                seat = self._seats[_seat_key(requests[i].episode, requests[i].agent)]
                prompt = prompts[i]
                if pending[i]:
                    last = dict(prompt[-1])
                    last["content"] += (
                        "\n\n(Your previous answer could not be used: not one of the options. Answer again.)"
                    )
                    prompt = (*prompt[:-1], last)
                seat.probes += 1
                seed = int.from_bytes(
                    hashlib.blake2b(f"{seat.seed}:probe:{seat.probes}".encode(), digest_size=4).digest(), "big"
                )
                params = SamplingParams(max_tokens=4, temperature=self.temperature, top_p=self.top_p, seed=seed)
                requests_out.append(LLMRequest(messages=prompt, params=params, choices=ANSWERS, tag="belief_probe"))
            responses = self.backend.generate(requests_out)
            for i, request, response in zip(order, requests_out, responses, strict=True):
                seat = self._seats[_seat_key(requests[i].episode, requests[i].agent)]
                ok = response.error is None and response.choice is not None and 0 <= response.choice < len(ANSWERS)
                value = ANSWERS[response.choice] if ok and response.choice is not None else None
                self._log_call(seat, request, response, parsed=value, valid=ok)
                spent = cost[i]
                spent[0] += 1
                spent[1] += response.prompt_tokens
                spent[2] += response.completion_tokens
                attempt = pending.pop(i)
                if ok:
                    answers[i] = ProbeAnswer(value, spent[0], spent[1], spent[2])
                elif attempt < self.max_reasks:
                    pending[i] = attempt + 1
                else:
                    reason = response.error or "not one of the options"
                    answers[i] = ProbeAnswer(None, spent[0], spent[1], spent[2], reason=f"no usable answer: {reason}")
        return [a if a is not None else ProbeAnswer(None, reason="not asked") for a in answers]

    # ------------------------------------------------------------------ plumbing

    def _request(
        self,
        seat: Seat,
        tag: str,
        messages: tuple[dict[str, str], ...],
        *,
        max_tokens: int,
        choices: tuple[str, ...] | None = None,
        prefill: str = "",
        stop: tuple[str, ...] = (),
    ) -> LLMRequest:
        seat.calls += 1
        seed = int.from_bytes(hashlib.blake2b(f"{seat.seed}:{seat.calls}".encode(), digest_size=4).digest(), "big")
        params = SamplingParams(
            max_tokens=max_tokens, temperature=self.temperature, top_p=self.top_p, seed=seed, stop=stop
        )
        return LLMRequest(messages=messages, params=params, choices=choices, prefill=prefill, tag=tag)

    def _log_call(self, seat: Seat, request: LLMRequest, response: LLMResponse, *, parsed: Any, valid: bool) -> None:
        self._events.setdefault(seat.episode, []).append(
            ev.LLMCall(
                agent=seat.agent,
                model=self.backend.model_id,
                messages=[dict(m) for m in request.messages],
                params={
                    "max_tokens": request.params.max_tokens,
                    "temperature": request.params.temperature,
                    "top_p": request.params.top_p,
                    "seed": request.params.seed,
                    "stop": list(request.params.stop),
                },
                raw_output=response.text,
                choices=list(request.choices) if request.choices is not None else None,
                prefill=request.prefill,
                tag=request.tag,
                choice=response.choice,
                scores=list(response.scores) if response.scores is not None else None,
                parsed=parsed,
                valid=valid,
                prompt_tokens=response.prompt_tokens,
                completion_tokens=response.completion_tokens,
                latency_s=round(response.latency_s, 6),
                finish_reason=response.finish_reason,
                error=response.error,
                cached=response.cached,
                visible_to=(seat.agent,),
            )
        )

    def _invalid(self, seat: Seat, reason: str, raw: str, fallback: str) -> None:
        self._events.setdefault(seat.episode, []).append(
            ev.InvalidAction(
                agent=seat.agent,
                policy=self.name,
                reason=reason,
                raw=raw[:2000],
                fallback=fallback,
                visible_to=(seat.agent,),
            )
        )

    def _remember(self, seat: Seat, notes: list[tuple[str, str, float]]) -> None:
        for text, kind, importance in notes:
            self._write_memory(seat, text, kind, importance)

    def _write_memory(self, seat: Seat, text: str, kind: str, importance: float) -> None:
        # Kept until the episode ends: no other episode may read a game that is still being played
        # (nor one that fails), and its own prompts exclude it anyway.
        self._unsaved.setdefault(seat.episode, []).append(
            (seat.memory_id, text, kind, seat.episode, 0, float(importance))
        )
        self._events.setdefault(seat.episode, []).append(
            ev.MemoryWrite(
                agent=seat.agent,
                text=text,
                kind=kind,
                memory_id=seat.memory_id,
                importance=importance,
                visible_to=(seat.agent,),
            )
        )

    # ------------------------------------------------------------------ state

    def get_state(self) -> dict[str, Any]:
        """Seats, memories, unsaved memory rows and game adapters, as JSON-compatible data."""
        return {
            "seats": {key: vars(seat).copy() for key, seat in self._seats.items()},
            "memory": self.memory.dump(),
            "unsaved": {episode: [list(row) for row in rows] for episode, rows in self._unsaved.items()},
            "games": {episode: game.__name__ for episode, game in self._games.items()},
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore the state saved by :meth:`get_state` (memories replace the in-process database)."""
        self._seats = {key: Seat(**data) for key, data in state.get("seats", {}).items()}
        self.memory.load(state.get("memory", []))
        self._unsaved = {episode: [tuple(row) for row in rows] for episode, rows in state.get("unsaved", {}).items()}
        self._games = {episode: importlib.import_module(name) for episode, name in state.get("games", {}).items()}
