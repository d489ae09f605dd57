"""Sweeps: Hydra multirun into a named folder that resumes, with live progress and one results table.

``alignsim sweep name=grid scenario=traitors/classic-v0 seed='range(0,50)'`` runs every
combination of the overrides as a Hydra job under ``sweeps/grid/<job>/``. A job's folder is
named after its overrides, so relaunching the same command finds every finished episode (its
summary is written last, atomically, and is the done marker) and runs only what is missing.
At the end :func:`aggregate` writes ``results.csv`` (one row per job: its overrides and
outcomes), ``usage.csv`` (episodes, model calls, tokens and model seconds per model) and the
analysis report of the whole sweep; ``alignsim aggregate DIR`` does the same on demand.

Before any work starts, :func:`preflight` composes the configuration Hydra will run (whatever
``--config-name``/``--config-dir`` say), checks every instantiable target in it against exact-name
allow-lists (``alignsim.conf.safety``), and checks every value, swept ones included
(``alignsim.conf.validate``), so a bad config fails with one line naming the field and nothing written.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from alignsim.conf import non_outcome_keys
from alignsim.conf.compose import EDITABLE_PREFIXES, HydraArgs
from alignsim.conf.safety import ALLOWED_TARGETS, check_targets
from alignsim.errors import ConfigError, LogFormatError
from alignsim.limits import read_limits
from alignsim.record import BadFiles, find_logs, find_summaries, read_each, read_summary
from alignsim.record.io import read_file, read_header

__all__ = [
    "ALLOWED_TARGETS",
    "AggregateResults",
    "Preflight",
    "SweepTables",
    "aggregate",
    "check_targets",
    "preflight",
]

_NON_OUTCOME_KEYS = non_outcome_keys()
SWEEPS_ROOT = "sweeps"
failed_jobs: list[str] = []
"""Jobs of the last multirun in this process that failed (``overrides: error``), filled by alignsim's sweeper."""


# ----------------------------------------------------------------- preflight


@dataclass
class Preflight:
    """What a launch will do, worked out (and checked) before any job starts."""

    config: Any
    """The composed configuration of the first job (Hydra node included)."""
    sweep: dict[str, list[str]] = field(default_factory=dict)
    """Swept keys and their values (command line and ``hydra.sweeper.params``)."""
    jobs: list[dict[str, str]] = field(default_factory=list)
    total_episodes: int = 0
    args: HydraArgs | None = None
    """The command line as Hydra reads it."""
    overrides: list[str] = field(default_factory=list)
    """The overrides to hand to Hydra: the given ones, with ``++`` where a plain override adds a key
    to ``scenario.env_kwargs`` or ``scenario.seating`` (see ``alignsim.conf.compose.EDITABLE_PREFIXES``)."""
    multirun: bool = False
    resolved: dict[str, Any] = field(default_factory=dict)
    """The first job's config, resolved (empty when only a ``--cfg``/``--info``/``--help`` is shown)."""

    def argv(self, extra: Sequence[str] = ()) -> list[str]:
        """The command line for Hydra: flags, checked overrides, then ``extra``."""
        assert self.args is not None
        return self.args.argv([*self.overrides, *extra])


@dataclass
class _Line:
    """One override: its text for Hydra, and what the parser made of it."""

    text: str
    parsed: Any

    @property
    def key(self) -> str:
        return str(self.parsed.get_key_element()).lstrip("+~")

    @property
    def prefix(self) -> str:
        return str(self.parsed.get_key_element())[: -len(self.key)] if self.key else ""

    def with_value(self, value: str) -> str:
        return f"{self.prefix}{self.key}={value}"


def _nest(key: str, value: Any) -> dict[str, Any]:
    node: Any = value
    for part in reversed(key.split(".")):
        node = {part: node}
    return node


def preflight(args: Sequence[str], *, multirun: bool | None = None, validate: bool = True) -> Preflight:
    """Compose the config Hydra will run, check it and every swept value, expand the sweep. Writes nothing.

    ``args`` is the command line after ``alignsim run``/``sweep`` (Hydra's flags included:
    ``-cn``, ``--config-dir=DIR``, ``-m`` ...). Checks, in order: the allow-lists
    (``alignsim.conf.safety``) on the run's config, on the multirun's own config and on every
    config-group value swept; then (``validate``) every value of the first job and every swept
    value (``alignsim.conf.validate``). Raises ConfigError naming the field.

    ``multirun``: True as with ``-m``; False for Hydra's rule (several values need ``-m`` or
    ``hydra.mode=MULTIRUN``); None (default) makes any swept value a multirun.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    from alignsim.conf.compose import Composer, UnknownKeyError, parse_args
    from alignsim.conf.safety import check_config, check_targets
    from alignsim.conf.validate import check_run_config, resolve, start

    start()
    hargs = parse_args(args)
    if hargs.shows and hargs.multirun:
        raise ConfigError("--multirun", "--cfg, --info and --help show one config; drop -m")
    if multirun and not hargs.shows:
        hargs.namespace.multirun = True
    infer = multirun is None and not hargs.shows
    with Composer(hargs) as composer:
        parser = OverridesParser.create(config_loader=composer.hydra.config_loader)
        lines = []
        for text in hargs.overrides:
            try:
                lines.append(_Line(text, parser.parse_override(text)))
            except HydraException as exc:
                field_name = text.split("=", 1)[0].lstrip("+~") or "overrides"
                raise ConfigError(field_name, f"cannot parse {text!r}: {str(exc).splitlines()[0]}") from None
        sweep: dict[str, list[str]] = {}
        elements: dict[str, list[Any]] = {}
        for line in lines:
            if line.parsed.is_sweep_override():
                try:
                    sweep[line.key] = list(line.parsed.sweep_string_iterator())
                    elements[line.key] = list(line.parsed.sweep_iterator())
                except HydraException as exc:
                    raise ConfigError(line.key, str(exc).splitlines()[0]) from None
                for element in elements[line.key]:
                    check_targets(_nest(line.key, element))
            else:
                check_targets(_nest(line.key, line.parsed.value()))

        def first_job(chosen: Mapping[str, str] | None = None) -> list[str]:
            """Override lines of one job: every sweep at ``chosen`` (default: its first value)."""
            out = []
            for line in lines:
                if line.parsed.is_sweep_override():
                    out.append(line.with_value((chosen or {}).get(line.key, sweep[line.key][0])))
                else:
                    out.append(line.text)
            return out

        def compose(chosen: Mapping[str, str] | None = None) -> Any:
            """Compose one job's config; a plain override adding a key to an editable dict becomes ``++``."""
            while True:
                try:
                    return composer.compose(first_job(chosen))
                except ConfigError as exc:
                    key = exc.override_key if isinstance(exc, UnknownKeyError) else None
                    line = next((ln for ln in lines if ln.key == key and ln.prefix == ""), None)
                    if line is None or not str(key).startswith(EDITABLE_PREFIXES):
                        raise
                    line.text = "++" + line.text
                    line.parsed = parser.parse_override(line.text)

        cfg = compose()
        check_config(cfg)
        if hargs.shows or not (hargs.multirun or _multirun_mode(cfg) or (infer and sweep)):
            if sweep and not hargs.shows:
                key = next(iter(sweep))
                raise ConfigError(
                    key,
                    f"several values ({','.join(sweep[key])}) make a sweep: use `alignsim sweep name=NAME ...` "
                    f"(or --multirun); for a list write {key}=[{','.join(sweep[key])}]",
                )
        else:
            hargs.namespace.multirun = True
            check_config(composer.compose([ln.text for ln in lines], multirun=True))
        given = list(lines)
        for key, value in (OmegaConf.select(cfg, "hydra.sweeper.params") or {}).items():
            if key in sweep:
                continue  # the command line wins, as in Hydra's sweeper
            line = _Line(f"{key}={value}", parser.parse_override(f"{key}={value}"))
            if line.parsed.is_sweep_override():
                sweep[key] = list(line.parsed.sweep_string_iterator())
                elements[key] = list(line.parsed.sweep_iterator())
            else:
                sweep[key], elements[key] = [str(value)], [line.parsed.value()]
            for element in elements[key]:
                check_targets(_nest(key, element))
            lines.append(line)
        loader = composer.hydra.config_loader
        groups = [key for key in sweep if loader.get_group_options(key)]
        # Every combination of swept config-group options is composed and checked now (an option
        # may bring its own callbacks or logging), not when its job comes up.
        composed: dict[tuple[str, ...], Any] = {}
        for combo in itertools.product(*(sweep[k] for k in groups)):
            chosen = dict(zip(groups, combo, strict=True))
            if combo != tuple(sweep[k][0] for k in groups):
                try:
                    composed[combo] = compose(chosen)
                except ConfigError as exc:
                    shown = ", ".join(f"{k}={v}" for k, v in chosen.items())
                    raise ConfigError(exc.field, f"{str(exc).split(': ', 1)[1]} (with {shown})") from None
                check_config(composed[combo])
            else:
                composed[combo] = cfg
        resolved: dict[str, Any] = {}
        if validate and not hargs.shows:
            resolved = resolve(cfg, multirun=hargs.multirun)
            check_run_config(resolved)
            for job_cfg in composed.values():
                if job_cfg is not cfg:
                    check_run_config(resolve(job_cfg, multirun=True))
            _check_swept_values(cfg, composed, groups, sweep, elements, lines)
    keys = list(sweep)
    jobs = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(sweep[k] for k in keys))] or [{}]
    base_episodes = int(cfg.episodes)
    total = sum(int(job.get("episodes", base_episodes)) for job in jobs)
    # --cfg/--info/--help show the first job's config (Hydra would refuse swept values there).
    overrides = first_job()[: len(given)] if hargs.shows else [ln.text for ln in given]
    return Preflight(
        config=cfg,
        sweep=sweep,
        jobs=jobs,
        total_episodes=total,
        args=hargs,
        overrides=overrides,
        multirun=hargs.multirun,
        resolved=resolved,
    )


def _multirun_mode(cfg: Any) -> bool:
    from hydra.types import RunMode

    return cfg.hydra.get("mode") == RunMode.MULTIRUN


def _check_swept_values(
    cfg: Any,
    composed: Mapping[tuple[str, ...], Any],
    groups: Sequence[str],
    sweep: Mapping[str, list[str]],
    elements: Mapping[str, list[Any]],
    lines: Sequence[_Line],
) -> None:
    """Check every value swept over a field, before any job starts.

    Values of ``scenario.*``/``llm.*`` fields are checked in every combination with each other and
    with the swept config groups (one env or policy setting may be valid only with another);
    other fields value by value.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from alignsim.conf.validate import _plain, _resolution_error, check_llm, check_scalars, check_scenario

    prefix = {ln.key: ln.prefix for ln in lines}
    values = [k for k in sweep if k not in groups and not k.startswith("hydra")]
    structural = [k for k in values if k.startswith(("scenario.", "llm."))]
    scalar = [k for k in values if k not in structural]

    def task_with(base: Any, assignments: Mapping[str, Any]) -> dict[str, Any]:
        """The job's own fields, resolved, with ``assignments`` merged as Hydra merges overrides (typed)."""
        job = copy.deepcopy(base)
        try:
            for key, value in assignments.items():
                OmegaConf.update(job, key, value, merge=True, force_add=prefix.get(key, "").startswith("+"))
            return {str(k): _plain(job[k]) for k in job if k != "hydra"}
        except OmegaConfBaseException as exc:
            raise _resolution_error(exc) from None

    if structural:
        for combo in itertools.product(*(range(len(elements[k])) for k in structural)):
            for group_combo, base in composed.items():
                assignments = {k: elements[k][i] for k, i in zip(structural, combo, strict=True)}
                try:
                    resolved = task_with(base, assignments)
                    check_llm(resolved)
                    check_scenario(resolved)
                except ConfigError as exc:
                    chosen = {
                        **dict(zip(groups, group_combo, strict=True)),
                        **{k: str(v) for k, v in assignments.items()},
                    }
                    shown = ", ".join(f"{k}={v}" for k, v in chosen.items())
                    raise ConfigError(exc.field, f"{str(exc).split(': ', 1)[1]} (with {shown})") from None
    for key in scalar:
        for element in elements[key]:
            try:
                check_scalars(task_with(cfg, {key: element}))
            except ConfigError as exc:
                raise ConfigError(exc.field, f"{str(exc).split(': ', 1)[1]} (with {key}={element})") from None


def sweep_name(pre: Preflight, overrides: Sequence[str]) -> str:
    """The sweep's name: ``name=...``, else the experiment's ``name``, else the experiment file's."""
    name = pre.config.get("name")
    if not name:
        experiment = next((o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith("experiment=")), None)
        name = experiment
    if not name:
        raise ConfigError(
            "name",
            "a sweep needs a name (e.g. name=my_grid): it writes to sweeps/NAME and a relaunch with the "
            "same name resumes it",
        )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", str(name)):
        raise ConfigError("name", f"{name!r}: use letters, digits, '_', '.', '-' (it names a folder)")
    return str(name)


# ----------------------------------------------------------------- progress


class SweepWatcher:
    """Follows a sweep folder from outside the jobs (whatever launcher runs them) and feeds a bar."""

    def __init__(self, sweep_dir: Path, total: int, *, enabled: bool, interval: float = 0.5) -> None:
        from alignsim.progress import EpisodeProgress

        self.sweep_dir = sweep_dir
        self.interval = interval
        self.seen: set[Path] = set()
        self.bar = EpisodeProgress(sweep_dir.name, total, enabled=enabled)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> SweepWatcher:
        """Count the episodes finished by an earlier launch, show the bar and start watching."""
        self.poll(earlier=True)
        self.bar.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop watching, count the summaries written since the last poll, and close the bar."""
        self._stop.set()
        self._thread.join()
        self.poll()
        self.bar.__exit__()

    def poll(self, *, earlier: bool = False) -> None:
        """Count the episode summaries that appeared since the last poll (``earlier``: as done before
        this launch); a summary being written is read at the next poll.
        """
        for path in find_summaries(self.sweep_dir):
            if path in self.seen:
                continue
            try:
                summary = read_summary(path)
            except LogFormatError:
                continue  # being replaced right now (the next poll reads it), or not a summary at all
            self.seen.add(path)
            self.bar.add(summary, earlier=earlier)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()


# ----------------------------------------------------------------- aggregation


@dataclass
class SweepTables:
    """What :func:`aggregate` produced."""

    jobs: Any
    """pandas frame: one row per job (overrides, outcomes, usage)."""
    usage: Any
    """pandas frame: usage per model, plus a total row."""
    paths: dict[str, Path]
    skipped: list[str] = field(default_factory=list)
    """One line per file that could not be read and was left out (it names the file)."""


def _job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(p.parent.parent for p in sweep_dir.glob("*/.hydra/overrides.yaml"))


def _override_columns(overrides: Iterable[str]) -> dict[str, str]:
    columns = {}
    for item in overrides:
        key, _, value = item.partition("=")
        key = key.lstrip("+~")
        if key.startswith("hydra") or key in _NON_OUTCOME_KEYS:
            continue
        columns[key] = value
    return columns


def _models(job: Path) -> str:
    """The models that played in a job ("-" for scripted play), from the header of one of its logs."""
    episodes = job / "episodes"
    for log in find_logs(episodes) if episodes.is_dir() else []:
        try:
            header = read_header(log)
        except LogFormatError:
            continue  # an unreadable header says nothing about models (aggregate reports it); try the next log
        models = sorted({seat.model for seat in header.seating.values() if seat.model})
        return "+".join(models) or "-"
    return "-"


def _read_yaml(path: Path) -> Any:
    """A YAML record Hydra wrote, read with libyaml where available (OmegaConf.load is ~10x slower)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = read_file(path, read_limits().max_summary_bytes, cap_name="ALIGNSIM_MAX_SUMMARY_BYTES")
    try:
        return yaml.load(data, Loader=loader)
    except (yaml.YAMLError, RecursionError) as exc:
        raise LogFormatError(f"{path}: not readable YAML: {' '.join(str(exc).split())[:200]}") from None


def aggregate(
    sweep_dir: str | os.PathLike[str], *, report: bool = True, echo: bool = False, bad: BadFiles | None = None
) -> SweepTables:
    """One table of every job's overrides and results, a usage table, and the analysis report.

    Reads only the sweep folder (the jobs' ``.hydra`` records and the episode summaries), so it
    works while a sweep runs, after a crash, and for sweeps run elsewhere. A summary, log or
    job record that cannot be read is listed in ``SweepTables.skipped`` (and in ``bad``, when
    given) and left out; the rest is aggregated.
    """
    import pandas as pd

    from alignsim.record.io import write_atomic

    root = Path(sweep_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no sweep folder {root}")
    caller_lists = bad is not None  # the caller reports the skipped files itself
    bad = bad if bad is not None else BadFiles()
    rows = []
    for job in _job_dirs(root):
        try:
            overrides = [str(o) for o in _read_yaml(job / ".hydra" / "overrides.yaml") or []]
            cfg = _read_yaml(job / ".hydra" / "config.yaml") or {}
            if not isinstance(cfg, dict):
                raise LogFormatError(f"{job / '.hydra' / 'config.yaml'}: not a mapping")
            expected = int(cfg.get("episodes") or 0)
        except (LogFormatError, ValueError, TypeError) as exc:
            bad.add(job / ".hydra", exc)
            continue
        summaries = [summary for _, summary in read_each(find_summaries(job / "episodes"), read_summary, bad)]
        finished = [s for s in summaries if s.status != "failed"]
        record = job / "job.json"
        ran_on = _job_record(record, bad)
        # job.json is written when a job ends: completed, or failed with its error; none yet: unfinished.
        status = str(ran_on.get("status", "completed")) if record.exists() else "unfinished"
        row: dict[str, Any] = {"job": job.name, **_override_columns(overrides)}
        row.update(
            scenario=(cfg.get("scenario") or {}).get("id"),
            model=_models(job),
            seed=cfg.get("seed"),
            episodes_expected=expected,
            episodes_done=len(finished),
            episodes_failed=len(summaries) - len(finished),
            complete=status != "failed" and expected >= 1 and len(finished) >= expected,
            status=status,
            error=ran_on.get("error"),
            steps_mean=round(sum(s.steps for s in finished) / len(finished), 2) if finished else None,
            llm_calls=sum(sum(s.llm_calls.values()) for s in summaries),
            tokens=sum(sum(s.tokens.values()) for s in summaries),
            llm_seconds=round(sum(sum(s.llm_seconds.values()) for s in summaries), 3),
            invalid_actions=sum(sum(s.invalid_actions.values()) for s in summaries),
            duration_s=round(sum(s.duration_s for s in summaries), 3),
            host=ran_on.get("host"),
            pid=ran_on.get("pid"),
        )
        for winner, n in Counter(s.winner for s in finished if s.winner is not None).most_common():
            row[f"wins_{winner}"] = n
        rows.append(row)
    jobs = pd.DataFrame(rows)
    usage_columns = ["jobs", "episodes_done", "episodes_failed", "llm_calls", "tokens", "llm_seconds"]
    usage_columns += ["invalid_actions", "duration_s"]
    if len(jobs):
        usage = (
            jobs.assign(jobs=1, model=jobs["model"].fillna("-")).groupby("model", as_index=False)[usage_columns].sum()
        )
        total = pd.DataFrame([{"model": "total", **usage[usage_columns].sum().to_dict()}])
        usage = pd.concat([usage, total], ignore_index=True)[["model", *usage_columns]]
        usage = usage.astype({c: "int64" for c in usage_columns if c not in ("llm_seconds", "duration_s")})
        usage[["llm_seconds", "duration_s"]] = usage[["llm_seconds", "duration_s"]].round(3)
    else:
        usage = pd.DataFrame(columns=["model", *usage_columns])
    paths = {"results": root / "results.csv", "usage": root / "usage.csv"}
    write_atomic(paths["results"], jobs.to_csv(index=False).encode())
    write_atomic(paths["usage"], usage.to_csv(index=False).encode())
    if report and int(jobs.get("episodes_done", pd.Series(dtype=int)).sum()):
        from alignsim.analysis import analyze

        paths["analysis"] = root / "analysis"
        try:
            analyze([root], paths["analysis"], bad=bad)
        except FileNotFoundError:  # every log unreadable: each is listed in bad
            del paths["analysis"]
    if echo:
        _print_tables(root, jobs, usage, paths)
        if bad and not caller_lists:
            for message in bad:
                print(f"alignsim aggregate: skipped {message}", file=sys.stderr)
            print(f"alignsim aggregate: {bad.summary()}", file=sys.stderr)
    return SweepTables(jobs=jobs, usage=usage, paths=paths, skipped=list(bad))


def _job_record(path: Path, bad: BadFiles) -> dict[str, Any]:
    """A job's ``job.json`` (host, pid, times); {} when absent, recorded in ``bad`` when unreadable."""
    if not os.path.lexists(path):
        return {}
    try:
        record = json.loads(read_file(path, read_limits().max_summary_bytes, cap_name="ALIGNSIM_MAX_SUMMARY_BYTES"))
    except (LogFormatError, ValueError, RecursionError) as exc:
        bad.add(path, exc if isinstance(exc, LogFormatError) else f"not a job record: {exc}")
        return {}
    return record if isinstance(record, dict) else {}


_ECHO_ROWS = 40


def _print_tables(root: Path, jobs: Any, usage: Any, paths: Mapping[str, Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    shown = [c for c in jobs.columns if c not in ("scenario", "model", "duration_s", "host", "pid")][:12]
    table = Table(title=f"sweep {root}: {len(jobs)} job(s)")
    for column in shown:
        table.add_column(column)
    for row in jobs[shown].head(_ECHO_ROWS).itertuples(index=False):
        table.add_row(*("" if v is None or v != v else str(v) for v in row))
    if len(jobs) > _ECHO_ROWS:
        table.caption = f"first {_ECHO_ROWS} of {len(jobs)} jobs; all are in results.csv"
    console.print(table)
    usage_table = Table(title="usage")
    for column in usage.columns:
        usage_table.add_column(column)
    for _, row in usage.iterrows():
        usage_table.add_row(*(str(v) for v in row))
    console.print(usage_table)
    for label, path in paths.items():
        console.print(f"{label}: {path}")


class AggregateResults(Callback):
    """Hydra callback: aggregate a multirun's folder when the multirun ends.

    Args:
        report: also write the analysis report (not only the tables).
    """

    def __init__(self, report: bool = True) -> None:
        self.report = report

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        """Aggregate the multirun's sweep folder (tables, and the report with ``report``) and print where."""
        aggregate(Path(str(config.hydra.sweep.dir)), report=self.report, echo=True)
