"""The runner: build a scenario, seat the policies, play, and write the episode log.

``run_episode`` plays one episode; ``run`` plays several with derived seeds and skips
episodes whose summary (the done marker, written last) already exists, so relaunching a
run resumes it. ``replay`` re-drives the env from a log's actions, with no policy, and
raises :class:`~alignsim.errors.ReplayMismatchError` at the first observation or event
that differs.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np

from alignsim import agents, envs, scenarios
from alignsim.agents.policy import Decision, Policy
from alignsim.agents.scripted.random_legal import random_legal_action
from alignsim.errors import AlignsimError, ConfigError, IllegalActionError, ReplayMismatchError
from alignsim.record import EpisodeWriter, read_log, summary_path, write_atomic, write_summary
from alignsim.record import schema as ev
from alignsim.scenarios import ScenarioSpec, resolve_seating

__all__ = [
    "EpisodeResult",
    "ReplayReport",
    "derive_seeds",
    "encode_action",
    "episode_id_for",
    "replay",
    "run",
    "run_episode",
    "validate_scenario",
]

EPISODES_DIR = "episodes"


@dataclass
class EpisodeResult:
    """What one episode produced."""

    episode_id: str
    log_path: Path
    summary: ev.Summary
    skipped: bool = False
    """True when a finished episode was found on disk and not run again."""


@dataclass
class ReplayReport:
    """What ``replay`` checked."""

    episode_id: str
    steps: int
    events: int
    digests: int
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ helpers


_PLAIN = (int, str, float, bool, type(None))


def encode_action(action: Any) -> Any:
    """An action in plain JSON types (numpy arrays become lists)."""
    kind = type(action)
    if kind is dict:
        return {str(k): v if type(v) in _PLAIN else encode_action(v) for k, v in action.items()}
    if kind is np.ndarray:
        return action.tolist()
    if kind in _PLAIN:
        return action
    if isinstance(action, Mapping):
        return {str(k): encode_action(v) for k, v in action.items()}
    if isinstance(action, np.ndarray):
        return action.tolist()
    if isinstance(action, np.generic):
        return action.item()
    if isinstance(action, list | tuple):
        return [encode_action(v) for v in action]
    return action


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


@functools.cache
def _provenance() -> tuple[dict[str, str], dict[str, Any] | None]:
    versions = {"python": sys.version.split()[0]}
    for package in ("alignsim", "pettingzoo", "gymnasium", "numpy", "msgspec", "hydra-core"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    git = None
    source = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        git = {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        pass
    return versions, git


def _as_spec(scenario: ScenarioSpec | str | Mapping[str, Any]) -> ScenarioSpec:
    if isinstance(scenario, ScenarioSpec):
        return scenario
    if isinstance(scenario, str):
        return scenarios.get(scenario)
    return ScenarioSpec.from_dict(scenario)


def validate_scenario(scenario: ScenarioSpec) -> None:
    """Fail fast, before any episode runs: env id, env parameters, policy names and arguments."""
    try:
        env_spec = envs.spec(scenario.env_id)
    except KeyError as exc:
        raise ConfigError("scenario.env_id", str(exc)) from None
    try:
        env = envs.make(scenario.env_id, **scenario.env_kwargs)
    except ConfigError as exc:
        raise ConfigError(f"scenario.env_kwargs.{exc.field}", str(exc).split(": ", 1)[1]) from None
    env.close()
    family = env_spec.id.rsplit("-v", 1)[0]
    for key, seat in scenario.seating.items():
        try:
            policy = agents.make(seat.policy, **seat.kwargs)
        except KeyError as exc:
            raise ConfigError(f"scenario.seating.{key}.policy", str(exc)) from None
        except ConfigError as exc:
            raise ConfigError(f"scenario.seating.{key}.kwargs", str(exc)) from None
        supported = getattr(policy, "supported_envs", None)
        if supported is not None and family not in supported:
            raise ConfigError(
                f"scenario.seating.{key}.policy",
                f"policy {seat.policy!r} plays {', '.join(supported)}, not {family}",
            )
        policy.close()


def _observation_digest(env: Any, agent: str) -> str:
    unwrapped = env.unwrapped
    if hasattr(unwrapped, "observation_digest"):
        return unwrapped.observation_digest(agent)
    encoded = msgspec.msgpack.encode(encode_action(env.observe(agent)))
    return hashlib.blake2b(encoded, digest_size=8).hexdigest()


def _drain(env: Any) -> list[ev.Event]:
    unwrapped = env.unwrapped
    return unwrapped.drain_events() if hasattr(unwrapped, "drain_events") else []


# ------------------------------------------------------------------ running


def run_episode(
    scenario: ScenarioSpec | str | Mapping[str, Any],
    *,
    seed: int = 0,
    episode_index: int = 0,
    out_dir: str | os.PathLike[str] = "runs",
    policies: Mapping[str, Policy] | None = None,
    config: Mapping[str, Any] | None = None,
    flush: Literal["event", "episode"] = "event",
    resume: bool = True,
) -> EpisodeResult:
    """Play one episode of ``scenario`` and write its log under ``out_dir/episodes/``.

    Args:
        scenario: a spec, a registered id, or the spec as plain data.
        seed: the master seed; with ``episode_index`` it determines every random draw.
        policies: ready policy objects per seating key, reused across episodes (so an
            agent's memory can carry over); built from the seating when absent.
        config: the resolved run configuration, recorded in the header.
        resume: return the existing result when this episode already finished in ``out_dir``.
    """
    spec = _as_spec(scenario)
    episode_id = episode_id_for(spec, seed, episode_index)
    log_path = Path(out_dir) / EPISODES_DIR / f"{episode_id}.jsonl"
    done = summary_path(log_path)
    if resume and done.exists():
        summary = msgspec.json.decode(done.read_bytes(), type=ev.Summary)
        if summary.status != "failed":
            return EpisodeResult(episode_id, log_path, summary, skipped=True)
    stamp = int(time.time() * 1000)
    for stale in (log_path, done):
        # An unfinished or failed earlier attempt: keep it for inspection, never count it.
        if stale.exists():
            stale.rename(stale.with_name(f".{stale.name}.attempt-{stamp}"))

    started = time.perf_counter()
    env = envs.make(spec.env_id, **spec.env_kwargs)
    unwrapped = env.unwrapped
    seeds_groups = sorted(spec.seating)
    seeds = derive_seeds(seed, episode_index, seeds_groups)
    env.reset(seed=seeds["env"])
    roles: dict[str, str] = dict(getattr(unwrapped, "roles", {}) or {})
    seat_of = resolve_seating(spec.seating, list(env.possible_agents), roles)
    owned = policies is None
    group_policies: dict[str, Policy] = dict(policies or {})
    for key in set(seat_of.values()):
        if key not in group_policies:
            seat = spec.seating[key]
            group_policies[key] = agents.make(seat.policy, **seat.kwargs)
    for key, policy in group_policies.items():
        members = [a for a in env.possible_agents if seat_of[a] == key]
        if members:
            policy.reset(members, seed=seeds[f"policy:{key}"], env_id=spec.env_id)
    policy_of = {agent: group_policies[key] for agent, key in seat_of.items()}

    versions, git = _provenance()
    header = ev.Header(
        episode_id=episode_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        scenario=spec.id,
        env_id=envs.spec(spec.env_id).id,
        env_kwargs=encode_action(dict(spec.env_kwargs)),
        seed=int(seed),
        episode_index=int(episode_index),
        seeds=seeds,
        seating={
            agent: ev.SeatRecord(
                policy=policy_of[agent].name,
                kwargs=encode_action(dict(spec.seating[seat_of[agent]].kwargs)),
                role=seat_of[agent],
                model=getattr(policy_of[agent], "model_id", None),
            )
            for agent in env.possible_agents
        },
        config=encode_action(dict(config)) if config is not None else {"scenario": spec.to_dict(), "seed": seed},
        versions=versions,
        git=git,
        python=sys.version.split()[0],
        platform=platform.platform(),
    )
    fallback_rng = random.Random(seeds["fallback"])
    writer = EpisodeWriter(log_path, header, flush=flush)
    eliminations: list[dict[str, Any]] = []
    totals: dict[str, float] = dict.fromkeys(env.possible_agents, 0.0)
    steps = 0

    def record(events: list[ev.Event]) -> None:
        for event in events:
            writer.write(event)
            if isinstance(event, ev.Elimination):
                eliminations.append({"round": event.round, "target": event.target, "cause": event.cause,
                                     "role": event.revealed_role})

    try:
        record(_drain(env))
        batch_of = getattr(unwrapped, "simultaneous_agents", None)
        while env.agents:
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
                continue
            # ---- gather every agent that acts now on unchanged observations, batch per policy
            batch = batch_of() if batch_of is not None else [agent]
            observations = {a: env.observe(a) for a in batch}
            digests = {a: _observation_digest(env, a) for a in batch}
            actions: dict[str, Any] = {}
            by_policy: dict[int, list[str]] = {}
            for a in batch:
                by_policy.setdefault(id(policy_of[a]), []).append(a)
            for members in by_policy.values():
                policy = policy_of[members[0]]
                decisions = [Decision(a, observations[a], env.action_space(a)) for a in members]
                actions.update(zip(members, policy.act_batch(decisions), strict=True))
            # ---- apply them in the env's order
            for a in batch:
                if env.agent_selection != a:
                    raise AlignsimError(f"env selected {env.agent_selection} but {a} was batched to act")
                action = encode_action(actions[a])
                try:
                    env.step(action)
                except IllegalActionError as exc:
                    fallback = encode_action(
                        random_legal_action(env.action_space(a), observations[a].get("action_mask"), fallback_rng)
                    )
                    writer.write(ev.InvalidAction(agent=a, policy=policy_of[a].name, reason=str(exc), raw=action,
                                                  fallback="random_legal", step=steps))
                    action = fallback
                    env.step(action)
                steps += 1
                writer.write(ev.Action(agent=a, action=action, obs_digest=digests[a], policy=policy_of[a].name,
                                       step=steps))
                record(_drain(env))
                if any(env.rewards.values()):
                    rewards = {k: float(v) for k, v in env.rewards.items() if v}
                    for k, v in rewards.items():
                        totals[k] += v
                    writer.write(ev.Reward(rewards=rewards, step=steps))
        winner = getattr(unwrapped, "winner", None)
        status: Literal["completed", "truncated", "failed"] = "completed" if winner is not None else "truncated"
        writer.write(ev.EpisodeEnd(status=status, winner=winner, steps=steps, step=steps))
        error = None
    except Exception as exc:
        status, winner, error = "failed", None, f"{type(exc).__name__}: {exc}"
        writer.write(ev.EpisodeEnd(status="failed", steps=steps, error=error, step=steps))
        writer.close()
        _finish_summary(log_path, writer, spec, seed, episode_index, status, winner, unwrapped, steps,
                        eliminations, totals, started, error)
        raise
    finally:
        writer.close()
        if owned:
            for policy in group_policies.values():
                policy.close()
        env.close()
    summary = _finish_summary(log_path, writer, spec, seed, episode_index, status, winner, unwrapped, steps,
                              eliminations, totals, started, error)
    return EpisodeResult(episode_id, log_path, summary)


def _finish_summary(log_path: Path, writer: EpisodeWriter, spec: ScenarioSpec, seed: int, episode_index: int,
                    status: Any, winner: str | None, unwrapped: Any, steps: int, eliminations: list[dict[str, Any]],
                    totals: dict[str, float], started: float, error: str | None) -> ev.Summary:
    summary = ev.Summary(
        episode_id=log_path.name.removesuffix(".jsonl"),
        scenario=spec.id,
        seed=int(seed),
        episode_index=int(episode_index),
        status=status,
        winner=winner,
        rounds=int(getattr(unwrapped, "round", 0)),
        steps=steps,
        n_events=writer.n_events,
        eliminations=eliminations,
        rewards=totals,
        duration_s=round(time.perf_counter() - started, 4),
        error=error,
        log_path=str(log_path),
    )
    write_summary(log_path, summary)
    return summary


def run(
    scenario: ScenarioSpec | str | Mapping[str, Any],
    *,
    seed: int = 0,
    episodes: int = 1,
    out_dir: str | os.PathLike[str] = "runs",
    config: Mapping[str, Any] | None = None,
    flush: Literal["event", "episode"] = "event",
    resume: bool = True,
    progress: bool = False,
) -> list[EpisodeResult]:
    """Validate ``scenario``, then play ``episodes`` episodes (indices 0..n-1) with one policy
    set whose state carries across episodes. Writes ``out_dir/run_summary.json`` at the end."""
    spec = _as_spec(scenario)
    if episodes < 1:
        raise ConfigError("episodes", f"must be at least 1, got {episodes}")
    validate_scenario(spec)
    policies = {key: agents.make(seat.policy, **seat.kwargs) for key, seat in spec.seating.items()}
    results: list[EpisodeResult] = []
    iterator: Any = range(episodes)
    if progress:
        from rich.progress import track

        iterator = track(iterator, description=f"{spec.id} seed={seed}", total=episodes)
    try:
        for index in iterator:
            results.append(
                run_episode(spec, seed=seed, episode_index=index, out_dir=out_dir, policies=policies,
                            config=config, flush=flush, resume=resume)
            )
    finally:
        for policy in policies.values():
            policy.close()
    rows = [msgspec.to_builtins(r.summary) | {"skipped": r.skipped} for r in results]
    write_atomic(Path(out_dir) / "run_summary.json", msgspec.json.format(msgspec.json.encode(rows), indent=2))
    return results


# ------------------------------------------------------------------ replay


def replay(log_path: str | os.PathLike[str]) -> ReplayReport:
    """Re-drive the env from the log's actions with no policy and compare everything.

    Checks, in order: the acting agent at every step, the digest of the observation it
    acted on, and every env event (content and order). Raises ``ReplayMismatchError`` at
    the first difference, naming the step.
    """
    log = read_log(log_path)
    header = log.header
    env = envs.make(header.env_id, **header.env_kwargs)
    env.reset(seed=header.seeds["env"])
    produced = _drain(env)
    digests = 0
    steps = 0
    for event in log.events:
        if not isinstance(event, ev.Action):
            continue
        while env.agents and (env.terminations[env.agent_selection] or env.truncations[env.agent_selection]):
            env.step(None)
        if not env.agents:
            raise ReplayMismatchError(f"step {event.step}: the log has an action by {event.agent} after the game ended")
        if env.agent_selection != event.agent:
            raise ReplayMismatchError(
                f"step {event.step}: the env selected {env.agent_selection}, the log says {event.agent} acted"
            )
        digest = _observation_digest(env, event.agent)
        if digest != event.obs_digest:
            raise ReplayMismatchError(
                f"step {event.step}: observation of {event.agent} differs (digest {digest}, logged {event.obs_digest})"
            )
        digests += 1
        env.step(event.action)
        steps += 1
        produced.extend(_drain(env))
    expected = [msgspec.structs.replace(e, seq=-1) for e in log.events if e.source == "env"]
    for index, (want, got) in enumerate(zip(expected, produced, strict=False)):
        if want != got:
            raise ReplayMismatchError(
                f"env event {index} (step {want.step}) differs:\n  logged:   {want}\n  replayed: {got}"
            )
    if len(expected) != len(produced):
        complete = log.end is not None
        if complete or len(produced) < len(expected):
            raise ReplayMismatchError(
                f"the log has {len(expected)} env events, replay produced {len(produced)}"
            )
    end = log.end
    if end is not None and end.status != "failed":
        winner = getattr(env.unwrapped, "winner", None)
        if winner != end.winner:
            raise ReplayMismatchError(f"winner differs: logged {end.winner}, replayed {winner}")
    env.close()
    return ReplayReport(header.episode_id, steps, len(expected), digests, list(log.warnings))
