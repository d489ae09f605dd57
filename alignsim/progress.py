"""Progress for runs and sweeps: episodes done / total, where the game stands, model usage, ETA.

On a terminal it is a live rich bar on stderr. When stderr is not a terminal (output piped to
a file, a CI log, a batch job) the same facts are printed as one plain line every
``interval`` seconds (``ALIGNSIM_PROGRESS_SECONDS``, default 15), so a long run is never
silent. A ``live`` callable, when given, says where the episodes in flight stand (round,
phase, model calls and tokens so far); it is polled from a background thread and must only
read counters.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from alignsim.record import schema as ev

DEFAULT_INTERVAL = 15.0
"""Seconds between plain progress lines when stderr is not a terminal."""


def progress_interval() -> float:
    """The plain-line interval: ``ALIGNSIM_PROGRESS_SECONDS`` if set to a positive number, else 15."""
    try:
        value = float(os.environ.get("ALIGNSIM_PROGRESS_SECONDS", DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value > 0 else DEFAULT_INTERVAL


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class EpisodeProgress:
    """Counts finished episodes from their summaries; a context manager around a bar or plain lines.

    Episodes that finished in an earlier launch (resume) are counted as done from the start,
    so the ETA reflects only the work left.

    Args:
        description: what runs (the scenario and seed, or the sweep's name).
        total: episodes expected.
        enabled: False shows nothing.
        console: where to draw; default stderr. A terminal gets the bar, anything else plain lines.
        live: returns a short text on the episodes in flight (``round 2 discussion, 140 calls``).
        interval: seconds between plain lines (default :func:`progress_interval`).
    """

    def __init__(
        self,
        description: str,
        total: int,
        *,
        enabled: bool = True,
        console: Console | None = None,
        live: Callable[[], str] | None = None,
        interval: float | None = None,
    ) -> None:
        self.enabled = enabled
        self.description = description
        self.tokens = 0
        self.llm_seconds = 0.0
        self.failed = 0
        self.live = live
        self.console = console or Console(stderr=True)
        self.plain = enabled and not self.console.is_terminal
        self.interval = interval or progress_interval()
        self._started = time.monotonic()
        self._done_now = 0  # episodes finished by this launch (the rate for the ETA)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("episodes"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[usage]}"),
            disable=not enabled or self.plain,
            console=self.console,
        )
        self._task = self._bar.add_task(description, total=total, usage="")

    def __enter__(self) -> EpisodeProgress:
        """Start the clock, the bar and (for plain lines or live text) the ticker thread."""
        self._started = time.monotonic()
        self._bar.start()
        if self.enabled and (self.plain or self.live is not None):
            self._ticker = threading.Thread(target=self._tick, name="alignsim-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the ticker, print a last plain line if lines are printed, and stop the bar."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.plain:
            self._print_line()
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
            self._done_now += 1
            self._bar.update(self._task, advance=1, usage=self.usage())

    def usage(self) -> str:
        """The status text after the bar: episodes in flight, tokens and model time, failures."""
        parts = []
        live = self._live_text()
        if live:
            parts.append(live)
        if self.tokens:
            parts.append(f"{self.tokens:,} tokens, {self.llm_seconds:,.1f} LLM s")
        if self.failed:
            parts.append(f"[red]{self.failed} failed")
        return " | ".join(parts)

    def set_total(self, total: int) -> None:
        """Change the number of episodes expected."""
        self._bar.update(self._task, total=total)

    @property
    def completed(self) -> int:
        """Episodes counted as done so far (those of an earlier launch included)."""
        return int(self._bar.tasks[0].completed)

    @property
    def total(self) -> int:
        """Episodes expected."""
        return int(self._bar.tasks[0].total or 0)

    def eta(self) -> str:
        """Time left at this launch's rate; unknown until an episode of this launch has finished."""
        left = self.total - self.completed
        if left <= 0:
            return "0:00:00"
        if not self._done_now:
            return "after the first episode"
        rate = (time.monotonic() - self._started) / self._done_now
        return _clock(rate * left)

    def line(self) -> str:
        """The plain progress line (what a non-terminal sees every ``interval`` seconds)."""
        parts = [
            f"{self.description}: {self.completed}/{self.total} episodes",
            f"elapsed {_clock(time.monotonic() - self._started)}",
            f"eta {self.eta()}",
        ]
        usage = self.usage().replace("[red]", "")
        if usage:
            parts.append(usage)
        return " | ".join(parts)

    def _live_text(self) -> str:
        if self.live is None:
            return ""
        try:
            return self.live()
        except Exception:  # a status read racing the runner must never break the run
            return ""

    def _print_line(self) -> None:
        print(self.line(), file=self.console.file, flush=True)

    def _tick(self) -> None:
        # On a terminal, refresh the live text each second; otherwise print a line per interval.
        period = self.interval if self.plain else 1.0
        while not self._stop.wait(period):
            if self.plain:
                self._print_line()
            else:
                self._bar.update(self._task, usage=self.usage())
