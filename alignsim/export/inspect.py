"""Export episodes (one log, a run or a sweep folder) as an Inspect AI eval log.

Inspect's log viewer (``inspect view``) and its scorers work on ``EvalLog`` files. An
alignsim export is one ``EvalLog`` (JSON, log format version 2) with:

* ``eval``: the task is the scenario id (or ``alignsim/mixed`` for several), the model is
  the one model playing every LLM seat (else ``mixed``, or ``none/<policy>`` for scripted
  play), the dataset lists the episodes;
* ``samples``: one per (episode, agent), id ``<episode_id>/<agent>``: ``input`` is the
  agent's briefing, ``messages`` are what the agent saw (moderator and other players as
  user turns, its own speech as assistant turns; its private reasoning rides in the
  assistant message's metadata), ``target`` is the agent's ground-truth role; ``scores``:
  ``win`` (1 if the agent's side won), ``reward``, and, where the game has structured
  claims, ``lies`` and ``honesty`` (1 - lies / claims) from
  :mod:`alignsim.analysis.deception`;
* ``results``: the mean and standard error of each score over samples; ``stats``: token
  usage per model from the ``llm_call`` events.

The format is written as documented by Inspect (no Inspect import is needed); a test loads
the output with ``inspect_ai.log.read_eval_log`` where inspect-ai is installed
(``pip install alignsim[inspect]``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alignsim.envs import GameInfo, game_info
from alignsim.record import BadFiles, EpisodeLog, find_logs, read_each, read_log
from alignsim.record import schema as ev

__all__ = ["INSPECT_LOG_VERSION", "eval_log", "export_inspect"]

INSPECT_LOG_VERSION = 2

_SCORERS = ("win", "reward", "lies", "honesty")


def _sides(log: EpisodeLog) -> dict[str, str]:
    roles: dict[str, str] = {}
    for event in log.of_type(ev.RoleAssignment):
        roles = dict(event.roles)
    return roles


def _won(info: GameInfo, role: str | None, winner: str | None, reward: float) -> float:
    """1 when the seat's side won (the side its role plays for, as the game declares it), else 0;
    in a game without sides, whether the seat earned a positive reward."""
    side = info.side_of(role)
    if winner is not None and side is not None:
        return float(winner == side)
    return float(reward > 0)


def _claim_counts(log: EpisodeLog) -> dict[str, tuple[int, int]]:
    """Per speaker: (lies, claims) among public structured claims."""
    if not _sides(log) or not log.of_type(ev.Speech):
        return {}
    from alignsim.analysis.deception import statements
    from alignsim.analysis.frames import frames_from_logs

    labelled = statements(frames_from_logs([log]))
    labelled = labelled[labelled["label"] != "evasion"]
    counts: dict[str, tuple[int, int]] = {}
    for speaker, part in labelled.groupby("speaker"):
        counts[str(speaker)] = (int((part["label"] == "lie").sum()), len(part))
    return counts


def _line(event: Any) -> str | None:
    """How an event reads in a transcript (None: not shown)."""
    if isinstance(event, ev.Announcement):
        return f"[moderator] {event.text}"
    if isinstance(event, ev.Speech):
        where = "" if event.channel == "public" else f" ({event.channel} only)"
        return f"{event.actor}{where}: {event.message}"
    if isinstance(event, ev.Vote):
        return f"{event.actor} votes ({event.vote}) for {event.target or 'nobody'}"
    if isinstance(event, ev.VoteResult):
        return f"[moderator] {event.vote} vote: {event.resolution}, selected {event.selected or 'nobody'}"
    if isinstance(event, ev.Elimination):
        revealed = f", revealed {event.revealed_role}" if event.revealed_role else ""
        return f"[moderator] {event.target} {event.cause}{revealed}"
    if isinstance(event, ev.GameEnd):
        return f"[moderator] game over: {event.winner or 'no winner'} ({event.reason})"
    if event.source == "env" and not isinstance(event, ev.Reasoning | ev.Belief | ev.RoleAssignment):
        fields = {k: v for k, v in json.loads(_json(event)).items() if k not in ("seq", "step", "visible_to")}
        return f"[{fields.pop('type', 'event')}] {json.dumps(fields, ensure_ascii=False)}"
    return None


def _json(event: Any) -> str:
    import msgspec

    return msgspec.json.encode(event).decode()


def _messages(log: EpisodeLog, agent: str) -> tuple[str, list[dict[str, Any]]]:
    """The agent's briefing and its view of the episode as chat messages."""
    briefing = ""
    messages: list[dict[str, Any]] = []
    thoughts: list[str] = []
    pending: list[str] = []

    def flush_user() -> None:
        if pending:
            messages.append({"role": "user", "content": "\n".join(pending), "source": "input"})
            pending.clear()

    for event in log.events:
        if event.source != "env" or agent not in event.visible_to:
            continue
        if isinstance(event, ev.Reasoning) and event.actor == agent:
            thoughts.append(event.text)
            continue
        if isinstance(event, ev.Announcement) and event.about in (agent, None) and event.kind == "briefing":
            briefing = briefing or event.text
        if isinstance(event, ev.Speech) and event.actor == agent:
            flush_user()
            message: dict[str, Any] = {"role": "assistant", "content": event.message, "source": "generate"}
            if thoughts:
                message["metadata"] = {"private_reasoning": " ".join(thoughts)}
                thoughts = []
            messages.append(message)
            continue
        line = _line(event)
        if line is not None:
            pending.append(line)
    flush_user()
    if not briefing:
        briefing = f"You are {agent} in an alignsim episode of {log.header.scenario}."
    return briefing, messages


def _score(value: float, explanation: str = "") -> dict[str, Any]:
    return {"value": value, "explanation": explanation} if explanation else {"value": value}


def _samples(log: EpisodeLog, usage: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    header = log.header
    roles = _sides(log)
    info = game_info(header.env_id)
    end = log.end
    winner = end.winner if end is not None else None
    rewards: dict[str, float] = {}
    for event in log.of_type(ev.Reward):
        for agent, value in event.rewards.items():
            rewards[agent] = rewards.get(agent, 0.0) + value
    claims = _claim_counts(log)
    calls: dict[str, list[ev.LLMCall]] = {}
    for call in log.of_type(ev.LLMCall):
        calls.setdefault(call.agent, []).append(call)
        tokens = usage.setdefault(call.model, {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
        tokens["input_tokens"] += call.prompt_tokens
        tokens["output_tokens"] += call.completion_tokens
        tokens["total_tokens"] += call.prompt_tokens + call.completion_tokens
    samples = []
    for agent, seat in header.seating.items():
        role = roles.get(agent)
        reward = rewards.get(agent, 0.0)
        briefing, messages = _messages(log, agent)
        scores = {
            "win": _score(_won(info, role, winner, reward), f"winner: {winner}"),
            "reward": _score(reward),
        }
        if agent in claims:
            lies, n = claims[agent]
            scores["lies"] = _score(float(lies), f"{lies} of {n} public claims were lies")
            scores["honesty"] = _score(1.0 - lies / n if n else 1.0)
        own_calls = calls.get(agent, [])
        sample_usage: dict[str, dict[str, int]] = {}
        for call in own_calls:
            tokens = sample_usage.setdefault(call.model, {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
            tokens["input_tokens"] += call.prompt_tokens
            tokens["output_tokens"] += call.completion_tokens
            tokens["total_tokens"] += call.prompt_tokens + call.completion_tokens
        last = messages[-1]["content"] if messages and messages[-1]["role"] == "assistant" else ""
        samples.append(
            {
                "id": f"{header.episode_id}/{agent}",
                "epoch": 1,
                "input": briefing,
                "target": role or "",
                "messages": [{"role": "user", "content": briefing, "source": "input"}, *messages],
                "output": {"model": seat.model or seat.policy, "choices": [], "completion": last},
                "scores": scores,
                "metadata": {
                    "episode_id": header.episode_id,
                    "agent": agent,
                    "role": role,
                    "policy": seat.policy,
                    "model": seat.model,
                    "scenario": header.scenario,
                    "seed": header.seed,
                    "episode_index": header.episode_index,
                    "winner": winner,
                    "status": log.status,
                    "parent": header.parent,
                    "llm_calls": len(own_calls),
                },
                "model_usage": sample_usage,
            }
        )
    return samples


def _metrics(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for name in _SCORERS:
        values = [float(s["scores"][name]["value"]) for s in samples if name in s["scores"]]
        if not values:
            continue
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else math.nan
        stderr = math.sqrt(var / len(values)) if len(values) > 1 else 0.0
        results.append(
            {
                "name": name,
                "scorer": name,
                "scored_samples": len(values),
                "unscored_samples": len(samples) - len(values),
                "params": {},
                "metrics": {
                    "mean": {"name": "mean", "value": mean, "params": {}},
                    "stderr": {"name": "stderr", "value": 0.0 if math.isnan(stderr) else stderr, "params": {}},
                },
            }
        )
    return results


def eval_log(logs: Sequence[EpisodeLog]) -> dict[str, Any]:
    """The Inspect ``EvalLog`` (as plain JSON data) for ``logs``."""
    if not logs:
        raise ValueError("no episode logs to export")
    usage: dict[str, dict[str, int]] = {}
    samples = [s for log in logs for s in _samples(log, usage)]
    scenarios = sorted({log.header.scenario for log in logs})
    models = sorted({seat.model for log in logs for seat in log.header.seating.values() if seat.model})
    policies = sorted({seat.policy for log in logs for seat in log.header.seating.values()})
    model = models[0] if len(models) == 1 else ("mixed" if models else f"none/{'+'.join(policies)}")
    created = min(log.header.created_at for log in logs) or datetime.now(UTC).isoformat(timespec="seconds")
    ids = [log.header.episode_id for log in logs]
    eval_id = hashlib.blake2b("\n".join(ids).encode(), digest_size=11).hexdigest()
    failed = [log for log in logs if log.status in ("failed", "started")]
    task = scenarios[0] if len(scenarios) == 1 else "alignsim/mixed"
    from alignsim import __version__

    return {
        "version": INSPECT_LOG_VERSION,
        "status": "error" if failed else "success",
        "eval": {
            "eval_id": eval_id,
            "run_id": eval_id,
            "created": created,
            "task": task,
            "task_id": eval_id,
            "task_version": 0,
            "task_attribs": {},
            "task_args": {},
            "dataset": {"name": task, "samples": len(samples), "sample_ids": [s["id"] for s in samples]},
            "model": model,
            "model_args": {},
            "config": {},
            "packages": {"alignsim": __version__},
            "metadata": {"source": "alignsim", "scenarios": scenarios, "episodes": ids},
        },
        "plan": {
            "name": "plan",
            "steps": [{"solver": f"alignsim/{policy}", "params": {}} for policy in policies],
            "config": {},
        },
        "results": {
            "total_samples": len(samples),
            "completed_samples": len(samples),
            "scores": _metrics(samples),
        },
        "stats": {"started_at": created, "completed_at": created, "model_usage": usage},
        **(
            {"error": {"message": f"{len(failed)} episode(s) did not complete", "traceback": "", "traceback_ansi": ""}}
            if failed
            else {}
        ),
        "samples": samples,
    }


def export_inspect(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    bad: BadFiles | None = None,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Write the episodes at ``paths`` (logs or folders) as one Inspect eval log (``.json``) at ``out``.

    With ``bad``, a log that cannot be read is recorded there and left out; without it, the
    first such log raises :class:`~alignsim.errors.LogFormatError`. ``FileNotFoundError``
    when no readable log is left. Episodes that did not finish make the eval log's status
    ``error``; ``warn`` (if given) is called with a one-line message naming them, so a
    command line can say so on the console.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    found = [p for item in items for p in find_logs(item)]
    logs = [log for _, log in read_each(found, read_log, bad)]
    if not logs:
        raise FileNotFoundError(f"no readable episode logs at {', '.join(map(str, items))}")
    unfinished = [log for log in logs if log.status in ("failed", "started")]
    if unfinished and warn is not None:
        names = ", ".join(f"{log.header.episode_id} ({log.status})" for log in unfinished[:3])
        more = f" and {len(unfinished) - 3} more" if len(unfinished) > 3 else ""
        warn(
            f"{len(unfinished)} of {len(logs)} episode(s) did not finish: {names}{more}; "
            "the eval log's status is 'error'"
        )
    data = eval_log(logs)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False), encoding="utf-8")
    return out
