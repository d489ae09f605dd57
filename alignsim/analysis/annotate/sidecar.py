"""Annotation sidecars: the events one annotator wrote about one episode log, beside it.

``<log stem>.annotations.<judge>.ndjson`` (a JSONL file whose name does not end in
``.jsonl``, so that log readers never take it for an episode log). Its first line is an
:class:`AnnotationRun` (the provenance header: judge, prompt version, params, seed, the log's
sha256); then, per statement, the judge's :class:`~alignsim.record.schema.LLMCall` (for LLM
judges) and an :class:`Annotation`. The events are registered with
:func:`alignsim.record.register_event`, so they are events of the log's open schema.

A sidecar holds no clock time and no cache state, so the same judge and seed on the same
log write the same bytes, whether the answers came from the model or from the cache.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Union

import msgspec

from alignsim.record import register_event, write_atomic
from alignsim.record.schema import Event, LLMCall

__all__ = [
    "SIDECAR_SUFFIX",
    "AnnotatedClaim",
    "Annotation",
    "AnnotationRun",
    "Sidecar",
    "file_sha256",
    "find_sidecars",
    "judge_slug",
    "read_sidecar",
    "sidecar_path",
    "write_sidecar",
]

SIDECAR_SUFFIX = ".ndjson"
_INFIX = ".annotations."


class AnnotatedClaim(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An extracted claim with alignsim's classification (one of ``LABELS``)."""

    start: int
    end: int
    subject: str
    predicate: str
    value: str
    negated: bool = False
    label: str = "unverifiable"


@register_event
class AnnotationRun(Event, tag="annotation_run"):
    """First line of a sidecar: who annotated which log, how."""

    source: ClassVar[str] = "annotator"
    judge: str
    """``grammar``, a backend spec (``openai/gpt-4o-mini``), or ``panel:<aggregate>``."""
    prompt_version: str
    params: dict[str, Any] = {}  # noqa: RUF012 (a msgspec field: copied per instance)
    """Sampling parameters of the judge's requests (empty for the grammar)."""
    judge_seed: int = 0
    log: str = ""
    """The log's file name (the sidecar lies beside it)."""
    log_sha256: str = ""
    episode_id: str = ""
    family: str = ""
    alignsim_version: str = ""
    n_statements: int = 0
    panel: tuple[str, ...] = ()
    """For a panel's aggregate: the judges it aggregates."""


@register_event
class Annotation(Event, tag="annotation"):
    """One annotator's reading of one statement (the log event ``statement_seq``)."""

    source: ClassVar[str] = "annotator"
    judge: str
    statement_seq: int
    family: str
    kind: str
    speaker: str
    claims: tuple[AnnotatedClaim, ...] = ()
    evasive: bool | None = None
    category: str | None = None
    """The judge's own category (principal-agent explanations), as it answered."""
    derived_category: str | None = None
    """alignsim's category from the claims and the ground truth (the family's hook)."""
    ok: bool = True
    """False when the answer could not be read: the statement then has no annotation."""
    error: str | None = None
    raw: str = ""


_decoder = msgspec.json.Decoder(Union[AnnotationRun, Annotation, LLMCall])  # noqa: UP007
_encoder = msgspec.json.Encoder()


class Sidecar(msgspec.Struct):
    """A read sidecar."""

    path: Path
    run: AnnotationRun
    annotations: list[Annotation]
    calls: list[LLMCall]


def judge_slug(judge: str, seed: int) -> str:
    """The file-name part naming an annotator: ``grammar``, ``openai-gpt-4o-mini.s0``, ``panel-majority``."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", judge).strip("-")
    return slug if judge == "grammar" or judge.startswith("panel:") else f"{slug}.s{seed}"


def sidecar_path(log_path: Path, judge: str, seed: int) -> Path:
    """Where ``judge``'s sidecar of ``log_path`` goes (beside the log)."""
    stem = log_path.name.removesuffix(".jsonl")
    return log_path.with_name(f"{stem}{_INFIX}{judge_slug(judge, seed)}{SIDECAR_SUFFIX}")


def find_sidecars(log_path: Path) -> list[Path]:
    """Every sidecar beside ``log_path``, sorted by name."""
    stem = log_path.name.removesuffix(".jsonl")
    return sorted(p for p in log_path.parent.glob(f"{glob_escape(stem)}{_INFIX}*{SIDECAR_SUFFIX}") if p.is_file())


def glob_escape(text: str) -> str:
    """``text`` with glob metacharacters escaped."""
    return re.sub(r"([*?\[\]])", r"[\1]", text)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_ours(path: Path) -> bool:
    """Whether ``path`` is a sidecar this layer wrote (its first line is an ``annotation_run``)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
        return isinstance(_decoder.decode(first), AnnotationRun)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return False


def write_sidecar(path: Path, run: AnnotationRun, events: Sequence[Event]) -> None:
    """Write a sidecar atomically (temp file + rename), numbering its events from 0."""
    lines = []
    for seq, event in enumerate([run, *events]):
        lines.append(_encoder.encode(msgspec.structs.replace(event, seq=seq)))
    write_atomic(path, b"\n".join(lines) + b"\n")


def _lines(path: Path) -> Iterator[Any]:
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield _decoder.decode(line)


def read_sidecar(path: Path) -> Sidecar:
    """Read a sidecar; :class:`~alignsim.errors.LogFormatError` naming the file if it is not one."""
    from alignsim.errors import LogFormatError

    try:
        events = list(_lines(path))
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise LogFormatError(f"{path}: not an annotation sidecar ({exc})") from None
    if not events or not isinstance(events[0], AnnotationRun):
        raise LogFormatError(f"{path}: not an annotation sidecar (no annotation_run first line)")
    return Sidecar(
        path=path,
        run=events[0],
        annotations=[e for e in events if isinstance(e, Annotation)],
        calls=[e for e in events if isinstance(e, LLMCall)],
    )
