"""Writing and reading episode logs.

The log is append-only JSONL, flushed after every event by default, so a crash loses at
most the line being written; the reader drops (and reports) a torn last line. The
summary beside it is written to a temporary file and renamed into place, so it is either
absent or whole.

This module is also the one reading layer every command uses for files it did not write
itself. It opens only regular files (a FIFO, a device, a directory or a symbolic-link
loop named ``*.jsonl`` is refused before it is opened), reads at most the caps of
:func:`alignsim.limits.read_limits`, checks a header's seeds and sizes, and turns every
way a file can be bad (malformed or too deeply nested JSON, binary garbage, a summary of
the wrong shape) into a :class:`~alignsim.errors.LogFormatError` whose one-line message
starts with the file's path. Folder commands collect those in :class:`BadFiles`, report
each, skip the file and go on (see :func:`read_each`).
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from alignsim.errors import AlignsimError, ConfigError, LogFormatError, clip
from alignsim.limits import MAX_EVENT_ROUND, check_env_kwargs, read_limits
from alignsim.record.registry import event_decoder, event_types, load_events_of
from alignsim.record.schema import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    EpisodeEnd,
    Event,
    Header,
    Summary,
    UnknownEvent,
    vocabulary_values,
)

LOG_SUFFIX = ".jsonl"
SUMMARY_SUFFIX = ".summary.json"

_encoder = msgspec.json.Encoder()
_header_decoder = msgspec.json.Decoder(Header)
_summary_decoder = msgspec.json.Decoder(Summary)


T = TypeVar("T")

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class TornLogWarning(UserWarning):
    """A log's last line was incomplete (the writer stopped mid-line) and was dropped."""


class UnknownEventWarning(UserWarning):
    """A log holds events of a type no registered class reads; they were kept as
    :class:`~alignsim.record.UnknownEvent` (one warning per log and type)."""


def _one_line(text: str) -> str:
    return clip(" ".join(str(text).split()), 300)


def _open_regular(path: Path, max_bytes: int, cap_name: str) -> Any:
    """An open binary handle on the regular file ``path`` of at most ``max_bytes`` bytes;
    :class:`LogFormatError` naming the file for anything else (see :func:`read_file`)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise LogFormatError(f"{path}: is {kind}, not a regular file; not read")
    if info.st_size > max_bytes:
        raise LogFormatError(f"{path}: {info.st_size:,} bytes, over the {max_bytes:,}-byte cap ({cap_name}); not read")
    try:
        # O_NONBLOCK: should the path have been swapped for a FIFO since the stat, open
        # does not wait for a writer; the fstat below then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise LogFormatError(f"{path}: is not a regular file; not read")
    return handle


def read_file(path: str | os.PathLike[str], max_bytes: int, *, cap_name: str = "ALIGNSIM_MAX_LOG_BYTES") -> bytes:
    """The bytes of the regular file ``path``, refusing anything else before opening it.

    Raises :class:`LogFormatError` naming the file for a missing file, a symbolic-link loop,
    anything that is not a regular file (a folder, a FIFO, a device such as ``/dev/zero``),
    and a file of more than ``max_bytes`` bytes (``cap_name`` says how to raise the cap).
    """
    path = Path(path)
    with _open_regular(path, max_bytes, cap_name) as handle:
        try:
            data = handle.read(min(os.fstat(handle.fileno()).st_size, max_bytes) + 1)
        except OSError as exc:
            raise LogFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise LogFormatError(f"{path}: over the {max_bytes:,}-byte cap ({cap_name}); not read")
    return data


def decode(decoder: Any, data: bytes, path: str | os.PathLike[str], where: str) -> Any:
    """``decoder.decode(data)``; any failure (malformed or wrongly typed JSON, nesting too deep
    for the decoder) becomes a :class:`LogFormatError` naming ``path`` and ``where``."""
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise LogFormatError(f"{path}: {where}: {_one_line(str(exc) or type(exc).__name__)}") from None


def summary_path(log_path: str | os.PathLike[str]) -> Path:
    """The summary file beside the log at ``log_path`` (``x.jsonl`` -> ``x.summary.json``)."""
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
        self.n_bytes = 0
        """Bytes of events written so far (the header not counted), for the runner's log-size budget."""
        self._buffer = bytearray()
        self._write_line(_encoder.encode(header))

    @property
    def n_events(self) -> int:
        """Events written so far (the header not counted)."""
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
        self.n_bytes += len(buffer)
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
        """The writer itself; leaving the block calls :meth:`close`."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the log, also after an exception (what was written stays; it reads as ``started``)."""
        self.close()


def write_summary(log_path: str | os.PathLike[str], summary: Summary, *, fsync: bool = False) -> Path:
    """Write ``summary`` beside the log at ``log_path`` and return the summary's path.

    The write is atomic (a reader never sees half a file); with ``fsync`` it is durable across
    a power loss.
    """
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
        """The ``episode_end`` event, or None if the episode never ended (the run stopped early)."""
        if self.events and isinstance(self.events[-1], EpisodeEnd):
            return self.events[-1]
        return None

    @property
    def status(self) -> str:
        """``completed``, ``truncated`` or ``failed`` once ended; ``started`` if the run stopped early."""
        end = self.end
        return end.status if end is not None else "started"

    def of_type(self, *types: type[Event]) -> list[Any]:
        """The events that are instances of any of ``types``, in log order."""
        return [e for e in self.events if isinstance(e, types)]


def split_log(path: str | os.PathLike[str]) -> tuple[Header, list[bytes], bool]:
    """The header of a log, its event lines, and whether the file ends with a newline.

    Raises ``LogFormatError`` naming the file for anything :func:`read_file` refuses, a line
    over the line cap, an empty file, a line 1 that is not a header, a schema version this
    alignsim does not read (saying so when it is newer), and a header that fails
    :func:`check_header`.
    """
    path = Path(path)
    limits = read_limits()
    data = read_file(path, limits.max_log_bytes)
    lines = data.split(b"\n")
    del data
    # A file written to the end finishes with b"\n", leaving one empty trailing item.
    ends_cleanly = lines[-1] == b""
    if ends_cleanly:
        lines.pop()
    if not lines:
        raise LogFormatError(f"{path}: empty file, no header")
    longest = max(map(len, lines))
    if longest > limits.max_line_bytes:
        number = next(i for i, line in enumerate(lines, start=1) if len(line) == longest)
        raise LogFormatError(
            f"{path}: line {number} has {longest:,} bytes, over the {limits.max_line_bytes:,}-byte line cap "
            "(ALIGNSIM_MAX_LINE_BYTES); not read"
        )
    try:
        header = _header_decoder.decode(lines[0])
    except (msgspec.DecodeError, RecursionError) as exc:
        version = None
        if is_json_line(lines[0]):
            raw = msgspec.json.decode(lines[0])
            version = raw.get("schema_version") if isinstance(raw, dict) else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise _newer(path, version) from None
        raise LogFormatError(f"{path}: line 1: not an episode header: {_one_line(str(exc))}") from None
    check_version(header, path)
    check_header(header, path)
    return header, lines[1:], ends_cleanly


def read_header(path: str | os.PathLike[str]) -> Header:
    """Only the header of a log (its first line, at most the line cap, is read), checked as
    :func:`split_log` checks it."""
    path = Path(path)
    limits = read_limits()
    with _open_regular(path, limits.max_log_bytes, "ALIGNSIM_MAX_LOG_BYTES") as handle:
        first = handle.readline(limits.max_line_bytes + 1)
    if len(first) > limits.max_line_bytes:
        raise LogFormatError(f"{path}: line 1 is over the {limits.max_line_bytes:,}-byte line cap; not read")
    header = decode(_header_decoder, first, path, "line 1: not an episode header")
    check_version(header, path)
    check_header(header, path)
    return header


def _newer(path: str | os.PathLike[str], version: int) -> LogFormatError:
    return LogFormatError(
        f"{path}: schema version {version} is newer than this alignsim reads "
        f"(versions {', '.join(map(str, READABLE_SCHEMA_VERSIONS))}); upgrade alignsim"
    )


def check_version(header: Header, path: str | os.PathLike[str]) -> None:
    """Refuse a header whose schema version this alignsim does not read, naming the file:
    a newer one says to upgrade, an older or invalid one lists the versions read."""
    version = header.schema_version
    if version in READABLE_SCHEMA_VERSIONS:
        return
    if version > SCHEMA_VERSION:
        raise _newer(path, version)
    readable = ", ".join(map(str, READABLE_SCHEMA_VERSIONS))
    raise LogFormatError(f"{path}: schema version {version} is not supported (this alignsim reads {readable})")


def check_rounds(events: Sequence[Any], path: str | os.PathLike[str]) -> None:
    """Refuse a log whose events claim a round beyond :data:`~alignsim.limits.MAX_EVENT_ROUND`."""
    last = max((e.round for e in events), default=0)
    if last > MAX_EVENT_ROUND:
        raise LogFormatError(f"{path}: an event is in round {last:,}, beyond the {MAX_EVENT_ROUND:,} any game reaches")


_MAX_SEED = 2**64 - 1


def check_header(header: Header, path: str | os.PathLike[str]) -> None:
    """Refuse a header that replay, rerun or analysis could not use safely, naming the file:
    seeds that are missing or out of range, and env sizes over the documented maxima
    (:mod:`alignsim.limits`), so that a doctored ``n_players`` fails here, not as a MemoryError."""
    if "env" not in header.seeds:
        raise LogFormatError(f"{path}: header: seeds has no 'env' seed (keys: {sorted(header.seeds)[:8]})")
    for name, value in (("seed", header.seed), ("episode_index", header.episode_index)):
        if not 0 <= value <= _MAX_SEED:
            raise LogFormatError(f"{path}: header: {name} must be a non-negative integer, got {clip(repr(value), 40)}")
    for name, value in header.seeds.items():
        if not 0 <= value <= _MAX_SEED:
            raise LogFormatError(
                f"{path}: header: seeds.{clip(name, 40)} must be in [0, 2**64), got {clip(repr(value), 40)}"
            )
    try:
        check_env_kwargs(header.env_id.rsplit("-v", 1)[0], header.env_kwargs)
    except ConfigError as exc:
        raise LogFormatError(f"{path}: header: env_kwargs.{exc}") from None


def read_log(path: str | os.PathLike[str], *, header_only: bool = False) -> EpisodeLog:
    """Read an episode log.

    A torn last line (the writer died mid-line) is dropped and reported through
    ``EpisodeLog.torn_tail`` and a :class:`TornLogWarning`. A line whose ``type`` no
    registered class reads, once the events module the header's env declares has been
    imported, becomes an :class:`~alignsim.record.UnknownEvent`, reported once per type in
    ``warnings`` and by an :class:`UnknownEventWarning`. Any other undecodable line, and a
    role, side or cause outside the vocabulary the env declares (:func:`check_vocabulary`),
    raises :class:`~alignsim.errors.LogFormatError` naming the file and the line, as does
    everything :func:`split_log` refuses. A summary beside the log that cannot be read
    leaves ``summary`` None and says so in ``warnings``: the log itself is what counts.
    """
    path = Path(path)
    header, body, ends_cleanly = split_log(path)
    log = EpisodeLog(path=path, header=header, events=[])
    if header_only:
        return log
    decoder = event_decoder()
    unknown: dict[str, list[int]] = {}
    for number, line in enumerate(body, start=2):
        try:
            log.events.append(decoder.decode(line))
            continue
        except (msgspec.DecodeError, RecursionError) as exc:
            error: Exception = exc
        tag = tag_of(line)
        if tag is not None and tag not in event_types() and _load_events(header, path):
            decoder = event_decoder()
            try:
                log.events.append(decoder.decode(line))
                continue
            except (msgspec.DecodeError, RecursionError) as exc:
                error = exc
        if tag is not None and tag not in event_types():
            log.events.append(unknown_event(line, path, number))
            unknown.setdefault(tag, []).append(number)
            continue
        is_last = number == len(body) + 1
        if is_last and (not ends_cleanly or not is_json_line(line)):
            log.torn_tail = line.decode("utf-8", errors="replace")
            message = f"{path}: dropped a torn last line (line {number}, {len(line)} bytes)"
            log.warnings.append(message)
            warnings.warn(message, TornLogWarning, stacklevel=2)
            break
        raise LogFormatError(f"{path}: line {number}: {_one_line(str(error))}") from None
    for tag, numbers in unknown.items():
        message = (
            f"{path}: {len(numbers)} event(s) of unregistered type {clip(repr(tag), 60)} (first on line {numbers[0]}) "
            f"read as UnknownEvent: no installed package registers it (env {clip(header.env_id, 60)})"
        )
        log.warnings.append(message)
        warnings.warn(message, UnknownEventWarning, stacklevel=2)
    check_rounds(log.events, path)
    check_vocabulary(header, log.events, path)
    spath = summary_path(path)
    if os.path.lexists(spath):
        try:
            log.summary = read_summary(spath)
        except LogFormatError as exc:
            log.warnings.append(f"summary not used: {exc}")
    return log


def tag_of(line: bytes) -> str | None:
    """The ``type`` of an event line that is a whole JSON object with a string tag, else None."""
    try:
        raw = msgspec.json.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None
    tag = raw.get("type") if isinstance(raw, dict) else None
    return tag if isinstance(tag, str) else None


class _Common(msgspec.Struct, kw_only=True):
    seq: int = -1
    step: int = 0
    round: int = 0
    phase: str = ""
    visible_to: tuple[str, ...] = ()


_COMMON_FIELDS = frozenset(_Common.__struct_fields__)


def unknown_event(line: bytes, path: str | os.PathLike[str], number: int) -> UnknownEvent:
    """The :class:`~alignsim.record.UnknownEvent` of an event line with an unregistered tag:
    its common fields (checked like any event's) and the rest as raw JSON in ``data``."""
    raw = msgspec.json.decode(line)
    common = {k: v for k, v in raw.items() if k in _COMMON_FIELDS}
    try:
        fields = msgspec.convert(common, _Common)
    except msgspec.ValidationError as exc:
        raise LogFormatError(f"{path}: line {number}: {_one_line(str(exc))}") from None
    data = {k: v for k, v in raw.items() if k != "type" and k not in _COMMON_FIELDS}
    return UnknownEvent(type=raw["type"], data=data, **msgspec.structs.asdict(fields))


def _load_events(header: Header, path: Path) -> bool:
    """Import the events module the header's env declares; True when it registered new types."""
    try:
        return load_events_of(header.env_id)
    except (ImportError, AlignsimError) as exc:
        env_id = clip(header.env_id, 80)
        raise LogFormatError(f"{path}: cannot load the event types of {env_id}: {_one_line(str(exc))}") from None


def check_vocabulary(header: Header, events: Sequence[Any], path: str | os.PathLike[str]) -> None:
    """Refuse a log whose roles, sides or causes are outside what its env declares.

    Each event class names its vocabulary-bound fields (``Event.vocabulary``); the values
    are checked against the :class:`~alignsim.envs.GameInfo` of ``header.env_id``. A
    vocabulary the env leaves empty (a plain PettingZoo env, an env that is not installed)
    is not checked. Raises :class:`LogFormatError` naming the file, line and field.
    """
    bound = [(index, event) for index, event in enumerate(events) if type(event).vocabulary]
    if not bound:
        return
    from alignsim.envs import game_info  # the env registry: declarations only, no env code

    info = game_info(header.env_id)
    for index, event in bound:
        for where, vocabulary, value in vocabulary_values(event):
            allowed = getattr(info, vocabulary, ())
            if allowed and value not in allowed:
                raise LogFormatError(
                    f"{path}: line {index + 2}: {event.__struct_config__.tag}.{where}: {clip(repr(value), 60)} "
                    f"is not one of the {vocabulary} {clip(header.env_id, 60)} declares ({', '.join(allowed)})"
                )


def read_summary(path: str | os.PathLike[str]) -> Summary:
    """Read an episode summary; :class:`LogFormatError` naming the file if it cannot be used."""
    data = read_file(path, read_limits().max_summary_bytes, cap_name="ALIGNSIM_MAX_SUMMARY_BYTES")
    return decode(_summary_decoder, data, path, "not an episode summary")


def is_json_line(line: bytes) -> bool:
    """Whether ``line`` is one complete JSON value (a torn line is not)."""
    try:
        msgspec.json.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True


def _walk(root: Path, suffix: str) -> list[Path]:
    """Entries below ``root`` whose name ends with ``suffix``, whatever their kind (files,
    links, FIFOs, folders: the reader refuses what it cannot read, so that it is reported
    rather than silently missed). Hidden names (moved-aside attempts, temporary files) are
    left out; symbolic links to folders are not followed, so a link loop cannot recurse."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        found += [Path(folder, name) for name in (*files, *dirs) if name.endswith(suffix) and not name.startswith(".")]
    return sorted(found)


def find_logs(path: str | os.PathLike[str]) -> list[Path]:
    """Episode logs at ``path``: the path itself unless it is a folder, or every ``*.jsonl`` below a folder.

    Raises ``FileNotFoundError`` when nothing is at ``path``. Candidates are not opened here;
    :func:`read_log` and :func:`split_log` refuse (naming the file) those that are not
    readable logs.
    """
    path = Path(path)
    if path.is_dir():
        return _walk(path, LOG_SUFFIX)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"no such file or folder: {path}")
    return [path]


def find_summaries(path: str | os.PathLike[str]) -> list[Path]:
    """Episode summaries (done markers) below a folder, without the moved-aside attempts; [] if it does not exist."""
    path = Path(path)
    if not path.is_dir():
        return []
    return _walk(path, SUMMARY_SUFFIX)


def iter_logs(path: str | os.PathLike[str]) -> Iterator[EpisodeLog]:
    """Read each log :func:`find_logs` finds at ``path``, one at a time.

    Strict: the first unreadable log raises (folder commands use :func:`read_each` with
    :class:`BadFiles` instead).
    """
    for log_path in find_logs(path):
        yield read_log(log_path)


class BadFiles:
    """Files a command could not read, each with its one-line reason (which names the file).

    Folder commands pass one to the readers (see :func:`read_each`): a bad file is recorded
    and skipped, every other file is processed, and the command reports the list and a count
    at the end and exits non-zero.
    """

    def __init__(self) -> None:
        self._reasons: dict[str, str] = {}

    def add(self, path: str | os.PathLike[str], reason: BaseException | str) -> None:
        """Record ``path`` as unreadable for ``reason``.

        The reason is kept as one line starting with the path; the first reason given for a path
        is kept.
        """
        message = _one_line(str(reason))
        key = str(path)
        if not message.startswith(key):
            message = f"{key}: {message}"
        self._reasons.setdefault(key, message)

    def __contains__(self, path: object) -> bool:
        """Whether ``path`` was recorded as unreadable."""
        return str(path) in self._reasons

    def __len__(self) -> int:
        """How many files could not be read."""
        return len(self._reasons)

    def __iter__(self) -> Iterator[str]:
        """The one-line reasons (each naming its file), in the order they were added."""
        return iter(self._reasons.values())

    def paths(self) -> list[str]:
        """The unreadable files, in the order they were added."""
        return list(self._reasons)

    def items(self) -> list[tuple[str, str]]:
        """``(path, message)`` pairs, in the order the files were found bad."""
        return list(self._reasons.items())

    def summary(self) -> str:
        """``N unreadable file(s) skipped`` (empty when there were none)."""
        return f"{len(self)} unreadable file(s) skipped" if self else ""


def read_each(
    paths: Iterable[str | os.PathLike[str]],
    read: Callable[[Path], T],
    bad: BadFiles | None,
) -> Iterator[tuple[Path, T]]:
    """``(path, read(path))`` for each path. A path ``read`` refuses with a
    :class:`LogFormatError` is added to ``bad`` and skipped, or, when ``bad`` is None,
    the error propagates (strict reading for a single file or a script).

    A log that decodes but whose content contradicts itself (a ``KeyError``, ``TypeError``,
    ``ValueError`` or ``IndexError`` while ``read`` interprets it) is a ``LogFormatError``
    naming the file too: one doctored log must not stop a folder.
    """
    for p in paths:
        path = Path(p)
        if bad is not None and path in bad:
            continue
        try:
            try:
                value = read(path)
            except LogFormatError:
                raise
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                detail = _one_line(f"{type(exc).__name__}: {exc}")
                raise LogFormatError(f"{path}: content this alignsim cannot interpret: {detail}") from exc
        except LogFormatError as exc:
            if bad is None:
                raise
            bad.add(path, exc)
            continue
        yield path, value
