"""A live progress bar for runs and sweeps: episodes done / total, ETA, model tokens and seconds."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from alignsim.record import schema as ev


class EpisodeProgress:
    """Counts finished episodes from their summaries; a context manager around a rich bar.

    Episodes that finished in an earlier launch (resume) are counted as done from the start,
    so the ETA reflects only the work left.
    """

    def __init__(self, description: str, total: int, *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.tokens = 0
        self.llm_seconds = 0.0
        self.failed = 0
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("episodes"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[usage]}"),
            disable=not enabled,
            console=console,
        )
        self._task = self._bar.add_task(description, total=total, usage="")

    def __enter__(self) -> EpisodeProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def add(self, summary: ev.Summary, *, earlier: bool = False) -> None:
        """Count one finished episode (``earlier``: it finished before this launch)."""
        self.tokens += sum(summary.tokens.values())
        self.llm_seconds += sum(summary.llm_seconds.values())
        self.failed += summary.status == "failed"
        if earlier:
            # Not part of this launch's rate: restart the clock instead of advancing.
            self._bar.reset(self._task, completed=self.completed + 1, usage=self.usage())
        else:
            self._bar.update(self._task, advance=1, usage=self.usage())

    def usage(self) -> str:
        parts = []
        if self.tokens:
            parts.append(f"{self.tokens:,} tokens, {self.llm_seconds:,.1f} LLM s")
        if self.failed:
            parts.append(f"[red]{self.failed} failed")
        return " | ".join(parts)

    def set_total(self, total: int) -> None:
        self._bar.update(self._task, total=total)

    @property
    def completed(self) -> int:
        return int(self._bar.tasks[0].completed)
