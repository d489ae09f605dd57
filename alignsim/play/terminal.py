"""The terminal interface of a human seat: the seat's view as text, menus and a line of input.

Each question shows only what is new since the seat's last question (the rules and the
seat's briefing once, then the transcript lines that arrived, then the question); a menu is
numbered, text is typed on one line. With a time limit the input waits at most that long.
Several human seats in one terminal take turns (hot seat): each question names its seat.
"""

from __future__ import annotations

import os
import select
import sys
import time
from typing import IO

from alignsim.play.policy import Answer, Question

__all__ = ["LineReader", "TerminalInterface"]


class LineReader:
    """Lines from a file descriptor, each read with an optional deadline (``select``, then
    ``os.read``: nothing sits in a Python buffer where ``select`` cannot see it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""
        self.closed = False

    def readline(self, timeout_s: float | None = None) -> str | None:
        """The next line without its newline; None at the deadline or at end of input (``closed``)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            if self.closed:
                return None
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self.fd, 4096)
            if not chunk:
                self.closed = True
                if self._buffer:
                    line, self._buffer = self._buffer, b""
                    return line.decode("utf-8", "replace")
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")


class TerminalInterface:
    """Questions on ``out``, answers from ``reader`` (the process's stdin and stdout by default)."""

    def __init__(self, reader: LineReader | None = None, out: IO[str] | None = None) -> None:
        self.reader = reader or LineReader(sys.stdin.fileno())
        self.out = out or sys.stdout
        self._shown: dict[str, list[str]] = {}
        """Per seat, the content of each message as last shown."""
        self._seats: list[str] = []

    def _print(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def consent(self, label: str, text: str) -> bool:
        """Show the consent text; True when the person types ``yes``."""
        self._print("=" * 72)
        self._print(text.strip())
        self._print("=" * 72)
        self.out.write(f"{label}: type 'yes' to agree and start, anything else to stop [yes/no]> ")
        self.out.flush()
        line = self.reader.readline()
        return (line or "").strip().lower() in ("yes", "y")

    def join(self, agent: str, label: str) -> None:
        """Note the seat; with several seats in one terminal, they take turns."""
        self._seats.append(agent)
        self._print(f"{label} plays {agent}.")

    def _show(self, agent: str, messages: list[dict[str, str]]) -> None:
        """Print what is new in ``messages`` since this seat's last question."""
        before = self._shown.get(agent, [])
        contents = [m["content"] for m in messages]
        for i, content in enumerate(contents):
            last = i == len(contents) - 1
            old = before[i] if i < len(before) else ""
            if not last:
                if content != old:
                    heading = "Rules" if messages[i]["role"] == "system" else "You"
                    self._print(f"\n── {heading} " + "─" * (68 - len(heading)))
                    self._print(content)
                continue
            new_lines, old_lines = content.split("\n"), old.split("\n")
            common = 0
            while common < min(len(new_lines), len(old_lines)) - 1 and new_lines[common] == old_lines[common]:
                common += 1
            fresh = new_lines[common:]
            self._print("")
            for line in fresh:
                self._print(line)
        self._shown[agent] = contents

    def ask(self, question: Question) -> Answer | None:
        """Show the question (with what is new), read the answer; None when time runs out or input ends."""
        if len(self._seats) > 1:
            self._print(f"\n##### {question.agent}'s turn ({question.label}); the other players look away #####")
        self._show(question.agent, question.messages)
        if question.problem:
            self._print(f"(Your previous answer could not be used: {question.problem}. Answer again.)")
        limit = f" within {question.timeout_s:g} s" if question.timeout_s is not None else ""
        deadline = None if question.timeout_s is None else time.monotonic() + question.timeout_s
        started = time.monotonic()
        if question.choices is not None:
            for i, choice in enumerate(question.choices, start=1):
                self._print(f"  {i}) {choice}")
            prompt = f"{question.agent} [choose 1-{len(question.choices)}{limit}]> "
        else:
            lead = question.lead or "Your answer:"
            self._print(f"{lead} (one line, at most {question.limit} characters)")
            prompt = f"{question.agent} [type{limit}]> "
        while True:
            self.out.write(prompt)
            self.out.flush()
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            line = None if self.reader.closed else self.reader.readline(remaining)
            if line is None:
                self._print("\n(time is up)" if not self.reader.closed else "\n(input closed)")
                return None
            if question.choices is None:
                return Answer(text=line, response_s=time.monotonic() - started)
            try:
                pick = int(line.strip())
            except ValueError:
                pick = 0
            if 1 <= pick <= len(question.choices):
                return Answer(choice=pick - 1, response_s=time.monotonic() - started)
            self._print(f"Type a number from 1 to {len(question.choices)}.")

    def finish(self, agent: str, transcript: list[str], ending: str) -> None:
        """Print the transcript lines the seat has not been shown yet, and how the game ended."""
        shown = self._shown.get(agent, [])
        # The last question showed a heading, the transcript so far, a blank line and the question.
        seen = max(0, len(shown[-1].split("\n")) - 3) if shown else 0
        self._print(f"\n── {agent}: the game is over " + "─" * 40)
        for line in transcript[seen:]:
            self._print(line)
        if ending and f"Host: {ending}" not in transcript[seen:]:
            self._print(ending)
