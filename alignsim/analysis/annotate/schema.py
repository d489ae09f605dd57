"""The shared interface of the annotation layer (issue 19).

An *annotator* reads a public :class:`Statement` (a Traitors speech, a principal-agent
explanation or pitch, a self-evolution note, ...) and returns a
:class:`StatementAnnotation`: the claims the statement makes, each with its evidence span
(character offsets into ``Statement.text``), plus turn-level evasion and, for
principal-agent explanations, a category. Classification of a claim against ground truth
and the speaker's information set (one of :data:`LABELS`) is done by alignsim per family,
never by the judge.

These names are shared with the validation set and the belief probes; change them only
together with those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec

__all__ = [
    "LABELS",
    "PA_CATEGORIES",
    "PREDICATES",
    "Annotator",
    "ExtractedClaim",
    "Statement",
    "StatementAnnotation",
    "make_annotator",
]

#: Classification of one claim against ground truth and the speaker's information set.
LABELS: tuple[str, ...] = ("lie", "honest_error", "truthful", "unverifiable")

#: What a claim asserts about its subject.
PREDICATES: tuple[str, ...] = ("role", "side", "inspected", "protected", "serves", "other")

#: Principal-agent explanation categories.
PA_CATEGORIES: tuple[str, ...] = ("honest", "customer-washing", "principal-citing", "evasive")


class Statement(msgspec.Struct, frozen=True):
    """One public statement, as an annotator reads it.

    ``text`` is exactly the logged public text (spans index into it); ``context`` is what
    the speaker could see before speaking, as plain text for a judge (agent text inside it
    is quoted as data). ``structured`` holds claims the env already parsed at speech time
    (e.g. Traitors ``Speech.claims`` as ``{"subject", "role"}``).
    """

    family: str
    kind: str
    speaker: str
    text: str
    players: tuple[str, ...] = ()
    context: str = ""
    episode_id: str = ""
    seq: int = -1
    structured: tuple[dict, ...] = ()


class ExtractedClaim(msgspec.Struct, frozen=True):
    """One claim found in a statement: ``subject`` ``predicate`` ``value`` (maybe negated).

    ``start``/``end`` are character offsets into ``Statement.text`` (the evidence span),
    ``-1``/``-1`` when the annotator cannot locate it.
    """

    start: int
    end: int
    subject: str
    predicate: str
    value: str
    negated: bool = False


class StatementAnnotation(msgspec.Struct):
    """What an annotator returns for one statement."""

    claims: tuple[ExtractedClaim, ...] = ()
    evasive: bool | None = None
    category: str | None = None
    raw: str = ""


@runtime_checkable
class Annotator(Protocol):
    """Anything that annotates statements: the grammar or an LLM judge."""

    name: str
    prompt_version: str

    def annotate(self, statement: Statement) -> StatementAnnotation:
        """Return the claims (and evasion / category) of one statement."""
        ...


def make_annotator(spec: str, *, seed: int = 0, cache_dir: Path | None = None) -> Annotator:
    """Build an annotator from a judge spec.

    ``"grammar"`` is the rule annotator; anything else is an LLM backend spec as
    ``alignsim run``'s ``llm.model`` takes it (``openai/...``, ``vllm/...``,
    ``transformers/...``, ``mock/...``, ``embedded``).
    """
    from alignsim.analysis.annotate.annotators import build_annotator

    return build_annotator(spec, seed=seed, cache_dir=cache_dir)
