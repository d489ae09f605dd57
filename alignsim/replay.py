"""Replay and rerun: play a logged episode again and check that it comes out the same.

``replay`` re-drives the env from a log's actions, with no policy, and raises
:class:`~alignsim.errors.ReplayMismatchError` at the first observation or event that
differs. ``rerun`` plays the episode again with its policies (seats rebuilt by
:mod:`alignsim.seats`), every model call answered from the log, and compares the new log
with the old one event for event.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec

from alignsim import envs
from alignsim.envs.base import as_game
from alignsim.errors import AlignsimError, ConfigError, IllegalActionError, LogFormatError, ReplayMismatchError, clip
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.scenarios import ScenarioSpec
from alignsim.seats import EPISODES_DIR, logged_seats, snapshot_dir

__all__ = ["ReplayReport", "RerunReport", "replay", "rerun"]


@dataclass
class ReplayReport:
    """What ``replay`` checked."""

    episode_id: str
    steps: int
    events: int
    digests: int
    warnings: list[str] = field(default_factory=list)


def replay(log_path: str | os.PathLike[str]) -> ReplayReport:
    """Re-drive the env from the log's actions with no policy and compare everything.

    Checks, in order: the acting agent at every step, the digest of the observation it
    acted on, and every env event (content and order). Raises ``ReplayMismatchError`` at
    the first difference, naming the step.
    """
    log = read_log(log_path)
    header = log.header
    env = _env_of_header(log_path, header)
    env.reset(seed=header.seeds["env"])
    game = as_game(env)
    produced = game.drain_events()
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
        digest = game.observation_digest(event.agent)
        if digest != event.obs_digest:
            raise ReplayMismatchError(
                f"step {event.step}: observation of {event.agent} differs (digest {digest}, logged {event.obs_digest})"
            )
        digests += 1
        try:
            env.step(event.action)
        except (IllegalActionError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise ReplayMismatchError(
                f"step {event.step}: the env refuses the logged action of {event.agent}: {clip(str(exc))}"
            ) from None
        steps += 1
        produced.extend(game.drain_events())
    expected = [msgspec.structs.replace(e, seq=-1) for e in log.events if e.source == "env"]
    for index, (want, got) in enumerate(zip(expected, produced, strict=False)):
        if want != got:
            raise ReplayMismatchError(
                f"env event {index} (step {want.step}) differs:\n  logged:   {clip(repr(want))}\n"
                f"  replayed: {clip(repr(got))}"
            )
    if len(expected) != len(produced):
        complete = log.end is not None
        if complete or len(produced) < len(expected):
            raise ReplayMismatchError(f"the log has {len(expected)} env events, replay produced {len(produced)}")
    end = log.end
    if end is not None and end.status != "failed":
        winner = game.winner
        if winner != end.winner:
            raise ReplayMismatchError(f"winner differs: logged {end.winner}, replayed {winner}")
    env.close()
    return ReplayReport(header.episode_id, steps, len(expected), digests, list(log.warnings))


def _env_of_header(log_path: str | os.PathLike[str], header: ev.Header) -> Any:
    """The env a log's header describes; a header naming an unknown env or invalid
    parameters is a :class:`~alignsim.errors.LogFormatError` naming the file."""
    try:
        return envs.make(header.env_id, **header.env_kwargs)
    except (ConfigError, KeyError, TypeError) as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        env_id = clip(header.env_id, 80)
        raise LogFormatError(f"{log_path}: header: cannot build env {env_id}: {clip(message)}") from None


@dataclass
class RerunReport:
    """What ``rerun`` checked."""

    episode_id: str
    log_path: Path
    events: int
    llm_calls: int


def rerun(log_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> RerunReport:
    """Play a logged episode again with its policies, answering every model call from the log.

    No model is loaded: LLM seats get a :class:`~alignsim.agents.llm.wrappers.ReplayBackend`
    built from the log's ``llm_call`` events. The new log must equal the old one event for
    event (the header may differ only in ``created_at``); otherwise ``ReplayMismatchError``.
    Policies start from the memory the episode started with: the snapshots the runner saved
    in ``<run>/memory/`` (by digest) when it was not empty, loaded into an in-process memory
    (nothing outside ``out_dir`` is written). The recorded digests must match.
    """
    from alignsim.agents.llm.wrappers import ReplayBackend
    from alignsim.run import EpisodeRunner

    log = read_log(log_path)
    header = log.header
    if "scenario" not in header.config:
        raise ReplayMismatchError("the header's config has no scenario to play again")
    target = Path(out_dir) / EPISODES_DIR / Path(log_path).name
    if target.exists() and target.resolve() == Path(log_path).resolve():
        # The runner would set the recorded log aside to write the new one in its place.
        raise ConfigError("out_dir", f"{out_dir} holds the log being re-run; re-run into another folder")
    calls = log.of_type(ev.LLMCall)
    replayers: dict[str, ReplayBackend] = {}

    def replayer_for(key: str, kwargs: Any, model: str) -> ReplayBackend:
        # One per model: in cross-play each seat's calls (and the model id they log) are its
        # own model's; a seat whose model made no call (it never spoke) gets every call.
        if model not in replayers:
            own = [call for call in calls if call.model == model]
            replayers[model] = ReplayBackend(own or calls, model_id=model)
        return replayers[model]

    seating, policies = logged_seats(log_path, header, replayer_for)
    scenario = ScenarioSpec.from_dict(header.config["scenario"])
    scenario = dataclasses.replace(scenario, seating=MappingProxyType(seating))
    try:
        with EpisodeRunner(scenario, out_dir=out_dir, policies=policies, config=header.config) as runner:
            result = runner.run(seed=header.seed, episode_index=header.episode_index, resume=False)
    except ReplayMismatchError:
        raise
    except AlignsimError as exc:
        raise ReplayMismatchError(f"the rerun stopped: {exc}") from exc
    finally:
        for policy in policies.values():
            policy.close()
    fresh = read_log(result.log_path)
    if fresh.header.memory != header.memory:
        raise ReplayMismatchError(
            "the policies' memory at the start of this episode differs from the recorded one "
            f"(its snapshots in {snapshot_dir(log_path)} do not rebuild it)"
        )
    old = [msgspec.json.encode(e) for e in log.events]
    new = [msgspec.json.encode(e) for e in fresh.events]
    for index, (a, b) in enumerate(zip(old, new, strict=False)):
        if a != b:
            raise ReplayMismatchError(
                f"event {index} differs:\n  logged: {clip(a.decode())}\n  rerun:  {clip(b.decode())}"
            )
    if len(old) != len(new):
        raise ReplayMismatchError(f"the log has {len(old)} events, the rerun produced {len(new)}")
    recorded_header = msgspec.structs.replace(header, created_at="")
    if msgspec.structs.replace(fresh.header, created_at="") != recorded_header:
        raise ReplayMismatchError("the rerun's header differs from the recorded one beyond created_at")
    return RerunReport(header.episode_id, result.log_path, len(new), len(log.of_type(ev.LLMCall)))
