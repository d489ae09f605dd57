"""Sweeps: Hydra multirun into a named folder that resumes, with live progress and one results table.

``alignsim sweep name=grid scenario=traitors/classic-v0 seed='range(0,50)'`` runs every
combination of the overrides as a Hydra job under ``sweeps/grid/<job>/``. A job's folder is
named after its overrides, so relaunching the same command finds every finished episode (its
summary is written last, atomically, and is the done marker) and runs only what is missing.
At the end :func:`aggregate` writes ``results.csv`` (one row per job: its overrides and
outcomes), ``usage.csv`` (episodes, model calls, tokens and model seconds per model) and the
analysis report of the whole sweep; ``alignsim aggregate DIR`` does the same on demand.

Before any work starts, :func:`preflight` composes the configuration and checks every
instantiable target in it (``_target_``, logging factories) against an allow-list, so a
config or override naming ``os.system`` fails with a clear error instead of running.
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

ALLOWED_TARGETS = frozenset(
    {
        "alignsim.sweep.AggregateResults",
        "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
        "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
        "hydra_plugins.alignsim_sweeper.sweeper.AlignsimSweeper",
    }
)
"""Targets a config may name. Launchers and sweepers from ``hydra_plugins`` are allowed too
(Hydra only instantiates registered plugin classes there). Extend with the environment
variable ``ALIGNSIM_ALLOWED_TARGETS`` (comma-separated names): never from a config itself."""

_PLUGIN_PREFIXES = ("hydra_plugins.",)
_NON_OUTCOME_KEYS = frozenset({"progress", "lockstep", "workers", "resume", "flush", "fsync", "name", "out_dir"})
SWEEPS_ROOT = "sweeps"


def allowed_target(name: str) -> bool:
    extra = {t.strip() for t in os.environ.get("ALIGNSIM_ALLOWED_TARGETS", "").split(",") if t.strip()}
    return name in ALLOWED_TARGETS or name in extra or name.startswith(_PLUGIN_PREFIXES)


def check_targets(node: Any, path: str = "") -> None:
    """Raise ConfigError naming the field if ``node`` names a callable that is not allowed.

    Looks at ``_target_`` keys anywhere, ``()`` factory keys (``logging.config`` calls them)
    anywhere, and ``class`` keys in Hydra's logging configs (which must be ``logging`` classes).
    """
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key in ("_target_", "()") and isinstance(value, str) and not allowed_target(value):
                raise ConfigError(
                    here,
                    f"{value!r} is not on the allow-list of instantiable targets; configs and logs may only "
                    "name alignsim's and Hydra's own classes (set ALIGNSIM_ALLOWED_TARGETS to allow more)",
                )
            if key == "()" and callable(value):
                raise ConfigError(here, "a callable object is not allowed here")
            if (
                key == "class"
                and "_logging." in f"{path}."
                and isinstance(value, str)
                and not value.startswith("logging.")
            ):
                raise ConfigError(here, f"{value!r}: logging handlers must be classes from the logging module")
            check_targets(value, here)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            check_targets(value, f"{path}[{i}]")


# ----------------------------------------------------------------- preflight


@dataclass
class Preflight:
    """What a launch will do, worked out before any job starts."""

    config: Any
    """The composed configuration of the first job (Hydra node included)."""
    sweep: dict[str, list[str]] = field(default_factory=dict)
    """Swept keys and their values (command line and ``hydra.sweeper.params``)."""
    jobs: list[dict[str, str]] = field(default_factory=list)
    total_episodes: int = 0


def _split_overrides(overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """Separate Hydra's own flags (``--config-dir X``, ``-cd X``, ...) from config overrides."""
    flags, plain = [], []
    items = iter(overrides)
    for item in items:
        if item.startswith("-"):
            flags.append(item)
            if item in ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn") and "=" not in item:
                flags.append(next(items, ""))
        else:
            plain.append(item)
    return flags, plain


def preflight(overrides: Sequence[str]) -> Preflight:
    """Compose the first job's config, check its targets and expand the sweep. Fails before any work."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from alignsim.conf import register_configs

    register_configs()
    flags, plain = _split_overrides(overrides)
    parser = OverridesParser.create()
    try:
        parsed = parser.parse_overrides(plain)
    except HydraException as exc:
        raise ConfigError("overrides", str(exc).splitlines()[0]) from None
    first: list[str] = []
    sweep: dict[str, list[str]] = {}
    for override in parsed:
        key = override.get_key_element().lstrip("+~")
        if override.is_sweep_override():
            values = list(override.sweep_string_iterator())
            sweep[key] = values
            first.append(f"{key}={values[0]}")
        else:
            first.append(override.input_line or f"{key}={override.get_value_element_as_str()}")
        if key.endswith("_target_") or key.endswith("()"):
            values = sweep.get(key) or [override.get_value_element_as_str()]
            for value in values:
                check_targets({key.rsplit(".", 1)[-1]: value}, key.rsplit(".", 1)[0] if "." in key else "")
    config_dir = next((flags[i + 1] for i, f in enumerate(flags[:-1]) if f in ("--config-dir", "-cd")), None)
    if config_dir:
        first.append(f"hydra.searchpath=[file://{Path(config_dir).resolve()}]")

    def composed(overrides: list[str]) -> Any:
        try:
            return compose("config", overrides=overrides, return_hydra_config=True)
        except HydraException as exc:
            cause = exc.__cause__
            message = str(cause).splitlines()[0] if cause is not None else " ".join(str(exc).split())
            missing = re.search(r"Could not find '([^']+)/([^']+)'", message)
            if missing:  # an unknown option of a config group: name the group and what exists
                group = missing[1].split("/")[0]
                raise ConfigError(group, f"no option {missing[0].split(chr(39))[1]!r}; see `alignsim list`") from None
            raise ConfigError(getattr(cause, "full_key", None) or "overrides", message) from None

    with initialize_config_module("alignsim.conf", version_base="1.3"):
        cfg = composed(first)
        check_targets(OmegaConf.to_container(cfg, resolve=False))
        swept = [o for o in parsed if o.is_sweep_override()]
        for key, value in (OmegaConf.select(cfg, "hydra.sweeper.params") or {}).items():
            if key in sweep:
                continue  # the command line wins, as in Hydra's sweeper
            override = parser.parse_override(f"{key}={value}")
            sweep[key] = list(override.sweep_string_iterator()) if override.is_sweep_override() else [str(value)]
            swept.append(override)
            if key.endswith("_target_"):
                for target in sweep[key]:
                    check_targets({"_target_": target}, key.rsplit(".", 1)[0])
        # Every swept value (command line and the experiment's sweeper params) is checked now,
        # not when its job comes up: a config group's options by composing, a field's values by
        # merging them into the typed config. So the sweeper need not check them again.
        loader = GlobalHydra.instance().config_loader()
        for override in swept:
            key = override.get_key_element().lstrip("+~")
            position = next((i for i, line in enumerate(first) if line.lstrip("+~").startswith(f"{key}=")), None)
            prefix = first[position].split("=", 1)[0] if position is not None else key
            if loader.get_group_options(key):
                rest = first if position is None else [*first[:position], *first[position + 1 :]]
                for value in sweep[key]:
                    try:
                        composed([*rest, f"{prefix}={value}"])
                    except ConfigError as exc:
                        raise ConfigError(key, f"{value!r}: {str(exc).split(': ', 1)[1]}") from None
            elif not prefix.startswith("+") and override.is_sweep_override():
                for element in override.sweep_iterator():
                    try:
                        OmegaConf.update(copy.deepcopy(cfg), key, element, merge=True)
                    except OmegaConfBaseException as exc:
                        raise ConfigError(key, str(exc).splitlines()[0]) from None
    keys = list(sweep)
    jobs = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(sweep[k] for k in keys))] or [{}]
    base_episodes = int(cfg.episodes)
    total = sum(int(job.get("episodes", base_episodes)) for job in jobs)
    return Preflight(config=cfg, sweep=sweep, jobs=jobs, total_episodes=total)


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
        self.poll(earlier=True)
        self.bar.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()
        self.bar.__exit__()

    def poll(self, *, earlier: bool = False) -> None:
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
        ran_on = _job_record(job / "job.json", bad)
        row: dict[str, Any] = {"job": job.name, **_override_columns(overrides)}
        row.update(
            scenario=(cfg.get("scenario") or {}).get("id"),
            model=_models(job),
            seed=cfg.get("seed"),
            episodes_expected=expected,
            episodes_done=len(finished),
            episodes_failed=len(summaries) - len(finished),
            complete=len(finished) >= expected,
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
    """Hydra callback: aggregate a multirun's folder when the multirun ends."""

    def __init__(self, report: bool = True) -> None:
        self.report = report

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        aggregate(Path(str(config.hydra.sweep.dir)), report=self.report, echo=True)
