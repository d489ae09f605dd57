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

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# Types no metric reads: decoded (only when a line is not in canonical form) to nothing.
class _Announcement(_Base, tag="announcement"):
    pass


class _Reasoning(_Base, tag="reasoning"):
    pass


class _Reward(_Base, tag="reward"):
    pass


class _MemoryWrite(_Base, tag="memory_write"):
    pass


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
_SKIPPED = (_Announcement, _Reasoning, _Reward, _MemoryWrite)
_AnyLean = (
    RoleAssignment
    | Speech
    | Belief
    | Vote
    | VoteResult
    | Elimination
    | GameEnd
    | InvalidAction
    | LLMCall
    | EpisodeEnd
    | Action
    | _Announcement
    | _Reasoning
    | _Reward
    | _MemoryWrite
)
_CANONICAL = b'{"type":"'
_WANTED_PREFIXES = tuple(_CANONICAL + t.__struct_config__.tag.encode() + b'"' for t in NEEDED)  # type: ignore[union-attr]


_batch_decoder = msgspec.json.Decoder(list[_AnyLean])
_line_decoder = msgspec.json.Decoder(_AnyLean)


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


def decode_log(path: str | os.PathLike[str]) -> DecodedLog:
    """Decode the analysis-relevant events of one episode log.

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
    keep = [line for line in body if line.startswith(_WANTED_PREFIXES) or not line.startswith(_CANONICAL)]
    try:
        events = _batch_decoder.decode(b"[" + b",".join(keep) + b"]")
    except (msgspec.DecodeError, RecursionError):
        events = _decode_lines(path, body, keep)
    if not all(line.startswith(_CANONICAL) for line in keep):
        # Non-canonical lines may have been of a type analysis does not read.
        events = [e for e in events if not isinstance(e, _SKIPPED)]
    check_rounds(events, path)  # frames build one row per round
    return DecodedLog(path=path, header=header, events=events, n_events=len(body), torn=torn)


def _decode_lines(path: Path, body: list[bytes], keep: list[bytes]) -> list[Any]:
    """Slow path after a failed batch decode: find the bad line and name it."""
    events = []
    wanted = {id(line) for line in keep}
    for number, line in enumerate(body, start=2):
        if id(line) not in wanted:
            continue
        events.append(decode(_line_decoder, line, path, f"line {number}"))
    return events
