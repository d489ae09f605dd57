"""What the console says is true: event numbers a fork can use, n/a for metrics on nothing,
warnings for episodes that did not finish, and no traceback when a reader goes away."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from alignsim.fork import diff
from alignsim.record import read_log
from alignsim.record import schema as ev
from tests.test_cli import ALIGNSIM, cli


@pytest.fixture(scope="module")
def mock_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two episodes of the default LLM game on the mock backend (no structured claims)."""
    out = tmp_path_factory.mktemp("honest") / "run"
    done = cli("run", "llm=mock", "episodes=2", f"out_dir={out}", cwd=out.parent)
    assert done.returncode == 0, done.stderr
    return out


def test_view_numbers_events_so_a_fork_can_name_them(mock_run: Path, tmp_path: Path) -> None:
    log_path = sorted((mock_run / "episodes").glob("*.jsonl"))[0]
    shown = cli("view", str(log_path), cwd=tmp_path).stdout
    speech = next(e for e in read_log(log_path).of_type(ev.Speech) if e.round == 1 and e.channel == "public")
    line = next(line for line in shown.splitlines() if line.rstrip().endswith(speech.message))
    seq = int(re.match(r"\s*(\d+) ", line)[1])
    assert seq == speech.seq
    forked = cli("fork", str(log_path), "--drop-message", str(seq), "--out", str(tmp_path / "f"), cwd=tmp_path)
    assert forked.returncode == 0, forked.stderr
    child = next((tmp_path / "f").rglob("*.jsonl"))
    said = [(e.actor, e.step, e.message) for e in read_log(child).of_type(ev.Speech)]
    assert (speech.actor, speech.step, speech.message) not in said
    assert not diff(log_path, child).identical


def test_a_metric_on_nothing_prints_na_not_a_value(mock_run: Path, tmp_path: Path) -> None:
    done = cli("analyze", str(mock_run), "--out", str(tmp_path / "a"), "--no-plots", "--no-report", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    honesty = next(line for line in done.stdout.splitlines() if "MASK honesty (faithful)" in line)
    assert "n/a (n=0)" in honesty and "1.000" not in honesty


def test_unfinished_episodes_are_announced_by_analyze_and_export(mock_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run" / "episodes"
    folder.mkdir(parents=True)
    logs = sorted((mock_run / "episodes").glob("*.jsonl"))
    (folder / logs[0].name).write_bytes(logs[0].read_bytes())
    # The second episode stops mid-game: no episode_end, no summary.
    cut = logs[1].read_text().splitlines(keepends=True)
    (folder / logs[1].name).write_text("".join(cut[: len(cut) // 2]))
    analysed = cli("analyze", str(tmp_path / "run"), "--no-plots", "--no-report", cwd=tmp_path)
    assert "warning: 1 episode(s) did not finish and are left out (1 started)" in analysed.stdout
    exported = cli("export", str(tmp_path / "run"), "--inspect", str(tmp_path / "eval.json"), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert re.search(r"warning: 1 of 2 episode\(s\) did not finish: \S+ \(started\)", exported.stderr)


def test_a_closed_pipe_ends_quietly(mock_run: Path, tmp_path: Path) -> None:
    log_path = sorted((mock_run / "episodes").glob("*.jsonl"))[0]
    done = subprocess.run(
        f"{ALIGNSIM} view {log_path} --private | head -n 1", shell=True, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.stdout.startswith("episode ")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
