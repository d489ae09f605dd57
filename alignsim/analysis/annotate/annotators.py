"""Annotators: the rule grammar and LLM judges (filled in next)."""

from __future__ import annotations

from pathlib import Path

from alignsim.analysis.annotate.schema import Annotator


def build_annotator(spec: str, *, seed: int = 0, cache_dir: Path | None = None) -> Annotator:
    """Build the annotator a judge spec names (not implemented yet)."""
    raise NotImplementedError(f"annotator {spec!r} is not implemented yet")
