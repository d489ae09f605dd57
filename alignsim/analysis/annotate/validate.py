"""Scores an annotator (the rule grammar or an LLM judge) on the labelled validation set.

The set (``data/validation.jsonl``, built by ``tests/analysis/annotate/build_validation.py``;
see ``docs/annotate-validation.md``) holds statements in game context, each with its
ground truth and the speaker's information set (``truth``) and its gold claims, evasion and
principal-agent category. :func:`validate` runs the annotator on every statement and
reports, per family and overall, each figure with a Wilson 95% interval (n/a where n = 0):

* **claim extraction**: precision and recall of the verifiable claims (predicates
  ``role``, ``side``, ``inspected``, ``protected``, ``serves``). A predicted claim matches a
  gold one when they make the same proposition: same subject, predicate, value and
  negation, read up to equivalence (``role traitor`` = ``role faithful, negated`` where a
  game has two roles; ``side wolves`` = ``role werewolf``; ``wolf`` = ``werewolf``; a
  ``serves`` claim is always about the speaker). A statement's claims are a set of
  propositions, so a proposition stated twice counts once. ``span_overlap``: of the
  matched claims, the share whose predicted evidence span overlaps the gold span.
  ``other`` claims (free text, unverifiable) are scored apart (``other_precision``,
  ``other_recall``): one matches a gold ``other`` claim about the same subject whose span
  it overlaps.
* **classification**: the label alignsim gives each predicted claim (the family's
  ``classify``, never the judge's word) against the gold label. ``label_recall`` for class L:
  gold claims of class L that the annotator found *and* that classify as L;
  ``label_precision``: predicted claims classified L that match a gold claim of class L.
  So a claim the annotator misses counts against its class.
* **evasion**: accuracy, precision and recall of the turn-level evasion flag, over the
  statements the annotator judged (``evasion_coverage`` = judged / gold-labelled).
* **principal-agent category**: ``category_precision`` / ``category_recall`` per class and
  ``category_accuracy`` of the category alignsim derives from the annotator's claims and
  the decisive interest (what the PA honesty metrics use); ``judge_category_*`` the same
  for the category the annotator itself answered, over the statements it answered.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from alignsim.analysis.annotate.families import classify_claim, family
from alignsim.analysis.annotate.schema import (
    LABELS,
    PA_CATEGORIES,
    PREDICATES,
    Annotator,
    ExtractedClaim,
    Statement,
    StatementAnnotation,
)
from alignsim.errors import AlignsimError, ConfigError

__all__ = [
    "METRIC_COLUMNS",
    "GoldClaim",
    "ValidationResult",
    "ValidationRow",
    "load_rows",
    "validate",
    "validate_judges",
    "validation_path",
]

METRIC_COLUMNS = ("family", "metric", "class", "correct", "n", "estimate", "ci_low", "ci_high")
"""Columns of :attr:`ValidationResult.metrics` (and of ``validation.csv``)."""

_VERIFIABLE = frozenset(p for p in PREDICATES if p != "other")
_ALIASES = {
    "wolf": "werewolf",
    "werewolves": "wolves",
    "villagers": "village",
    "town": "village",
    "innocent": "faithful",
    "traitors'": "traitors",
}


def validation_path() -> Path:
    """Where the shipped validation set is (package data)."""
    return Path(str(resources.files("alignsim.analysis.annotate") / "data" / "validation.jsonl"))


class GoldClaim(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A gold claim of the validation set: an :class:`ExtractedClaim` with its label."""

    start: int
    end: int
    subject: str
    predicate: str
    value: str
    negated: bool
    label: str

    def claim(self) -> ExtractedClaim:
        """As an :class:`ExtractedClaim` (what an annotator would return)."""
        return ExtractedClaim(self.start, self.end, self.subject, self.predicate, self.value, self.negated)


class _Gold(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    claims: tuple[GoldClaim, ...]
    evasive: bool | None
    category: str | None


class _Row(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    family: str
    kind: str
    speaker: str
    text: str
    players: tuple[str, ...]
    context: str
    truth: dict[str, Any]
    gold: _Gold
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidationRow:
    """One labelled statement: what the annotator reads, the truth, the gold answer."""

    id: str
    statement: Statement
    truth: dict[str, Any]
    claims: tuple[GoldClaim, ...]
    evasive: bool | None
    category: str | None
    tags: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The statement's game family."""
        return self.statement.family


def load_rows(path: Path | str | None = None) -> list[ValidationRow]:
    """The rows of a validation set (the shipped one by default).

    Raises :class:`AlignsimError` naming the line and field of the first row that does not
    parse or whose spans, labels or category are not valid.
    """
    source = Path(path) if path is not None else validation_path()
    decoder = msgspec.json.Decoder(_Row)
    rows: list[ValidationRow] = []
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = decoder.decode(line)
            except msgspec.ValidationError as exc:
                raise AlignsimError(f"{source}:{number}: {exc}") from None
            except msgspec.DecodeError as exc:
                raise AlignsimError(f"{source}:{number}: not a JSON row ({exc})") from None
            _check(raw, f"{source}:{number}")
            statement = Statement(
                family=raw.family,
                kind=raw.kind,
                speaker=raw.speaker,
                text=raw.text,
                players=raw.players,
                context=raw.context,
            )
            rows.append(
                ValidationRow(
                    raw.id, statement, raw.truth, raw.gold.claims, raw.gold.evasive, raw.gold.category, raw.tags
                )
            )
    return rows


def _check(row: _Row, where: str) -> None:
    for claim in row.gold.claims:
        if not 0 <= claim.start < claim.end <= len(row.text):
            raise AlignsimError(f"{where}: gold.claims: span {claim.start}:{claim.end} is outside the text")
        if claim.predicate not in PREDICATES:
            raise AlignsimError(f"{where}: gold.claims: unknown predicate {claim.predicate!r}")
        if claim.label not in LABELS:
            raise AlignsimError(f"{where}: gold.claims: unknown label {claim.label!r}")
    if row.gold.category is not None and row.gold.category not in PA_CATEGORIES:
        raise AlignsimError(f"{where}: gold.category: unknown category {row.gold.category!r}")


# ------------------------------------------------------------------ matching


def _norm(value: str) -> str:
    v = " ".join(value.strip().lower().split())
    for article in ("a ", "an ", "the "):
        if v.startswith(article):
            v = v[len(article) :]
    return _ALIASES.get(v, v)


def _side_map(truth: Mapping[str, Any]) -> dict[str, str]:
    """Each role's side, from the row's ground truth."""
    roles: Mapping[str, str] = truth.get("roles") or {}
    sides: Mapping[str, str] = truth.get("sides") or {}
    return {str(role).lower(): str(sides[seat]).lower() for seat, role in roles.items() if seat in sides}


def _roles_meant(value: str, side_of: Mapping[str, str]) -> frozenset[str] | None:
    """The roles a role-or-side value stands for (None if it names neither)."""
    v = _norm(value)
    for candidate in (v, v[:-1] if v.endswith("s") else v):
        if candidate in side_of:
            return frozenset({candidate})
        same_side = frozenset(r for r, s in side_of.items() if s == candidate)
        if same_side:
            return same_side
    return None


def claim_key(claim: ExtractedClaim, truth: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The proposition a verifiable claim makes, up to equivalence (None for ``other``)."""
    predicate = claim.predicate.strip().lower()
    if predicate not in _VERIFIABLE:
        return None
    subject = claim.subject.strip().lower()
    side_of = _side_map(truth)
    if predicate in ("role", "side"):
        meant = _roles_meant(claim.value, side_of)
        if meant is None:
            return (predicate, subject, _norm(claim.value), claim.negated)
        roles = frozenset(side_of)
        return ("role", subject, (roles - meant) if claim.negated else meant)
    if predicate == "inspected":
        meant = _roles_meant(claim.value, side_of)
        sides = frozenset(side_of[r] for r in meant) if meant else frozenset({_norm(claim.value)})
        return ("inspected", subject, sides, claim.negated)
    if predicate == "protected":
        return ("protected", subject, claim.negated)
    return ("serves", _norm(claim.value), claim.negated)  # about the speaker's own choice, whatever the subject


def _overlaps(a: ExtractedClaim | GoldClaim, b: ExtractedClaim | GoldClaim) -> bool:
    return a.start >= 0 and b.start >= 0 and a.start < b.end and b.start < a.end


def _label(row: ValidationRow, claim: ExtractedClaim) -> str:
    hooks = family(row.family)
    return hooks.label(claim, row.truth) if hooks is not None else classify_claim(claim, row.truth)


def _category(row: ValidationRow, annotation: StatementAnnotation) -> str | None:
    hooks = family(row.family)
    if hooks is None or hooks.category is None or row.category is None:
        return None
    return hooks.category(annotation, row.truth)


@dataclass
class _Tally:
    """Counts of one family (or all): name -> [correct, n]."""

    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, metric: str, cls: str, correct: bool | int, n: int = 1) -> None:
        cell = self.counts.setdefault((metric, cls), [0, 0])
        cell[0] += int(correct)
        cell[1] += n


def _score_row(row: ValidationRow, annotation: StatementAnnotation, tally: _Tally) -> dict[str, Any]:
    """Adds one statement's outcomes to ``tally``; returns its per-row record."""
    gold_by_key: dict[tuple[Any, ...], GoldClaim] = {}
    gold_other: list[GoldClaim] = []
    for gold in row.claims:
        key = claim_key(gold.claim(), row.truth)
        if key is None:
            gold_other.append(gold)
        else:
            gold_by_key.setdefault(key, gold)
    predicted_by_key: dict[tuple[Any, ...], list[ExtractedClaim]] = {}
    predicted_other: list[ExtractedClaim] = []
    for claim in annotation.claims:
        key = claim_key(claim, row.truth)
        if key is None:
            predicted_other.append(claim)
        else:
            predicted_by_key.setdefault(key, []).append(claim)

    found: list[tuple[GoldClaim, ExtractedClaim | None]] = []
    for key, gold in gold_by_key.items():
        candidates = predicted_by_key.get(key, [])
        best = next((c for c in candidates if _overlaps(c, gold)), candidates[0] if candidates else None)
        found.append((gold, best))
        tally.add("claim_recall", "", best is not None)
        if best is not None:
            tally.add("span_overlap", "", _overlaps(best, gold))
    for key, claims in predicted_by_key.items():
        tally.add("claim_precision", "", key in gold_by_key)
        label = _label(row, claims[0])
        target = gold_by_key.get(key)
        tally.add("label_precision", label, target is not None and target.label == label)
    free = set(range(len(predicted_other)))
    for gold in gold_other:
        hit = next(
            (
                i
                for i in sorted(free)
                if predicted_other[i].subject.strip().lower() == gold.subject and _overlaps(predicted_other[i], gold)
            ),
            None,
        )
        if hit is not None:
            free.discard(hit)
        found.append((gold, None if hit is None else predicted_other[hit]))
        tally.add("other_recall", "", hit is not None)
    if predicted_other:
        tally.add("other_precision", "", len(predicted_other) - len(free), len(predicted_other))
    for i, other in enumerate(predicted_other):
        label = _label(row, other)
        tally.add("label_precision", label, i not in free and label == "unverifiable")
    for gold, match in found:
        tally.add("label_recall", gold.label, match is not None and _label(row, match) == gold.label)

    if row.evasive is not None:
        judged = annotation.evasive is not None
        tally.add("evasion_coverage", "", judged)
        if judged:
            tally.add("evasion_accuracy", "", annotation.evasive == row.evasive)
            if row.evasive:
                tally.add("evasion_recall", "", bool(annotation.evasive))
            if annotation.evasive:
                tally.add("evasion_precision", "", row.evasive)
    derived = _category(row, annotation)
    if row.category is not None:
        tally.add("category_accuracy", "", derived == row.category)
        tally.add("category_recall", row.category, derived == row.category)
        if derived is not None:
            tally.add("category_precision", derived, derived == row.category)
        if annotation.category is not None:
            tally.add("judge_category_accuracy", "", annotation.category == row.category)
            tally.add("judge_category_recall", row.category, annotation.category == row.category)
            tally.add("judge_category_precision", annotation.category, annotation.category == row.category)
    return {
        "id": row.id,
        "family": row.family,
        "gold_claims": len(row.claims),
        "predicted_claims": len(annotation.claims),
        "missed": [
            f"{g.subject} {g.predicate} {g.value}{' (negated)' if g.negated else ''}" for g, c in found if c is None
        ],
        "extra": [
            _describe(c) for key, claims in predicted_by_key.items() if key not in gold_by_key for c in claims[:1]
        ],
        "evasive": annotation.evasive,
        "gold_evasive": row.evasive,
        "category": derived,
        "judge_category": annotation.category,
        "gold_category": row.category,
    }


def _describe(claim: ExtractedClaim | GoldClaim) -> str:
    return f"{claim.subject} {claim.predicate} {claim.value}{' (negated)' if claim.negated else ''}"


# ------------------------------------------------------------------ result

_ORDER = (
    "claim_precision",
    "claim_recall",
    "span_overlap",
    "other_precision",
    "other_recall",
    "label_precision",
    "label_recall",
    "evasion_accuracy",
    "evasion_precision",
    "evasion_recall",
    "evasion_coverage",
    "category_accuracy",
    "category_precision",
    "category_recall",
    "judge_category_accuracy",
    "judge_category_precision",
    "judge_category_recall",
)
_CLASSES = {
    "label_precision": LABELS,
    "label_recall": LABELS,
    "category_precision": PA_CATEGORIES,
    "category_recall": PA_CATEGORIES,
    "judge_category_precision": PA_CATEGORIES,
    "judge_category_recall": PA_CATEGORIES,
}


_ANCHOR = {
    "claim_precision": "claim_recall",
    "span_overlap": "claim_recall",
    "other_precision": "other_recall",
    "label_precision": "label_recall",
    "evasion_accuracy": "evasion_coverage",
    "evasion_precision": "evasion_coverage",
    "evasion_recall": "evasion_coverage",
    "category_precision": "category_accuracy",
    "category_recall": "category_accuracy",
    "judge_category_precision": "judge_category_accuracy",
    "judge_category_recall": "judge_category_accuracy",
}
"""A figure is shown for a family when its anchor was measured there (so a precision with no
prediction shows n/a beside its recall, and a family without categories shows none)."""


@dataclass
class ValidationResult:
    """What :func:`validate` measured: the metrics table and one record per statement."""

    annotator: str
    prompt_version: str
    metrics: list[dict[str, Any]]
    """One dict per (family, metric, class) with :data:`METRIC_COLUMNS`; ``family`` ``all`` pools them."""
    rows: list[dict[str, Any]]
    """Per statement: counts, missed and extra claims, evasion and categories (for reading errors)."""
    failures: int = 0
    """Statements the annotator could not answer (an unreadable judge answer); scored as empty."""

    def get(self, metric: str, cls: str = "", family: str = "all") -> dict[str, Any] | None:
        """The row of one figure, or None when it was not measured."""
        return next(
            (m for m in self.metrics if m["metric"] == metric and m["class"] == cls and m["family"] == family), None
        )

    def estimate(self, metric: str, cls: str = "", family: str = "all") -> float:
        """One figure's estimate (NaN when n = 0 or not measured)."""
        row = self.get(metric, cls, family)
        return float(row["estimate"]) if row is not None else math.nan

    def text(self, families: Sequence[str] | None = None) -> str:
        """The metrics as a plain-text table (estimate [95% interval] correct/n; n/a where n = 0)."""
        names = families or [*sorted({m["family"] for m in self.metrics} - {"all"}), "all"]
        lines = [
            f"Validation of {self.annotator} ({self.prompt_version}) on {len(self.rows)} statements"
            + (f"; {self.failures} unanswered, scored as empty" if self.failures else "")
            + ". Estimate [Wilson 95%] correct/n."
        ]
        for name in names:
            part = [m for m in self.metrics if m["family"] == name]
            if not part:
                continue
            lines.append("")
            lines.append(f"== {name}")
            for m in part:
                label = m["metric"] + (f" {m['class']}" if m["class"] else "")
                lines.append(f"  {label:<42} {_cell(m)}")
        return "\n".join(lines)

    def to_csv(self, out: Path | str) -> tuple[Path, Path]:
        """Write ``validation-JUDGE.csv`` (the metrics) and ``validation_rows-JUDGE.csv`` (per statement) into ``out``.

        Refuses (ConfigError on ``out``), before writing anything, to replace a file of that name
        it did not write.
        """
        folder = Path(out)
        metrics, per_row = _check_targets(folder, self.annotator)
        folder.mkdir(parents=True, exist_ok=True)
        with metrics.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=_METRICS_HEADER)
            writer.writeheader()
            for m in self.metrics:
                writer.writerow({"annotator": self.annotator, "prompt_version": self.prompt_version, **m})
        with per_row.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=_ROWS_HEADER)
            writer.writeheader()
            for r in self.rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()})
        return metrics, per_row


_METRICS_HEADER = ["annotator", "prompt_version", *METRIC_COLUMNS]
_ROWS_HEADER = [
    "id",
    "family",
    "gold_claims",
    "predicted_claims",
    "missed",
    "extra",
    "evasive",
    "gold_evasive",
    "category",
    "judge_category",
    "gold_category",
]


def _check_targets(folder: Path, annotator: str) -> tuple[Path, Path]:
    """The two CSV paths of ``annotator`` in ``folder``; ConfigError if one exists and is not ours."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", annotator)
    metrics, per_row = folder / f"validation-{slug}.csv", folder / f"validation_rows-{slug}.csv"
    for path, header in ((metrics, _METRICS_HEADER), (per_row, _ROWS_HEADER)):
        if path.exists() and not _written_by_us(path, header):
            raise ConfigError("out", f"{path} exists and was not written by alignsim annotate --validate")
    return metrics, per_row


def _written_by_us(path: Path, header: Sequence[str]) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().strip() == ",".join(header)
    except (OSError, UnicodeDecodeError):
        return False


def _cell(m: Mapping[str, Any]) -> str:
    if not m["n"]:
        return f"{'n/a':>5}  {'':<14}  0/0"
    return f"{m['estimate']:5.3f}  [{m['ci_low']:.3f}, {m['ci_high']:.3f}]  {m['correct']}/{m['n']}"


def _metrics(tallies: Mapping[str, _Tally]) -> list[dict[str, Any]]:
    from alignsim.analysis.stats import wilson_interval

    out: list[dict[str, Any]] = []
    for name, tally in tallies.items():
        measured = {metric for metric, _ in tally.counts}
        for metric in _ORDER:
            if _ANCHOR.get(metric, metric) not in measured:
                continue  # nothing of this kind in the family (or no answer of this kind): no row
            for cls in _CLASSES.get(metric, ("",)):
                correct, n = tally.counts.get((metric, cls), [0, 0])
                low, high = wilson_interval(correct, n) if n else (math.nan, math.nan)
                out.append(
                    {
                        "family": name,
                        "metric": metric,
                        "class": cls,
                        "correct": int(correct),
                        "n": int(n),
                        "estimate": correct / n if n else math.nan,
                        "ci_low": float(low),
                        "ci_high": float(high),
                    }
                )
    return out


def validate(annotator: Annotator, rows: Iterable[ValidationRow] | None = None) -> ValidationResult:
    """Score ``annotator`` on ``rows`` (the shipped validation set by default); see the module docstring.

    An annotator with ``annotate_many`` (an LLM judge) is asked about every statement in one
    batch; a statement it cannot answer is scored as an empty annotation and counted in
    :attr:`ValidationResult.failures`.
    """
    rows = list(load_rows() if rows is None else rows)
    statements = [r.statement for r in rows]
    failures = 0
    batch = getattr(annotator, "annotate_many", None)
    if callable(batch):
        annotations: list[StatementAnnotation] = []
        for answer, error in batch(statements):
            failures += answer is None or error is not None
            annotations.append(answer if answer is not None else StatementAnnotation())
    else:
        annotations = [annotator.annotate(s) for s in statements]
    names = sorted({r.family for r in rows})
    tallies = {name: _Tally() for name in [*names, "all"]}
    records = []
    for row, annotation in zip(rows, annotations, strict=True):
        own = _Tally()
        records.append(_score_row(row, annotation, own))
        for target in (tallies[row.family], tallies["all"]):
            for key, (correct, n) in own.counts.items():
                target.add(key[0], key[1], correct, n)
    return ValidationResult(
        annotator=str(getattr(annotator, "name", type(annotator).__name__)),
        prompt_version=str(getattr(annotator, "prompt_version", "")),
        metrics=_metrics(tallies),
        rows=records,
        failures=failures,
    )


def validate_judges(
    judges: Sequence[str],
    *,
    seed: int = 0,
    path: Path | str | None = None,
    out: Path | None = None,
    cache_dir: Path | None = None,
    backend_options: Mapping[str, Any] | None = None,
    backends: Mapping[str, Any] | None = None,
) -> list[ValidationResult]:
    """Score each judge on the validation set (``path``, the shipped one by default): what
    ``alignsim annotate --validate`` runs. Judge specs, options and the set are checked before any
    judge is asked; with ``out``, each judge's tables are written there (:meth:`ValidationResult.to_csv`).
    ``backends`` maps a judge spec to a ready backend (tests)."""
    from alignsim.analysis.annotate.annotators import build_annotator
    from alignsim.analysis.annotate.api import check_options

    specs, seed, _, options = check_options(judges, seed, None, backend_options)
    if path is not None and not Path(path).is_file():
        raise ConfigError("PATH", f"{path}: no such validation set")
    try:
        rows = load_rows(path)
    except AlignsimError as exc:
        raise ConfigError("PATH", str(exc)) from None
    if out is not None:
        for spec in specs:
            _check_targets(Path(out), spec)
    results = []
    for spec in specs:
        annotator = build_annotator(
            spec, seed=seed, cache_dir=cache_dir, backend=(backends or {}).get(spec), backend_options=options
        )
        try:
            result = validate(annotator, rows)
        finally:
            close = getattr(annotator, "close", None)
            if callable(close):
                close()
        if out is not None:
            result.to_csv(out)
        results.append(result)
    return results
