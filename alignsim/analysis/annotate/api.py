"""``alignsim annotate``: annotate every statement of every log with one or more judges.

Everything is checked before any work starts (judges, seed, aggregate, backend options,
paths); then each log is read once, its family's statements are extracted, each annotator
reads them (an LLM judge in one batch per log), alignsim classifies every claim, and the
sidecar is written beside the log. With two or more judges a panel follows: agreement
(``agreement.csv``), disagreements (``disagreements.csv``) and the aggregate reading as one
more sidecar per log (``panel:<aggregate>``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignsim.analysis.annotate.annotators import GrammarAnnotator, JudgeAnnotator, build_annotator, check_judge_spec
from alignsim.analysis.annotate.families import AnnotationFamily, Item, family
from alignsim.analysis.annotate.panel import AGGREGATES, aggregate_claims, agreement_rows, disagreements
from alignsim.analysis.annotate.schema import StatementAnnotation
from alignsim.analysis.annotate.sidecar import (
    AnnotatedClaim,
    Annotation,
    AnnotationRun,
    file_sha256,
    is_ours,
    sidecar_path,
    write_sidecar,
)
from alignsim.errors import ConfigError

__all__ = ["AnnotateResult", "annotate", "check_options", "default_out"]


@dataclass
class AnnotateResult:
    """What :func:`annotate` did."""

    sidecars: list[Path] = field(default_factory=list)
    logs: int = 0
    statements: int = 0
    model_calls: dict[str, int] = field(default_factory=dict)
    """Per judge, requests that reached the model (cache misses)."""
    cache_hits: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)
    """Per judge, answers that could not be read (no annotation)."""
    agreement: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    """Panel files written (agreement.csv, disagreements.csv)."""
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """A short digest for the terminal."""
        lines = [f"annotated {self.statements} statements in {self.logs} logs; {len(self.sidecars)} sidecars written"]
        lines += [
            f"  {judge}: {calls} model calls, {self.cache_hits.get(judge, 0)} from cache, "
            f"{self.unreadable.get(judge, 0)} unreadable answers"
            for judge, calls in self.model_calls.items()
        ]
        for row in self.agreement:
            kappa = "n/a" if row["kappa"] != row["kappa"] else f"{row['kappa']:.3f}"
            lines.append(f"  {row['statistic']} [{row['units']}] {row['judges']}: {kappa} (n={row['n']})")
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"wrote {p}" for p in self.files]
        return "\n".join(lines)


def default_out(paths: Sequence[Path]) -> Path:
    """Where panel files and the judge cache go by default: ``PATH/annotations`` (a folder) or beside the log."""
    first = Path(paths[0])
    return (first if first.is_dir() else first.parent) / "annotations"


def check_options(
    judges: Sequence[Any], seed: Any, aggregate: Any, backend_options: Any
) -> tuple[list[str], int, str | None, dict[str, Any]]:
    """Normalised ``(judges, seed, aggregate, backend_options)``; ConfigError naming the first bad field."""
    from alignsim.agents.llm.backends import check_backend_options

    if not judges:
        raise ConfigError("judge", "give at least one --judge (grammar, or a backend such as openai/MODEL)")
    specs = [check_judge_spec(j) for j in judges]
    for spec in specs:
        if specs.count(spec) > 1:
            raise ConfigError("judge", f"{spec!r} is given twice")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed", f"must be a non-negative integer, got {seed!r}")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise ConfigError("aggregate", f"must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    if aggregate is not None and len(specs) < 2:
        raise ConfigError("aggregate", "a panel needs at least two --judge")
    if backend_options is not None and not isinstance(backend_options, Mapping):
        raise ConfigError("backend_options", f"must be a mapping, got {backend_options!r}")
    options = dict(backend_options or {})
    for spec in specs:
        if spec != "grammar":
            check_backend_options(spec, options)
    return specs, seed, (aggregate or ("majority" if len(specs) > 1 else None)), options


def _version() -> str:
    from alignsim import __version__

    return __version__


def _claims(hooks: AnnotationFamily, item: Item, annotation: StatementAnnotation) -> tuple[AnnotatedClaim, ...]:
    return tuple(
        AnnotatedClaim(c.start, c.end, c.subject, c.predicate, c.value, c.negated, hooks.label(c, item.truth))
        for c in annotation.claims
    )


def _event(
    judge: str,
    hooks: AnnotationFamily,
    item: Item,
    annotation: StatementAnnotation | None,
    error: str | None,
    raw: str = "",
) -> Annotation:
    s = item.statement
    common: dict[str, Any] = {
        "judge": judge,
        "statement_seq": s.seq,
        "family": s.family,
        "kind": s.kind,
        "speaker": s.speaker,
        "round": int(item.meta.get("round", 0)),
        "phase": str(item.meta.get("phase", "")),
    }
    if annotation is None:
        return Annotation(**common, ok=False, error=error, raw=raw)
    derived = hooks.category(annotation, item.truth) if hooks.category is not None else None
    return Annotation(
        **common,
        claims=_claims(hooks, item, annotation),
        evasive=annotation.evasive,
        category=annotation.category,
        derived_category=derived,
        raw=annotation.raw,
    )


def _call_event(judge: JudgeAnnotator, request: Any, response: Any, parsed_ok: bool) -> Any:
    from alignsim.record.schema import LLMCall

    params = request.params
    return LLMCall(
        agent="annotator",
        model=judge.name,
        messages=[dict(m) for m in request.messages],
        params={"max_tokens": params.max_tokens, "temperature": params.temperature, "top_p": params.top_p}
        | {"seed": params.seed, "stop": list(params.stop)},
        raw_output=response.text,
        tag=request.tag,
        valid=parsed_ok,
        prompt_tokens=response.prompt_tokens,
        completion_tokens=response.completion_tokens,
        finish_reason=response.finish_reason,
        error=response.error,
    )


def annotate(
    paths: Sequence[str | os.PathLike[str]],
    judges: Sequence[str],
    *,
    seed: int = 0,
    aggregate: str | None = None,
    out: Path | None = None,
    cache_dir: Path | None = None,
    backend_options: Mapping[str, Any] | None = None,
    backends: Mapping[str, Any] | None = None,
    bad: Any = None,
    progress: Callable[[str], None] | None = None,
) -> AnnotateResult:
    """Annotate every statement of the logs at ``paths`` with each judge (module docstring).

    Args:
        paths: logs, run or sweep folders.
        judges: ``grammar`` and/or backend specs (``openai/...``, ``mock/...``, ``embedded``).
        seed: the judges' sampling seed (recorded; part of the sidecar's name).
        aggregate: the panel's aggregate (``majority`` by default with two or more judges).
        out: folder for the panel files (default :func:`default_out`).
        cache_dir: judge answer cache (None: no cache).
        backend_options: provider options for the LLM judges (``base_url``, ...).
        backends: judge spec -> a ready backend, used instead of building one (tests).
        bad: a :class:`~alignsim.record.BadFiles`; unreadable logs are recorded there and skipped.
        progress: called with one line per log.
    """
    from alignsim.analysis.families import family_of
    from alignsim.record import find_logs, read_each, read_log

    specs, seed, aggregate, options = check_options(judges, seed, aggregate, backend_options)
    logs: list[Path] = []
    for p in paths:
        logs.extend(f for f in find_logs(p) if f.name.endswith(".jsonl"))
    out = Path(out) if out is not None else default_out([Path(p) for p in paths])
    names = [*specs, *([f"panel:{aggregate}"] if aggregate is not None else [])]
    for log_path in logs:  # refuse before any work: never overwrite a file this layer did not write
        for name in names:
            target = sidecar_path(log_path, name, seed)
            if target.exists() and not is_ours(target):
                raise ConfigError("judge", f"{target} exists and was not written by alignsim annotate; not touching it")
    annotators = [
        build_annotator(
            spec, seed=seed, cache_dir=cache_dir, backend=(backends or {}).get(spec), backend_options=options
        )
        for spec in specs
    ]
    result = AnnotateResult(model_calls={s: 0 for s in specs if s != "grammar"})
    panel: dict[str, dict[Any, Annotation]] = {spec: {} for spec in specs}
    texts: dict[Any, str] = {}
    try:
        for path, log in read_each(logs, read_log, bad):
            fam = family_of(log.header.env_id)
            hooks = family(fam)
            if hooks is None:
                result.notes.append(f"{path.name}: no annotation hooks for family {fam!r}; skipped")
                continue
            items = hooks.statements(log)
            result.logs += 1
            result.statements += len(items)
            digest = file_sha256(path)
            per_log: dict[str, list[Annotation]] = {}
            for annotator in annotators:
                events = _annotate_log(annotator, hooks, items, result)
                target = sidecar_path(path, annotator.name, seed)
                run = AnnotationRun(
                    judge=annotator.name,
                    prompt_version=annotator.prompt_version,
                    params=dict(getattr(annotator, "params", {})),
                    judge_seed=seed if annotator.name != "grammar" else 0,
                    log=path.name,
                    log_sha256=digest,
                    episode_id=log.header.episode_id,
                    family=fam,
                    alignsim_version=_version(),
                    n_statements=len(items),
                )
                write_sidecar(target, run, events)
                result.sidecars.append(target)
                per_log[annotator.name] = [e for e in events if isinstance(e, Annotation)]
                for event in per_log[annotator.name]:
                    panel[annotator.name][(log.header.episode_id, event.statement_seq)] = event
            for item in items:
                texts[(log.header.episode_id, item.statement.seq)] = item.statement.text
            if aggregate is not None:
                result.sidecars.append(
                    _write_panel(path, log, fam, digest, hooks, items, per_log, specs, aggregate, annotators)
                )
            if progress is not None:
                progress(f"{path.name}: {len(items)} statements")
    finally:
        for annotator in annotators:
            _count(annotator, result)
            getattr(annotator, "close", lambda: None)()
    if len(specs) > 1:
        result.agreement = agreement_rows(panel, specs)
        out.mkdir(parents=True, exist_ok=True)
        result.files.append(_write_csv(out / "agreement.csv", result.agreement))
        rows = list(disagreements(panel, specs, texts))
        columns = ["episode_id", "seq", "unit", "subject", "predicate", *specs, "text"]
        result.files.append(_write_csv(out / "disagreements.csv", rows, columns))
    return result


def _annotate_log(annotator: Any, hooks: AnnotationFamily, items: list[Item], result: AnnotateResult) -> list[Any]:
    """The sidecar events of one annotator over one log's statements."""
    events: list[Any] = []
    name = annotator.name
    if isinstance(annotator, GrammarAnnotator):
        for item in items:
            if not hooks.has_grammar:
                events.append(
                    _event(name, hooks, item, None, f"no rule grammar reads {item.statement.family} statements")
                )
            else:
                events.append(_event(name, hooks, item, annotator.annotate(item.statement), None))
        return events
    if isinstance(annotator, JudgeAnnotator):
        first = len(annotator.calls)
        answers = annotator.annotate_many([item.statement for item in items])
        for item, (annotation, error), (request, response) in zip(items, answers, annotator.calls[first:], strict=True):
            events.append(_call_event(annotator, request, response, annotation is not None))
            events.append(_event(name, hooks, item, annotation, error, raw=response.text))
            if annotation is None:
                result.unreadable[name] = result.unreadable.get(name, 0) + 1
        return events
    # Any other Annotator (a plug-in): annotate() per statement.
    events.extend(_event(name, hooks, item, annotator.annotate(item.statement), None) for item in items)
    return events


def _count(annotator: Any, result: AnnotateResult) -> None:
    if not isinstance(annotator, JudgeAnnotator):
        return
    backend = annotator.backend
    if hasattr(backend, "misses"):
        result.model_calls[annotator.name] = backend.misses
        result.cache_hits[annotator.name] = backend.hits
    else:
        result.model_calls[annotator.name] = len(annotator.calls)


def _write_panel(
    path: Path,
    log: Any,
    fam: str,
    digest: str,
    hooks: AnnotationFamily,
    items: list[Item],
    per_log: Mapping[str, list[Annotation]],
    specs: Sequence[str],
    aggregate: str,
    annotators: Sequence[Any],
) -> Path:
    """The panel's aggregate reading of one log, as one more sidecar."""
    judge = f"panel:{aggregate}"
    events = []
    by_seq = {spec: {a.statement_seq: a for a in per_log.get(spec, [])} for spec in specs}
    for item in items:
        readable = [by_seq[s][item.statement.seq] for s in specs if by_seq[s].get(item.statement.seq) is not None]
        readable = [a for a in readable if a.ok]
        if not readable:
            events.append(_event(judge, hooks, item, None, "no judge of the panel annotated this statement"))
            continue
        claims, evasive = aggregate_claims(readable, aggregate)
        from alignsim.analysis.annotate.schema import ExtractedClaim

        annotation = StatementAnnotation(
            claims=tuple(ExtractedClaim(c.start, c.end, c.subject, c.predicate, c.value, c.negated) for c in claims),
            evasive=evasive,
        )
        events.append(_event(judge, hooks, item, annotation, None))
    run = AnnotationRun(
        judge=judge,
        prompt_version="+".join(a.prompt_version for a in annotators),
        log=path.name,
        log_sha256=digest,
        episode_id=log.header.episode_id,
        family=fam,
        alignsim_version=_version(),
        n_statements=len(items),
        panel=tuple(specs),
    )
    target = sidecar_path(path, judge, 0)
    write_sidecar(target, run, events)
    return target


def _write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> Path:
    rows = list(rows)
    columns = list(columns or (rows[0].keys() if rows else ["statistic", "judges", "units", "n", "kappa"]))
    import io

    from alignsim.record import write_atomic

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue().encode())
    return path
