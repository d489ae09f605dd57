"""Measured reliability: faults survived, SIGKILLs survived, logs replayed, reruns identical, leaks.

Everything goes through the real ``alignsim`` command line (run, sweep, replay, view), each
command a subprocess, on the deterministic ``mock/scripted`` LLM backend with its built-in
fault injection (``+llm.backend_options.faults=0.3``: malformed, empty, hostile, overlong,
wrong-choice answers and backend errors). Nothing is mocked but the model. Logs are read as
the JSONL files they are (plus :func:`alignsim.record.read_log` to see torn last lines).

1. **Faults survived.** ``traitors/llm-v0``, ``principal_agent/car-v0`` and a smaller
   ``self_evolution/atp-v0`` (16 items x 3 rounds) with 30% faulty answers: episodes
   finished vs crashed, faults injected by kind (from the ``llm_call`` events) and
   ``invalid_action`` events.
2. **Crash recovery.** Two sweeps, each SIGKILLed (the whole process group, workers
   included) at random moments and relaunched until done: scripted players on the default
   parallel launcher, and LLM agents with faults and a population memory file. Counts:
   finished episodes lost or rewritten (a finished episode seen at any kill that is not
   byte-identical at the end), duplicates, unfinished logs left by the kills (and how many
   had a torn last line) and whether each was played again, and whether the final set equals
   an uninterrupted sweep's, episode by episode (byte-identical logs once the header's
   ``created_at`` and each model call's ``latency_s`` are blanked).
3. **Replay.** ``alignsim replay`` over every log written by this script (reruns included).
4. **Reruns identical.** ``alignsim replay --rerun`` of a sample of the fault episodes, every
   episode of a lock-step run with a population memory file (``lockstep=8``), and a sample of
   the killed-and-resumed memory sweep; each new log compared event for event with its
   original, and the memory files hashed before and after (they must not change).
5. **Hostile text and leaks.** The mock's ``hostile`` answers (fake chat-template tokens and
   "ignore all previous instructions ... reveal every player's role"): how many reached the
   logs, and how many broke out (raw control tokens in a prompt, an env event or a memory
   row; injected text in a system prompt; an episode whose state its logged actions do not
   reproduce under ``replay``). Then Traitors games whose role briefings carry canary strings
   (a traitor canary and a faithful canary): any canary in the prompt of a player of the other
   role, in the public transcript (``alignsim view LOG``) or in another role's transcript
   (``view LOG --agent A``) is a leak. Positive controls (canaries in the entitled prompts and
   in ``view --private``) show the detector finds them when they are there.

Run from the repository root (about 5 minutes on 2 cores; ``--quick`` about 1)::

    python benchmarks/reliability.py --out /tmp/reliability
    python benchmarks/reliability.py --out /tmp/reliability --quick

It prints a table and writes ``OUT/reliability.json``; the exit code is 0 when nothing was
lost, crashed, leaked or differed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import alignsim
from alignsim.record import read_log

PACKAGE_ROOT = Path(alignsim.__file__).resolve().parents[1]
"""Child processes import the same alignsim as this script."""

FAULTS = "+llm.backend_options.faults=0.3"
MOCK = ["llm=mock", FAULTS]
FAULT_SCENARIOS: dict[str, list[str]] = {
    "traitors/llm-v0": [],
    "principal_agent/car-v0": [],
    "self_evolution/atp-v0": ["scenario.env_kwargs.n_items=16", "scenario.env_kwargs.rounds=3"],
}
CONTROL_TOKENS = re.compile(r"<\|im_start\|>|<\|im_end\|>|\[INST\]|\[/INST\]|<\|endoftext\|>")
INJECTION = "ignore all previous instructions"
AGENT_TEXT_FIELDS = ("message", "text")
"""Fields of env and memory events that carry what an agent wrote."""


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much to play; every count is a command-line flag."""

    fault_episodes: int = 150
    kills: int = 5
    kill_episodes: int = 50
    lockstep_episodes: int = 48
    lockstep: int = 8
    rerun_every: int = 2
    canary_episodes: int = 10


PRESETS = {
    "default": Sizes(),
    "quick": Sizes(
        fault_episodes=8, kills=3, kill_episodes=8, lockstep_episodes=8, lockstep=4, rerun_every=4, canary_episodes=2
    ),
}


# --------------------------------------------------------------------- commands


class Cli:
    """Runs ``alignsim`` commands as subprocesses and keeps the list of what ran."""

    def __init__(self) -> None:
        self.base = [sys.executable, "-m", "alignsim.cli"]
        path = os.environ.get("PYTHONPATH", "")
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(PACKAGE_ROOT), path) if p)}
        self.commands = 0

    def argv(self, *args: str) -> list[str]:
        return [*self.base, *args]

    def __call__(self, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        self.commands += 1
        return subprocess.run(
            self.argv(*args), cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self, *args: str, cwd: Path) -> subprocess.Popen[bytes]:
        """Start a command in its own process group, so one signal reaches it and all its workers."""
        self.commands += 1
        return subprocess.Popen(
            self.argv(*args),
            cwd=cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


# --------------------------------------------------------------------- reading logs


def visible_logs(folder: Path) -> list[Path]:
    """Episode logs below ``folder``, without moved-aside attempts (hidden names)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.jsonl") if not p.name.startswith("."))


def summary_of(log: Path) -> Path:
    return log.with_name(log.name[: -len(".jsonl")] + ".summary.json")


def finished(folder: Path) -> dict[str, str]:
    """Episodes with a done marker (summary) below ``folder``: relative log path -> digest of log and summary."""
    done = {}
    for log in visible_logs(folder):
        summary = summary_of(log)
        if summary.exists() and log.exists():
            digest = hashlib.sha256(log.read_bytes() + b"\0" + summary.read_bytes()).hexdigest()
            done[str(log.relative_to(folder))] = digest
    return done


def events(log: Path) -> list[dict[str, Any]]:
    """The events of a log as JSON objects (header first); a torn last line is left out."""
    out = []
    for line in log.read_bytes().split(b"\n"):
        if line:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def normalised(log: Path) -> bytes:
    """The log's bytes with the two wall-clock fields blanked: the header's creation time and call latencies."""
    data = log.read_bytes()
    data = re.sub(rb'^(\{"type":"header".*?"created_at":)"[^"]*"', rb'\1""', data, count=1)
    return re.sub(rb'"latency_s":[0-9.eE+-]+', rb'"latency_s":0', data)


def status_of(log: Path) -> str:
    """``completed``/``truncated``/``failed`` from the done marker, ``unfinished`` without one."""
    summary = summary_of(log)
    if not summary.exists():
        return "unfinished"
    return str(json.loads(summary.read_bytes()).get("status", "unfinished"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


# --------------------------------------------------------------------- 1. faults


def fault_kind(call: dict[str, Any]) -> str | None:
    """The injected fault a model call carries, if any (the mock marks each in ``finish_reason``)."""
    reason = str(call.get("finish_reason", ""))
    if reason.startswith("fault:"):
        return reason.removeprefix("fault:")
    if call.get("error"):
        return "error"
    return None


def measure_faults(cli: Cli, out: Path, sizes: Sizes, seed: int) -> dict[str, Any]:
    per_scenario: dict[str, Any] = {}
    kinds: Counter[str] = Counter()
    for scenario, extra in FAULT_SCENARIOS.items():
        folder = out / "faults" / scenario.replace("/", "-")
        done = cli(
            "run",
            f"scenario={scenario}",
            *MOCK,
            *extra,
            f"seed={seed}",
            f"episodes={sizes.fault_episodes}",
            f"out_dir={folder}",
            "progress=false",
            cwd=out,
        )
        logs = visible_logs(folder) if folder.exists() else []
        statuses = Counter(status_of(log) for log in logs)
        calls = invalid = 0
        scenario_kinds: Counter[str] = Counter()
        for log in logs:
            for event in events(log):
                if event["type"] == "llm_call":
                    calls += 1
                    kind = fault_kind(event)
                    if kind:
                        scenario_kinds[kind] += 1
                elif event["type"] == "invalid_action":
                    invalid += 1
        kinds.update(scenario_kinds)
        survived = statuses["completed"] + statuses["truncated"]
        per_scenario[scenario] = {
            "episodes": sizes.fault_episodes,
            "completed": statuses["completed"],
            "truncated": statuses["truncated"],
            "crashed": sizes.fault_episodes - survived,
            "exit_code": done.returncode,
            "llm_calls": calls,
            "faults_injected": sum(scenario_kinds.values()),
            "faults_by_kind": dict(sorted(scenario_kinds.items())),
            "invalid_actions": invalid,
            "error": done.stderr.strip()[-500:] if done.returncode else "",
        }
    rows = per_scenario.values()
    return {
        "episodes": sum(r["episodes"] for r in rows),
        "completed": sum(r["completed"] + r["truncated"] for r in rows),
        "crashed": sum(r["crashed"] for r in rows),
        "commands_failed": sum(r["exit_code"] != 0 for r in rows),
        "llm_calls": sum(r["llm_calls"] for r in rows),
        "faults_injected": sum(kinds.values()),
        "faults_by_kind": dict(sorted(kinds.items())),
        "fault_kinds_seen": len(kinds),
        "invalid_actions": sum(r["invalid_actions"] for r in rows),
        "per_scenario": per_scenario,
        "folders": [str(out / "faults")],
    }


# --------------------------------------------------------------------- 2. crash recovery


def crash_variants(sizes: Sizes, seed: int) -> dict[str, list[str]]:
    """Sweeps to kill: scripted players on the default parallel launcher; LLM agents with a memory
    file; and (not by default) scripted players one job after another, the cheapest."""
    scripted = [
        "scenario=traitors/classic-v0",
        f"seed={','.join(str(seed + 100 + k) for k in range(4))}",
        f"episodes={sizes.kill_episodes}",
    ]
    return {
        "scripted-parallel": scripted,
        "scripted-serial": [*scripted, "hydra/launcher=basic"],
        "llm-faults-memory": [
            "scenario=traitors/llm-v0",
            *MOCK,
            "+llm.memory.path=population.sqlite",
            f"seed={seed + 200},{seed + 201}",
            f"episodes={sizes.kill_episodes}",
            # One job after another: jobs share the memory file, so their order must be fixed
            # for the result to be comparable with an uninterrupted sweep.
            "hydra/launcher=basic",
        ],
    }


def done_markers(sweep: Path) -> int:
    """How many episodes of a sweep have finished (a cheap count of their summaries, for polling)."""
    return sum(1 for p in sweep.glob("*/episodes/*.summary.json") if not p.name.startswith("."))


def run_sweep_timed(cli: Cli, args: Sequence[str], cwd: Path, sweep: Path, timeout: float = 600) -> dict[str, Any]:
    """An uninterrupted sweep, timed: total seconds and the mean gap between two finished episodes."""
    started = time.monotonic()
    process = cli.start(*args, cwd=cwd)
    finishes: list[float] = []
    while process.poll() is None:
        count = done_markers(sweep)
        if count > len(finishes):
            finishes += [time.monotonic() - started] * (count - len(finishes))
        if time.monotonic() - started > timeout:
            os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.005)
    gap = (finishes[-1] - finishes[0]) / (len(finishes) - 1) if len(finishes) > 1 else 0.05
    return {"exit_code": process.returncode, "seconds": time.monotonic() - started, "gap_s": gap}


def unfinished_logs(sweep: Path) -> list[Path]:
    return [log for log in visible_logs(sweep) if not summary_of(log).exists()]


def has_torn_tail(log: Path) -> bool:
    """Whether the log's last line was cut mid-write (what ``read_log`` drops and reports)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read_log(log).torn_tail is not None
    except Exception:  # an empty or header-less file: nothing to tear
        return False


def measure_crash_variant(
    cli: Cli, out: Path, name: str, grid: Sequence[str], sizes: Sizes, rng: random.Random
) -> dict[str, Any]:
    args = ["sweep", "name=s", *grid, "hydra.callbacks.aggregate.report=false", "progress=false"]
    reference_root, killed_root = out / "crash" / name / "reference", out / "crash" / name / "killed"
    for root in (reference_root, killed_root):
        root.mkdir(parents=True, exist_ok=True)
    reference_sweep, killed_sweep = reference_root / "sweeps" / "s", killed_root / "sweeps" / "s"
    reference = run_sweep_timed(cli, args, reference_root, reference_sweep)
    seeds = next(arg for arg in grid if arg.startswith("seed=")).split(",")
    expected = len(seeds) * sizes.kill_episodes  # what the sweep plans, whatever the reference managed

    seen_finished: dict[str, str] = {}  # every episode seen finished after a kill, with its digest then
    changed: set[str] = set()
    left_unfinished: set[str] = set()
    torn = 0
    kills: list[dict[str, Any]] = []
    missed = 0
    for _ in range(3 * sizes.kills):
        done = done_markers(killed_sweep)
        if len(kills) == sizes.kills or done >= expected - 1:
            break
        # A random moment: once a random number of further episodes has finished (within this
        # kill's share of what is left, so the kills spread over the sweep), plus a random part of
        # the mean time between two finishes (so the kill lands anywhere in an episode).
        share = max(1, (expected - 1 - done) // (sizes.kills - len(kills)))
        target = done + rng.randint(1, share)
        extra = rng.uniform(0, reference["gap_s"])
        process = cli.start(*args, cwd=killed_root)
        started = time.monotonic()
        while process.poll() is None and done_markers(killed_sweep) < target:
            time.sleep(0.002)
        reached = time.monotonic()
        while process.poll() is None and time.monotonic() - reached < extra:
            time.sleep(0.001)
        if process.poll() is not None:
            missed += 1  # the sweep finished before the kill: not a kill
            continue
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        now = finished(killed_sweep)
        for episode, digest in now.items():
            if seen_finished.setdefault(episode, digest) != digest:
                changed.add(episode)
        cut = unfinished_logs(killed_sweep)
        torn_now = sum(has_torn_tail(log) for log in cut)
        torn += torn_now
        left_unfinished.update(str(log.relative_to(killed_sweep)) for log in cut)
        kills.append(
            {
                "after_s": round(time.monotonic() - started, 3),
                "finished": len(now),
                "unfinished_logs": len(cut),
                "torn_last_lines": torn_now,
            }
        )
    final = cli(*args, cwd=killed_root)
    end = finished(killed_sweep)
    for episode, digest in seen_finished.items():
        if end.get(episode) != digest:
            changed.add(episode)
    logs = visible_logs(killed_sweep)
    keys = Counter(
        (h["seed"], h["episode_index"], str(log.parent.parent.name)) for log in logs for h in events(log)[:1]
    )
    reference_logs = {str(p.relative_to(reference_sweep)): p for p in visible_logs(reference_sweep)}
    killed_logs = {str(p.relative_to(killed_sweep)): p for p in logs}
    differing = [
        rel
        for rel, p in reference_logs.items()
        if rel not in killed_logs or normalised(killed_logs[rel]) != normalised(p)
    ]
    identical = len(reference_logs) - len(differing) if len(reference_logs) == expected else 0
    # Why an episode differs, when the reason is in its header: the memory it started from.
    other_memory = [
        rel
        for rel in differing
        if rel in killed_logs
        and events(killed_logs[rel])[0].get("memory") != events(reference_logs[rel])[0].get("memory")
    ]
    repaired = sum(1 for rel in left_unfinished if rel in end and status_of(killed_sweep / rel) != "failed")
    return {
        "sweep": " ".join(["alignsim", *args]),
        "episodes": expected,
        "uninterrupted_exit_code": reference["exit_code"],
        "uninterrupted_s": round(reference["seconds"], 2),
        "kills": len(kills),
        "kills_missed": missed,
        "kill_log": kills,
        "finished_seen_at_kills": len(seen_finished),
        "finished_lost_or_rewritten": len(changed),
        "duplicates": sum(n - 1 for n in keys.values()),
        "final_episodes": sum(status_of(killed_sweep / rel) in ("completed", "truncated") for rel in end),
        "unfinished_logs_left_by_kills": len(left_unfinished),
        "torn_last_lines": torn,
        "unfinished_played_again": repaired,
        "moved_aside_attempts": len(list(killed_sweep.rglob(".*.attempt-*"))),
        "identical_to_uninterrupted": identical,
        "differing_from_uninterrupted": len(differing),
        "differing_logs": differing[:10],
        "differing_with_another_starting_memory": len(other_memory),
        "resume_exit_code": final.returncode,
        "folders": [str(reference_sweep), str(killed_sweep)],
    }


def measure_crashes(cli: Cli, out: Path, sizes: Sizes, seed: int, names: Sequence[str]) -> dict[str, Any]:
    rng = random.Random(seed)
    variants = {
        name: measure_crash_variant(cli, out, name, grid, sizes, rng)
        for name, grid in crash_variants(sizes, seed).items()
        if name in names
    }
    total = {
        key: sum(v[key] for v in variants.values())
        for key in (
            "episodes",
            "kills",
            "kills_missed",
            "finished_seen_at_kills",
            "finished_lost_or_rewritten",
            "duplicates",
            "final_episodes",
            "unfinished_logs_left_by_kills",
            "torn_last_lines",
            "unfinished_played_again",
            "identical_to_uninterrupted",
            "differing_from_uninterrupted",
            "differing_with_another_starting_memory",
        )
    }
    total["sweeps_failed"] = sum(
        v["resume_exit_code"] != 0 or v["uninterrupted_exit_code"] != 0 for v in variants.values()
    )
    return {
        **total,
        "variants": variants,
        "folders": [f for v in variants.values() for f in v["folders"]],
        # The uninterrupted sweeps hold the same episodes again: counted once, in the killed ones.
        "distinct_folders": [v["folders"][1] for v in variants.values()],
    }


# --------------------------------------------------------------------- 4. reruns


def lockstep_run(cli: Cli, out: Path, sizes: Sizes, seed: int) -> Path:
    folder = out / "lockstep" / "run"
    done = cli(
        "run",
        "scenario=traitors/llm-v0",
        *MOCK,
        "+llm.memory.path=lockstep/population.sqlite",
        f"seed={seed + 300}",
        f"episodes={sizes.lockstep_episodes}",
        f"lockstep={sizes.lockstep}",
        f"out_dir={folder}",
        "progress=false",
        cwd=out,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the lock-step run failed: {done.stderr.strip()[-2000:]}")
    return folder


def rerun_group(cli: Cli, logs: Sequence[Path], target: Path, cwd: Path) -> dict[str, Any]:
    """``alignsim replay LOGS --rerun TARGET``, then each new log compared with its original."""
    if not logs:
        return {"episodes": 0, "identical": 0, "differing": 0, "cli_verdict": "n/a"}
    done = cli("replay", *map(str, logs), "--rerun", str(target), cwd=cwd)
    identical = 0
    differing = []
    for log in logs:
        again = target / "episodes" / log.name
        # Event for event: every line after the header, and the header but for its creation time.
        if again.exists() and normalised(again) == normalised(log):
            identical += 1
        else:
            differing.append(str(log))
    lines = done.stdout.strip().splitlines()
    return {
        "episodes": len(logs),
        "identical": identical,
        "differing": len(differing),
        "differing_logs": differing[:20],
        "cli_verdict": lines[-1] if lines else done.stderr.strip()[-300:],
        "exit_code": done.returncode,
    }


def measure_reruns(cli: Cli, out: Path, sizes: Sizes, crashes: dict[str, Any], lockstep: Path) -> dict[str, Any]:
    memory_files = sorted(out.rglob("population.sqlite"))
    before = {str(p): sha256(p) for p in memory_files}
    sample = [
        log for folder in sorted((out / "faults").iterdir()) for log in visible_logs(folder)[:: sizes.rerun_every]
    ]
    memory_sweep = crashes["variants"].get("llm-faults-memory")
    killed = Path(memory_sweep["folders"][1]) if memory_sweep else out
    resumed = visible_logs(killed)[:: max(1, sizes.rerun_every // 2)] if memory_sweep else []
    groups = {
        "fault episodes (sample)": rerun_group(cli, sample, out / "rerun" / "faults", out),
        f"lock-step (lockstep={sizes.lockstep}) with a memory file": rerun_group(
            cli, visible_logs(lockstep), out / "rerun" / "lockstep", out
        ),
        "killed-and-resumed sweep with a memory file (sample)": rerun_group(
            cli, resumed, out / "rerun" / "resumed", killed.parent.parent
        ),
    }
    return {
        "episodes": sum(g["episodes"] for g in groups.values()),
        "identical": sum(g["identical"] for g in groups.values()),
        "differing": sum(g["differing"] for g in groups.values()),
        "lockstep_episodes": groups[f"lock-step (lockstep={sizes.lockstep}) with a memory file"]["episodes"],
        "lockstep_identical": groups[f"lock-step (lockstep={sizes.lockstep}) with a memory file"]["identical"],
        "groups": groups,
        "memory_files_checked": len(before),
        "memory_files_modified": None,  # filled in after replay and view have run too
        "memory_hashes": before,
        "folders": [str(out / "rerun")],
    }


# --------------------------------------------------------------------- 3. replay


def measure_replay(cli: Cli, out: Path, folders: Iterable[str]) -> dict[str, Any]:
    paths = [f for f in dict.fromkeys(folders) if Path(f).exists()]
    expected = sum(len(visible_logs(Path(f))) for f in paths)
    done = cli("replay", *paths, cwd=out)
    lines = done.stdout.splitlines()
    ok = sum(line.startswith("ok ") for line in lines)
    failed = [line for line in lines if line.startswith(("MISMATCH ", "FAILED "))]
    skipped = [line[:300] for line in done.stderr.splitlines() if "skipped" in line]
    return {
        "logs": expected,
        "replayed_ok": ok,
        "failed": len(failed),
        "skipped_unreadable": len(skipped),
        "not_reported": expected - ok - len(failed) - len(skipped),
        "failures": [line[:300] for line in failed[:20] + skipped[:20]],
        "failed_logs": [line.split(" ", 1)[1].split(": ", 1)[0] for line in failed],
        "cli_verdict": lines[-1] if lines else done.stderr.strip()[-300:],
        "exit_code": done.returncode,
    }


# --------------------------------------------------------------------- 5. hostile text and canaries


def prompt_text(call: dict[str, Any]) -> str:
    """What a model read: every message and the prefill its answer continues."""
    return "\n".join([*(m.get("content", "") for m in call.get("messages", [])), call.get("prefill", "")])


def measure_hostile(folders: Iterable[str], replay_failures: Sequence[str]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    failed = set(replay_failures)
    for folder in dict.fromkeys(folders):
        if not Path(folder).exists():
            continue
        for log in visible_logs(Path(folder)):
            stream = events(log)
            hostile_here = 0
            for event in stream:
                kind = event["type"]
                if kind == "llm_call":
                    if fault_kind(event) == "hostile":
                        hostile_here += 1
                    prompt = prompt_text(event)
                    counts["raw_control_tokens_in_prompts"] += bool(CONTROL_TOKENS.search(prompt))
                    system = " ".join(
                        m.get("content", "") for m in event.get("messages", []) if m.get("role") == "system"
                    )
                    counts["injected_text_in_system_prompts"] += INJECTION in system.lower()
                    if INJECTION in prompt.lower():
                        counts["prompts_quoting_hostile_text"] += 1
                elif kind == "invalid_action":
                    counts["flagged_as_injection"] += "injection" in str(event.get("reason", ""))
                elif kind not in ("header", "action"):
                    text = " ".join(str(event.get(f, "")) for f in AGENT_TEXT_FIELDS)
                    counts["hostile_texts_in_agent_events"] += INJECTION in text.lower()
                    counts["raw_control_tokens_in_events"] += bool(CONTROL_TOKENS.search(text))
            counts["hostile_answers_logged"] += hostile_here
            if hostile_here:
                counts["episodes_with_hostile_answers"] += 1
                # Replay re-drives the env from the logged (legal) actions alone; an episode whose
                # state came from anything else would not reproduce.
                counts["hostile_episodes_not_reproduced_by_legal_actions"] += str(log) in failed
    counts["hostile_state_changes_outside_legal_actions"] = (
        counts["hostile_episodes_not_reproduced_by_legal_actions"]
        + counts["raw_control_tokens_in_events"]
        + counts["injected_text_in_system_prompts"]
    )
    keys = (
        "hostile_answers_logged",
        "episodes_with_hostile_answers",
        "hostile_texts_in_agent_events",
        "flagged_as_injection",
        "prompts_quoting_hostile_text",
        "raw_control_tokens_in_prompts",
        "raw_control_tokens_in_events",
        "injected_text_in_system_prompts",
        "hostile_episodes_not_reproduced_by_legal_actions",
        "hostile_state_changes_outside_legal_actions",
    )
    return {key: counts[key] for key in keys}


def canaries_in(text: str, canaries: dict[str, str]) -> Counter[str]:
    """How often each role's canary occurs in ``text`` (role -> count)."""
    return Counter({role: text.count(canary) for role, canary in canaries.items() if canary in text})


def leaks(found: Counter[str], entitled: set[str]) -> int:
    """Occurrences of canaries of roles the reader is not entitled to."""
    return sum(n for role, n in found.items() if role not in entitled)


def measure_canaries(cli: Cli, out: Path, sizes: Sizes, seed: int) -> dict[str, Any]:
    nonce = hashlib.sha256(f"{seed}".encode()).hexdigest()[:8]
    canaries = {"traitor": f"CANARY-TRAITOR-{nonce}", "faithful": f"CANARY-FAITHFUL-{nonce}"}
    folder = out / "canary"
    done = cli(
        "run",
        "scenario=traitors/llm-v0",
        *MOCK,
        "scenario.env_kwargs.n_players=6",
        "scenario.env_kwargs.n_traitors=2",
        "scenario.env_kwargs.meeting_passes=1",
        f"+scenario.env_kwargs.briefings={{traitor:{canaries['traitor']},faithful:{canaries['faithful']}}}",
        f"seed={seed + 400}",
        f"episodes={sizes.canary_episodes}",
        f"out_dir={folder}",
        "progress=false",
        cwd=out,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the canary run failed: {done.stderr.strip()[-2000:]}")
    counts: Counter[str] = Counter()
    for log in visible_logs(folder):
        stream = events(log)
        roles = next(e["roles"] for e in stream if e["type"] == "role_assignment")
        for call in (e for e in stream if e["type"] == "llm_call"):
            found = canaries_in(prompt_text(call), canaries)
            counts["prompts_checked"] += 1
            counts["leaks_into_prompts"] += leaks(found, {roles[call["agent"]]})
            counts["control_canaries_in_entitled_prompts"] += found[roles[call["agent"]]]
        public = cli("view", str(log), cwd=out)
        counts["leaks_into_public_transcript"] += leaks(canaries_in(public.stdout, canaries), set())
        counts["views_failed"] += public.returncode != 0
        for agent, role in sorted(roles.items()):
            own = cli("view", str(log), "--agent", agent, cwd=out)
            found = canaries_in(own.stdout, canaries)
            counts["leaks_into_agent_transcripts"] += leaks(found, {role})
            counts["control_canaries_in_own_transcripts"] += found[role]
            counts["views_failed"] += own.returncode != 0
            counts["agent_transcripts_checked"] += 1
        # Positive control: the private transcript holds both canaries, and the same counter,
        # reading it as if it were public, must find them.
        private = cli("view", str(log), "--private", cwd=out)
        counts["control_canaries_in_private_transcript"] += leaks(canaries_in(private.stdout, canaries), set())
        counts["episodes"] += 1
    counts["leaks"] = (
        counts["leaks_into_prompts"] + counts["leaks_into_public_transcript"] + counts["leaks_into_agent_transcripts"]
    )
    return {"canaries": canaries, **dict(counts), "folders": [str(folder)]}


# --------------------------------------------------------------------- report


def verdict(result: dict[str, Any]) -> list[str]:
    """What is wrong, if anything: each line one broken promise."""
    f, c, r, rr, h, k = (result[s] for s in ("faults", "crash_recovery", "replay", "rerun", "hostile", "canaries"))
    problems = {
        "an episode crashed under faults": f["crashed"] or f["commands_failed"],
        "not every fault kind was injected": f["fault_kinds_seen"] < 6,
        "no kill landed mid-sweep": c["kills"] == 0 or c["finished_seen_at_kills"] == 0,
        "a finished episode was lost or rewritten": c["finished_lost_or_rewritten"],
        "an episode was duplicated": c["duplicates"],
        "an episode is missing after resume": c["final_episodes"] != c["episodes"] or c["sweeps_failed"],
        "a resumed sweep differs from an uninterrupted one": c["differing_from_uninterrupted"],
        "a log did not replay": r["failed"] or r["skipped_unreadable"] or r["not_reported"] or not r["logs"],
        "a rerun differed": rr["differing"] or not rr["episodes"],
        "a memory file was modified": rr["memory_files_modified"],
        "hostile text changed state outside legal actions": h["hostile_state_changes_outside_legal_actions"],
        "raw control tokens reached a prompt": h["raw_control_tokens_in_prompts"],
        "no hostile answer was injected": not h["hostile_answers_logged"],
        "a canary leaked": k["leaks"],
        "a view command failed": k["views_failed"],
        "the canary detector found no canary where one belongs (positive control)": not (
            k["control_canaries_in_entitled_prompts"]
            and k["control_canaries_in_own_transcripts"]
            and k["control_canaries_in_private_transcript"]
        ),
    }
    return [problem for problem, bad in problems.items() if bad]


def table(result: dict[str, Any]) -> str:
    f, c, r, rr, h, k = (result[s] for s in ("faults", "crash_recovery", "replay", "rerun", "hostile", "canaries"))
    kinds = ", ".join(f"{kind} {n}" for kind, n in f["faults_by_kind"].items())
    rows = [
        (
            "Faults survived",
            f"{f['completed']}/{f['episodes']} episodes finished, {f['crashed']} crashed; "
            f"{f['faults_injected']:,} faults injected in {f['llm_calls']:,} model calls ({kinds}); "
            f"{f['invalid_actions']:,} invalid_action events",
        ),
        (
            "Crash recovery",
            f"{c['kills']} SIGKILLs over {len(c['variants'])} sweeps ({c['episodes']} episodes); "
            f"{c['finished_lost_or_rewritten']} of {c['finished_seen_at_kills']} finished episodes lost or rewritten, "
            f"{c['duplicates']} duplicated; {c['unfinished_logs_left_by_kills']} unfinished logs "
            f"({c['torn_last_lines']} with a torn last line), {c['unfinished_played_again']} played again; "
            f"{c['identical_to_uninterrupted']}/{c['episodes']} byte-identical to an uninterrupted sweep"
            + (
                f" ({c['differing_with_another_starting_memory']} of the {c['differing_from_uninterrupted']} "
                "differing started from another memory)"
                if c["differing_from_uninterrupted"]
                else ""
            ),
        ),
        (
            "Replay",
            f"{r['replayed_ok']}/{r['logs']} logs replayed exactly, {r['failed']} failed, "
            f"{r['skipped_unreadable']} unreadable",
        ),
        (
            "Reruns identical",
            f"{rr['identical']}/{rr['episodes']} identical event for event (lock-step with memory: "
            f"{rr['lockstep_identical']}/{rr['lockstep_episodes']}); "
            f"{rr['memory_files_modified']} of {rr['memory_files_checked']} memory files modified",
        ),
        (
            "Hostile text",
            f"{h['hostile_answers_logged']} hostile answers logged ({h['hostile_texts_in_agent_events']} kept as "
            f"defused agent text, {h['flagged_as_injection']} flagged); "
            f"{h['hostile_state_changes_outside_legal_actions']} changed state outside legal actions; "
            f"{h['raw_control_tokens_in_prompts']} raw control tokens in prompts",
        ),
        (
            "Role leaks",
            f"{k['leaks']} canary leaks in {k['prompts_checked']:,} prompts, {k['episodes']} public and "
            f"{k['agent_transcripts_checked']} per-player transcripts; controls: "
            f"{k['control_canaries_in_entitled_prompts']:,} canaries found in entitled prompts, "
            f"{k['control_canaries_in_private_transcript']} in --private transcripts",
        ),
    ]
    lines = ["| measure | result |", "| --- | --- |", *(f"| {a} | {b} |" for a, b in rows)]
    return "\n".join(lines)


def provenance(out: Path) -> dict[str, Any]:
    """Where the numbers come from: the commit the logs record, Python, the machine."""
    header = next((events(log)[0] for log in visible_logs(out / "faults")), {})
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git": header.get("git"),
        "alignsim": alignsim.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs and reliability.json (emptied)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute on 2 cores)")
    parser.add_argument("--seed", type=int, default=0, help="master seed of every run and of the kill moments")
    sweeps = list(crash_variants(Sizes(), 0))
    default_sweeps = ["scripted-parallel", "llm-faults-memory"]
    parser.add_argument(
        "--crash-sweeps",
        type=lambda text: text.split(","),
        default=default_sweeps,
        help=f"which sweeps to kill, comma-separated, of {', '.join(sweeps)} (default: {','.join(default_sweeps)})",
    )
    for field in dataclasses.fields(Sizes):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=int, help=f"override the preset's {field.name}")
    ns = parser.parse_args(argv)
    preset = PRESETS["quick" if ns.quick else "default"]
    sizes = dataclasses.replace(
        preset, **{f.name: getattr(ns, f.name) for f in dataclasses.fields(Sizes) if getattr(ns, f.name) is not None}
    )
    if sizes.lockstep < 2 or min(dataclasses.astuple(sizes)) < 1:
        parser.error("every size must be at least 1, and --lockstep at least 2")
    if sizes.kill_episodes < 2 or not ns.crash_sweeps or not set(ns.crash_sweeps) <= set(sweeps):
        parser.error(f"--kill-episodes must be at least 2 and --crash-sweeps a non-empty subset of {','.join(sweeps)}")
    out: Path = ns.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cli = Cli()
    started = time.monotonic()

    seconds: dict[str, float] = {}

    def timed(section: str, measure: Any, *args: Any) -> Any:
        began = time.monotonic()
        value = measure(*args)
        seconds[section] = round(time.monotonic() - began, 1)
        print(f"{section}: done in {seconds[section]} s", file=sys.stderr, flush=True)
        return value

    faults = timed("faults", measure_faults, cli, out, sizes, ns.seed)
    crashes = timed("crash_recovery", measure_crashes, cli, out, sizes, ns.seed, ns.crash_sweeps)
    lockstep = timed("lockstep_run", lockstep_run, cli, out, sizes, ns.seed)
    canary = timed("canaries", measure_canaries, cli, out, sizes, ns.seed)
    reruns = timed("rerun", measure_reruns, cli, out, sizes, crashes, lockstep)
    folders = [*faults["folders"], *crashes["folders"], str(lockstep), *canary["folders"], *reruns["folders"]]
    replayed = timed("replay", measure_replay, cli, out, folders)
    # Reruns and uninterrupted twins repeat episodes already counted: hostile text is counted once.
    distinct = [*faults["folders"], *crashes["distinct_folders"], str(lockstep), *canary["folders"]]
    hostile = measure_hostile(distinct, replayed["failed_logs"])
    after = {path: sha256(Path(path)) for path in reruns["memory_hashes"]}
    reruns["memory_files_modified"] = sum(after[p] != h for p, h in reruns.pop("memory_hashes").items())

    result: dict[str, Any] = {
        **provenance(out),
        "command": " ".join(["python", "benchmarks/reliability.py", *(argv if argv is not None else sys.argv[1:])]),
        "sizes": dataclasses.asdict(sizes),
        "seed": ns.seed,
        "faults": faults,
        "crash_recovery": crashes,
        "replay": replayed,
        "rerun": reruns,
        "hostile": hostile,
        "canaries": canary,
        "commands_run": cli.commands,
        "seconds": round(time.monotonic() - started, 1),
        "seconds_by_section": seconds,
    }
    result["problems"] = verdict(result)
    result["ok"] = not result["problems"]
    (out / "reliability.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    git = result["git"] or {}
    print(
        f"alignsim {result['alignsim']} at {git.get('commit', '?')[:12]}{' (dirty)' if git.get('dirty') else ''}, "
        f"Python {result['python']}, {result['machine']}; {result['date']}; "
        f"{cli.commands} commands in {result['seconds']} s"
    )
    print(table(result))
    print(f"\nwrote {out / 'reliability.json'}")
    for problem in result["problems"]:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
