"""Annotation layer: claims in free text, found by judges, classified by alignsim."""

from alignsim.analysis.annotate.schema import (
    LABELS,
    PA_CATEGORIES,
    PREDICATES,
    Annotator,
    ExtractedClaim,
    Statement,
    StatementAnnotation,
    make_annotator,
)

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
