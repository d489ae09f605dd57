"""Counterfactual forks of logged episodes (the diff of two logs is in :mod:`alignsim.diff`, re-exported here).

``fork(log, at=STEP, <one change>)`` plays an episode again: the first ``STEP`` actions
of the parent log are applied as recorded (every policy is still shown the same
observations, so its state catches up; LLM seats get the recorded model outputs), the
change is applied, and from then on the policies act live. The new log's header names
its ``parent`` and ``config["fork"]`` says what was changed. Changes:

* ``drop_message=SEQ``: the speech event ``SEQ`` is not said (its action keeps its private
  reasoning, loses its message and structured claims);
* ``replace_message=(SEQ, TEXT)``: the speech is replaced by ``TEXT`` (claims dropped);
* ``set_vote=(SEQ, TARGET)``: the ballot of vote event ``SEQ`` goes to ``TARGET`` (an agent
  id, or ``None`` to abstain);
* ``swap_policy={SEAT: POLICY}``: the seating key's policy is replaced from ``STEP`` on;
* ``model={SEAT: MODEL}`` (or one model for every LLM seat): LLM seats answer with another
  model from ``STEP`` on.

A fork's seats start as the parent's did, with the memories the parent's header records
(restored from ``<run>/memory/`` snapshots into an in-process memory; a fork never writes
to a memory file). With no change and no new ``seed``, a fork reproduces its parent event
for event (a test checks it). ``seed`` reseeds the policies (never the env, which must
replay the recorded prefix), so repeated forks over seeds sample what follows the change;
:func:`repeated_forks` plays paired arms (unchanged vs changed, same seed) and
:func:`alignsim.analysis.counterfactual.fork_effect` turns them into an effect with a CI.

"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec

from alignsim.agents.policy import Decision, Policy
from alignsim.diff import LogDiff, diff
from alignsim.errors import ConfigError, ReplayMismatchError
from alignsim.record import EpisodeLog, read_log, summary_path, write_atomic
from alignsim.record import schema as ev
from alignsim.scenarios import ScenarioSpec
from alignsim.seats import MEMORY_DIR, logged_seats, snapshot_dir

__all__ = ["ForkResult", "LogDiff", "diff", "fork", "repeated_forks"]


@dataclass
class ForkResult:
    """What ``fork`` wrote."""

    episode_id: str
    log_path: Path
    parent: str
    at: int
    change: dict[str, Any]
    summary: ev.Summary
    skipped: bool = False
    """True when the same fork was found finished on disk and not played again."""
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the change


@dataclass
class _Plan:
    """The parent's actions to apply, per agent in order, and where live play begins."""

    at: int
    change: dict[str, Any]
    forced: dict[str, deque[Any]]
    expected: list[tuple[str, Any]]
    """(agent, applied action) of the parent's first ``at`` actions, edit included."""


def _event(log: EpisodeLog, seq: int) -> Any:
    for event in log.events:
        if event.seq == seq:
            return event
    raise ConfigError("seq", f"the log has no event with seq {seq} (it has 0..{len(log.events) - 1})")


def _message_keys(action: Mapping[str, Any], text: str) -> list[str]:
    """Keys of ``action`` holding the spoken text (``message`` in the Traitors)."""
    keys = [k for k, v in action.items() if isinstance(v, str) and v and (v == text or text.startswith(v[:40]))]
    if not keys and "message" in action:
        keys = ["message"]
    return keys


def _speech_edit(log: EpisodeLog, actions: list[ev.Action], seq: int, text: str | None) -> tuple[int, dict[str, Any]]:
    event = _event(log, seq)
    message = getattr(event, "message", None)
    if message is None:
        message = getattr(event, "text", None)
    actor = getattr(event, "actor", None)
    if actor is None or not isinstance(message, str) or event.source != "env":
        raise ConfigError("seq", f"event {seq} is a {type(event).__name__}, not a message an agent said")
    action = next((a for a in actions if a.step == event.step and a.agent == actor), None)
    if action is None:
        raise ConfigError("seq", f"no action by {actor} at step {event.step} produced event {seq}")
    edited = copy.deepcopy(dict(action.action))
    keys = _message_keys(edited, message)
    if not keys:
        raise ConfigError("seq", f"the action behind event {seq} has no message field to change")
    for key in keys:
        if text is None:
            edited.pop(key, None)
        else:
            edited[key] = text
    if "claims" in edited:
        edited.pop("claims")
    return action.step, edited


def _vote_edit(log: EpisodeLog, actions: list[ev.Action], seq: int, target: str | None) -> tuple[int, dict[str, Any]]:
    event = _event(log, seq)
    if not isinstance(event, ev.Vote):
        raise ConfigError("seq", f"event {seq} is a {type(event).__name__}, not a vote")
    # Sealed ballots are published when the ballot closes: the voter's last action before the
    # vote event is the ballot.
    ballot = next((a for a in reversed(actions) if a.seq < event.seq and a.agent == event.actor), None)
    if ballot is None or "target" not in ballot.action:
        raise ConfigError("seq", f"no ballot action by {event.actor} before vote event {seq}")
    names = list(log.header.seating)
    if target is not None and target not in names:
        raise ConfigError("set_vote", f"{target!r} is not a player of this episode ({', '.join(names)})")
    edited = copy.deepcopy(dict(ballot.action))
    edited["target"] = len(names) if target is None else names.index(target)
    return ballot.step, edited


def _plan(
    log: EpisodeLog,
    at: int | None,
    *,
    drop_message: int | None,
    replace_message: tuple[int, str] | None,
    set_vote: tuple[int, str | None] | None,
    swap_policy: Mapping[str, str] | None,
    model: str | Mapping[str, str] | None,
) -> _Plan:
    given = {
        "drop_message": drop_message,
        "replace_message": replace_message,
        "set_vote": set_vote,
        "swap_policy": swap_policy or None,
        "model": model or None,
    }
    named = [k for k, v in given.items() if v is not None]
    if len(named) > 1:
        raise ConfigError(named[1], f"a fork makes one change; got {', '.join(named)}")
    events = log.events
    actions = [e for e in events if isinstance(e, ev.Action)]
    edit: tuple[int, dict[str, Any]] | None = None
    change: dict[str, Any] = {}
    if drop_message is not None:
        edit = _speech_edit(log, actions, drop_message, None)
        change = {"drop_message": drop_message}
    elif replace_message is not None:
        edit = _speech_edit(log, actions, replace_message[0], replace_message[1])
        change = {"replace_message": {"seq": replace_message[0], "text": replace_message[1]}}
    elif set_vote is not None:
        edit = _vote_edit(log, actions, set_vote[0], set_vote[1])
        change = {"set_vote": {"seq": set_vote[0], "target": set_vote[1]}}
    elif swap_policy:
        change = {"swap_policy": dict(swap_policy)}
    elif model:
        change = {"model": model if isinstance(model, str) else dict(model)}
    if at is None:
        at = edit[0] if edit is not None else 0
    if at < 0 or at > len(actions):
        raise ConfigError("at", f"must be between 0 and {len(actions)} (the parent's actions), got {at}")
    if edit is not None and at < edit[0]:
        raise ConfigError("at", f"the change is at step {edit[0]}; --at must be at least that, got {at}")
    # An action the env rejected was replaced by the runner's fallback; apply the rejected one
    # again so the fork logs the same invalid_action and draws the same fallback.
    applied: dict[int, Any] = {}
    for previous, event in itertools.pairwise(events):
        if (
            isinstance(event, ev.Action)
            and isinstance(previous, ev.InvalidAction)
            and previous.fallback == "random_legal"
            and previous.agent == event.agent
            and previous.step == event.step - 1
        ):
            applied[event.step] = previous.raw
    forced: dict[str, deque[Any]] = {}
    expected = []
    for action in actions[:at]:
        chosen = edit[1] if edit is not None and action.step == edit[0] else action.action
        forced.setdefault(action.agent, deque()).append(applied.get(action.step, chosen))
        expected.append((action.agent, action.action if action.step in applied else chosen))
    return _Plan(at, change, forced, expected)


# ------------------------------------------------------------------ policies and backends


class _Control:
    """Shared by the wrapped policies and backends: whether model calls replay the parent."""

    def __init__(self) -> None:
        self.replaying = False


class _ForkBackend:
    """Model outputs for a fork: the parent's recorded answers where they apply, a live model after.

    While the recorded prefix is replayed, a request is answered by the recorded call with
    the same prompt (sampling seed aside, since a reseeded fork asks with other seeds).
    Afterwards, a request identical to a recorded one (seed included) gets the recorded
    answer (what the same model gives for the same seed), unless the model was swapped;
    anything else goes to the live model, built on first use.
    """

    def __init__(
        self, calls: Iterable[ev.LLMCall], live_model: str, options: Mapping[str, Any], control: _Control, reuse: bool
    ) -> None:
        from alignsim.agents.llm.wrappers import request_from_call, response_from_call

        self.model_id = live_model
        self.info = {"fork": True}
        self._options = dict(options)
        self._control = control
        self._reuse = reuse
        self._live: Any = None
        self._answers: list[Any] = []
        self._used: list[bool] = []
        self._exact: dict[bytes, deque[int]] = {}
        self._loose: dict[bytes, deque[int]] = {}
        for call in calls:
            request = request_from_call(call)
            index = len(self._answers)
            self._answers.append(response_from_call(call))
            self._used.append(False)
            self._exact.setdefault(request.key(), deque()).append(index)
            self._loose.setdefault(self._loose_key(request), deque()).append(index)

    @staticmethod
    def _loose_key(request: Any) -> bytes:
        params = msgspec.structs.replace(request.params, seed=0)
        return msgspec.json.encode([request.messages, params, request.choices, request.json_schema, request.prefill])

    def _take(self, table: dict[bytes, deque[int]], key: bytes) -> Any:
        queue = table.get(key)
        while queue:
            index = queue.popleft()
            if not self._used[index]:
                self._used[index] = True
                return self._answers[index]
        return None

    def generate(self, requests: list[Any]) -> list[Any]:
        out: list[Any] = [None] * len(requests)
        live = []
        for i, request in enumerate(requests):
            answer = None
            if self._control.replaying or self._reuse:
                answer = self._take(self._exact, request.key())
            if answer is None and self._control.replaying:
                answer = self._take(self._loose, self._loose_key(request))
            if answer is None:
                live.append(i)
            out[i] = answer
        if live:
            if self._live is None:
                from alignsim.agents.llm.agent import SHARED_BACKENDS

                self._live = SHARED_BACKENDS.get(self.model_id, **self._options)
            for i, response in zip(live, self._live.generate([requests[i] for i in live]), strict=True):
                out[i] = response
        return out

    def close(self) -> None:
        pass


class _ForkPolicy:
    """Wraps a seat's policy: the parent's actions while they last, the policy's own after.

    The wrapped policy is asked for every decision, so that what it remembers and its random
    draws follow the parent's run; while the parent's actions last its answers are dropped.
    ``reseed`` mixes a fork seed into the policy's episode seed.
    """

    def __init__(self, inner: Policy, forced: dict[str, deque[Any]], control: _Control, reseed: int | None) -> None:
        self.inner = inner
        self.name = inner.name
        self._forced = forced
        self._control = control
        self._reseed = reseed

    def __getattr__(self, name: str) -> Any:
        # model_id, memory_digest, supported_envs, ...: whatever the runner looks for on the policy.
        return getattr(self.inner, name)

    def reset(self, agents: Sequence[str], *, seed: int, env_id: str, episode: str = "") -> None:
        if self._reseed is not None:
            mixed = hashlib.blake2b(f"{seed}:{self._reseed}".encode(), digest_size=4).digest()
            seed = int.from_bytes(mixed, "big")
        self.inner.reset(agents, seed=seed, env_id=env_id, episode=episode)

    def act(self, agent: str, observation: Any, action_space: Any) -> Any:
        return self.act_batch([Decision(agent, observation, action_space)])[0]

    def act_batch(self, decisions: Sequence[Decision]) -> list[Any]:
        replayed = [i for i, d in enumerate(decisions) if self._forced.get(d.agent)]
        live = [i for i in range(len(decisions)) if i not in replayed]
        out: list[Any] = [None] * len(decisions)
        if replayed:
            self._control.replaying = True
            try:
                self.inner.act_batch([decisions[i] for i in replayed])
            finally:
                self._control.replaying = False
            for i in replayed:
                out[i] = copy.deepcopy(self._forced[decisions[i].agent].popleft())
        if live:
            for i, action in zip(live, self.inner.act_batch([decisions[i] for i in live]), strict=True):
                out[i] = action
        return out

    def drain_events(self, episode: str = "") -> list[Any]:
        drain = getattr(self.inner, "drain_events", None)
        return drain(episode) if drain is not None else []

    def end_episode(self, episode: str = "", outcome: Mapping[str, Any] | None = None) -> None:
        end = getattr(self.inner, "end_episode", None)
        if end is not None:
            end(episode, outcome)

    def get_state(self) -> dict[str, Any]:
        return self.inner.get_state()

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.inner.set_state(state)

    def close(self) -> None:
        self.inner.close()


# ------------------------------------------------------------------ fork


def _run_dir_of(log_path: Path) -> Path:
    # Absolute first: a log named relative to the working directory has '.' as parent, which has no name.
    log_path = log_path.absolute()
    return log_path.parent.parent if log_path.parent.name == "episodes" else log_path.parent


def fork(
    log_path: str | os.PathLike[str],
    *,
    at: int | None = None,
    drop_message: int | None = None,
    replace_message: tuple[int, str] | None = None,
    set_vote: tuple[int, str | None] | None = None,
    swap_policy: Mapping[str, str] | None = None,
    model: str | Mapping[str, str] | None = None,
    seed: int | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    resume: bool = True,
) -> ForkResult:
    """Play the episode of ``log_path`` again from step ``at`` with at most one change.

    Give at most one change (see the module docstring); seating keys are those of the scenario
    (a role or an agent).

    Args:
        log_path: the parent episode log.
        at: how many of the parent's actions are applied as recorded (default: up to and
            including the changed action, or 0 for policy and model swaps).
        drop_message: the seq of a speech event that is not said.
        replace_message: ``(seq, text)``: the speech event ``seq`` says ``text`` instead.
        set_vote: ``(seq, target)``: the ballot of vote event ``seq`` goes to ``target`` (an
            agent id, or None to abstain).
        swap_policy: seating key -> policy name, replacing the seat's policy from ``at`` on.
        model: seating key -> model, or one model for every LLM seat, from ``at`` on.
        seed: reseed the policies (the env keeps the parent's seed).
        out_dir: where the fork's log goes (``out_dir/episodes/``); default: a folder
            ``<run>-forks`` beside the parent's run folder.
        resume: return an identical fork already finished in ``out_dir`` instead of playing it.

    Returns:
        A :class:`ForkResult`. Raises ``ConfigError`` for a change that does not fit the
        log, ``ReplayMismatchError`` if the recorded prefix could not be applied as logged.
    """
    from alignsim.run import EpisodeRunner

    log_path = Path(log_path)
    log = read_log(log_path)
    header = log.header
    if log.end is None or log.end.status == "failed":
        raise ConfigError("log", f"{log_path} did not finish (status {log.status}); only finished episodes fork")
    if "scenario" not in header.config:
        raise ConfigError("log", f"{log_path}: the header's config has no scenario to play again")
    plan = _plan(
        log,
        at,
        drop_message=drop_message,
        replace_message=replace_message,
        set_vote=set_vote,
        swap_policy=swap_policy,
        model=model,
    )
    scenario = ScenarioSpec.from_dict(header.config["scenario"])
    for key in list(swap_policy or {}) + (list(model) if isinstance(model, Mapping) else []):
        if key not in scenario.seating:
            raise ConfigError("seat", f"{key!r} is not a seating key of {scenario.id} ({', '.join(scenario.seating)})")
    record = {
        "parent": header.episode_id,
        "parent_path": str(log_path),
        "at": plan.at,
        "change": plan.change,
        "seed": seed,
    }
    digest = hashlib.blake2b(msgspec.json.encode([record["at"], plan.change, seed]), digest_size=4).hexdigest()
    episode_id = f"{header.episode_id}-fork-{digest}"
    out = (
        Path(out_dir) if out_dir is not None else _run_dir_of(log_path).with_name(_run_dir_of(log_path).name + "-forks")
    )
    final = out / "episodes" / f"{episode_id}.jsonl"
    if resume and summary_path(final).exists():
        summary = msgspec.json.decode(summary_path(final).read_bytes(), type=ev.Summary)
        if summary.status != "failed":
            return ForkResult(episode_id, final, header.episode_id, plan.at, plan.change, summary, skipped=True)

    control = _Control()
    calls = log.of_type(ev.LLMCall)

    models = dict.fromkeys(scenario.seating, model) if isinstance(model, str) else dict(model or {})

    def backend_for(key: str, kwargs: Mapping[str, Any], live_model: str) -> _ForkBackend:
        options = kwargs.get("backend_options") or {}
        return _ForkBackend(calls, live_model, options, control, reuse=key not in models)

    # The seats start as the parent's did, memories included (restored in process: a fork never
    # writes into the population's memory file).
    seating, inner = logged_seats(log_path, header, backend_for, policy_names=swap_policy, models=models)
    policies: dict[str, Policy] = {key: _ForkPolicy(inner[key], plan.forced, control, seed) for key in seating}
    scenario = dataclasses.replace(scenario, seating=MappingProxyType(seating))
    config = {**header.config, "scenario": scenario.to_dict(), "fork": record}

    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".fork-", dir=out))
    try:
        with EpisodeRunner(scenario, out_dir=scratch, policies=policies, config=config) as runner:
            result = runner.run(seed=header.seed, episode_index=header.episode_index, resume=False)
        for policy in policies.values():
            policy.close()
        fresh = read_log(result.log_path)
        _check_prefix(fresh, plan)
        warnings: list[str] = []
        swapped_keys = set(swap_policy or {})
        kept = [a for a in set(fresh.header.memory) & set(header.memory) if header.seating[a].role not in swapped_keys]
        differ = sorted(a for a in kept if fresh.header.memory[a] != header.memory[a])
        if differ:
            raise ReplayMismatchError(
                f"fork: the memory of {', '.join(differ)} at the start differs from the parent's "
                f"(its snapshots in {snapshot_dir(log_path)} do not rebuild it)"
            )
        _move(result.log_path, final, episode_id, header.episode_id)
        _keep_snapshots(scratch / MEMORY_DIR, out / MEMORY_DIR)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = msgspec.json.decode(summary_path(final).read_bytes(), type=ev.Summary)
    return ForkResult(episode_id, final, header.episode_id, plan.at, plan.change, summary, warnings=warnings)


def _keep_snapshots(source: Path, target: Path) -> None:
    """Move the memory snapshots the fork's runner saved next to the fork's log (``<out>/memory``)."""
    if not source.is_dir():
        return
    target.mkdir(parents=True, exist_ok=True)
    for snapshot in source.glob("*.json"):
        if not (target / snapshot.name).exists():
            os.replace(snapshot, target / snapshot.name)


def _check_prefix(fresh: EpisodeLog, plan: _Plan) -> None:
    applied = [(a.agent, a.action) for a in fresh.of_type(ev.Action)][: plan.at]
    for step, (want, got) in enumerate(zip(plan.expected, applied, strict=False), start=1):
        if msgspec.json.encode(want) != msgspec.json.encode(got):
            raise ReplayMismatchError(f"fork: step {step} applied {got}, the parent's prefix says {want}")
    if len(applied) < plan.at:
        raise ReplayMismatchError(f"fork: the episode ended after {len(applied)} actions, before step {plan.at}")


def _move(source: Path, target: Path, episode_id: str, parent: str) -> None:
    """Put the scratch log at ``target`` under the fork's own id, naming its parent."""
    data = source.read_bytes()
    first, _, rest = data.partition(b"\n")
    header = msgspec.json.decode(first, type=ev.Header)
    header = msgspec.structs.replace(header, episode_id=episode_id, parent=parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, summary_path(target)):
        if stale.exists():
            stale.unlink()
    write_atomic(target, msgspec.json.encode(header) + b"\n" + rest)
    summary = msgspec.json.decode(summary_path(source).read_bytes(), type=ev.Summary)
    summary = msgspec.structs.replace(summary, episode_id=episode_id, log_path=str(target))
    write_atomic(summary_path(target), msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n")


def repeated_forks(
    log_path: str | os.PathLike[str],
    *,
    seeds: Iterable[int],
    at: int | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    **change: Any,
) -> list[tuple[ForkResult, ForkResult]]:
    """Paired arms over seeds: for each seed, the fork without the change and the fork with it.

    Both arms replay the same prefix (the changed action's step by default) and reseed the
    policies with the same seed, so within a pair only the change differs (common random
    numbers). Feed the logs to :func:`alignsim.analysis.counterfactual.fork_effect`.
    """
    if at is None:
        probe = _plan(
            read_log(log_path),
            None,
            drop_message=change.get("drop_message"),
            replace_message=change.get("replace_message"),
            set_vote=change.get("set_vote"),
            swap_policy=change.get("swap_policy"),
            model=change.get("model"),
        )
        at = probe.at
    pairs = []
    for seed in seeds:
        unchanged = fork(log_path, at=at, seed=seed, out_dir=out_dir)
        changed = fork(log_path, at=at, seed=seed, out_dir=out_dir, **change)
        pairs.append((unchanged, changed))
    return pairs
