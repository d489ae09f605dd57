"""The runner: validate a scenario, seat the policies, play in lock-step, and write the episode log.

``run_episode`` plays one episode; ``run`` plays several with derived seeds and skips
episodes whose summary (the done marker, written last) already exists, so relaunching a
run resumes it. Neighbouring rooms: :mod:`alignsim.seats` (a seat's arguments, seats
rebuilt from a log), :mod:`alignsim.replay` (``replay``, ``rerun``; re-exported here),
:mod:`alignsim.workers` (episodes fanned out to processes), :mod:`alignsim.provenance`
(what the header records about the machine).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import msgspec
import numpy as np
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from alignsim import agents, envs, scenarios
from alignsim.agents.policy import BasePolicy, Decision, Policy
from alignsim.agents.scripted.random_legal import random_legal_action
from alignsim.envs.base import as_game
from alignsim.envs.contract import GameEnv, encode_action
from alignsim.errors import (
    AlignsimError,
    ConfigError,
    IllegalActionError,
    LogFormatError,
    did_you_mean,
)
from alignsim.limits import DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_STEPS, RUN_LIMITS, check_run_budget
from alignsim.probes import ProbeRequest, question_for, statement_propositions
from alignsim.progress import EpisodeProgress
from alignsim.provenance import platform_name, provenance
from alignsim.record import EpisodeWriter, read_summary, summary_path, write_atomic, write_summary
from alignsim.record import schema as ev
from alignsim.replay import ReplayReport, RerunReport, replay, rerun
from alignsim.scenarios import ScenarioSpec, resolve_seating
from alignsim.seats import EPISODES_DIR, MEMORY_DIR, logged_seats, seat_kwargs, snapshot_dir, starting_memory

__all__ = [
    "EpisodeResult",
    "EpisodeRunner",
    "ReplayReport",
    "RerunReport",
    "derive_seeds",
    "encode_action",
    "episode_id_for",
    "logged_seats",
    "replay",
    "rerun",
    "run",
    "run_episode",
    "snapshot_dir",
    "starting_memory",
    "validate_scenario",
]


@dataclass
class EpisodeResult:
    """What one episode produced."""

    episode_id: str
    log_path: Path
    summary: ev.Summary
    skipped: bool = False
    """True when a finished episode was found on disk and not run again."""


# ------------------------------------------------------------------ helpers


def derive_seeds(seed: int, episode_index: int, groups: Sequence[str]) -> dict[str, int]:
    """Independent seeds for the env, the fallback rule and each policy group of one episode."""
    sequence = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(episode_index),))
    values = sequence.generate_state(2 + len(groups), dtype=np.uint32).tolist()
    seeds = {"env": values[0], "fallback": values[1]}
    for group, value in zip(sorted(groups), values[2:], strict=True):
        seeds[f"policy:{group}"] = value
    return seeds


def episode_id_for(scenario: ScenarioSpec, seed: int, episode_index: int) -> str:
    """Deterministic id: the same scenario, parameters and seed always name the same episode."""
    payload = msgspec.json.encode([scenario.to_dict(), int(seed), int(episode_index)])
    digest = hashlib.blake2b(payload, digest_size=4).hexdigest()
    slug = scenario.id.replace("/", "-")
    return f"{slug}-s{seed}-e{episode_index}-{digest}"


def _as_spec(scenario: ScenarioSpec | str | Mapping[str, Any]) -> ScenarioSpec:
    if isinstance(scenario, ScenarioSpec):
        return scenario
    if isinstance(scenario, str):
        return scenarios.get(scenario)
    return ScenarioSpec.from_dict(scenario)


def validate_scenario(scenario: ScenarioSpec, *, llm: Mapping[str, Any] | None = None) -> None:
    """Fail fast, before any episode runs: env id, env parameters, seating keys, policy names and arguments.

    Touches nothing on disk: a policy that offers ``check_kwargs`` (the LLM agent) is checked
    with it instead of being built, so no model is loaded and no memory file is opened.
    """
    try:
        env_spec = envs.spec(scenario.env_id)
    except KeyError as exc:
        raise ConfigError("scenario.env_id", f"{exc}; see `alignsim list envs`") from None
    try:
        env = envs.make(scenario.env_id, **scenario.env_kwargs)
    except ConfigError as exc:
        raise ConfigError(f"scenario.env_kwargs.{exc.field}", str(exc).split(": ", 1)[1]) from None
    info = envs.game_info(env_spec.id)
    roles = info.roles
    players = list(env.possible_agents)
    env.close()
    for key, seat in scenario.seating.items():
        if key != "*" and key not in players and roles and key not in roles:
            known = ["*", *roles, *players]
            shown = f"{players[0]}..{players[-1]}" if len(players) > 2 else ", ".join(players)
            raise ConfigError(
                f"scenario.seating.{key}",
                f"not a role of {env_spec.id} ({', '.join(roles)}), a player ({shown}) or '*'"
                f"{did_you_mean(key, known)}",
            )
        field = f"scenario.seating.{key}"
        try:
            factory = agents.spec(seat.policy).load()
        except KeyError as exc:
            raise ConfigError(f"{field}.policy", f"{exc}; see `alignsim list policies`") from None
        supported = agents.supported_envs(seat.policy)
        if supported is not None and not agents.plays(seat.policy, env_spec.id):
            raise ConfigError(
                f"{field}.policy", f"policy {seat.policy!r} plays {', '.join(supported)}, not {env_spec.name}"
            )
        check_env = getattr(factory, "check_env", None)
        if check_env is not None:
            try:
                check_env(env_spec.id)
            except ConfigError as exc:
                raise ConfigError(f"{field}.policy", str(exc).split(": ", 1)[1]) from None
        kwargs = seat_kwargs(seat, llm)
        check = getattr(factory, "check_kwargs", None)
        if check is not None:
            _check_policy_kwargs(check, kwargs, field)
            continue
        try:
            policy = agents.make(seat.policy, **kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{field}.kwargs", str(exc)) from None
        policy.close()
    if scenario.null_policy is not None:
        # Declared for the chance baseline of `alignsim analyze`; a typo must fail now, not then.
        try:
            agents.make(scenario.null_policy.policy, **scenario.null_policy.kwargs).close()
        except KeyError as exc:
            raise ConfigError("scenario.null_policy.policy", str(exc)) from None
        except ConfigError as exc:
            raise ConfigError("scenario.null_policy.kwargs", str(exc)) from None


def _check_policy_kwargs(check: Any, kwargs: Mapping[str, Any], field: str) -> None:
    """Run a policy's ``check_kwargs``; errors name ``scenario.seating.KEY.kwargs.ARG``."""
    import inspect

    known = [p for p in inspect.signature(check).parameters if p not in ("self", "backend")]
    for name in kwargs:
        if name not in known:
            raise ConfigError(
                f"{field}.kwargs.{name}",
                f"not an argument of this policy{did_you_mean(name, known)}; arguments: {', '.join(known)}",
            )
    try:
        check(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{field}.kwargs.{exc.field}", str(exc).split(": ", 1)[1]) from None


# ------------------------------------------------------------------ running


class EpisodeRunner:
    """Plays episodes of one scenario, reusing envs and one set of policies.

    Policy objects persist across the episodes a runner plays, so an agent's memory can
    carry over. With ``lockstep=E`` in :meth:`run_many`, E episodes advance together, one
    turn at a time, and the same turn of every episode is handed to each policy in one
    ``act_batch`` call, so an LLM backend sees batches even when turns are sequential
    within a game. Every episode is still a pure function of its seed and of the memories
    it starts with: an LLM agent stores an episode's memories when it ends and reads only
    those stored before it started, so episodes in play together never read each other
    (``docs/memory.md``).

    Args:
        scenario: a spec, a registered id, or the spec as plain data.
        out_dir: logs go to ``out_dir/episodes/``.
        policies: ready policy objects per seating key (built from the seating otherwise).
        config: the resolved run configuration, recorded in each header.
        llm: defaults for LLM seats (``model``, ``params``, ...), used where a seat's
            kwargs do not say otherwise.
        flush: ``"event"``: every action's events reach the OS before the next action;
            ``"episode"``: buffered.
        fsync: also force logs and summaries to disk at the end of each episode.
        max_steps, max_log_bytes: the budget of each episode: once it has applied
            ``max_steps`` actions or written ``max_log_bytes`` bytes of events, the runner
            stops it (at the end of the turn) as ``truncated``, with ``episode_end.reason``
            naming the budget. None takes the value in ``config`` (so a rerun of a log
            applies the budget it was played with), else the default in ``alignsim.limits``.
    """

    def __init__(
        self,
        scenario: ScenarioSpec | str | Mapping[str, Any],
        *,
        out_dir: str | os.PathLike[str] = "runs",
        policies: Mapping[str, Policy] | None = None,
        config: Mapping[str, Any] | None = None,
        llm: Mapping[str, Any] | None = None,
        flush: Literal["event", "episode"] = "event",
        fsync: bool = False,
        max_steps: int | None = None,
        max_log_bytes: int | None = None,
    ) -> None:
        spec = _as_spec(scenario)
        self.seat_kwargs = {key: seat_kwargs(seat, llm) for key, seat in spec.seating.items()}
        # The effective scenario: LLM defaults written into the seats, so that the episode id
        # (and resume) tells apart runs of the same scenario on different models.
        self.spec = spec = dataclasses.replace(
            spec,
            seating=MappingProxyType(
                {
                    key: dataclasses.replace(seat, kwargs=MappingProxyType(self.seat_kwargs[key]))
                    for key, seat in spec.seating.items()
                }
            ),
        )
        self.out_dir = Path(out_dir)
        self.flush = flush
        self.fsync = fsync
        self.config = encode_action(dict(config)) if config is not None else {"scenario": spec.to_dict()}
        self.max_steps, self.max_log_bytes = check_run_budget(
            max_steps if max_steps is not None else self.config.get("max_steps", DEFAULT_MAX_STEPS),
            max_log_bytes if max_log_bytes is not None else self.config.get("max_log_bytes", DEFAULT_MAX_LOG_BYTES),
        )
        # A budget given here, not in the config, is recorded in the header's config, so that
        # a rerun stops the episode where it stopped. (Defaults are not written, so headers of
        # runs that never set a budget stay as they were.)
        for key, given in (("max_steps", max_steps), ("max_log_bytes", max_log_bytes)):
            if given is not None and self.config.get(key) != given:
                self.config[key] = given
        self.belief_probes = spec.belief_probes
        self.env_id = envs.spec(spec.env_id).id
        self._envs = [envs.make(spec.env_id, **spec.env_kwargs)]
        self.env = self._envs[0]
        self._snapshots: dict[tuple[int, str], tuple[str, int]] = {}
        self._live: list[_LiveEpisode] = []
        self._owned = {key for key in spec.seating if policies is None or key not in policies}
        self.policies: dict[str, Policy] = dict(policies or {})
        for key in self._owned:
            self.policies[key] = agents.make(spec.seating[key].policy, **self.seat_kwargs[key])

    def status(self) -> str:
        """Where the episodes in flight stand, for progress displays: round, phase, model usage.

        Safe to call from another thread: it only reads counters (copies taken in one step).
        """
        live = list(self._live)
        if not live:
            return ""
        game = live[0].game
        where = f"round {game.round} {game.phase.replace('_', ' ')}".rstrip()
        text = where if len(live) == 1 else f"{len(live)} episodes in flight, the first at {where}"
        calls = sum(sum(list(e.tally.llm_calls.values())) for e in live)
        if calls:
            tokens = sum(sum(list(e.tally.tokens.values())) for e in live)
            text += f", {calls:,} model calls and {tokens:,} tokens so far"
        return text

    def close(self) -> None:
        """Close the policies this runner built (not those passed in) and its envs."""
        for key in self._owned:
            self.policies[key].close()
        for env in self._envs:
            env.close()

    def __enter__(self) -> EpisodeRunner:
        """The runner itself; leaving the block calls :meth:`close`."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the policies this runner built and its envs (also after an exception)."""
        self.close()

    def run(self, *, seed: int, episode_index: int = 0, resume: bool = True) -> EpisodeResult:
        """Play episode ``episode_index`` of master seed ``seed`` (or return it if already done)."""
        return self.run_many([(seed, episode_index)], resume=resume)[0]

    def run_many(
        self,
        jobs: Sequence[tuple[int, int]],
        *,
        resume: bool = True,
        lockstep: int = 1,
        on_result: Any = None,
    ) -> list[EpisodeResult]:
        """Play ``(seed, episode_index)`` jobs, up to ``lockstep`` of them at once; results in job order."""
        if lockstep < 1:
            raise ConfigError("lockstep", f"must be at least 1, got {lockstep}")
        results: dict[int, EpisodeResult] = {}
        queue = deque(enumerate(jobs))
        live = self._live = []
        idle = list(self._envs)

        def settle(position: int, result: EpisodeResult) -> None:
            results[position] = result
            if on_result is not None:
                on_result(result)

        while queue or live:
            while queue and len(live) < lockstep:
                position, (seed, index) = queue.popleft()
                done = self._finished(seed, index) if resume else None
                if done is not None:
                    settle(position, done)
                    continue
                if not idle:
                    self._envs.append(envs.make(self.spec.env_id, **self.spec.env_kwargs))
                    idle.append(self._envs[-1])
                live.append(self._start(position, idle.pop(), seed, index))
            try:
                finished = self._turn(live)
            except BaseException as exc:
                for episode in live:
                    settle(episode.position, episode.fail(exc))
                raise
            finished += [e for e in live if e not in finished and e.over_budget()]
            for episode in finished:
                live.remove(episode)
                settle(episode.position, episode.finish())
                idle.append(episode.env)
        return [results[k] for k in range(len(jobs))]

    def _finished(self, seed: int, episode_index: int) -> EpisodeResult | None:
        episode_id = episode_id_for(self.spec, seed, episode_index)
        log_path = self.out_dir / EPISODES_DIR / f"{episode_id}.jsonl"
        done = summary_path(log_path)
        if os.path.lexists(done):
            try:
                summary = read_summary(done)
            except LogFormatError:
                return None  # not a usable done marker: the episode is played again (the old files moved aside)
            if summary.status != "failed":
                return EpisodeResult(episode_id, log_path, summary, skipped=True)
        return None

    def _start(self, position: int, env: Any, seed: int, episode_index: int) -> _LiveEpisode:
        spec = self.spec
        episode_id = episode_id_for(spec, seed, episode_index)
        log_path = self.out_dir / EPISODES_DIR / f"{episode_id}.jsonl"
        stamp = int(time.time() * 1000)
        earlier_attempt = os.path.lexists(log_path)
        for stale in (log_path, summary_path(log_path)):
            # An unfinished or failed earlier attempt: keep it for inspection, never count it.
            if os.path.lexists(stale):
                stale.rename(stale.with_name(f".{stale.name}.attempt-{stamp}"))
        if earlier_attempt:
            # It may have been killed after storing its memories and before its summary:
            # those rows go, or this attempt and every later episode would read them twice.
            for policy in {id(p): p for p in self.policies.values()}.values():
                forget = getattr(policy, "forget_episode", None)
                if forget is not None:
                    forget(episode_id)
        started = time.perf_counter()
        seeds = derive_seeds(seed, episode_index, sorted(spec.seating))
        env.reset(seed=seeds["env"])
        seat_of = resolve_seating(spec.seating, list(env.possible_agents), dict(as_game(env).roles))
        for key, policy in self.policies.items():
            members = [a for a in env.possible_agents if seat_of[a] == key]
            if members:
                policy.reset(members, seed=seeds[f"policy:{key}"], env_id=spec.env_id, episode=episode_id)
        policy_of = {agent: self.policies[key] for agent, key in seat_of.items()}
        versions, git = provenance()
        header = ev.Header(
            episode_id=episode_id,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            scenario=spec.id,
            env_id=self.env_id,
            env_kwargs=encode_action(dict(spec.env_kwargs)),
            seed=int(seed),
            episode_index=int(episode_index),
            seeds=seeds,
            seating={
                agent: ev.SeatRecord(
                    policy=policy_of[agent].name,
                    kwargs=encode_action(self.seat_kwargs[seat_of[agent]]),
                    role=seat_of[agent],
                    model=getattr(policy_of[agent], "model_id", None),
                )
                for agent in env.possible_agents
            },
            config=self.config,
            versions=versions,
            git=git,
            python=versions["python"],
            platform=platform_name(),
            memory=self._memory_digests(episode_id, policy_of),
        )
        episode = _LiveEpisode(
            runner=self,
            position=position,
            env=env,
            episode_id=episode_id,
            seed=seed,
            episode_index=episode_index,
            log_path=log_path,
            writer=EpisodeWriter(log_path, header, flush=self.flush),
            policy_of=policy_of,
            fallback_rng=random.Random(seeds["fallback"]),
            started=started,
        )
        episode.record(episode.drain())
        return episode

    def _memory_digests(self, episode_id: str, policy_of: Mapping[str, Policy]) -> dict[str, str]:
        """Each seat's memory digest (of exactly the memories it can read in this episode, its view
        fixed at reset). A memory that is not empty is also saved, once per digest,
        as ``out_dir/memory/<digest>.json``: the rows added since this runner's previous snapshot
        of the seat plus the digest of that snapshot (``parent``), so the files of a long run
        grow with what was remembered, not with the square of it. ``rerun`` follows the chain."""
        digests = {}
        for agent, policy in policy_of.items():
            if not hasattr(policy, "memory_digest"):
                continue
            digest = digests[agent] = policy.memory_digest(episode_id, agent)
            snapshot = getattr(policy, "memory_snapshot", None)
            if snapshot is None or digest == ev.EMPTY_MEMORY_DIGEST:
                continue
            key = (id(policy), agent)
            parent, after = self._snapshots.get(key, (None, 0))
            if parent == digest:
                continue
            path = self.out_dir / MEMORY_DIR / f"{digest}.json"
            rows = snapshot(episode_id, agent, after)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, msgspec.json.encode({"parent": parent, "rows": rows}))
            self._snapshots[key] = (digest, max([after, *(row[0] for row in rows)]))
        return digests

    def _drain_of(self, policy: Policy) -> Any:
        """The policy's ``drain_events``, or None when it never has events to give."""
        drain = getattr(policy, "drain_events", None)
        if drain is None or getattr(type(policy), "drain_events", None) is BasePolicy.drain_events:
            return None
        return drain

    def _turn(self, live: list[_LiveEpisode]) -> list[_LiveEpisode]:
        """Advance every live episode by one turn; returns those that ended."""
        if len(live) == 1:
            episode = live[0]
            batch = episode.next_batch()
            if not batch:
                return [episode]
            if len(batch) == 1:  # the common case, kept lean: one seat of one episode
                agent = batch[0]
                policy = episode.policy_of[agent]
                observation, digest = episode.observe(agent)
                action = _act_one(policy, Decision(agent, observation, episode.action_space(agent), episode.episode_id))
                drain = self._drain_of(policy)
                if drain is not None:
                    episode.policy_events += drain(episode.episode_id)
                episode.apply(agent, action, observation, digest, policy)
                return []
            episode.batch_ready = True
        finished = []
        asks: dict[int, tuple[Policy, list[Decision]]] = {}
        for episode in live:
            batch = episode.batch if episode.batch_ready else episode.next_batch()
            episode.batch_ready = False
            if not batch:
                finished.append(episode)
                continue
            for agent in batch:
                policy = episode.policy_of[agent]
                observation, digest = episode.observe(agent)
                episode.observed[agent] = (observation, digest)
                decision = Decision(agent, observation, episode.action_space(agent), episode.episode_id)
                asks.setdefault(id(policy), (policy, []))[1].append(decision)
        by_id = {episode.episode_id: episode for episode in live}
        for policy, decisions in asks.values():
            actions = policy.act_batch(decisions) if len(decisions) > 1 else [_act_one(policy, decisions[0])]
            for decision, action in zip(decisions, actions, strict=True):
                by_id[decision.episode].chosen[decision.agent] = (action, policy)
            drain = self._drain_of(policy)
            if drain is not None:
                for episode_id in {d.episode for d in decisions}:
                    by_id[episode_id].policy_events += drain(episode_id)
        for episode in live:
            if episode not in finished:
                episode.apply_chosen()
        return finished

    def _summarise(self, episode: _LiveEpisode, status: Any, winner: str | None, error: str | None) -> ev.Summary:
        summary = ev.Summary(
            episode_id=episode.episode_id,
            scenario=self.spec.id,
            seed=int(episode.seed),
            episode_index=int(episode.episode_index),
            status=status,
            winner=winner,
            rounds=int(episode.game.round),
            steps=episode.tally.steps,
            n_events=episode.writer.n_events,
            eliminations=episode.tally.eliminations,
            rewards=episode.tally.rewards,
            llm_calls=episode.tally.llm_calls,
            invalid_actions=episode.tally.invalid,
            tokens=episode.tally.tokens,
            llm_seconds={agent: round(seconds, 4) for agent, seconds in episode.tally.llm_seconds.items()},
            duration_s=round(time.perf_counter() - episode.started, 4),
            error=error,
            log_path=str(episode.log_path),
            reason=episode.stopped_by,
            probes=episode.tally.probes,
            probe_calls=episode.tally.probe_calls,
            probe_tokens=episode.tally.probe_tokens,
        )
        write_summary(episode.log_path, summary, fsync=self.fsync)
        return summary


def _act_one(policy: Policy, decision: Decision) -> Any:
    """One decision, through ``act_batch`` like every other (the episode travels in the Decision)."""
    return policy.act_batch([decision])[0]


class _LiveEpisode:
    """One episode in flight: its env, log writer, seating and bookkeeping."""

    def __init__(
        self,
        *,
        runner: EpisodeRunner,
        position: int,
        env: Any,
        episode_id: str,
        seed: int,
        episode_index: int,
        log_path: Path,
        writer: EpisodeWriter,
        policy_of: dict[str, Policy],
        fallback_rng: random.Random,
        started: float,
    ) -> None:
        self.runner, self.position, self.env = runner, position, env
        self.episode_id, self.seed, self.episode_index = episode_id, seed, episode_index
        self.log_path, self.writer, self.policy_of = log_path, writer, policy_of
        self.fallback_rng, self.started = fallback_rng, started
        self.tally = _Tally(dict.fromkeys(env.possible_agents, 0.0))
        self.observed: dict[str, tuple[Any, str]] = {}
        self.chosen: dict[str, tuple[Any, Policy]] = {}
        self.policy_events: list[ev.Event] = []
        self.final_observations: dict[str, Any] = {}
        self.batch: list[str] = []
        self.batch_ready = False
        self.truncated = False
        self.stopped_by: str | None = None
        """The run budget that stopped this episode, if one did."""
        self.u = env.unwrapped
        # After reset, order enforcement is moot: call the env itself and skip a wrapper layer.
        outer = self.u if type(env) is OrderEnforcingWrapper else env
        self.step, self.action_space = outer.step, outer.action_space
        self.game: GameEnv = as_game(outer)
        self.observe, self.drain = self.game.observe_with_digest, self.game.drain_events

    def record(self, events: list[ev.Event]) -> None:
        self.tally.record(self.writer.write_many(events))

    def over_budget(self) -> bool:
        """Whether the episode has reached a run budget (then ``stopped_by`` says which)."""
        runner, steps, written = self.runner, self.tally.steps, self.writer.n_bytes
        if steps >= runner.max_steps:
            self.stopped_by = f"step budget: {steps:,} actions reached max_steps={runner.max_steps:,}"
        elif written >= runner.max_log_bytes:
            self.stopped_by = (
                f"log-size budget: {written:,} bytes of events reached max_log_bytes={runner.max_log_bytes:,}"
            )
        return self.stopped_by is not None

    def next_batch(self) -> list[str]:
        """Agents acting now on unchanged observations; [] once the episode is over."""
        u = self.u
        while u.agents:
            agent = u.agent_selection
            if u.terminations[agent] or u.truncations[agent]:
                self.truncated |= bool(u.truncations[agent])
                self.final_observations[agent] = self.observe(agent)[0]
                self.step(None)
                continue
            self.batch = self.game.simultaneous_agents()
            return self.batch
        return []

    def apply_chosen(self) -> None:
        for agent in self.batch:
            if self.u.agent_selection != agent:
                raise AlignsimError(f"env selected {self.u.agent_selection} but {agent} was batched to act")
            action, policy = self.chosen.pop(agent)
            observation, digest = self.observed.pop(agent)
            self.apply(agent, action, observation, digest, policy)

    def _stamped_policy_events(self) -> list[ev.Event]:
        """The policy events waiting to be written, stamped with where the episode stands."""
        events, self.policy_events = self.policy_events, []
        if events:
            round_, phase = int(self.game.round), str(self.game.phase)
            for event in events:
                event.step, event.round, event.phase = self.tally.steps, round_, phase
        return events

    def apply(self, agent: str, action: Any, observation: Any, obs_digest: str, policy: Policy) -> None:
        action = encode_action(action)
        events = self._stamped_policy_events()
        tally = self.tally
        fell_back = False
        try:
            self.step(action)
        except IllegalActionError as exc:
            fell_back = True
            fallback = encode_action(
                random_legal_action(self.action_space(agent), observation.get("action_mask"), self.fallback_rng)
            )
            events.append(
                ev.InvalidAction(
                    agent=agent,
                    policy=policy.name,
                    reason=str(exc),
                    raw=action,
                    fallback="random_legal",
                    step=tally.steps,
                )
            )
            action = fallback
            self.step(action)
        tally.steps += 1
        events.append(
            ev.Action(agent=agent, action=action, obs_digest=obs_digest, policy=policy.name, step=tally.steps)
        )
        events += self.drain()
        rewards = self.u.rewards
        if any(rewards.values()):
            events.append(ev.Reward(rewards={k: float(v) for k, v in rewards.items() if v}, step=tally.steps))
        self.record(events)
        if self.runner.belief_probes and not fell_back:
            # (A random fallback's words are not the seat's: nothing of it is asked about.)
            self._probe(agent, events, policy)

    def _probe(self, agent: str, events: Sequence[ev.Event], policy: Policy) -> None:
        """Belief probes (``belief_probes: true``): ask ``agent`` privately about each proposition
        its statement among ``events`` (already written, so their ``seq`` is known) asserted, and
        write a ``belief_probe`` event per proposition right after, with the probe's model calls.

        A policy without a ``probe_beliefs`` hook is not probed. Nothing here reaches the env.
        """
        ask = getattr(policy, "probe_beliefs", None)
        if ask is None:
            return
        requests, statements = [], []
        for event in events:
            found = statement_propositions(event)
            if found is None or found[0] != agent:
                continue
            speaker, text, propositions = found
            for proposition in propositions:
                question = question_for(proposition, speaker)
                requests.append(ProbeRequest(self.episode_id, speaker, event.seq, text, proposition, question))
                statements.append(event)
        if not requests:
            return
        answers = ask(requests)
        drain = self.runner._drain_of(policy)
        written: list[ev.Event] = list(drain(self.episode_id)) if drain is not None else []
        for request, answer in zip(requests, answers, strict=True):
            p = request.proposition
            written.append(
                ev.BeliefProbe(
                    actor=request.agent,
                    statement_seq=request.statement_seq,
                    subject=p.subject,
                    predicate=p.predicate,
                    value=p.value,
                    negated=p.negated,
                    question=request.question,
                    answer=answer.answer,
                    policy=policy.name,
                    calls=answer.calls,
                    prompt_tokens=answer.prompt_tokens,
                    completion_tokens=answer.completion_tokens,
                    reason=answer.reason,
                    visible_to=(request.agent,),
                )
            )
        statement = statements[0]
        for event in written:
            event.step, event.round, event.phase = statement.step, statement.round, statement.phase
        self.record(written)

    def _close_policies(self) -> None:
        """Tell every policy the episode is over (with each seat's final observation), log what they write."""
        for policy in {id(p): p for p in self.policy_of.values()}.values():
            seats = {a: o for a, o in self.final_observations.items() if self.policy_of[a] is policy}
            policy_end = getattr(policy, "end_episode", None)
            if policy_end is not None:
                policy_end(self.episode_id, {"observations": seats, "winner": self.game.winner})
            drain = getattr(policy, "drain_events", None)
            if drain is not None:
                self.policy_events += drain(self.episode_id)

    def finish(self) -> EpisodeResult:
        self._close_policies()
        winner = self.game.winner
        # Games without a winner (principal-agent, self-evolution) complete by termination.
        status: Literal["completed", "truncated", "failed"] = (
            "completed" if winner is not None or not self.truncated else "truncated"
        )
        if self.stopped_by is not None:
            status = "truncated"
        steps = self.tally.steps
        end = ev.EpisodeEnd(status=status, winner=winner, steps=steps, step=steps, reason=self.stopped_by)
        self.record([*self._stamped_policy_events(), end])
        self.writer.close(fsync=self.runner.fsync)
        summary = self.runner._summarise(self, status, winner, None)
        return EpisodeResult(self.episode_id, self.log_path, summary)

    def fail(self, exc: BaseException) -> EpisodeResult:
        error = f"{type(exc).__name__}: {exc}"
        steps = self.tally.steps
        self.writer.write(ev.EpisodeEnd(status="failed", steps=steps, error=error, step=steps))
        self.writer.close(fsync=self.runner.fsync)
        summary = self.runner._summarise(self, "failed", None, error)
        return EpisodeResult(self.episode_id, self.log_path, summary)


class _Tally:
    """What the summary needs, collected as events stream past."""

    __slots__ = (
        "eliminations",
        "invalid",
        "llm_calls",
        "llm_seconds",
        "probe_calls",
        "probe_tokens",
        "probes",
        "rewards",
        "steps",
        "tokens",
    )

    def __init__(self, rewards: dict[str, float]) -> None:
        self.steps = 0
        self.rewards = rewards
        self.eliminations: list[dict[str, Any]] = []
        self.llm_calls: dict[str, int] = {}
        self.invalid: dict[str, int] = {}
        self.tokens: dict[str, int] = {}
        self.llm_seconds: dict[str, float] = {}
        self.probes: dict[str, int] = {}
        self.probe_calls: dict[str, int] = {}
        self.probe_tokens: dict[str, int] = {}

    def record(self, events: Sequence[ev.Event]) -> None:
        for event in events:
            if isinstance(event, ev.Elimination):
                self.eliminations.append(
                    {"round": event.round, "target": event.target, "cause": event.cause, "role": event.revealed_role}
                )
            elif isinstance(event, ev.Reward):
                for agent, value in event.rewards.items():
                    self.rewards[agent] = self.rewards.get(agent, 0.0) + value
            elif isinstance(event, ev.LLMCall):
                self.llm_calls[event.agent] = self.llm_calls.get(event.agent, 0) + 1
                self.tokens[event.agent] = (
                    self.tokens.get(event.agent, 0) + event.prompt_tokens + event.completion_tokens
                )
                self.llm_seconds[event.agent] = self.llm_seconds.get(event.agent, 0.0) + event.latency_s
            elif isinstance(event, ev.InvalidAction):
                self.invalid[event.agent] = self.invalid.get(event.agent, 0) + 1
            elif isinstance(event, ev.BeliefProbe):
                self.probes[event.actor] = self.probes.get(event.actor, 0) + 1
                self.probe_calls[event.actor] = self.probe_calls.get(event.actor, 0) + event.calls
                self.probe_tokens[event.actor] = (
                    self.probe_tokens.get(event.actor, 0) + event.prompt_tokens + event.completion_tokens
                )


def run_episode(
    scenario: ScenarioSpec | str | Mapping[str, Any],
    *,
    seed: int = 0,
    episode_index: int = 0,
    out_dir: str | os.PathLike[str] = "runs",
    policies: Mapping[str, Policy] | None = None,
    config: Mapping[str, Any] | None = None,
    llm: Mapping[str, Any] | None = None,
    flush: Literal["event", "episode"] = "event",
    fsync: bool = False,
    resume: bool = True,
    max_steps: int | None = None,
    max_log_bytes: int | None = None,
) -> EpisodeResult:
    """Play one episode of ``scenario`` and write its log under ``out_dir/episodes/``.

    ``seed`` and ``episode_index`` determine every random draw. With ``resume``, an episode
    that already finished in ``out_dir`` is returned without running it again. See
    :class:`EpisodeRunner` for the other arguments.
    """
    with EpisodeRunner(
        scenario,
        out_dir=out_dir,
        policies=policies,
        config=config,
        llm=llm,
        flush=flush,
        fsync=fsync,
        max_steps=max_steps,
        max_log_bytes=max_log_bytes,
    ) as runner:
        return runner.run(seed=seed, episode_index=episode_index, resume=resume)


def run(
    scenario: ScenarioSpec | str | Mapping[str, Any],
    *,
    seed: int = 0,
    episodes: int = 1,
    out_dir: str | os.PathLike[str] = "runs",
    config: Mapping[str, Any] | None = None,
    llm: Mapping[str, Any] | None = None,
    lockstep: int = 1,
    workers: int = 1,
    flush: Literal["event", "episode"] = "event",
    fsync: bool = False,
    resume: bool = True,
    progress: bool = False,
    max_steps: int | None = None,
    max_log_bytes: int | None = None,
) -> list[EpisodeResult]:
    """Validate ``scenario``, then play ``episodes`` episodes (indices 0..n-1), ``lockstep`` at a time.
    Writes ``out_dir/run_summary.json``.

    With ``workers=1`` one policy set plays every episode, so LLM memory carries across them.
    With ``workers=W > 1`` the episodes are shared out to W processes in chunks of ``lockstep``
    (each chunk with fresh policies), so a job uses W cores; logs are the same either way
    except for memory carried between episodes (in-process memory starts empty in each chunk;
    a memory file is shared, and an episode reads what other processes' episodes had finished
    when it started, recorded in its header). ``llm`` gives defaults for LLM seats
    (``model``, ``params``, ...); ``max_steps`` and ``max_log_bytes`` are each episode's budget
    (see :class:`EpisodeRunner`). ``progress`` shows progress on stderr: a live bar on a
    terminal, otherwise a plain line every 15 seconds (see :mod:`alignsim.progress`).
    """
    spec = _as_spec(scenario)
    if episodes < 1:
        raise ConfigError("episodes", f"must be at least 1, got {episodes}")
    if workers < 1:
        raise ConfigError("workers", f"must be at least 1, got {workers}")
    for name, value in (("episodes", episodes), ("lockstep", lockstep), ("workers", workers)):
        if value > RUN_LIMITS[name]:
            raise ConfigError(name, f"must be at most {RUN_LIMITS[name]:,}, got {value:,} (see docs/limits.md)")
    budget = dict(config or {})
    check_run_budget(
        max_steps if max_steps is not None else budget.get("max_steps", DEFAULT_MAX_STEPS),
        max_log_bytes if max_log_bytes is not None else budget.get("max_log_bytes", DEFAULT_MAX_LOG_BYTES),
    )
    validate_scenario(spec, llm=llm)
    jobs = [(seed, index) for index in range(episodes)]
    options: dict[str, Any] = {
        "config": config,
        "llm": llm,
        "flush": flush,
        "fsync": fsync,
        "max_steps": max_steps,
        "max_log_bytes": max_log_bytes,
    }
    description = f"{spec.id} seed={seed}"
    if workers == 1:
        with (
            EpisodeRunner(spec, out_dir=out_dir, **options) as runner,
            EpisodeProgress(description, episodes, enabled=progress, live=runner.status) as bar,
        ):
            results = runner.run_many(
                jobs,
                resume=resume,
                lockstep=lockstep,
                on_result=lambda result: bar.add(result.summary, earlier=result.skipped),
            )
    else:
        from alignsim.workers import run_in_processes

        with EpisodeProgress(description, episodes, enabled=progress) as bar:
            results = run_in_processes(
                spec,
                jobs,
                out_dir,
                options,
                resume,
                lockstep,
                workers,
                lambda result: bar.add(result.summary, earlier=result.skipped),
            )
    rows = [msgspec.to_builtins(r.summary) | {"skipped": r.skipped} for r in results]
    write_atomic(Path(out_dir) / "run_summary.json", msgspec.json.format(msgspec.json.encode(rows), indent=2))
    return results
