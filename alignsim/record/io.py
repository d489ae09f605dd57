"""Writing and reading episode logs.

The log is append-only JSONL, flushed after every event by default, so a crash loses at
most the line being written; the reader drops (and reports) a torn last line. The
summary beside it is written to a temporary file and renamed into place, so it is either
absent or whole.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from alignsim.errors import LogFormatError
from alignsim.record.schema import (
    SCHEMA_VERSION,
    AnyEvent,
    EpisodeEnd,
    Event,
    Header,
    Summary,
)

LOG_SUFFIX = ".jsonl"
SUMMARY_SUFFIX = ".summary.json"

_encoder = msgspec.json.Encoder()
_event_decoder = msgspec.json.Decoder(AnyEvent)
_header_decoder = msgspec.json.Decoder(Header)
_summary_decoder = msgspec.json.Decoder(Summary)


class TornLogWarning(UserWarning):
    """A log's last line was incomplete (the writer stopped mid-line) and was dropped."""


def summary_path(log_path: str | os.PathLike[str]) -> Path:
    path = Path(log_path)
    return path.with_name(path.name.removesuffix(LOG_SUFFIX) + SUMMARY_SUFFIX)


def write_atomic(path: str | os.PathLike[str], data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    The rename is atomic for readers and for a crashed process; ``fsync`` also makes the
    data durable across a power loss before the rename.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


class EpisodeWriter:
    """Appends a header and events to a new episode log.

    Args:
        path: the ``.jsonl`` file to create; an existing file is never overwritten.
        header: the episode header, written immediately.
        flush: ``"event"`` (default): every event reaches the operating system before the
            next action is taken, so a killed process loses nothing it logged; ``"episode"``:
            events are buffered and written in large blocks.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: Header,
        *,
        flush: Literal["event", "episode"] = "event",
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # flush="event": an unbuffered file, so every write call goes straight to the OS;
        # "episode": an ordinary buffered file.
        self._file = open(self.path, "xb", buffering=0 if flush == "event" else 1 << 16)  # noqa: SIM115
        self._seq = 0
        self._buffer = bytearray()
        self._write_line(_encoder.encode(header))

    @property
    def n_events(self) -> int:
        return self._seq

    def _write_line(self, data: bytes) -> None:
        self._file.write(data + b"\n")

    def write(self, event: Event) -> Event:
        """Append ``event``, setting its sequence number; returns it."""
        return self.write_many((event,))[0]

    def write_many(self, events: Sequence[Event]) -> Sequence[Event]:
        """Append ``events`` in order with one write call (one system call when flushing per event)."""
        buffer = self._buffer
        encode_into = _encoder.encode_into
        for event in events:
            event.seq = self._seq
            self._seq += 1
            encode_into(event, buffer, -1)
            buffer += b"\n"
        self._file.write(buffer)
        buffer.clear()
        return events

    def close(self, *, fsync: bool = False) -> None:
        """Close the file; ``fsync`` also forces it to disk (survives power loss, costs ~1 ms)."""
        if self._file.closed:
            return
        self._file.flush()
        if fsync:
            os.fsync(self._file.fileno())
        self._file.close()

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_summary(log_path: str | os.PathLike[str], summary: Summary, *, fsync: bool = False) -> Path:
    path = summary_path(log_path)
    write_atomic(path, msgspec.json.format(_encoder.encode(summary), indent=2) + b"\n", fsync=fsync)
    return path


@dataclass
class EpisodeLog:
    """An episode log read back from disk."""

    path: Path
    header: Header
    events: list[Any]
    summary: Summary | None = None
    torn_tail: str | None = None
    """The incomplete last line that was dropped, if there was one."""
    warnings: list[str] = field(default_factory=list)

    @property
    def end(self) -> EpisodeEnd | None:
        if self.events and isinstance(self.events[-1], EpisodeEnd):
            return self.events[-1]
        return None

    @property
    def status(self) -> str:
        """``completed``, ``truncated`` or ``failed`` once ended; ``started`` if the run stopped early."""
        end = self.end
        return end.status if end is not None else "started"

    def of_type(self, *types: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, types)]


def split_log(path: str | os.PathLike[str]) -> tuple[Header, list[bytes], bool]:
    """The header of a log, its event lines, and whether the file ends with a newline.

    Raises ``LogFormatError`` for an empty file, a line 1 that is not a header, or a schema
    version this alignsim does not read (saying so when it is newer).
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    # A file written to the end finishes with b"\n", leaving one empty trailing item.
    ends_cleanly = lines[-1] == b""
    if ends_cleanly:
        lines.pop()
    if not lines:
        raise LogFormatError(f"{path}: empty file, no header")
    try:
        header = _header_decoder.decode(lines[0])
    except msgspec.DecodeError as exc:
        raw = msgspec.json.decode(lines[0]) if is_json_line(lines[0]) else None
        version = raw.get("schema_version") if isinstance(raw, dict) else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise LogFormatError(
                f"{path}: schema version {version} is newer than this alignsim reads "
                f"({SCHEMA_VERSION}); upgrade alignsim"
            ) from exc
        raise LogFormatError(f"{path}: line 1: not an episode header: {exc}") from exc
    if header.schema_version != SCHEMA_VERSION:
        raise LogFormatError(
            f"{path}: schema version {header.schema_version} is not supported (this alignsim reads {SCHEMA_VERSION})"
        )
    return header, lines[1:], ends_cleanly


def read_log(path: str | os.PathLike[str], *, header_only: bool = False) -> EpisodeLog:
    """Read an episode log.

    A torn last line (the writer died mid-line) is dropped and reported through
    ``EpisodeLog.torn_tail`` and a :class:`TornLogWarning`. Any other undecodable line
    raises :class:`~alignsim.errors.LogFormatError` naming the line.
    """
    path = Path(path)
    header, body, ends_cleanly = split_log(path)
    log = EpisodeLog(path=path, header=header, events=[])
    if header_only:
        return log
    for number, line in enumerate(body, start=2):
        try:
            log.events.append(_event_decoder.decode(line))
        except msgspec.DecodeError as exc:
            is_last = number == len(body) + 1
            if is_last and (not ends_cleanly or not is_json_line(line)):
                log.torn_tail = line.decode("utf-8", errors="replace")
                message = f"{path}: dropped a torn last line (line {number}, {len(line)} bytes)"
                log.warnings.append(message)
                warnings.warn(message, TornLogWarning, stacklevel=2)
                break
            raise LogFormatError(f"{path}: line {number}: {exc}") from exc
    spath = summary_path(path)
    if spath.exists():
        log.summary = _summary_decoder.decode(spath.read_bytes())
    return log


def is_json_line(line: bytes) -> bool:
    """Whether ``line`` is one complete JSON value (a torn line is not)."""
    try:
        msgspec.json.decode(line)
    except msgspec.DecodeError:
        return False
    return True


def find_logs(path: str | os.PathLike[str]) -> list[Path]:
    """Episode logs at ``path``: the file itself, or every ``*.jsonl`` below a folder."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return sorted(p for p in path.rglob(f"*{LOG_SUFFIX}") if not p.name.startswith("."))


def find_summaries(path: str | os.PathLike[str]) -> list[Path]:
    """Episode summaries (done markers) below a folder, without the moved-aside attempts; [] if it does not exist."""
    path = Path(path)
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob(f"*{SUMMARY_SUFFIX}") if not p.name.startswith("."))


def iter_logs(path: str | os.PathLike[str]) -> Iterator[EpisodeLog]:
    for log_path in find_logs(path):
        yield read_log(log_path)
