"""Tidy data frames at fixed grains, built from episode logs.

:func:`load_frames` reads any set of logs (one file, a run folder, a sweep of run folders)
into a :class:`Frames`: one pandas frame per grain, each with the columns declared in
:data:`FRAME_COLUMNS` (so an empty result still has its columns and dtypes). Grains:

* ``episodes``: one row per episode (header, outcome, who played which side).
* ``players``: one row per player and episode (ground-truth role, policy/model, fate).
* ``rounds``: one row per round and episode (who was alive, who was banished/murdered).
* ``events``: one row per game event analysis reads (speech, belief, vote, vote result,
  elimination, game end, invalid action, llm call, episode end), with its ``seq`` order.
* ``votes``, ``vote_results``, ``eliminations``, ``speeches``, ``claims``, ``beliefs``:
  one row per ballot, per ballot result, per elimination, per speech act, per structured
  claim, per (reporter, subject) probability in a belief report.
* ``llm_calls``: one row per language-model call (tokens, latency, errors).
* ``agents``: one row per seated agent and episode, in every family: its policy and model,
  the decisions it made (actions applied) and how many of them had an invalid action.

Roles are joined onto votes, claims and beliefs (``actor_role``, ``target_role``, ...) from
the log's ``role_assignment`` event, the ground truth.

Loading is fast enough for tens of thousands of episodes: logs are decoded leanly (see
``_decode``), rows are gathered into column lists, and each frame is built once. With
``cache_dir`` (needs pyarrow), the frames of each log folder are stored as parquet and
reused while no log in that folder changed (same names, sizes and modification times).
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from alignsim.analysis._decode import CORE_TAGS, DecodedLog, decode_log, tag_of
from alignsim.errors import LogFormatError
from alignsim.record import BadFiles, EpisodeLog, find_logs, read_each
from alignsim.record.schema import Header

try:  # optional: faster string columns and the parquet cache
    import pyarrow as _pa
except ImportError:  # pragma: no cover - exercised where pyarrow is absent
    _pa = None

__all__ = [
    "FRAMES_VERSION",
    "FRAME_COLUMNS",
    "Frames",
    "frames_from_logs",
    "load_frames",
    "load_logs",
]

FRAMES_VERSION = 4
"""Bumped whenever the frames built from a log change, so stale caches are rebuilt."""

_S, _I, _NI, _F, _B = "str", "int64", "Int64", "float64", "bool"

FRAME_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "episodes": {
        "episode_id": (_S, "episode id (header)"),
        "path": (_S, "log file"),
        "run_dir": (_S, "run folder the log belongs to (the parent of episodes/)"),
        "scenario": (_S, "scenario id"),
        "env_id": (_S, "env id"),
        "seed": (_I, "the run's master seed"),
        "episode_index": (_I, "index of the episode within its run"),
        "status": (_S, "completed | truncated | failed | started (no episode_end)"),
        "winner": (_S, "faithful | traitors; missing when undecided"),
        "end_reason": (_S, "why the game ended"),
        "n_players": (_I, "players dealt a role"),
        "n_traitors": (_I, "traitors dealt"),
        "rounds": (_I, "game length: the last round reached"),
        "steps": (_I, "actions applied"),
        "n_events": (_I, "event lines in the log"),
        "n_invalid_actions": (_I, "actions replaced by the fallback"),
        "n_llm_calls": (_I, "language-model calls logged"),
        "traitor_label": (_S, "model (else policy) playing every traitor; 'mixed' if several"),
        "faithful_label": (_S, "model (else policy) playing every faithful player; 'mixed' if several"),
        "belief_reports": (_B, "the game asked for belief reports"),
        "created_at": (_S, "when the episode started"),
        "torn": (_B, "the log's last line was incomplete and was dropped"),
    },
    "players": {
        "episode_id": (_S, "episode"),
        "agent": (_S, "player id"),
        "role": (_S, "faithful | traitor (ground truth)"),
        "policy": (_S, "policy name in the seat"),
        "model": (_S, "model id, for LLM policies"),
        "label": (_S, "model if set, else the policy name (with its arguments)"),
        "seat": (_S, "seating key that placed the policy"),
        "eliminated_round": (_NI, "round of elimination; missing if survived"),
        "eliminated_seq": (_NI, "seq of the elimination event"),
        "elimination_cause": (_S, "banished | murdered; missing if survived"),
        "survived": (_B, "alive at the end"),
    },
    "rounds": {
        "episode_id": (_S, "episode"),
        "round": (_I, "round (1-based)"),
        "n_alive": (_I, "players alive at the start of the round"),
        "n_traitors_alive": (_I, "traitors alive at the start of the round"),
        "n_faithful_alive": (_I, "faithful alive at the start of the round"),
        "day_ballots": (_I, "day ballots held (1 + revotes); 0 if the game ended before"),
        "day_resolution": (_S, "how the deciding day ballot was resolved"),
        "banished": (_S, "player banished this round"),
        "banished_role": (_S, "their role"),
        "night_ballots": (_I, "night ballots held"),
        "night_resolution": (_S, "how the deciding night ballot was resolved"),
        "murdered": (_S, "player murdered this round"),
        "murdered_role": (_S, "their role"),
    },
    "events": {
        "episode_id": (_S, "episode"),
        "seq": (_I, "index of the event in its log"),
        "step": (_I, "actions applied when it happened"),
        "round": (_I, "round"),
        "phase": (_S, "phase"),
        "type": (_S, "event type"),
        "actor": (_S, "who acted (speaker, voter, reporter, agent)"),
        "target": (_S, "vote target, eliminated player or selected player"),
    },
    "votes": {
        "episode_id": (_S, "episode"),
        "seq": (_I, "event order"),
        "step": (_I, "actions applied when it happened"),
        "round": (_I, "round"),
        "phase": (_S, "phase"),
        "vote": (_S, "day | night"),
        "ballot": (_I, "1, or 2+ for revotes"),
        "actor": (_S, "voter"),
        "target": (_S, "voted-for player; missing for an abstention"),
        "actor_role": (_S, "voter's role"),
        "target_role": (_S, "target's role"),
        "final_ballot": (_B, "this ballot decided the vote (no revote followed)"),
    },
    "vote_results": {
        "episode_id": (_S, "episode"),
        "seq": (_I, "event order"),
        "step": (_I, "actions applied when it happened"),
        "round": (_I, "round"),
        "phase": (_S, "phase"),
        "vote": (_S, "day | night"),
        "ballot": (_I, "ballot number"),
        "resolution": (_S, "plurality | random | revote | none | no_votes"),
        "selected": (_S, "player eliminated as a result; missing if nobody"),
        "n_tied": (_I, "players tied at the top"),
    },
    "eliminations": {
        "episode_id": (_S, "episode"),
        "seq": (_I, "event order"),
        "step": (_I, "actions applied when it happened"),
        "round": (_I, "round"),
        "phase": (_S, "phase"),
        "target": (_S, "eliminated player"),
        "cause": (_S, "banished | murdered"),
        "revealed_role": (_S, "role announced to everyone; missing if not revealed"),
        "role": (_S, "true role"),
    },
    "speeches": {
        "episode_id": (_S, "episode"),
        "seq": (_I, "event order"),
        "step": (_I, "actions applied when it happened"),
        "round": (_I, "round"),
        "phase": (_S, "phase"),
        "channel": (_S, "public | traitors"),
        "speaker": (_S, "speaker"),
        "speaker_role": (_S, "speaker's role"),
        "n_claims": (_I, "structured claims made"),
        "n_claims_about_others": (_I, "claims whose subject is not the speaker"),
    },
    "claims": {
        "episode_id": (_S, "episode"),
        "seq": (_I, "event order (of the speech)"),
        "round": (_I, "round"),
        "phase": (_S, "phase"),
        "channel": (_S, "public | traitors"),
        "speaker": (_S, "who made the claim"),
        "subject": (_S, "whom it is about"),
        "claimed_role": (_S, "faithful | traitor"),
        "speaker_role": (_S, "speaker's role"),
        "subject_role": (_S, "subject's true role"),
    },
    "beliefs": {
        "episode_id": (_S, "episode"),
        "seq": (_I, "event order"),
        "round": (_I, "round"),
        "actor": (_S, "reporter"),
        "subject": (_S, "player the probability is about"),
        "prob": (_F, "stated P(subject is a traitor)"),
        "actor_role": (_S, "reporter's role"),
        "subject_role": (_S, "subject's true role"),
    },
    "llm_calls": {
        "episode_id": (_S, "episode"),
        "seq": (_I, "event order"),
        "step": (_I, "actions applied"),
        "round": (_I, "round"),
        "phase": (_S, "phase"),
        "agent": (_S, "calling agent"),
        "model": (_S, "model id"),
        "prompt_tokens": (_I, "prompt tokens"),
        "completion_tokens": (_I, "completion tokens"),
        "latency_s": (_F, "seconds"),
        "error": (_S, "error, if the call failed"),
        "output_chars": (_I, "characters of raw output"),
        "purpose": (_S, "what the call was for (the event's tag: speech, vote, belief, ...)"),
        "valid": (_B, "the output was accepted (False: a re-ask or the fallback followed)"),
        "cached": (_B, "answered from a response cache"),
    },
    "agents": {
        "episode_id": (_S, "episode"),
        "agent": (_S, "agent id"),
        "policy": (_S, "policy name in the seat"),
        "model": (_S, "model id, for LLM policies"),
        "label": (_S, "model if set, else the policy name (with its arguments)"),
        "seat": (_S, "seating key that placed the policy"),
        "decisions": (_I, "actions the agent took (applied to the env)"),
        "invalid_decisions": (_I, "of those, decisions with at least one invalid action (re-ask or fallback)"),
        "invalid_events": (_I, "invalid_action events of the agent (re-asks and end-of-episode ones included)"),
        "llm_calls": (_I, "language-model calls of the agent"),
    },
}

# Frames read from the logs (cached); the others are derived from them after loading.
_RAW_FRAMES = (
    "episodes",
    "players",
    "events",
    "votes",
    "vote_results",
    "eliminations",
    "speeches",
    "claims",
    "beliefs",
)
_RAW_FRAMES_ALL = (*_RAW_FRAMES, "llm_calls", "agents")
_RAW_COLUMNS = {
    "episodes": [c for c in FRAME_COLUMNS["episodes"] if c not in ("traitor_label", "faithful_label")],
    "players": [
        c for c in FRAME_COLUMNS["players"] if c not in ("eliminated_round", "eliminated_seq", "elimination_cause")
    ],
    "votes": ["episode_id", "seq", "step", "round", "phase", "vote", "ballot", "actor", "target"],
    "eliminations": [c for c in FRAME_COLUMNS["eliminations"] if c != "role"],
    "speeches": [c for c in FRAME_COLUMNS["speeches"] if c != "speaker_role"],
    "claims": [c for c in FRAME_COLUMNS["claims"] if c not in ("speaker_role", "subject_role")],
    "beliefs": [c for c in FRAME_COLUMNS["beliefs"] if c not in ("actor_role", "subject_role")],
    "events": list(FRAME_COLUMNS["events"]),
    "vote_results": list(FRAME_COLUMNS["vote_results"]),
    "llm_calls": list(FRAME_COLUMNS["llm_calls"]),
    "agents": list(FRAME_COLUMNS["agents"]),
}


@dataclass
class Frames:
    """Tidy frames at fixed grains (see the module docstring and :data:`FRAME_COLUMNS`)."""

    episodes: pd.DataFrame
    players: pd.DataFrame
    rounds: pd.DataFrame
    events: pd.DataFrame
    votes: pd.DataFrame
    vote_results: pd.DataFrame
    eliminations: pd.DataFrame
    speeches: pd.DataFrame
    claims: pd.DataFrame
    beliefs: pd.DataFrame
    llm_calls: pd.DataFrame
    agents: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    """What a reader should know about how the frames were built (torn logs, cache use)."""
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Tables computed from these frames, kept so that several metric functions share them
    (see :meth:`cached`). Frames are treated as read-only once built."""

    @classmethod
    def frame_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name not in ("notes", "derived"))

    def cached(self, key: str, compute: Any) -> Any:
        """``compute()``, computed once per frames object and reused (e.g. the trust edges,
        which the episode table and the round table both need)."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]

    def items(self) -> Iterable[tuple[str, pd.DataFrame]]:
        for name in self.frame_names():
            yield name, getattr(self, name)

    def select(self, episode_ids: Iterable[str]) -> Frames:
        """The same frames restricted to ``episode_ids``."""
        keep = pd.Index(list(episode_ids))
        parts = {name: frame[frame["episode_id"].isin(keep)].reset_index(drop=True) for name, frame in self.items()}
        return Frames(**parts, notes=list(self.notes))

    def write(self, out_dir: str | os.PathLike[str], *, formats: Sequence[str] = ("csv",)) -> list[Path]:
        """Write every frame as ``<name>.csv`` and/or ``<name>.parquet`` (parquet needs pyarrow)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, frame in self.items():
            for fmt in formats:
                path = out / f"{name}.{fmt}"
                if fmt == "csv":
                    frame.to_csv(path, index=False)
                elif fmt == "parquet":
                    frame.to_parquet(path, index=False)
                else:
                    raise ValueError(f"unknown format {fmt!r}; use 'csv' or 'parquet'")
                written.append(path)
        return written


def empty_frame(name: str) -> pd.DataFrame:
    """A frame with no rows and the declared columns and dtypes of ``name``."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in FRAME_COLUMNS[name].items()})


def _typed(name: str, data: dict[str, list[Any]], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Build frame ``name`` from column lists with the declared dtypes."""
    declared = FRAME_COLUMNS[name]
    columns = list(columns if columns is not None else declared)
    out = {}
    for column in columns:
        dtype = declared[column][0]
        values = data.get(column, [])
        if dtype == _NI:
            out[column] = pd.array(values, dtype="Int64")
        elif dtype == _S:
            out[column] = _str_array(values)
        else:
            out[column] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(out, columns=columns)


def _str_array(values: list[Any]) -> Any:
    """A pandas ``str`` array from a list of str/None, via Arrow when pyarrow is installed
    (about four times faster than pandas' own conversion into Arrow-backed strings)."""
    if _pa is not None:
        try:
            return pd.array(_pa.array(values, type=_pa.string()), dtype="str")
        except (_pa.ArrowException, TypeError):
            pass
    return pd.array(values, dtype="str")


# ---------------------------------------------------------------- extraction


def _label(seat: Any) -> str:
    if seat is None:
        return ""
    if getattr(seat, "model", None):
        return str(seat.model)
    kwargs = getattr(seat, "kwargs", None) or {}
    if kwargs:
        args = ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
        return f"{seat.policy}({args})"
    return str(seat.policy)


def _agent_order(agent: str) -> tuple[str, int]:
    """``player_2`` before ``player_10``."""
    stem, _, number = agent.rpartition("_")
    return (stem, int(number)) if number.isdigit() else (agent, -1)


def _invalid_decisions(decisions: list[int], stamps: list[int]) -> int:
    """How many of an agent's decisions (the step before each of its actions, ascending) had
    an invalid action. An invalid_action is stamped with the step at which its decision was
    being made, or, for a seat answering within a batch of simultaneous choices, with the
    step at which that batch began, so it belongs to the agent's first decision at or after
    its stamp; re-asks of one decision count once, and events after the agent's last
    decision (end-of-episode reflections) belong to none."""
    hit = set()
    for stamp in stamps:
        index = bisect.bisect_left(decisions, stamp)
        if index < len(decisions):
            hit.add(index)
    return len(hit)


class _Collector:
    """Gathers rows of the raw frames, episode by episode.

    Rows are appended as tuples and transposed into columns once at the end: one append
    per row is what makes extraction fast enough for tens of thousands of episodes.
    """

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _RAW_FRAMES_ALL if name != "beliefs"}
        # Belief reports expand into one row per subject, so they are gathered by column.
        self.beliefs: dict[str, list[Any]] = {c: [] for c in _RAW_COLUMNS["beliefs"]}

    def add(self, path: Path, header: Any, events: Sequence[Any], n_events: int, torn: bool) -> None:
        eid = header.episode_id
        rows = self.rows
        add_event = rows["events"].append
        add_claim = rows["claims"].append
        add_speech = rows["speeches"].append
        add_vote = rows["votes"].append
        belief_cols = self.beliefs
        roles: dict[str, str] = {}
        winner = None
        end_reason = ""
        status = "started"
        steps = 0
        game_round = None
        last_round = 0
        n_invalid = 0
        n_llm = 0
        # Per agent: the step before each of its actions (its decisions, in order), the steps
        # stamped on its invalid_action events, and its model calls.
        decided: dict[str, list[int]] = {}
        invalid_at: dict[str, list[int]] = {}
        calls: dict[str, int] = {}
        for e in events:
            tag = e.__struct_config__.tag
            seq, rnd, phase, step = e.seq, e.round, e.phase, e.step
            if rnd > last_round:
                last_round = rnd
            if step > steps:
                steps = step
            # Speech, votes, results, eliminations and LLM calls have frames of their own, from
            # which the events frame is assembled; the other events are gathered here.
            if tag == "speech":
                actor, channel = e.actor, e.channel
                claims = e.claims
                about_others = 0
                for claim in claims:
                    subject = claim.subject
                    if subject != actor:
                        about_others += 1
                    add_claim((eid, seq, rnd, phase, channel, actor, subject, claim.role))
                add_speech((eid, seq, step, rnd, phase, channel, actor, len(claims), about_others))
            elif tag == "vote":
                actor = e.actor
                add_vote((eid, seq, step, rnd, phase, e.vote, e.ballot, actor, e.target))
            elif tag == "belief":
                actor = e.actor
                probs = e.probs
                n = len(probs)
                belief_cols["episode_id"] += [eid] * n
                belief_cols["seq"] += [seq] * n
                belief_cols["round"] += [rnd] * n
                belief_cols["actor"] += [actor] * n
                belief_cols["subject"] += probs.keys()
                belief_cols["prob"] += probs.values()
                add_event((eid, seq, step, rnd, phase, tag, actor, None))
            elif tag == "vote_result":
                rows["vote_results"].append(
                    (eid, seq, step, rnd, phase, e.vote, e.ballot, e.resolution, e.selected, len(e.tied))
                )
            elif tag == "elimination":
                rows["eliminations"].append((eid, seq, step, rnd, phase, e.target, e.cause, e.revealed_role))
            elif tag == "role_assignment":
                roles = dict(e.roles)
                add_event((eid, seq, step, rnd, phase, tag, None, None))
            elif tag == "game_end":
                winner, end_reason, game_round = e.winner, e.reason, rnd
                add_event((eid, seq, step, rnd, phase, tag, None, None))
            elif tag == "episode_end":
                status, steps = e.status, max(steps, e.steps)
                if e.winner is not None:
                    winner = e.winner
                add_event((eid, seq, step, rnd, phase, tag, None, None))
            elif tag == "action":
                steps_of = decided.get(e.agent)
                if steps_of is None:
                    steps_of = decided[e.agent] = []
                steps_of.append(step - 1)
            elif tag == "invalid_action":
                n_invalid += 1
                invalid_at.setdefault(e.agent, []).append(step)
                add_event((eid, seq, step, rnd, phase, tag, e.agent, None))
            elif tag == "llm_call":
                n_llm += 1
                calls[e.agent] = calls.get(e.agent, 0) + 1
                rows["llm_calls"].append(
                    (
                        eid,
                        seq,
                        step,
                        rnd,
                        phase,
                        e.agent,
                        e.model,
                        e.prompt_tokens,
                        e.completion_tokens,
                        e.latency_s,
                        e.error,
                        len(e.raw_output),
                        getattr(e, "tag", ""),
                        getattr(e, "valid", True),
                        getattr(e, "cached", False),
                    )
                )

        seating = header.seating
        add_agent = rows["agents"].append
        for agent in sorted(set(seating) | set(decided) | set(invalid_at) | set(calls), key=_agent_order):
            seat = seating.get(agent)
            own = decided.get(agent, [])
            add_agent(
                (
                    eid,
                    agent,
                    seat.policy if seat is not None else None,
                    getattr(seat, "model", None),
                    _label(seat),
                    getattr(seat, "role", None),
                    len(own),
                    _invalid_decisions(own, invalid_at.get(agent, [])),
                    len(invalid_at.get(agent, [])),
                    calls.get(agent, 0),
                )
            )
        add_player = rows["players"].append
        for agent, role in roles.items():
            seat = seating.get(agent)
            add_player(
                (
                    eid,
                    agent,
                    role,
                    seat.policy if seat is not None else None,
                    getattr(seat, "model", None),
                    _label(seat),
                    getattr(seat, "role", None),
                    True,  # survived; corrected after loading, from the eliminations
                )
            )
        kwargs = header.env_kwargs or {}
        rows["episodes"].append(
            (
                eid,
                str(path),
                str(path.parent.parent if path.parent.name == "episodes" else path.parent),
                header.scenario,
                header.env_id,
                int(header.seed),
                int(header.episode_index),
                status,
                winner,
                end_reason,
                len(roles) if roles else int(kwargs.get("n_players", 0)),
                sum(r == "traitor" for r in roles.values()),
                game_round if game_round is not None else last_round,
                steps,
                n_events,
                n_invalid,
                n_llm,
                bool(kwargs.get("belief_reports", False)),
                header.created_at,
                torn,
            )
        )

    def frames(self) -> dict[str, pd.DataFrame]:
        out = {}
        for name, rows in self.rows.items():
            columns = _RAW_COLUMNS[name]
            data = dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)) if rows else {}
            out[name] = _typed(name, data, columns)
        out["beliefs"] = _typed("beliefs", self.beliefs, _RAW_COLUMNS["beliefs"])
        return out


def _raw_from_decoded(logs: Iterable[DecodedLog]) -> dict[str, pd.DataFrame]:
    collector = _Collector()
    # Millions of short-lived row tuples would trigger the cyclic garbage collector over
    # and over (it rescans every live tuple); none of them form cycles, so pause it.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for log in logs:
            collector.add(log.path, log.header, log.events, log.n_events, log.torn)
        return collector.frames()
    finally:
        if was_enabled:
            gc.enable()


Skipped = list[tuple[str, str]]
"""``(path, one-line reason)`` of each log that could not be read."""


@dataclass
class Gathered:
    """What one read of a set of logs gives besides the core frames: per family, the rows its
    plug-in collected (:meth:`~.families.FamilyAnalysis.collect`), and each episode's header."""

    rows: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)

    def extend(self, other: Gathered) -> None:
        for family, named in other.rows.items():
            mine = self.rows.setdefault(family, {})
            for name, rows in named.items():
                mine.setdefault(name, []).extend(rows)
        self.headers.update(other.headers)


def _extra_events(header: Any) -> tuple[type, ...]:
    """The lean structs the header's family reads beyond the core ones (none without a plug-in)."""
    from alignsim.analysis import families

    analysis = families.get(families.family_of(header.env_id))
    return analysis.events if analysis is not None else ()


def _read_once(paths: Sequence[Path], bad: BadFiles) -> Iterable[tuple[DecodedLog, Gathered]]:
    """Each readable log decoded once, with what its family's plug-in collects from it."""
    from alignsim.analysis import families

    def read(path: Path) -> tuple[DecodedLog, Gathered]:
        log = decode_log(path, _extra_events)
        gathered = Gathered(headers={log.header.episode_id: log.header})
        family = families.family_of(log.header.env_id)
        analysis = families.get(family)
        if analysis is not None:  # inside read_each: content it cannot interpret marks the log bad
            gathered.rows[family] = analysis.collect(log.path, log.header, log.events)
            if any(tag_of(t) not in CORE_TAGS for t in analysis.events):
                # The core frames see the core events only (a family's own rounds and steps are its own).
                log.events = [e for e in log.events if e.__struct_config__.tag in CORE_TAGS]
        return log, gathered

    for _, found in read_each(paths, read, bad):
        yield found


def _raw_from_paths(paths: Sequence[Path]) -> tuple[dict[str, pd.DataFrame], Skipped, Gathered]:
    """The raw frames of the logs at ``paths`` (each read once), the logs skipped as
    unreadable, and what the family plug-ins gathered from them."""
    bad = BadFiles()
    gathered = Gathered()

    def logs() -> Iterable[DecodedLog]:
        for log, found in _read_once(paths, bad):
            gathered.extend(found)
            yield log

    raw = _raw_from_decoded(logs())
    return raw, bad.items(), gathered


def _resolved(path: Path) -> Path:
    """``path`` with its folder made absolute and resolved, and its own name kept: a log that
    is itself a link (perhaps a loop, or one to ``/dev/zero``) is reported under its own name."""
    try:
        return path.parent.resolve() / path.name
    except (OSError, RuntimeError):
        return path.absolute()


# ---------------------------------------------------------------- derived columns


def _finish(raw: dict[str, pd.DataFrame], notes: list[str]) -> Frames:
    """Join roles onto the raw frames and derive players' fates, rounds and labels."""
    players = raw["players"]
    role_of = players.set_index(["episode_id", "agent"])["role"]
    role_of = role_of[~role_of.index.duplicated()]

    def roles_for(frame: pd.DataFrame, column: str) -> pd.Series:
        if frame.empty:
            return pd.Series([], dtype="str", index=frame.index)
        index = pd.MultiIndex.from_arrays([frame["episode_id"], frame[column]])
        return pd.Series(role_of.reindex(index).to_numpy(), index=frame.index, dtype="str")

    votes = raw["votes"]
    votes["actor_role"] = roles_for(votes, "actor")
    votes["target_role"] = roles_for(votes, "target")
    last_ballot = votes.groupby(["episode_id", "round", "vote"], sort=False)["ballot"].transform("max")
    votes["final_ballot"] = (votes["ballot"] == last_ballot).astype(bool)

    eliminations = raw["eliminations"]
    eliminations["role"] = roles_for(eliminations, "target")
    speeches = raw["speeches"]
    speeches["speaker_role"] = roles_for(speeches, "speaker")
    claims = raw["claims"]
    claims["speaker_role"] = roles_for(claims, "speaker")
    claims["subject_role"] = roles_for(claims, "subject")
    beliefs = raw["beliefs"]
    beliefs["actor_role"] = roles_for(beliefs, "actor")
    beliefs["subject_role"] = roles_for(beliefs, "subject")

    # Players' fates: the first elimination of each player.
    first_out = eliminations.drop_duplicates(["episode_id", "target"]).set_index(["episode_id", "target"])
    index = pd.MultiIndex.from_arrays([players["episode_id"], players["agent"]])
    fate = first_out.reindex(index)
    players["eliminated_round"] = pd.array(fate["round"].to_numpy(), dtype="Int64")
    players["eliminated_seq"] = pd.array(fate["seq"].to_numpy(), dtype="Int64")
    players["elimination_cause"] = pd.Series(fate["cause"].to_numpy(), index=players.index, dtype="str")
    players["survived"] = players["eliminated_round"].isna().to_numpy()
    players = players[list(FRAME_COLUMNS["players"])]

    episodes = raw["episodes"]
    for side, role in (("traitor_label", "traitor"), ("faithful_label", "faithful")):
        grouped = players.loc[players["role"] == role].groupby("episode_id")["label"]
        labels = grouped.first().where(grouped.nunique() == 1, "mixed")
        episodes[side] = pd.Series(labels.reindex(episodes["episode_id"]).to_numpy(), index=episodes.index, dtype="str")
    episodes = episodes[list(FRAME_COLUMNS["episodes"])]

    events = _events(raw, episodes)
    torn = int(episodes["torn"].sum())
    if torn:
        notes.append(f"{torn} log(s) had a torn last line, which was dropped")
    return Frames(
        episodes=episodes,
        players=players,
        rounds=_rounds(episodes, players, eliminations, raw["vote_results"]),
        events=events,
        votes=votes[list(FRAME_COLUMNS["votes"])],
        vote_results=raw["vote_results"],
        eliminations=eliminations[list(FRAME_COLUMNS["eliminations"])],
        speeches=speeches[list(FRAME_COLUMNS["speeches"])],
        claims=claims[list(FRAME_COLUMNS["claims"])],
        beliefs=beliefs[list(FRAME_COLUMNS["beliefs"])],
        llm_calls=raw["llm_calls"],
        agents=raw["agents"],
        notes=notes,
    )


def _events(raw: dict[str, pd.DataFrame], episodes: pd.DataFrame) -> pd.DataFrame:
    """The events frame: the other events plus speech, votes, results, eliminations and LLM
    calls from their own frames, in log order (episode, then ``seq``)."""
    columns = list(FRAME_COLUMNS["events"])
    parts = [raw["events"]]
    for name, kind, actor, target in (
        ("speeches", "speech", "speaker", None),
        ("votes", "vote", "actor", "target"),
        ("vote_results", "vote_result", None, "selected"),
        ("eliminations", "elimination", None, "target"),
        ("llm_calls", "llm_call", "agent", None),
    ):
        frame = raw[name]
        if frame.empty:
            continue
        part = frame[["episode_id", "seq", "step", "round", "phase"]].copy()
        part["type"] = kind
        missing = pd.Series(np.nan, index=frame.index, dtype="str")
        part["actor"] = frame[actor] if actor else missing
        part["target"] = frame[target] if target else missing
        parts.append(part[columns])
    events = pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True)
    # Sort by (episode, seq) on integers: sorting a million string keys is slow.
    episode = pd.Index(episodes["episode_id"]).get_indexer(events["episode_id"])
    order = np.lexsort((events["seq"].to_numpy(), episode))
    events = events.take(order).reset_index(drop=True)
    return events.astype({c: d for c, (d, _) in FRAME_COLUMNS["events"].items()})


def _rounds(
    episodes: pd.DataFrame, players: pd.DataFrame, eliminations: pd.DataFrame, results: pd.DataFrame
) -> pd.DataFrame:
    """One row per (episode, round 1..rounds)."""
    counts = episodes["rounds"].clip(lower=0).to_numpy()
    rounds = pd.DataFrame(
        {
            "episode_id": pd.Series(np.repeat(episodes["episode_id"].to_numpy(), counts), dtype="str"),
            "round": np.concatenate([np.arange(1, k + 1) for k in counts]) if len(counts) else np.array([], int),
        }
    )
    if rounds.empty:
        return empty_frame("rounds")
    # Alive at the start of round r: never eliminated, or eliminated in round r or later.
    grid = rounds.merge(players[["episode_id", "role", "eliminated_round"]], on="episode_id")
    alive = grid["eliminated_round"].isna() | (grid["eliminated_round"] >= grid["round"])
    grid = grid.assign(alive=alive.to_numpy(bool), traitor_alive=(alive & (grid["role"] == "traitor")).to_numpy(bool))
    per_round = grid.groupby(["episode_id", "round"], sort=False)[["alive", "traitor_alive"]].sum()
    rounds = rounds.join(per_round, on=["episode_id", "round"])
    rounds["n_alive"] = rounds["alive"].fillna(0).astype("int64")
    rounds["n_traitors_alive"] = rounds["traitor_alive"].fillna(0).astype("int64")
    rounds["n_faithful_alive"] = rounds["n_alive"] - rounds["n_traitors_alive"]

    for vote, prefix in (("day", "day"), ("night", "night")):
        decided = (
            results[results["vote"] == vote].sort_values("seq").drop_duplicates(["episode_id", "round"], keep="last")
        )
        decided = decided.set_index(["episode_id", "round"])
        rounds = rounds.join(
            decided[["ballot", "resolution"]].rename(
                columns={"ballot": f"{prefix}_ballots", "resolution": f"{prefix}_resolution"}
            ),
            on=["episode_id", "round"],
        )
        rounds[f"{prefix}_ballots"] = rounds[f"{prefix}_ballots"].fillna(0).astype("int64")
    for cause, column in (("banished", "banished"), ("murdered", "murdered")):
        out = eliminations[eliminations["cause"] == cause].drop_duplicates(["episode_id", "round"])
        out = out.set_index(["episode_id", "round"])[["target", "role"]]
        rounds = rounds.join(
            out.rename(columns={"target": column, "role": f"{column}_role"}), on=["episode_id", "round"]
        )
    rounds = rounds[list(FRAME_COLUMNS["rounds"])]
    return rounds.astype({c: d for c, (d, _) in FRAME_COLUMNS["rounds"].items()})


# ---------------------------------------------------------------- public loaders


def frames_from_logs(logs: Iterable[EpisodeLog | DecodedLog]) -> Frames:
    """Frames from logs already in memory (e.g. from :func:`alignsim.record.read_log`)."""
    collector = _Collector()
    for log in logs:
        if isinstance(log, DecodedLog):
            collector.add(log.path, log.header, log.events, log.n_events, log.torn)
        else:
            collector.add(log.path, log.header, log.events, len(log.events), log.torn_tail is not None)
    return _finish(collector.frames(), [])


def load_frames(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    bad: BadFiles | None = None,
) -> Frames:
    """Frames from every episode log at ``paths`` (files, run folders, sweep folders).

    The arguments and errors are those of :func:`load_logs`, which also returns what the
    family plug-ins gathered in the same read.
    """
    return load_logs(paths, cache_dir=cache_dir, jobs=jobs, bad=bad)[0]


def load_logs(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    bad: BadFiles | None = None,
) -> tuple[Frames, Gathered]:
    """Frames from every episode log at ``paths``, each log read once, and what the family
    plug-ins gathered from the same read (:class:`Gathered`).

    Args:
        paths: one path or several; folders are searched recursively for ``*.jsonl`` logs.
        cache_dir: keep a parquet copy of each log folder's frames here, reused while the
            folder's logs are unchanged (names, sizes, modification times). Needs pyarrow;
            without it the cache is skipped and a note says so.
        jobs: worker processes for decoding (folders are the unit of work); 1 = in process.
        bad: where to record the logs that cannot be read, which are then left out (and a
            note says how many); None raises for the first of them instead.

    Raises:
        FileNotFoundError: a path does not exist.
        alignsim.errors.LogFormatError: a log cannot be read (only when ``bad`` is None).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        files.extend(find_logs(p))
    files = sorted(dict.fromkeys(_resolved(Path(f)) for f in files))
    notes: list[str] = []
    cache = _Cache(Path(cache_dir)) if cache_dir is not None else None
    if cache is not None and not cache.available:
        notes.append("frame cache skipped: pyarrow is not installed (pip install 'alignsim[parquet]')")
        cache = None
    by_dir: dict[Path, list[Path]] = {}
    if cache is None:
        # Folders matter only to the cache; without it all logs are one unit of work, so a
        # sweep of many one-episode jobs builds its frames once, not once per job folder.
        by_dir = {Path(): files} if files else {}
    else:
        for f in files:
            by_dir.setdefault(f.parent, []).append(f)
    parts: list[dict[str, pd.DataFrame]] = []
    skipped: Skipped = []
    gathered = Gathered()
    todo: list[tuple[Path, list[Path]]] = []
    hits = 0
    for folder, logs in by_dir.items():
        cached = cache.load(folder, logs) if cache is not None else None
        if cached is not None:
            parts.append(cached[0])
            skipped += cached[1]
            gathered.extend(cached[2])
            hits += 1
        else:
            todo.append((folder, logs))
    if jobs > 1 and len(todo) > 0:
        chunks = _chunks(todo, jobs)
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_raw_from_paths, [[f for _, logs in chunk for f in logs] for chunk in chunks]))
        fresh = _split_by_folder(results, todo)
    else:
        fresh = [(folder, logs, *_raw_from_paths(logs)) for folder, logs in todo]
    for folder, logs, raw, unreadable, found in fresh:
        if cache is not None:
            cache.store(folder, logs, raw, unreadable, found)
        parts.append(raw)
        skipped += unreadable
        gathered.extend(found)
    if cache is not None:
        notes.append(f"frame cache: {hits} folder(s) reused, {len(todo)} parsed")
    if skipped:
        if bad is None:
            raise LogFormatError(skipped[0][1])
        for path, reason in skipped:
            bad.add(path, reason)
        notes.append(f"{len(skipped)} unreadable log(s) skipped")
    raw = _concat(parts)
    return _finish(raw, notes), gathered


def _chunks(todo: list[tuple[Path, list[Path]]], jobs: int) -> list[list[tuple[Path, list[Path]]]]:
    """Split the work into about ``4 * jobs`` pieces of similar size (a big folder is split by
    files), so that workers finishing early pick up more."""
    pieces: list[tuple[Path, list[Path]]] = []
    total = sum(len(logs) for _, logs in todo)
    size = max(1, -(-total // (jobs * 4)))
    for folder, logs in todo:
        pieces.extend((folder, logs[i : i + size]) for i in range(0, len(logs), size))
    return [[piece] for piece in pieces]


def _split_by_folder(
    results: list[tuple[dict[str, pd.DataFrame], Skipped, Gathered]], todo: list[tuple[Path, list[Path]]]
) -> list[tuple[Path, list[Path], dict[str, pd.DataFrame], Skipped, Gathered]]:
    """Reassemble the per-chunk results of :func:`_chunks` into one result per folder."""
    merged: dict[Path, list[dict[str, pd.DataFrame]]] = {}
    unreadable: dict[Path, Skipped] = {}
    gathered: dict[Path, Gathered] = {}
    order = iter(results)
    for folder, logs in todo:
        total = 0
        while total < len(logs):
            part, skipped, found = next(order)
            merged.setdefault(folder, []).append(part)
            unreadable.setdefault(folder, []).extend(skipped)
            gathered.setdefault(folder, Gathered()).extend(found)
            total += len(part["episodes"]) + len(skipped)
    return [
        (folder, logs, _concat(merged[folder]), unreadable.get(folder, []), gathered.get(folder, Gathered()))
        for folder, logs in todo
    ]


def _concat(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    if not parts:
        return {name: _typed(name, {}, _RAW_COLUMNS[name]) for name in _RAW_FRAMES_ALL}
    if len(parts) == 1:
        return {name: frame.copy() for name, frame in parts[0].items()}
    out = {}
    for name in _RAW_FRAMES_ALL:
        frames = [p[name] for p in parts if not p[name].empty]
        out[name] = pd.concat(frames, ignore_index=True) if frames else parts[0][name].copy()
    return out


# ---------------------------------------------------------------- cache


class _Cache:
    """Parquet copies of the raw frames of each log folder, keyed by the folder's manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.available = _pa is not None

    def _slot(self, folder: Path) -> Path:
        return self.root / hashlib.blake2b(str(folder).encode(), digest_size=8).hexdigest()

    @staticmethod
    def _manifest(folder: Path, logs: Sequence[Path]) -> dict[str, Any]:
        entries = []
        for log in logs:
            try:
                st = log.stat()
                entries.append([log.name, st.st_size, st.st_mtime_ns, st.st_mode])
            except OSError:  # a dangling link or a link loop: unreadable, and reported as such
                entries.append([log.name, -1, -1, -1])
        return {"frames_version": FRAMES_VERSION, "folder": str(folder), "logs": entries}

    def load(self, folder: Path, logs: Sequence[Path]) -> tuple[dict[str, pd.DataFrame], Skipped, Gathered] | None:
        slot = self._slot(folder)
        manifest_path = slot / "manifest.json"
        if not manifest_path.exists():
            return None
        try:
            stored = json.loads(manifest_path.read_text())
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(stored, dict):
            return None
        skipped = stored.pop("skipped", [])
        if stored != self._manifest(folder, logs):
            return None
        try:
            raw = {name: pd.read_parquet(slot / f"{name}.parquet") for name in _RAW_FRAMES_ALL}
            gathered = _load_gathered(slot / "gathered.json")
        except (OSError, ValueError, TypeError, KeyError, RecursionError, msgspec.ValidationError):
            return None
        return raw, [(str(path), str(reason)) for path, reason in skipped], gathered

    def store(
        self, folder: Path, logs: Sequence[Path], raw: dict[str, pd.DataFrame], skipped: Skipped, gathered: Gathered
    ) -> None:
        slot = self._slot(folder)
        slot.mkdir(parents=True, exist_ok=True)
        manifest_path = slot / "manifest.json"
        manifest_path.unlink(missing_ok=True)  # invalid while the frames are rewritten
        for name, frame in raw.items():
            frame.to_parquet(slot / f"{name}.parquet", index=False)
        # The family rows and headers, so that a reused folder needs no log read at all.
        # (stdlib json: it keeps NaN, which msgspec would write as null)
        headers = [msgspec.to_builtins(h) for h in gathered.headers.values()]
        (slot / "gathered.json").write_text(json.dumps({"rows": gathered.rows, "headers": headers}))
        # Written last: a cache slot counts only once all its frames are in place. The logs
        # found unreadable are kept with it, so a cached folder reports them again.
        manifest_path.write_text(json.dumps({**self._manifest(folder, logs), "skipped": skipped}))


def _load_gathered(path: Path) -> Gathered:
    stored = json.loads(path.read_text())
    headers = [msgspec.convert(h, Header) for h in stored["headers"]]
    return Gathered(rows=stored["rows"], headers={h.episode_id: h for h in headers})
