"""The progress bar's bookkeeping: episodes done, tokens and model seconds, earlier episodes."""

from __future__ import annotations

import io

from rich.console import Console

from alignsim.progress import EpisodeProgress
from alignsim.record import schema as ev


def summary(index: int, tokens: int, seconds: float, status: str = "completed") -> ev.Summary:
    return ev.Summary(
        episode_id=f"e{index}",
        scenario="traitors/llm-v0",
        seed=0,
        episode_index=index,
        status=status,  # type: ignore[arg-type]
        tokens={"player_0": tokens},
        llm_seconds={"player_0": seconds},
    )


def test_counts_usage_and_resumed_episodes() -> None:
    screen = io.StringIO()
    with EpisodeProgress("sweep", 4, console=Console(file=screen, force_terminal=True, width=200)) as bar:
        bar.add(summary(0, 100, 1.5), earlier=True)
        bar.add(summary(1, 50, 0.5))
        bar.add(summary(2, 0, 0.0, status="failed"))
        assert bar.completed == 3
        assert bar.tokens == 150 and bar.llm_seconds == 2.0 and bar.failed == 1
        assert bar.usage() == "150 tokens, 2.0 LLM s | [red]1 failed"
        # The resumed episode restarted the clock: the rate counts only this launch's work.
        task = bar._bar.tasks[0]
        assert task.completed == 3 and task.total == 4
    assert "3/4" in screen.getvalue() and "150 tokens, 2.0 LLM s" in screen.getvalue()


def test_plain_lines_when_not_a_terminal() -> None:
    """Piped to a file, progress is a line per interval: episodes, where the game stands, ETA."""
    import time

    screen = io.StringIO()
    with EpisodeProgress(
        "traitors/llm-v0 seed=0", 2, console=Console(file=screen), live=lambda: "round 2 discussion", interval=0.02
    ) as bar:
        assert bar.plain
        time.sleep(0.15)
        first = screen.getvalue().splitlines()
        bar.add(summary(0, 10, 0.5))
    lines = screen.getvalue().splitlines()
    assert len(first) >= 2, "a line every interval"
    assert first[0].startswith("traitors/llm-v0 seed=0: 0/2 episodes | elapsed ")
    assert "eta after the first episode" in first[0] and "round 2 discussion" in first[0]
    assert lines[-1].startswith("traitors/llm-v0 seed=0: 1/2 episodes") and "eta 0:00:" in lines[-1]
    assert "10 tokens, 0.5 LLM s" in lines[-1]


def test_disabled_progress_prints_nothing() -> None:
    screen = io.StringIO()
    with EpisodeProgress("x", 1, enabled=False, console=Console(file=screen), interval=0.01) as bar:
        bar.add(summary(0, 1, 0.1))
    assert screen.getvalue() == ""


def test_runner_status_says_where_the_game_stands(tmp_path) -> None:
    """The live text comes from the episodes in flight: round, phase, model calls and tokens."""
    from alignsim.agents import make
    from alignsim.run import EpisodeRunner

    seen: list[str] = []

    class Watching:
        """Plays like the mock LLM seats, and reads the runner's status while the game runs."""

        def __init__(self) -> None:
            self.inner = make("llm", model="mock/scripted")
            self.name = self.inner.name

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

        def act_batch(self, decisions):
            seen.append(runner.status())
            return self.inner.act_batch(decisions)

    with EpisodeRunner("traitors/llm-v0", out_dir=tmp_path, policies={"*": Watching()}) as runner:
        runner.run(seed=0)
        assert runner.status() == "", "nothing in flight after the episode"
    assert any(text.startswith("round 1 discussion") for text in seen)
    late = seen[-1]
    assert "model calls and" in late and "tokens so far" in late


def test_a_piped_run_prints_progress_lines(tmp_path) -> None:
    import os
    import subprocess

    from tests.test_cli import ALIGNSIM

    done = subprocess.run(
        # The 10-player game: each episode lasts long enough (hundreds of model calls) for the
        # 0.01 s ticker to report it in flight even on a loaded machine; the 5-player one can
        # finish between two ticks.
        [
            *ALIGNSIM.split(),
            "run",
            "llm=mock",
            "scenario=traitors/llm-classic-v0",
            "episodes=2",
            f"out_dir={tmp_path / 'run'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "ALIGNSIM_PROGRESS_SECONDS": "0.01"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("traitors/llm-classic-v0 seed=0: ")]
    assert len(lines) >= 2
    assert any(" model calls and " in line for line in lines), "the live part: where the game stands"
    assert lines[-1].startswith("traitors/llm-classic-v0 seed=0: 2/2 episodes")
