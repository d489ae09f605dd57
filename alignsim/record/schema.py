"""The episode-log schema, version 1.

An episode log is one JSONL file: a :class:`Header` line, then one event per line.
Every event carries ``seq`` (its index in the episode), ``step`` (how many actions the
env had applied when it happened), ``round``, ``phase`` and ``visible_to``: the agents
that saw it. ``visible_to == []`` means no agent saw it (ground truth kept for
analysis only, such as the role deal).

Events come from two sources. Env events (announcement, role_assignment, speech,
reasoning, belief, vote, vote_result, elimination, game_end) are emitted by the
environment; runner events (action, invalid_action, reward, llm_call, memory_write,
episode_end) are written by the runner and agents. Replay regenerates the env events
and compares them one by one with the log.

Change log:
    1: first version.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

SCHEMA_VERSION = 1

Role = Literal["faithful", "traitor"]


class Claim(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A structured claim made in speech: ``subject`` is a ``role``."""

    subject: str
    """The agent the claim is about (may be the speaker)."""
    role: Role
    """The role the speaker asserts ``subject`` has."""


class Event(msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=True, gc=False):
    """Fields every event has.

    Events are treated as immutable once written; only the writer sets ``seq``. They hold
    no reference cycles, so they opt out of the garbage collector (cheaper to create).
    """

    source: ClassVar[str] = "env"
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


# ---------------------------------------------------------------- env events


class Announcement(Event, tag="announcement"):
    """Moderator text: rules, briefings, personas, topics, morning news."""

    kind: str
    """What the announcement is: rules, briefing, persona, prompt, topic, morning."""
    text: str
    about: str | None = None
    """The agent the announcement is about, if any (e.g. a persona)."""


class RoleAssignment(Event, tag="role_assignment"):
    """The chance step that dealt roles. Ground truth: ``visible_to`` is empty."""

    roles: dict[str, Role]
    forced: tuple[str, ...] = ()
    """Agents whose role was fixed by configuration rather than drawn."""


class Speech(Event, tag="speech"):
    """A public (or channel-restricted) message, with its structured claims."""

    actor: str
    channel: Literal["public", "traitors"]
    message: str
    claims: tuple[Claim, ...] = ()
    proposal: str | None = None
    """A target proposed in a private meeting, if the speaker named one."""
    truncated: bool = False
    """True when the message was longer than the env allows and was cut."""


class Reasoning(Event, tag="reasoning"):
    """Private reasoning attached to an action; visible only to its author."""

    actor: str
    text: str
    truncated: bool = False


class Belief(Event, tag="belief"):
    """A belief report: the actor's probability that each other living player is a traitor."""

    actor: str
    probs: dict[str, float]


class Vote(Event, tag="vote"):
    """One ballot. ``target`` None means an abstention."""

    actor: str
    vote: Literal["day", "night"]
    ballot: int
    """1 for the first ballot, 2+ for revotes among tied candidates."""
    target: str | None


class VoteResult(Event, tag="vote_result"):
    """How a ballot was resolved."""

    vote: Literal["day", "night"]
    ballot: int
    tally: dict[str, int]
    resolution: Literal["plurality", "random", "revote", "none", "no_votes"]
    selected: str | None
    """Who is eliminated as a result (None: nobody, or a revote follows)."""
    tied: tuple[str, ...] = ()


class Elimination(Event, tag="elimination"):
    """A player leaves the game."""

    target: str
    cause: Literal["banished", "murdered"]
    revealed_role: Role | None


class GameEnd(Event, tag="game_end"):
    """The game is over: who won and why."""

    winner: Literal["faithful", "traitors"] | None
    reason: str
    roles: dict[str, Role]
    alive: tuple[str, ...]


# ------------------------------------------------------------- runner events


class Action(Event, tag="action"):
    """An action the runner applied to the env (after any fallback)."""

    source: ClassVar[str] = "runner"
    agent: str
    action: dict[str, Any]
    """The action in the env's JSON encoding (see ``encode_action``)."""
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
    status: Literal["completed", "truncated", "failed"]
    winner: str | None = None
    steps: int = 0
    error: str | None = None


AnyEvent = (
    Announcement
    | RoleAssignment
    | Speech
    | Reasoning
    | Belief
    | Vote
    | VoteResult
    | Elimination
    | GameEnd
    | Action
    | InvalidAction
    | Reward
    | LLMCall
    | MemoryWrite
    | EpisodeEnd
)

ENV_EVENT_TYPES: tuple[type[Event], ...] = tuple(t for t in AnyEvent.__args__ if t.source == "env")


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
    duration_s: float = 0.0
    error: str | None = None
    log_path: str = ""
