"""Persistent memory across episodes: what an episode may read, and that rebuilding a logged
episode (rerun, fork) reproduces it without touching the population's memory file."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from alignsim import cli
from alignsim.agents.llm import traitors
from alignsim.errors import ConfigError, ReplayMismatchError
from alignsim.fork import diff, fork
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import EpisodeRunner, _LiveEpisode, rerun, run

ALIGNSIM = shutil.which("alignsim") or f"{sys.executable} -m alignsim.cli"
REMEMBERED = "What you remember from earlier games"


def _mock(memory_file: Path) -> dict[str, Any]:
    return {"model": "mock/scripted", "memory": {"path": str(memory_file)}}


def _prompts(log: Any) -> str:
    return "\n".join(m["content"] for call in log.of_type(ev.LLMCall) for m in call.messages)


def _files(folder: Path, stem: str) -> dict[str, str]:
    """The memory file and any -wal/-shm/-journal siblings: name -> content hash."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.name.startswith(stem)}


# ------------------------------------------------------------------ no command writes a file it did not create


def test_rerun_fork_replay_analyze_and_view_leave_the_population_memory_file_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    population = tmp_path / "population.sqlite"
    results = run("traitors/llm-v0", seed=5, episodes=3, out_dir=tmp_path / "run", llm=_mock(population))
    later = read_log(results[2].log_path)
    assert later.header.memory["player_0"] != ev.EMPTY_MEMORY_DIGEST and REMEMBERED in _prompts(later)
    assert read_log(results[0].log_path).header.seating["player_0"].kwargs["memory"]["path"] == str(population)
    before = _files(tmp_path, population.name)
    assert list(before) == [population.name]

    code = cli.main(["replay", str(tmp_path / "run"), "--rerun", str(tmp_path / "rerun")])
    assert _files(tmp_path, population.name) == before, "replay --rerun wrote to the population's memory file"
    assert code == 0 and "3/3 identical" in capsys.readouterr().out
    # Re-running into the run's own folder would set its logs aside: refused, nothing touched.
    logs = {p: p.read_bytes() for p in (tmp_path / "run" / "episodes").iterdir()}
    with pytest.raises(ConfigError, match="out_dir"):
        rerun(results[1].log_path, tmp_path / "run")
    assert {p: p.read_bytes() for p in (tmp_path / "run" / "episodes").iterdir()} == logs
    assert cli.main(["replay", str(tmp_path / "run")]) == 0
    for result in results:
        for at in ("0", "7"):
            assert cli.main(["fork", str(result.log_path), "--at", at, "--out", str(tmp_path / "forks")]) == 0
        assert cli.main(["view", str(result.log_path), "--private"]) == 0
        assert cli.main(["view", str(result.log_path), "--html", str(tmp_path / "pages" / "a.html")]) == 0
    assert cli.main(["analyze", str(tmp_path / "run"), "--out", str(tmp_path / "analysis"), "--no-plots"]) == 0
    capsys.readouterr()

    assert _files(tmp_path, population.name) == before, "a command wrote to the population's memory file"


# ------------------------------------------------------------------ lock-step episodes do not read each other


def test_a_lockstep_run_with_a_memory_file_reruns_identically_for_every_episode(tmp_path: Path) -> None:
    def alignsim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*ALIGNSIM.split(), *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)

    population = tmp_path / "population.sqlite"
    out = tmp_path / "run"
    done = alignsim("run", "llm=mock", "episodes=16", "lockstep=8", f"+llm.memory.path={population}", f"out_dir={out}")
    assert done.returncode == 0, done.stderr
    logs = sorted((out / "episodes").glob("*.jsonl"))
    assert len(logs) == 16
    remembering = [log for log in logs if REMEMBERED in _prompts(read_log(log))]
    assert len(remembering) >= 8, "the second batch of episodes should start with memories"
    before = _files(tmp_path, population.name)

    again = alignsim("replay", str(out), "--rerun", str(tmp_path / "rerun"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("\nok ") + again.stdout.startswith("ok ") == 16
    assert again.stdout.rstrip().endswith("16/16 identical")
    assert _files(tmp_path, population.name) == before


def test_a_memory_written_by_an_episode_in_play_never_reaches_another_episodes_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every observation plants a canary memory naming its episode, important enough to be retrieved.
    ingest = traitors.ingest

    def planting(seat: Any, observation: Any) -> list[tuple[str, str, float]]:
        return [*ingest(seat, observation), (f"CANARY-{seat.episode}-END", "note", 1.0)]

    monkeypatch.setattr(traitors, "ingest", planting)
    # The schedule as it happened: which episodes had finished when each one started.
    timeline: list[tuple[str, str]] = []
    start, finish = EpisodeRunner._start, _LiveEpisode.finish

    def starting(self: EpisodeRunner, *args: Any) -> _LiveEpisode:
        episode = start(self, *args)
        timeline.append(("start", episode.episode_id))
        return episode

    def finishing(self: _LiveEpisode) -> Any:
        result = finish(self)
        timeline.append(("finish", self.episode_id))
        return result

    monkeypatch.setattr(EpisodeRunner, "_start", starting)
    monkeypatch.setattr(_LiveEpisode, "finish", finishing)
    population = tmp_path / "population.sqlite"
    results = run("traitors/llm-v0", seed=2, episodes=12, out_dir=tmp_path / "run", llm=_mock(population), lockstep=4)

    finished: set[str] = set()
    visible: dict[str, set[str]] = {}
    for what, episode in timeline:
        if what == "start":
            visible[episode] = set(finished)
        else:
            finished.add(episode)
    seen_any = 0
    for result in results:
        log = read_log(result.log_path)
        seen = set(re.findall(r"CANARY-(.+?)-END", _prompts(log)))
        leaked = sorted(seen - visible[log.header.episode_id])
        assert not leaked, f"{log.header.episode_id} read memories of episodes still in play: {leaked}"
        seen_any += bool(seen)
    assert seen_any >= 4, "episodes that start after others finished should remember them (positive control)"
    # Each run of four starts with none of the others' memories.
    assert all(not visible[r.episode_id] for r in results[:4])
    for result in results[4:]:
        assert rerun(result.log_path, tmp_path / "rerun").events > 0


def test_workers_sharing_a_memory_file_record_what_each_episode_saw(tmp_path: Path) -> None:
    population = tmp_path / "population.sqlite"
    results = run(
        "traitors/llm-v0", seed=1, episodes=4, out_dir=tmp_path / "run", llm=_mock(population), lockstep=1, workers=2
    )
    assert {r.summary.status for r in results} <= {"completed", "truncated"}
    assert any(read_log(r.log_path).header.memory["player_0"] != ev.EMPTY_MEMORY_DIGEST for r in results)
    for result in results:
        rerun(result.log_path, tmp_path / "rerun")


# ------------------------------------------------------------------ replay --rerun reports every episode


def test_replay_rerun_reports_each_episode_and_counts_instead_of_stopping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = run("traitors/llm-v0", seed=6, episodes=3, out_dir=tmp_path / "run", llm=_mock(tmp_path / "m.sqlite"))
    logs = sorted(r.log_path for r in results)
    # The first log (in folder order) disagrees with what its policies do: a tampered observation
    # digest, behind a very long private thought that the report must not print whole.
    lines = logs[0].read_bytes().splitlines()
    for k, line in enumerate(lines):
        event = msgspec.json.decode(line)
        if event.get("type") == "action":
            event["obs_digest"] = "00000000"
            event["action"]["thought"] = "x" * 100_000
            lines[k] = msgspec.json.encode(event)
            break
    logs[0].write_bytes(b"\n".join(lines) + b"\n")

    assert cli.main(["replay", str(tmp_path / "run"), "--rerun", str(tmp_path / "rerun")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2/3 identical"
    mismatch = [line for line in out if line.startswith("MISMATCH ")]
    assert len(mismatch) == 1 and str(logs[0]) in mismatch[0] and "differs" in mismatch[0]
    assert all(len(line) < 500 for line in out)
    assert sum(line.startswith("ok ") for line in out) == 2


# ------------------------------------------------------------------ a fork starts from its parent's memory


def test_a_fork_without_a_change_of_an_episode_with_memories_equals_its_parent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = run("traitors/llm-v0", seed=3, episodes=3, out_dir=tmp_path / "run", llm=_mock(tmp_path / "m.sqlite"))
    parent = read_log(results[2].log_path)
    assert REMEMBERED in _prompts(parent)
    for at in (0, 9):
        child = fork(results[2].log_path, at=at, out_dir=tmp_path / "forks")
        assert read_log(child.log_path).header.memory == parent.header.memory
        assert diff(results[2].log_path, child.log_path).identical, diff(results[2].log_path, child.log_path).text()
        # The fork's own memory snapshots sit beside it, so it can be rebuilt from its folder too.
        assert {f"{d}.json" for d in parent.header.memory.values()} <= {
            p.name for p in (tmp_path / "forks" / "memory").iterdir()
        }
    assert cli.main(["diff", str(results[2].log_path), str(child.log_path)]) == 0
    capsys.readouterr()
    # Without the parent's snapshots the fork cannot start as the parent did, and says so.
    shutil.rmtree(tmp_path / "run" / "memory")
    with pytest.raises(ReplayMismatchError, match="snapshot"):
        fork(results[2].log_path, at=0, seed=1, out_dir=tmp_path / "forks2")


# ------------------------------------------------------------------ a kill after the memories, before the summary


def test_an_episode_killed_after_storing_its_memories_is_played_again_as_if_never_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by benchmarks/reliability.py: a SIGKILL between an episode storing its memories and
    # writing its summary left rows that resume stored a second time, so every later episode
    # started from other memories than an uninterrupted run.
    import alignsim.run as run_module

    def comparable(log_path: Path) -> list[bytes]:
        log = read_log(log_path)
        header = msgspec.structs.replace(log.header, created_at="")
        calls = [msgspec.structs.replace(e, latency_s=0.0) if isinstance(e, ev.LLMCall) else e for e in log.events]
        return [msgspec.json.encode(x) for x in (header, *calls)]

    # Both runs use the same paths (they are part of the config, hence of the episode ids).
    memory, out = tmp_path / "population.sqlite", tmp_path / "run"
    whole = run("traitors/llm-v0", seed=3, episodes=3, out_dir=out, llm=_mock(memory))
    whole_logs = [comparable(r.log_path) for r in whole]
    whole_rows = _rows(memory)
    shutil.rmtree(out)
    memory.unlink()

    real_write_summary = run_module.write_summary

    def killed_before_the_summary(log_path: Any, summary: Any, **kwargs: Any) -> None:
        if summary.episode_index == 1:
            raise KeyboardInterrupt  # the process dies here: memories stored, no done marker
        real_write_summary(log_path, summary, **kwargs)

    monkeypatch.setattr(run_module, "write_summary", killed_before_the_summary)
    with pytest.raises(KeyboardInterrupt):
        run("traitors/llm-v0", seed=3, episodes=3, out_dir=out, llm=_mock(memory))
    assert len(_rows(memory)) > len(whole_rows) / 3, "the killed attempt should have stored its memories"
    monkeypatch.setattr(run_module, "write_summary", real_write_summary)
    resumed = run("traitors/llm-v0", seed=3, episodes=3, out_dir=out, llm=_mock(memory))

    assert [r.skipped for r in resumed] == [True, False, False]
    for before, after in zip(whole_logs, resumed, strict=True):
        assert before == comparable(after.log_path), f"{after.episode_id} differs from the uninterrupted run"
    assert _rows(memory) == whole_rows


def _rows(memory_file: Path) -> list[tuple[Any, ...]]:
    import sqlite3

    with sqlite3.connect(memory_file) as db:
        return db.execute(
            "SELECT seq, memory_id, episode, round, kind, text, importance FROM memories ORDER BY seq"
        ).fetchall()
