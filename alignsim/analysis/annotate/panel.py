"""Judge panels: agreement between annotators and an aggregate reading.

Units of agreement (nominal ratings):

* **claims**: per statement, every ``(subject, predicate)`` any annotator of the panel
  made a claim about; an annotator's rating is the value it claimed (``not <value>`` when
  negated; a negated binary role is *not* folded into its complement, so two judges agree
  only when they say the same thing), or ``none`` when it made no such claim;
* **evasion**: per statement, ``evasive`` true / false.

Only statements that every compared annotator annotated (its answer could be read; the
grammar of a family that has none does not apply) are units, so agreement "against the
grammar" is measured where both apply. Cohen's kappa for each pair, Fleiss' kappa for the
whole panel when it has more than two judges. Kappa is n/a (NaN) when there are no units or
chance agreement is 1 (every rating the same category).

Aggregates (``--aggregate``): ``majority`` keeps a claim that more than half of the panel
made (same value); ``unanimous`` one that all made. Ties are not broken: no claim. Evasive is
aggregated the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

__all__ = [
    "AGGREGATES",
    "aggregate_claims",
    "cohen_kappa",
    "fleiss_kappa",
    "panel_units",
]

AGGREGATES = ("majority", "unanimous")
NONE = "none"


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two raters' nominal ratings of the same units (NaN when undefined)."""
    if len(a) != len(b):
        raise ValueError("both raters must rate the same units")
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected >= 1.0 - 1e-12:
        return float("nan")
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float:
    """Fleiss' kappa: ``ratings[u]`` holds every rater's category for unit ``u`` (same count per unit)."""
    units = [list(r) for r in ratings]
    if not units:
        return float("nan")
    m = len(units[0])
    if m < 2 or any(len(r) != m for r in units):
        raise ValueError("Fleiss' kappa needs the same number (at least 2) of ratings per unit")
    categories = sorted({c for r in units for c in r})
    counts = np.array([[r.count(c) for c in categories] for r in units], dtype=float)
    n = len(units)
    p_j = counts.sum(axis=0) / (n * m)
    p_i = ((counts * counts).sum(axis=1) - m) / (m * (m - 1))
    p_bar, p_e = p_i.mean(), float((p_j * p_j).sum())
    if p_e >= 1.0 - 1e-12:
        return float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def _rating(claim: Any) -> str:
    value = str(claim.value).strip().lower()
    return f"not {value}" if claim.negated else value


def claim_ratings(annotation: Any) -> dict[tuple[str, str], str]:
    """``(subject, predicate)`` -> rating of one annotation (its first claim for each key)."""
    out: dict[tuple[str, str], str] = {}
    for claim in annotation.claims:
        out.setdefault((claim.subject, claim.predicate), _rating(claim))
    return out


def panel_units(
    annotations: Mapping[str, Mapping[Any, Any]], judges: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Agreement units of ``judges`` over statements every one of them annotated.

    ``annotations[judge][statement_key]`` is an annotation (with ``claims``, ``evasive`` and
    ``ok``). Returns ``(claim_units, evasion_units)``: dicts with ``key`` (the statement key),
    ``subject``/``predicate`` (claims only) and ``ratings`` (one per judge, in ``judges`` order).
    """
    keys: set[Any] | None = None
    for judge in judges:
        readable = {k for k, a in annotations.get(judge, {}).items() if a.ok}
        keys = readable if keys is None else keys & readable
    claim_units: list[dict[str, Any]] = []
    evasion_units: list[dict[str, Any]] = []
    for key in sorted(keys or (), key=repr):
        per_judge = [annotations[j][key] for j in judges]
        ratings = [claim_ratings(a) for a in per_judge]
        slots = sorted({slot for r in ratings for slot in r})
        for subject, predicate in slots:
            claim_units.append(
                {
                    "key": key,
                    "subject": subject,
                    "predicate": predicate,
                    "ratings": [r.get((subject, predicate), NONE) for r in ratings],
                }
            )
        if all(a.evasive is not None for a in per_judge):
            evasion_units.append({"key": key, "ratings": [str(bool(a.evasive)).lower() for a in per_judge]})
    return claim_units, evasion_units


def agreement_rows(annotations: Mapping[str, Mapping[Any, Any]], judges: Sequence[str]) -> list[dict[str, Any]]:
    """Cohen's kappa per pair of judges and Fleiss' kappa for the panel (> 2 judges), per unit kind."""
    rows: list[dict[str, Any]] = []
    for a, b in combinations(judges, 2):
        claim_units, evasion_units = panel_units(annotations, [a, b])
        for kind, units in (("claims", claim_units), ("evasion", evasion_units)):
            first = [u["ratings"][0] for u in units]
            second = [u["ratings"][1] for u in units]
            agree = sum(x == y for x, y in zip(first, second, strict=True))
            rows.append(
                {
                    "statistic": "cohen_kappa",
                    "judges": f"{a} | {b}",
                    "units": kind,
                    "n": len(units),
                    "observed_agreement": agree / len(units) if units else float("nan"),
                    "kappa": cohen_kappa(first, second),
                }
            )
    if len(judges) > 2:
        claim_units, evasion_units = panel_units(annotations, judges)
        for kind, units in (("claims", claim_units), ("evasion", evasion_units)):
            ratings = [u["ratings"] for u in units]
            agree = sum(len(set(r)) == 1 for r in ratings)
            rows.append(
                {
                    "statistic": "fleiss_kappa",
                    "judges": " | ".join(judges),
                    "units": kind,
                    "n": len(units),
                    "observed_agreement": agree / len(units) if units else float("nan"),
                    "kappa": fleiss_kappa(ratings),
                }
            )
    return rows


def _winner(ratings: Sequence[str], aggregate: str) -> str:
    counts = Counter(ratings)
    value, count = counts.most_common(1)[0]
    if aggregate == "unanimous":
        return value if count == len(ratings) else NONE
    tied = sum(c == count for c in counts.values()) > 1
    return value if count * 2 > len(ratings) and not tied else NONE


def aggregate_claims(annotations: Sequence[Any], aggregate: str = "majority") -> tuple[list[Any], bool | None]:
    """The panel's reading of one statement: ``(claims, evasive)``.

    Each kept claim is the first annotator's claim with the winning rating for its
    ``(subject, predicate)`` (so it keeps a span); evasive is aggregated the same way.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    ratings = [claim_ratings(a) for a in annotations]
    kept = []
    for slot in sorted({s for r in ratings for s in r}):
        winner = _winner([r.get(slot, NONE) for r in ratings], aggregate)
        if winner == NONE:
            continue
        source = next(
            c for a in annotations for c in a.claims if (c.subject, c.predicate) == slot and _rating(c) == winner
        )
        kept.append(source)
    flags = [str(a.evasive).lower() for a in annotations if a.evasive is not None]
    evasive = None
    if len(flags) == len(annotations) and flags:
        won = _winner(flags, aggregate)
        evasive = None if won == NONE else won == "true"
    return kept, evasive


def disagreements(
    annotations: Mapping[str, Mapping[Any, Any]], judges: Sequence[str], texts: Mapping[Any, str]
) -> Iterable[dict[str, Any]]:
    """One row per unit on which the judges do not all agree (for the disagreements CSV)."""
    claim_units, evasion_units = panel_units(annotations, judges)
    for unit in claim_units:
        if len(set(unit["ratings"])) > 1:
            yield _row(unit, judges, texts, "claim")
    for unit in evasion_units:
        if len(set(unit["ratings"])) > 1:
            yield _row({**unit, "subject": "", "predicate": "evasive"}, judges, texts, "evasion")


def _row(unit: Mapping[str, Any], judges: Sequence[str], texts: Mapping[Any, str], kind: str) -> dict[str, Any]:
    episode_id, seq = unit["key"]
    row: dict[str, Any] = {
        "episode_id": episode_id,
        "seq": seq,
        "unit": kind,
        "subject": unit["subject"],
        "predicate": unit["predicate"],
    }
    row.update({judge: rating for judge, rating in zip(judges, unit["ratings"], strict=True)})
    row["text"] = texts.get(unit["key"], "")
    return row
