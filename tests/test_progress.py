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
