"""Lean, fast decoding of episode logs for analysis.

:func:`alignsim.record.read_log` decodes every event into the full schema classes, which is
right for replay and viewing but wasteful for re-scoring thousands of episodes: most lines
of a log are actions, reasoning and announcements, of which metrics read only who acted
(decisions per agent, the denominator of the invalid-action rate). Here each log is
read in one go, the lines whose type analysis needs are picked out by their first bytes
(the writer always puts the ``type`` tag first), and those lines are decoded in one call
into small structs that hold only the fields analysis reads (unknown fields are skipped by
msgspec without being materialised). Lines that do not start with the canonical tag, e.g.
hand-written logs with another key order, are decoded too, so nothing relevant is missed.

The lean structs keep the schema's attribute names, so the code that turns events into
frames works on them and on full :mod:`alignsim.record.schema` events alike.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import msgspec

from alignsim.record.io import check_rounds, decode, is_json_line, split_log
from alignsim.record.schema import Header

__all__ = ["DecodedLog", "decode_log"]


class _Base(msgspec.Struct, kw_only=True, tag_field="type", gc=False):
    seq: int = -1
    step: int = 0
    round: int = 0
    phase: str = ""


class Claim(msgspec.Struct, gc=False):
    subject: str
    role: str


class RoleAssignment(_Base, tag="role_assignment"):
    roles: dict[str, str]


class Speech(_Base, tag="speech"):
    actor: str
    channel: str
    claims: tuple[Claim, ...] = ()
    proposal: str | None = None


class Belief(_Base, tag="belief"):
    actor: str
    probs: dict[str, float]


class Vote(_Base, tag="vote"):
    actor: str
    vote: str
    ballot: int
    target: str | None


class VoteResult(_Base, tag="vote_result"):
    vote: str
    ballot: int
    resolution: str
    selected: str | None
    tied: tuple[str, ...] = ()


class Elimination(_Base, tag="elimination"):
    target: str
    cause: str
    revealed_role: str | None


class GameEnd(_Base, tag="game_end"):
    winner: str | None
    reason: str = ""


class InvalidAction(_Base, tag="invalid_action"):
    agent: str
    reason: str = ""


class LLMCall(_Base, tag="llm_call"):
    agent: str
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    error: str | None = None
    raw_output: str = ""
    tag: str = ""
    valid: bool = True
    cached: bool = False


class Action(_Base, tag="action"):
    """Only who acted (and, from the base, the step after the action): the decisions per agent."""

    agent: str


class EpisodeEnd(_Base, tag="episode_end"):
    status: str
    winner: str | None = None
    steps: int = 0
    error: str | None = None


NEEDED = (
    RoleAssignment,
    Speech,
    Belief,
    Vote,
    VoteResult,
    Elimination,
    GameEnd,
    InvalidAction,
    LLMCall,
    EpisodeEnd,
    Action,
)
"""The core event types: those the family-neutral frames are built from."""
_CANONICAL = b'{"type":"'


class _Tagged(msgspec.Struct):
    type: str = ""


_peek = msgspec.json.Decoder(_Tagged)


def tag_of(struct: type) -> str:
    """The ``type`` tag of a lean event struct."""
    return str(struct.__struct_config__.tag)  # type: ignore[attr-defined]


CORE_TAGS = frozenset(tag_of(t) for t in NEEDED)
"""The tags the core frames are built from; a family's other events are its own."""


@functools.cache
def _decoding(extra: tuple[type, ...]) -> tuple[Any, Any, tuple[bytes, ...], frozenset[str]]:
    """Batch and line decoders, wanted line prefixes and tags for the core types plus ``extra``
    (a family's own structs; one for a core tag must extend the core struct)."""
    by_tag: dict[str, type] = {tag_of(t): t for t in NEEDED}
    for struct in extra:
        tag = tag_of(struct)
        core = by_tag.get(tag)
        if core is not None and core in NEEDED and not issubclass(struct, core):
            raise TypeError(f"{struct.__name__}: a struct for the core tag {tag!r} must subclass {core.__name__}")
        by_tag[tag] = struct
    union: Any = Union[tuple(by_tag.values())]  # noqa: UP007
    prefixes = tuple(_CANONICAL + tag.encode() + b'"' for tag in by_tag)
    return msgspec.json.Decoder(list[union]), msgspec.json.Decoder(union), prefixes, frozenset(by_tag)


def _wanted(line: bytes, prefixes: tuple[bytes, ...], tags: frozenset[str]) -> bool:
    """Whether analysis decodes ``line``: by its first bytes when the writer's canonical form
    puts the tag first, else by its ``type`` (an unknown type is skipped silently; a line that
    is not even an object is kept, so that decoding names it)."""
    if line.startswith(_CANONICAL):
        return line.startswith(prefixes)
    try:
        return _peek.decode(line).type in tags
    except (msgspec.DecodeError, RecursionError):
        return True


@dataclass
class DecodedLog:
    """What analysis needs from one log file."""

    path: Path
    header: Header
    events: list[Any]
    n_events: int
    """Number of event lines in the file (all types), excluding a torn last line."""
    torn: bool = False
    """True when the last line was incomplete (the writer stopped mid-line) and was dropped."""


def decode_log(
    path: str | os.PathLike[str], extra: tuple[type, ...] | Callable[[Header], tuple[type, ...]] = ()
) -> DecodedLog:
    """Decode the analysis-relevant events of one episode log, reading the file once.

    ``extra``: lean structs decoded beyond the core ones, or a function of the header that
    picks them (a family's own events, see :mod:`~.families`). Events of any other type,
    known or not, are skipped without being decoded.

    Raises:
        LogFormatError: the header is missing or of another schema version, or a line other
            than a torn last line cannot be decoded (same rules as ``read_log``).
    """
    path = Path(path)
    header, body, ends_cleanly = split_log(path)
    torn = False
    if body and not ends_cleanly and not is_json_line(body[-1]):
        # The writer stopped mid-line: drop the partial line, as read_log does.
        body.pop()
        torn = True
    types = extra(header) if callable(extra) else extra
    batch, single, prefixes, tags = _decoding(tuple(types))
    keep = [line for line in body if _wanted(line, prefixes, tags)]
    try:
        events = batch.decode(b"[" + b",".join(keep) + b"]")
    except (msgspec.DecodeError, RecursionError):
        events = _decode_lines(path, body, keep, single)
    check_rounds(events, path)  # frames build one row per round
    return DecodedLog(path=path, header=header, events=events, n_events=len(body), torn=torn)


def _decode_lines(path: Path, body: list[bytes], keep: list[bytes], decoder: Any) -> list[Any]:
    """Slow path after a failed batch decode: find the bad line and name it."""
    events = []
    wanted = {id(line) for line in keep}
    for number, line in enumerate(body, start=2):
        if id(line) not in wanted:
            continue
        events.append(decode(decoder, line, path, f"line {number}"))
    return events
