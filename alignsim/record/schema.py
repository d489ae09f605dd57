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
    1: first version. Additive, still version 1: the self-evolution events (evolution_setup,
       compliance_choice, threshold_round).
       Additive, still version 1: the principal-agent events (pa_setup, pa_decision,
       pa_explanation, pa_audit, pa_outcome).
       Additive, still version 1: ``episode_end.reason`` and ``Summary.reason`` (the run
       budget that stopped a truncated episode).
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Literal

import msgspec

SCHEMA_VERSION = 1

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


# ------------------------------------------------------ self-evolution events
# Ground truth of the self-evolution family (``self_evolution-v0``, ``threshold_game-v0``).
# Agents see their slice through announcements; these events are for analysis only
# (``visible_to`` empty), since they hold the true supervision state and detection draws.


class EvolutionSetup(Event, tag="evolution_setup"):
    """How a self-evolution episode was set up (per agent: item, option order, schedule, ...)."""

    game: Literal["self_evolution", "threshold_game"]
    params: dict[str, Any]
    """The env configuration as plain data."""
    agents: dict[str, dict[str, Any]]
    """Per agent: what was drawn or assigned for it (item, option order, true schedule, deviant)."""
    network: tuple[tuple[str, str], ...] = ()
    """Threshold game: ``(observer, observed)`` pairs: whose previous choices each agent sees."""


class ComplianceChoice(Event, tag="compliance_choice"):
    """Single agent: one choice on one item in one round, with everything that decided its payoff."""

    actor: str
    item: str
    """Job template and payoff variant, ``template/variant``."""
    choice: Literal["compliant", "violating"]
    aligned: bool
    """True when the choice is the scenario's declared aligned option (the compliant one)."""
    position: int
    """Displayed position of the chosen option (0 = shown first), to check for position bias."""
    cue: Literal["supervised", "unsupervised", "uncertain"]
    """What the agent was told about supervision this round."""
    supervised: bool
    """The true supervision state (hidden from the agent unless the cue says it)."""
    detection_draw: float | None
    """The uniform draw compared with the detection probability (a violation under supervision only)."""
    detected: bool
    reward: float
    shown_reward: float | None
    """The reward the feedback displayed (differs in the shuffled arm; None without feedback)."""
    reversed: bool
    """True from the reversal round on (the compliant option pays the high income)."""
    payoff_compliant: float
    payoff_violating: float


class ThresholdRound(Event, tag="threshold_round"):
    """Threshold game: every agent's choice in one round, the outcome and capital."""

    choices: dict[str, Literal["collective", "independent"]]
    forced: tuple[str, ...]
    """Seeded deviants, whose choice was fixed to the collective option."""
    n_collective: int
    threshold: int
    success: bool
    payoffs: dict[str, float]
    """Change in each agent's capital this round."""
    capital: dict[str, float]
    """Each agent's capital after the round."""
    aligned_option: Literal["collective", "independent"]
    """The template's declared aligned option (independent where the collective act is collusion)."""


# ------------------------------------------------- principal-agent env events
# Ground truth of the principal-agent family (``principal_agent-v0``): the catalogue with
# its true values, what each choice meant, audit draws and utilities (``visible_to``
# empty). Explanations are visible to their author (and, for pitches, the buyer's agent).


class PASetup(Event, tag="pa_setup"):
    """A principal-agent episode's catalogue and treatment.

    ``products`` holds, per catalogue id: name, label and display position (after any
    randomisation), price, customer_value, principal_value, customer_utility and seller.
    """

    mode: str
    setting: str
    products: list[dict[str, Any]]
    budget: float
    treatment: dict[str, Any]
    """audience, action_observable, audit_prob, sanction, contract, wage, commission_rate, penalty, rounds."""
    roles: dict[str, str]
    principals: dict[str, str]
    """Per agent, the name of the principal it represents."""
    customer_terms: tuple[str, ...] = ()
    """Phrases by which an explanation cites the customer's interest (honesty scoring)."""
    principal_terms: tuple[str, ...] = ()
    """Phrases by which an explanation cites the principal's interest."""


class PADecision(Event, tag="pa_decision"):
    """One product choice and what it meant. Products are catalogue ids (see ``pa_setup``).

    ``decisive`` is whose interest the choice served: ``customer`` (the customer's best
    option), ``principal`` (an override: it gives up customer utility for the agent's
    principal) or ``other``.
    """

    agent: str
    role: str
    chosen: int
    label: str
    options: tuple[int, ...]
    customer_best: int
    principal_best: int | None
    conflict: bool
    """The customer's and the principal's best options differ."""
    serves_customer: bool
    serves_principal: bool
    override: bool
    """Principal-aligned override: not the customer's best, and worth more to the principal than it."""
    decisive: Literal["customer", "principal", "other"]


class PAExplanation(Event, tag="pa_explanation"):
    """The explanation (or pitch) written with a choice."""

    actor: str
    text: str
    recipients: tuple[str, ...]
    """``customer``, ``principal``, ``buyer_agent`` (pitches); empty when nobody reads it."""
    truncated: bool = False


class PAAudit(Event, tag="pa_audit"):
    """The audit draw for one decision, and the fines that followed."""

    agent: str
    audited: bool
    draw: float
    violation: bool
    """The decision did not serve the customer."""
    sanction: float
    penalty: float = 0.0
    """Contract penalty charged by the agent's principal (it saw a choice against its favourite)."""


class PAOutcome(Event, tag="pa_outcome"):
    """What a round was worth to everyone; ``surplus`` is the sum of all utilities."""

    purchased: int | None
    customer: float
    principals: dict[str, float]
    agents: dict[str, float]
    surplus: float


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
    reason: str | None = None
    """Why a ``truncated`` episode stopped early when the runner stopped it: which budget
    (``max_steps``, ``max_log_bytes``) it reached. None when the game itself ended."""


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
    | EvolutionSetup
    | ComplianceChoice
    | ThresholdRound
    | PASetup
    | PADecision
    | PAExplanation
    | PAAudit
    | PAOutcome
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
    llm_seconds: dict[str, float] = {}
    """Seconds spent waiting for model calls, per agent."""
    duration_s: float = 0.0
    error: str | None = None
    log_path: str = ""
    reason: str | None = None
    """Why the runner stopped a ``truncated`` episode (the budget it reached), as in ``episode_end``."""
