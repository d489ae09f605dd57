"""The episode-log schema, version 2: the core events, the header and the summary.

An episode log is one JSONL file: a :class:`Header` line, then one event per line.
Every event carries ``seq`` (its index in the episode), ``step`` (how many actions the
env had applied when it happened), ``round``, ``phase`` and ``visible_to``: the agents
that saw it. ``visible_to == []`` means no agent saw it (ground truth kept for
analysis only, such as the role deal).

Events come from two sources. Env events are emitted by the environment; runner events
(action, invalid_action, reward, llm_call, memory_write, episode_end) are written by the
runner and agents. Replay regenerates the env events and compares them one by one with
the log. This module holds the runner events and the env events any game may use
(announcement, role_assignment, reasoning); each game family's own events live with the
family (``alignsim/envs/traitors/events.py``, ...) and are added to the log's vocabulary by
:func:`alignsim.record.register_event`. A line whose type no registered class has is read
as an :class:`UnknownEvent`, so a log outlives the code that wrote it.

Roles, sides (winners) and elimination causes are plain strings here: their vocabulary is
what the env declares in its :class:`~alignsim.envs.GameInfo`, and
:func:`~alignsim.record.read_log` checks each field listed in an event's ``vocabulary``
against it.

Change log:
    1: first version. Additive, still version 1: the self-evolution events (evolution_setup,
       compliance_choice, threshold_round).
       Additive, still version 1: the principal-agent events (pa_setup, pa_decision,
       pa_explanation, pa_audit, pa_outcome).
       Additive, still version 1: ``episode_end.reason`` and ``Summary.reason`` (the run
       budget that stopped a truncated episode).
    2: an open set of event types. The lines are those of version 1 (a version-1 log reads
       as before); what changed is the contract: a family registers its event types, an
       unregistered type is read as :class:`UnknownEvent` (with a warning) instead of
       refusing the log, and roles, sides and causes are strings checked against the env's
       declared vocabulary instead of a closed list of Traitors words.
       Additive, still version 2: ``belief_probe`` (a runner event) and ``Summary.probes``,
       ``Summary.probe_calls`` and ``Summary.probe_tokens``.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec

SCHEMA_VERSION = 2
"""The version new logs are written with."""

READABLE_SCHEMA_VERSIONS = (1, 2)
"""Every version this alignsim reads (a version-1 log is a valid version-2 log)."""

EMPTY_MEMORY_DIGEST = hashlib.blake2b(digest_size=8).hexdigest()
"""``Header.memory`` digest of an agent whose memory is empty (see ``AgentMemory.digest``)."""

MEMORY_DEFAULTS: dict[str, Any] = {
    "path": None,
    "embedder": "lexical",
    "k": 4,
    "namespace": "population",
    "reflect": True,
}
"""The memory options of an LLM seat that its logged ``kwargs["memory"]`` leaves out take these
values; they live here, with the log's schema, so that reading a log needs no agent code."""


class Event(msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=True, gc=False):
    """Fields every event has.

    Events are treated as immutable once written; only the writer sets ``seq``. They hold
    no reference cycles, so they opt out of the garbage collector (cheaper to create).

    A subclass names its ``type`` tag (``class Lynch(Event, tag="lynch")``) and is added to
    the log's vocabulary with :func:`alignsim.record.register_event`.
    """

    source: ClassVar[str] = "env"
    """``env`` (replay regenerates and compares it) or ``runner``."""
    vocabulary: ClassVar[Mapping[str, str]] = {}
    """Fields whose values come from a vocabulary the env declares: field name to the
    :class:`~alignsim.envs.GameInfo` attribute (``roles``, ``sides`` or ``causes``). A field
    may hold a string, None, a dict (its values are checked), or a tuple of structs that
    declare their own ``vocabulary``. The reader refuses a value outside a declared,
    non-empty vocabulary."""
    seq: int = -1
    """Index of the event in its episode; assigned by whoever writes it."""
    step: int = 0
    """Number of actions the env had applied when the event happened."""
    round: int = 0
    """Game round (0 = before the first round, e.g. introductions)."""
    phase: str = ""
    """Name of the phase the event belongs to."""
    visible_to: tuple[str, ...] = ()
    """Agents that observed this event; empty means no agent did."""


class UnknownEvent(Event, tag=False):
    """An event line whose ``type`` no registered class has: a third-party game's event
    read without its package, or a newer alignsim's event read by this one.

    It keeps the tag (``type``), the common fields when the line has them, and every other
    field as raw JSON values in ``data``. Replay, export and the viewer's transcript skip it
    (its ``source`` is ``unknown``); the reader warns once per log and tag
    (:class:`~alignsim.record.UnknownEventWarning`). It is never written by alignsim.
    """

    source: ClassVar[str] = "unknown"
    type: str
    """The event's tag as written in the log."""
    data: dict[str, Any] = {}
    """The line's other fields, as decoded JSON."""


def vocabulary_values(item: msgspec.Struct, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """``(field, vocabulary, value)`` for every vocabulary-bound string in ``item``,
    following its class's ``vocabulary`` (see :attr:`Event.vocabulary`)."""
    for name, vocabulary in getattr(type(item), "vocabulary", {}).items():
        value = getattr(item, name)
        where = f"{prefix}{name}"
        if isinstance(value, str):
            yield where, vocabulary, value
        elif isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(inner, str):
                    yield f"{where}.{key}", vocabulary, inner
        elif isinstance(value, tuple | list):
            for index, inner in enumerate(value):
                if isinstance(inner, msgspec.Struct):
                    yield from vocabulary_values(inner, f"{where}[{index}].")


# ---------------------------------------------------- env events any game may use


class Announcement(Event, tag="announcement"):
    """Moderator text: rules, briefings, personas, topics, morning news."""

    kind: str
    """What the announcement is: rules, briefing, persona, prompt, topic, morning."""
    text: str
    about: str | None = None
    """The agent the announcement is about, if any (e.g. a persona)."""


class RoleAssignment(Event, tag="role_assignment"):
    """The chance step that dealt roles. Ground truth: ``visible_to`` is empty."""

    vocabulary: ClassVar[Mapping[str, str]] = {"roles": "roles"}
    roles: dict[str, str]
    """Per agent, its role (one of the env's declared ``roles``)."""
    forced: tuple[str, ...] = ()
    """Agents whose role was fixed by configuration rather than drawn."""


class Reasoning(Event, tag="reasoning"):
    """Private reasoning attached to an action; visible only to its author."""

    actor: str
    text: str
    truncated: bool = False


# ------------------------------------------------------------- runner events


class Action(Event, tag="action"):
    """An action the runner applied to the env (after any fallback)."""

    source: ClassVar[str] = "runner"
    agent: str
    action: Any
    """The action in the env's JSON encoding (see ``encode_action``): an object for the
    built-in envs' Dict spaces, a number or list for an env with a Discrete, Box or
    MultiDiscrete action space."""
    obs_digest: str
    """Digest of the observation the agent acted on; replay recomputes and compares it."""
    policy: str


class InvalidAction(Event, tag="invalid_action"):
    """A policy returned an action the env would reject; the declared fallback was applied."""

    source: ClassVar[str] = "runner"
    agent: str
    policy: str
    reason: str
    raw: Any
    fallback: str
    """Name of the fallback rule that produced the applied action."""


class Reward(Event, tag="reward"):
    """Final (or per-step) rewards paid by the env."""

    source: ClassVar[str] = "runner"
    rewards: dict[str, float]


class LLMCall(Event, tag="llm_call"):
    """One request/response pair with a language model, with everything needed to replay it."""

    source: ClassVar[str] = "runner"
    agent: str
    model: str
    messages: list[dict[str, str]]
    params: dict[str, Any]
    """Sampling parameters: max_tokens, temperature, top_p, seed, stop."""
    raw_output: str
    choices: list[str] | None = None
    json_schema: dict[str, Any] | None = None
    prefill: str = ""
    tag: str = ""
    """What the call was for (speech, thoughts, vote, belief, reflection, ...)."""
    choice: int | None = None
    scores: list[float] | None = None
    parsed: Any = None
    """What the agent made of the output (the action part it produced)."""
    valid: bool = True
    """False when the output was rejected (a re-ask or the fallback followed)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: str = "stop"
    error: str | None = None
    cached: bool = False


class HumanInput(Event, tag="human_input"):
    """One question put to a person in a ``human`` seat (``alignsim play``), and the answer.

    The person was shown ``messages``: the prompt an LLM seat would have been given, built from
    the seat's own observations. ``visible_to`` is the seat alone.
    """

    source: ClassVar[str] = "runner"
    agent: str
    label: str
    """Who sat in the seat (the study's participant label, ``human.label``)."""
    tag: str
    """What was asked (speech, vote, proposal, belief, thoughts, ...), as for ``llm_call``."""
    messages: list[dict[str, str]]
    choices: list[str] | None = None
    answer: Any = None
    """What the person gave: the chosen option's text, or the typed text as typed; None when
    nothing came (see ``fallback``)."""
    parsed: Any = None
    """What the seat made of it (the action part), after the same cleaning as an LLM's answer."""
    problem: str | None = None
    """Why the answer was cut, defused or refused (a refused one is asked again)."""
    response_s: float | None = None
    """Seconds from the question reaching the person to the answer; None when none came."""
    fallback: str | None = None
    """Set when no usable answer came in time (``timeout_s``) or no person was at the table:
    the name of the declared fallback that was used instead."""


class MemoryWrite(Event, tag="memory_write"):
    """An agent stored something in its memory."""

    source: ClassVar[str] = "runner"
    agent: str
    text: str
    kind: str = "note"
    """observation, reflection, note, ..."""
    memory_id: str = ""
    """The persistent identity whose memory this is (stable across episodes)."""
    importance: float = 0.0


class EpisodeEnd(Event, tag="episode_end"):
    """Last event of a finished episode."""

    source: ClassVar[str] = "runner"
    vocabulary: ClassVar[Mapping[str, str]] = {"winner": "sides"}
    status: Literal["completed", "truncated", "failed"]
    winner: str | None = None
    """The side that won (one of the env's declared ``sides``); None when no side won."""
    steps: int = 0
    error: str | None = None
    reason: str | None = None
    """Why a ``truncated`` episode stopped early when the runner stopped it: which budget
    (``max_steps``, ``max_log_bytes``) it reached. None when the game itself ended."""


class BeliefProbe(Event, tag="belief_probe"):
    """A seat's answer to a private question, asked right after its public statement.

    The question: does it believe the proposition it just asserted? Written when the scenario
    sets ``belief_probes: true`` (see ``docs/belief-probes.md``). Only the asking seat saw the
    question (``visible_to`` is its own id); no other seat's observation or prompt ever holds
    it, and the game does not read it.
    """

    source: ClassVar[str] = "runner"
    actor: str
    """The seat that made the statement and answered the probe."""
    statement_seq: int
    """``seq`` of the statement event (``speech``, ``pa_explanation``) the probe is about."""
    subject: str
    """The seat the proposition is about (the speaker's own id for a self-claim)."""
    predicate: str
    """As in an annotation's extracted claim: ``role``, ``side``, ``serves``, ..."""
    value: str
    negated: bool = False
    question: str = ""
    """The question as the seat was asked it."""
    answer: str | None = None
    """``yes``, ``no`` or ``unsure``; None when no usable answer came (``reason`` says why)."""
    policy: str = ""
    calls: int = 0
    """Model calls the probe took (re-asks included; 0 for a scripted seat's answer)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reason: str | None = None


CORE_EVENTS: tuple[type[Event], ...] = (
    Announcement,
    RoleAssignment,
    Reasoning,
    Action,
    InvalidAction,
    Reward,
    LLMCall,
    HumanInput,
    MemoryWrite,
    EpisodeEnd,
    BeliefProbe,
)
"""The event types every log may hold, registered by :mod:`alignsim.record` itself."""

AnyEvent = Event
"""Any event. (Up to schema version 1 this was the closed union of every event type; the
union is now built from the registrations, see :func:`alignsim.record.event_types`.)"""


# --------------------------------------------------------------------- header


class SeatRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which policy played an agent."""

    policy: str
    kwargs: dict[str, Any] = {}
    role: str | None = None
    """The seating key that placed the policy (a role name or the agent id)."""
    model: str | None = None
    """Model id, for LLM policies."""


class Header(msgspec.Struct, kw_only=True, tag_field="type", tag="header", forbid_unknown_fields=True):
    """First line of every episode log."""

    schema_version: int = SCHEMA_VERSION
    episode_id: str
    status: Literal["started"] = "started"
    """The header is written before the episode runs; the outcome is in ``episode_end``."""
    created_at: str
    scenario: str
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    """The run's master seed."""
    episode_index: int
    seeds: dict[str, int]
    """Derived seeds: ``env``, ``fallback`` and ``policy:<group>`` for each policy group."""
    seating: dict[str, SeatRecord]
    config: dict[str, Any] = {}
    """The fully resolved run configuration."""
    versions: dict[str, str] = {}
    git: dict[str, Any] | None = None
    python: str = ""
    platform: str = ""
    parent: str | None = None
    """Episode id this one was derived from (forks), if any."""
    memory: dict[str, str] = {}
    """Per agent, a digest of its persistent memory when the episode started."""


class Summary(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Per-episode summary, written atomically beside the log when the episode ends."""

    schema_version: int = SCHEMA_VERSION
    episode_id: str
    scenario: str
    seed: int
    episode_index: int
    status: Literal["completed", "truncated", "failed"]
    winner: str | None = None
    rounds: int = 0
    steps: int = 0
    n_events: int = 0
    eliminations: list[dict[str, Any]] = []
    rewards: dict[str, float] = {}
    llm_calls: dict[str, int] = {}
    """Model calls per agent."""
    invalid_actions: dict[str, int] = {}
    """Invalid actions per agent (agent-level rejected outputs and env-level fallbacks)."""
    tokens: dict[str, int] = {}
    """Prompt + completion tokens per agent."""
    llm_seconds: dict[str, float] = {}
    """Seconds spent waiting for model calls, per agent."""
    duration_s: float = 0.0
    error: str | None = None
    log_path: str = ""
    reason: str | None = None
    """Why the runner stopped a ``truncated`` episode (the budget it reached), as in ``episode_end``."""
    probes: dict[str, int] = {}
    """Belief probes asked, per agent (``belief_probes: true``; one per asserted proposition)."""
    probe_calls: dict[str, int] = {}
    """Model calls spent on belief probes, per agent (already counted in ``llm_calls``)."""
    probe_tokens: dict[str, int] = {}
    """Prompt + completion tokens spent on belief probes, per agent (already counted in ``tokens``)."""


# Event types that moved to their family's ``events`` module in schema version 2. They stay
# importable from here (``from alignsim.record.schema import Speech``, ``ev.Vote``) so that
# code written against version 1 keeps working; new code imports them from the family.
_MOVED: dict[str, tuple[str, ...]] = {
    "alignsim.envs.traitors.events": ("Claim", "Speech", "Belief", "Vote", "VoteResult", "Elimination", "GameEnd"),
    "alignsim.envs.self_evolution.events": ("EvolutionSetup", "ComplianceChoice", "ThresholdRound"),
    "alignsim.envs.principal_agent.events": ("PASetup", "PADecision", "PAExplanation", "PAAudit", "PAOutcome"),
}


if TYPE_CHECKING:  # the moved names, typed for checkers; resolved at run time by __getattr__
    from alignsim.envs.principal_agent.events import PAAudit, PADecision, PAExplanation, PAOutcome, PASetup  # noqa: F401 (re-exported)
    from alignsim.envs.self_evolution.events import ComplianceChoice, EvolutionSetup, ThresholdRound  # noqa: F401 (re-exported)
    from alignsim.envs.traitors.events import Belief, Claim, Elimination, GameEnd, Speech, Vote, VoteResult  # noqa: F401 (re-exported)
else:

    def __getattr__(name: str) -> Any:
        """Resolve a name that moved to a family's events module (imported on first use, then cached)."""
        for module, names in _MOVED.items():
            if name in names:
                value = getattr(importlib.import_module(module), name)
                globals()[name] = value
                return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
