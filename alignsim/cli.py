"""The ``alignsim`` command line: a thin layer over the Python API.

alignsim run [OVERRIDE ...]        play episodes (Hydra; e.g. scenario=traitors/mini-v0 seed=7)
alignsim sweep name=NAME [OVERRIDE ...]
                                   every combination of the overrides (seed='range(0,50)' llm=mock,embedded),
                                   in sweeps/NAME; relaunch to resume; aggregates at the end
alignsim aggregate SWEEP_DIR       the sweep's results and usage tables and analysis report, on demand
alignsim play seat=PLAYER[,PLAYER] | role=ROLE [--web] [--label L] [human.timeout_s=S] [OVERRIDE ...]
                                   play one episode yourself: the other seats are the scenario's
                                   (terminal, or a page per seat on 127.0.0.1 with --web; docs/human-play.md)
alignsim replay PATH [PATH ...]    re-drive logs with no policy; fail on any difference
alignsim view LOG [--private | --agent A]
                                   print a readable transcript (public unless --private or --agent)
alignsim view LOG --html OUT.html [--private | --agent A]
                                   write the episode's self-contained page (public unless --private or --agent)
alignsim view DIR --serve [--private] [--host H --port P]
                                   serve the episodes under DIR in the browser (read-only, 127.0.0.1)
alignsim fork LOG [--at STEP] [--drop-message SEQ | --replace-message SEQ TEXT | --set-vote SEQ TARGET |
              --swap-policy SEAT=POLICY | --model [SEAT=]MODEL] [--seed S] [--repeat N] [--out DIR]
                                   re-run an episode with one change (recorded before STEP, live after)
alignsim diff LOG_A LOG_B          where two episodes part and how their outcomes differ
alignsim export PATH --inspect OUT.json
                                   episodes (a log, run or sweep) as an Inspect AI eval log
alignsim annotate PATH --judge SPEC [--judge SPEC ...] [--seed N] [--aggregate majority|unanimous] [--out DIR]
                                   claims in every statement, classified against ground truth, written
                                   beside each log (judges: grammar, or any backend: openai/..., embedded)
alignsim annotate --validate --judge SPEC [--out DIR]
                                   score judges on the labelled validation set (precision/recall with CIs)
alignsim analyze PATH [--out DIR]  metrics with CIs, plots and an HTML report from logs
alignsim rate PATH [--by role|side] [--method bt|openskill] [--out DIR]
                                   rate models from game outcomes (Bradley-Terry, OpenSkill) with bootstrap CIs
alignsim list [envs|scenarios|policies|llm|experiments|backends]
                                   what a config can name (docs/configuration.md explains the config)

-v, --verbose (any command): also show other libraries' progress bars and warnings.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alignsim.errors import AlignsimError, ConfigError, LogFormatError, ReplayMismatchError

USAGE = __doc__ or ""


VERBOSE_FLAGS = ("-v", "--verbose")


def quiet_third_parties() -> None:
    """Silence other libraries' progress bars, advisories and warnings (``-v`` keeps them).

    The first run converts the embedded model (a GGUF progress bar per tensor) and loads
    transformers, which has much to say; none of it helps a user read a run. alignsim's own
    warnings still show. Set in the environment, so worker processes inherit it.
    """
    import warnings

    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.filterwarnings("ignore", module=r"(?!alignsim)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``alignsim`` command line on ``argv`` (default ``sys.argv[1:]``) and return its exit code.

    Exit codes: 0 success; 1 an error while working; 2 bad input: an unknown command, a config
    error (one line naming the field), an unreadable log or a missing file. Called as the
    program, it also quiets other libraries' progress bars and warnings unless ``-v`` is given.
    """
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = any(a in VERBOSE_FLAGS for a in argv)
    argv = [a for a in argv if a not in VERBOSE_FLAGS]
    if as_program and not verbose:
        quiet_third_parties()  # a library caller of main() keeps its own environment and filters
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE.strip())
        return 0
    command, rest = argv[0], argv[1:]
    if command == "--version":
        from alignsim import __version__

        print(__version__)
        return 0
    commands = {
        "run": _run,
        "play": _play,
        "sweep": _sweep,
        "aggregate": _aggregate,
        "replay": _replay,
        "view": _view,
        "fork": _fork,
        "diff": _diff,
        "export": _export,
        "annotate": _annotate,
        "analyze": _analyze,
        "rate": _rate,
        "list": _list,
    }
    if command not in commands:
        print(f"alignsim: unknown command {command!r}\n\n{USAGE.strip()}", file=sys.stderr)
        return 2
    try:
        return commands[command](rest)
    except BrokenPipeError:
        # The reader went away (`alignsim view LOG | head`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConfigError as exc:
        print(f"alignsim {command}: config error: {exc}", file=sys.stderr)
        return 2
    except (LogFormatError, FileNotFoundError) as exc:
        print(f"alignsim {command}: {exc}", file=sys.stderr)
        return 2
    except AlignsimError as exc:
        print(f"alignsim {command}: {exc}", file=sys.stderr)
        return 1


# --------------------------------------------------------------------- run


def _run(args: list[str]) -> int:
    from alignsim.sweep import preflight

    pre = preflight(args, multirun=False)
    return _hydra(pre, "alignsim run")


_PLAY_KEYS = ("seat", "role", "human.label", "human.timeout_s", "human.reasoning", "human.consent")


def _play(args: list[str]) -> int:
    """``alignsim play``: the play options are taken out, the rest is a run's config (checked by preflight)."""
    from alignsim.conf.validate import llm_defaults
    from alignsim.play import ConsentDeclined, play
    from alignsim.scenarios import ScenarioSpec
    from alignsim.sweep import preflight

    parser = argparse.ArgumentParser(
        prog="alignsim play",
        description="Play one episode yourself; every other seat is the scenario's (docs/human-play.md).",
        epilog="seat=PLAYER[,PLAYER]  the seats the persons play (or role=ROLE: the first player dealt it); "
        "human.label=L[,L]  one label per seat; human.timeout_s=S  seconds per question, then the fallback; "
        "human.reasoning=true  also ask for private reasoning; human.consent=FILE  the consent text. "
        "Any `alignsim run` override works too (scenario=, llm=, seed=, out_dir=).",
    )
    parser.add_argument("--web", action="store_true", help="play in the browser: one page (and token) per seat")
    parser.add_argument("--label", help="the person's label, logged with every answer (= human.label)")
    parser.add_argument("--host", default="127.0.0.1", help="address the play pages are served on")
    parser.add_argument("--port", type=int, default=0, help="port of the play pages (0: a free one)")
    ns, rest = parser.parse_known_args(args)
    options: dict[str, str] = {}
    overrides = []
    for arg in rest:
        key, eq, value = arg.partition("=")
        if eq and key in _PLAY_KEYS:
            options[key] = value
        elif eq and key.startswith("human."):
            raise ConfigError(key, f"not a play option; options: {', '.join(_PLAY_KEYS)}")
        else:
            overrides.append(arg)
    if ns.label is not None:
        options["human.label"] = ns.label
    timeout_s: float | None = None
    if options.get("human.timeout_s") not in (None, "", "null", "none"):
        try:
            timeout_s = float(options["human.timeout_s"])
        except ValueError:
            given = options["human.timeout_s"]
            raise ConfigError("human.timeout_s", f"must be a number of seconds, got {given!r}") from None
    reasoning = options.get("human.reasoning", "false").lower()
    if reasoning not in ("true", "false"):
        raise ConfigError("human.reasoning", f"must be true or false, got {reasoning!r}")
    consent_text = None
    if "human.consent" in options:
        try:
            consent_text = Path(options["human.consent"]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError("human.consent", f"cannot read {options['human.consent']}: {exc}") from None
    seats = [s for s in options.get("seat", "").split(",") if s] if "seat" in options else []
    if "seat" in options and not seats:
        raise ConfigError("seat", "name at least one player (seat=player_2)")
    label = options.get("human.label", "anonymous")
    pre = preflight(overrides, multirun=False)
    if pre.args is not None and pre.args.shows:
        raise ConfigError("--cfg", "play shows no config; use `alignsim run ... --cfg job`")
    resolved = pre.resolved
    if int(resolved.get("episodes", 1)) != 1:
        raise ConfigError("episodes", "play plays one episode")
    scenario = ScenarioSpec.from_dict(resolved["scenario"])
    kwargs: dict[str, Any] = {}
    if consent_text is not None:
        kwargs["consent"] = consent_text
    config = {k: v for k, v in resolved.items() if k != "hydra"}
    try:
        result = play(
            scenario,
            seats=seats,
            role=options.get("role"),
            labels=label.split(",") if "," in label else label,
            timeout_s=timeout_s,
            reasoning=reasoning == "true",
            web=ns.web,
            host=ns.host,
            port=ns.port,
            seed=int(resolved["seed"]),
            out_dir=resolved.get("out_dir"),
            llm=llm_defaults(resolved),
            config=config,
            **kwargs,
        )
    except ConsentDeclined as exc:
        print(f"alignsim play: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("alignsim play: stopped", file=sys.stderr)
        return 130
    summary = result.summary
    print(f"game over: {summary.status}, winner {summary.winner}; log {result.log_path}")
    print(f"check it: alignsim replay {result.log_path}; see it: alignsim view {result.log_path} --private")
    return 0


def _output_overrides(pre: Any, extra: Sequence[str]) -> list[str]:
    """Hydra's own output (``.hydra/``, ``run.log``) goes where the run's ``out_dir`` says, not to ``runs/``."""
    given = {line.split("=", 1)[0].lstrip("+~") for line in [*pre.overrides, *extra]}
    from omegaconf import OmegaConf

    out_dir = pre.resolved.get("out_dir")
    written = OmegaConf.to_container(pre.config, resolve=False).get("out_dir")  # type: ignore[union-attr]
    if out_dir is None or "${hydra" in str(written):
        return []  # no out_dir, or one placed inside Hydra's own output folder
    key = "hydra.sweep.dir" if pre.multirun else "hydra.run.dir"
    return [] if key in given else [f"{key}=${{out_dir}}"]


def _hydra(pre: Any, prog: str, extra: Sequence[str] = ()) -> int:
    """Run Hydra on a checked command line (see ``alignsim.sweep.preflight``); the exit code.

    2 for a config error, 1 when a multirun job failed (each failed job is marked in its
    ``job.json`` and in ``results.csv``), 0 otherwise.
    """
    import hydra
    from omegaconf import DictConfig

    from alignsim import sweep
    from alignsim.conf import register_configs

    register_configs()
    outcome: dict[str, Any] = {"code": 0}
    run_dir = _planned_run_dir(pre)

    @hydra.main(version_base="1.3", config_path="conf", config_name="config")
    def app(cfg: DictConfig) -> dict[str, Any] | None:
        try:
            return run_from_config(cfg)
        except ConfigError as exc:
            from hydra.core.hydra_config import HydraConfig
            from hydra.types import RunMode

            if HydraConfig.get().mode == RunMode.MULTIRUN:
                raise  # the job is marked failed (job.json) and the sweep exits non-zero
            # Raised before any episode runs: report it plainly instead of a Hydra traceback.
            print(f"{prog}: config error: {exc}", file=sys.stderr)
            outcome["code"] = 2
            _forget_rejected_run(HydraConfig.get().runtime.output_dir, run_dir)
            return None

    argv = pre.argv([*_output_overrides(pre, extra), *extra])
    saved = sys.argv
    sys.argv = [prog, *argv]
    sweep.failed_jobs.clear()
    try:
        app()
    except SystemExit as exc:  # Hydra exits after --help and on errors it reports itself
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved
    if sweep.failed_jobs:
        first = sweep.failed_jobs[0]
        print(
            f"{prog}: {len(sweep.failed_jobs)} job(s) failed (marked in each job's job.json and in results.csv); "
            f"first: {first}",
            file=sys.stderr,
        )
        return 1
    return int(outcome["code"])


def _planned_run_dir(pre: Any) -> tuple[Path | None, bool]:
    """The run folder preflight resolved, and whether it existed before this command."""
    folder = ((pre.resolved.get("hydra") or {}).get("run") or {}).get("dir")
    if pre.resolved.get("out_dir") is not None:
        folder = pre.resolved["out_dir"]
    if folder is None or pre.multirun:
        return None, True
    path = Path(folder).absolute()
    return path, path.exists()


def _forget_rejected_run(output_dir: str, planned: tuple[Path | None, bool]) -> None:
    """Remove what Hydra wrote for a run rejected after it started (``.hydra/``, ``run.log``, new folders).

    Only in a folder this command created; the preflight rejects almost everything before Hydra
    starts, so this is the last line of "a rejected run writes nothing".
    """
    import logging

    folder = Path(output_dir).absolute()
    path, existed = planned
    if path is None or (folder == path and existed):
        return
    for handler in list(logging.getLogger().handlers):
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename).parent == folder:
            logging.getLogger().removeHandler(handler)
            handler.close()
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        (folder / ".hydra" / name).unlink(missing_ok=True)
    (folder / "run.log").unlink(missing_ok=True)
    for candidate in (folder / ".hydra", folder, *folder.parents):
        try:
            candidate.rmdir()  # only empty folders; stops at the first one holding anything
        except OSError:
            break


def _sweep(args: list[str]) -> int:
    from alignsim.sweep import SWEEPS_ROOT, SweepWatcher, preflight, sweep_name

    args = [a for a in args if a not in ("-m", "--multirun")]
    if not any(a.lstrip("+").startswith("hydra/launcher=") for a in args):
        args.append("hydra/launcher=local")  # one job per core on this machine
    pre = preflight(args, multirun=True)
    if pre.args is not None and pre.args.shows:  # --help, --cfg, --info: Hydra prints, nothing runs
        return _hydra(pre, "alignsim sweep")
    given = {line.split("=", 1)[0].lstrip("+~") for line in pre.overrides}
    name = sweep_name(pre, pre.overrides)
    extra = []
    if "hydra.sweep.dir" in given:
        sweep_dir = str(pre.resolved["hydra"]["sweep"]["dir"])
    elif pre.resolved.get("out_dir") is not None:
        sweep_dir = str(pre.resolved["out_dir"])  # every job's folder, logs and .hydra go under out_dir
        extra.append("hydra.sweep.dir=${out_dir}")
    else:
        sweep_dir = f"{SWEEPS_ROOT}/{name}"
        extra.append(f"hydra.sweep.dir={sweep_dir}")
    if "progress" not in given:
        extra.append("progress=false")  # the sweep's own bar follows every job
    print(f"sweep {name}: {len(pre.jobs)} job(s), {pre.total_episodes} episode(s) -> {sweep_dir}", file=sys.stderr)
    show = bool(pre.config.progress)
    with SweepWatcher(Path(sweep_dir), pre.total_episodes, enabled=show):
        return _hydra(pre, "alignsim sweep", extra)


def _aggregate(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="alignsim aggregate", description="Tables of a sweep's jobs and usage, and its analysis report."
    )
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--no-report", action="store_true", help="skip the analysis report")
    ns = parser.parse_args(args)
    from alignsim.record import BadFiles
    from alignsim.sweep import aggregate

    bad = BadFiles()
    tables = aggregate(ns.sweep_dir, report=not ns.no_report, echo=True, bad=bad)
    return _report_skipped("aggregate", bad) or (0 if len(tables.jobs) else 1)


def run_from_config(cfg: Any) -> dict[str, Any]:
    """Run a composed ``RunConfig`` (what ``alignsim run`` does after Hydra composes it).

    In a multirun, each job plays into its own folder (``out_dir``, when set, is the sweep's
    folder) and records how it ended in ``job.json`` (``status``: completed or failed, with the
    error), which ``results.csv`` reports; a failed job raises, so Hydra marks it failed too.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from alignsim.conf import run_options
    from alignsim.conf.validate import check_scalars, llm_defaults
    from alignsim.run import run
    from alignsim.scenarios import ScenarioSpec

    started = datetime.now(UTC).isoformat(timespec="seconds")
    hydra_config = HydraConfig.get()
    multirun = hydra_config.mode == RunMode.MULTIRUN
    out_dir = hydra_config.runtime.output_dir
    try:
        resolved: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
        check_scalars(resolved)
        if not multirun and resolved.get("out_dir"):
            out_dir = resolved["out_dir"]
        scenario = ScenarioSpec.from_dict(resolved["scenario"])
        results = run(
            scenario,
            out_dir=out_dir,
            config=resolved,
            llm=llm_defaults(resolved),
            **run_options(resolved),
        )
    except BaseException as exc:
        if multirun:
            error = f"config error: {exc}" if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
            _write_job(out_dir, hydra_config, started, status="failed", error=error)
        raise
    if multirun:
        _write_job(out_dir, hydra_config, started, status="completed", episodes=len(results))
        done = sum(not r.skipped for r in results)
        print(f"job {out_dir}: {len(results)} episode(s), {done} played now, {len(results) - done} done earlier")
    else:
        _print_results(results, out_dir)
    return {
        "out_dir": str(out_dir),
        "episodes": [
            {"episode_id": r.episode_id, "status": r.summary.status, "winner": r.summary.winner} for r in results
        ],
    }


def _write_job(out_dir: str, hydra_config: Any, started: str, *, status: str, **fields: Any) -> None:
    """A multirun job's record: its overrides, where and when it ran, and how it ended."""
    import json
    import os
    import socket

    from alignsim.record.io import write_atomic

    job = {
        "overrides": list(hydra_config.overrides.task),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": started,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": status,
        **fields,
    }
    write_atomic(Path(out_dir) / "job.json", json.dumps(job, indent=2).encode())


def _print_results(results: list[Any], out_dir: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(results)} episode(s) -> {out_dir}")
    for column in ("episode", "status", "winner", "rounds", "steps", "eliminated (round: player role cause)"):
        table.add_column(column)
    for r in results:
        s = r.summary
        gone = ", ".join(f"{e['round']}: {e['target']} {e['role']} {e['cause']}" for e in s.eliminations)
        table.add_row(
            r.episode_id + (" (done earlier)" if r.skipped else ""),
            s.status,
            str(s.winner),
            str(s.rounds),
            str(s.steps),
            gone,
        )
    Console(width=160).print(table)
    for r in results:
        print(f"log: {r.log_path}")
    cost = probe_cost_line([r.summary for r in results])
    if cost:
        print(cost)
    if results and EMBEDDED_MODEL in _models_of(results[0].log_path):
        print(EMBEDDED_NOTE)


def probe_cost_line(summaries: list[Any]) -> str:
    """What belief probes cost in these episodes, as one line ("" when none was asked)."""
    asked = sum(sum(s.probes.values()) for s in summaries)
    if not asked:
        return ""
    calls = sum(sum(s.probe_calls.values()) for s in summaries)
    tokens = sum(sum(s.probe_tokens.values()) for s in summaries)
    all_calls = sum(sum(s.llm_calls.values()) for s in summaries)
    all_tokens = sum(sum(s.tokens.values()) for s in summaries)
    return (
        f"belief probes: {asked:,} asked, {calls:,} model calls and {tokens:,} tokens "
        f"(of {all_calls:,} calls and {all_tokens:,} tokens in all)"
    )


EMBEDDED_MODEL = "transformers/embedded"
EMBEDDED_NOTE = (
    "note: the embedded model (SmolLM2-135M) exercises every part of alignsim on a CPU (legal moves, memory, "
    "logs, analysis), but it is too small for its deception or detection numbers to mean anything; for "
    "research, point llm= at a real model (llm=openai, llm=vllm or llm=transformers with llm.model=...)."
)


def _models_of(log_path: Path) -> set[str]:
    """The models seated in an episode, from its log header (the first line)."""
    import msgspec

    from alignsim.record import schema as ev

    with open(log_path, "rb") as handle:
        header = msgspec.json.decode(handle.readline(), type=ev.Header)
    return {seat.model for seat in header.seating.values() if seat.model}


# --------------------------------------------------------------------- replay


def _replay(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="alignsim replay", description="Re-drive episode logs with no policy.")
    parser.add_argument("paths", nargs="+", help="episode logs (.jsonl) or folders holding them")
    parser.add_argument(
        "--rerun",
        metavar="OUT",
        type=Path,
        help="instead, play each episode again with its policies, answering model calls from the log "
        "(no model needed), write the new logs under OUT and require them to equal the old ones",
    )
    ns = parser.parse_args(args)
    from alignsim.record import BadFiles, find_logs
    from alignsim.run import replay, rerun

    logs = [log for path in ns.paths for log in find_logs(path)]
    if not logs:
        print(f"alignsim replay: no episode logs found at {', '.join(ns.paths)}", file=sys.stderr)
        return 2
    failures = 0
    bad = BadFiles()
    for log in logs:
        # Each log is checked on its own: one that fails is reported and counted, never the end of the folder.
        try:
            if ns.rerun is not None:
                again = rerun(log, ns.rerun)
                print(f"ok {log}: identical, re-run with {again.llm_calls} recorded model calls -> {again.log_path}")
            else:
                report = replay(log)
                note = f" ({'; '.join(report.warnings)})" if report.warnings else ""
                print(
                    f"ok {log}: {report.steps} steps, {report.events} env events, {report.digests} observations{note}"
                )
        except LogFormatError as exc:  # not a readable log: report it, skip it, go on
            bad.add(log, exc)
            print(f"alignsim replay: skipped {exc}", file=sys.stderr)
        except ReplayMismatchError as exc:
            failures += 1
            print(f"MISMATCH {log}: {_short(exc)}")
        except Exception as exc:  # a crash in one episode: report it, go on with the rest
            failures += 1
            print(f"FAILED {log}: {type(exc).__name__}: {_short(exc)}")
    read = len(logs) - len(bad)
    verdict = "identical" if ns.rerun is not None else "logs replay exactly"
    print(f"{read - failures}/{read} {verdict}" + (f"; {bad.summary()}" if bad else ""))
    if bad and not read:
        return 2
    return 1 if failures or bad else 0


def _short(exc: BaseException, width: int = 300, lines: int = 4) -> str:
    """An error message cut for a one-episode report line: at most ``lines`` lines of ``width`` characters."""
    parts = [line if len(line) <= width else line[: width - 3] + "..." for line in str(exc).splitlines()[:lines]]
    return "\n  ".join(parts) or type(exc).__name__


# --------------------------------------------------------------------- view


def _view(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="alignsim view",
        description="Print an episode transcript, write its HTML page, or serve a folder. Every view is public "
        "(what every player saw) unless --private or --agent asks for more.",
    )
    parser.add_argument("log", type=Path, help="an episode log (a folder with --serve)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--public", action="store_true", help="only what every player saw (the default)")
    which.add_argument(
        "--private",
        action="store_true",
        help="also show roles, private reasoning, the traitors' meeting, night votes and beliefs "
        "(HTML: model calls, memory, truth labels and ground truth too)",
    )
    parser.add_argument("--agent", help="show only what this agent observed")
    parser.add_argument("--html", metavar="OUT", type=Path, help="write the self-contained HTML page to OUT")
    parser.add_argument("--serve", action="store_true", help="serve the episodes under the folder (read-only)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind with --serve (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port with --serve (default 8765; 0 picks one)")
    ns = parser.parse_args(args)
    if ns.public and ns.agent is not None:
        raise ConfigError("agent", "--public shows what every player saw; --agent A shows what A saw: pick one")
    if ns.serve:
        from alignsim.viewer import serve

        if ns.agent is not None:
            raise ConfigError("agent", "--serve serves public pages (or every page with --private), not one player's")
        if not ns.log.is_dir():
            raise ConfigError("log", f"--serve needs a folder of episode logs, got {ns.log}")
        serve(ns.log, ns.host, ns.port, private=ns.private)
        return 0
    if ns.html is not None:
        from alignsim.viewer import write_page

        if ns.private and ns.agent is not None:
            raise ConfigError("agent", "a page is either --private (everything) or --agent A (what A saw), not both")
        out = write_page(ns.log, ns.html, private=ns.private, agent=ns.agent)
        view = "private: contains hidden information" if ns.private else f"seen by {ns.agent}" if ns.agent else "public"
        print(f"wrote {out} ({view})")
        return 0
    from alignsim.analysis.transcript import transcript
    from alignsim.record import read_log

    print(transcript(read_log(ns.log), private=ns.private, agent=ns.agent))
    return 0


# --------------------------------------------------------------------- fork, diff, export


def _fork(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="alignsim fork",
        description="Play a logged episode again with one change: the parent's actions up to --at are applied "
        "as recorded (LLM seats get the recorded outputs), live policies act after.",
    )
    parser.add_argument("log", type=Path)
    parser.add_argument("--at", type=int, help="parent actions applied as recorded (default: up to the change)")
    change = parser.add_mutually_exclusive_group()
    change.add_argument("--drop-message", type=int, metavar="SEQ", help="the speech event SEQ is not said")
    change.add_argument("--replace-message", nargs=2, metavar=("SEQ", "TEXT"), help="say TEXT instead")
    change.add_argument("--set-vote", nargs=2, metavar=("SEQ", "TARGET"), help="vote event SEQ goes to TARGET")
    change.add_argument("--swap-policy", action="append", metavar="SEAT=POLICY", help="seat plays POLICY after --at")
    change.add_argument("--model", action="append", metavar="[SEAT=]MODEL", help="LLM seats use MODEL after --at")
    parser.add_argument("--seed", type=int, help="reseed the policies (the env keeps its seed)")
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="paired forks over seeds 0..N-1 (unchanged vs changed); print the effect on --outcome with a 95%% CI",
    )
    parser.add_argument("--outcome", default="faithful_win", help="outcome for --repeat (default faithful_win)")
    parser.add_argument("--out", type=Path, help="output folder (default: <run>-forks beside the parent's run)")
    ns = parser.parse_args(args)
    from alignsim.fork import diff, fork, repeated_forks

    def pairs(values: list[str] | None, name: str) -> dict[str, str]:
        out = {}
        for value in values or []:
            key, sep, rest = value.partition("=")
            if not sep or not key or not rest:
                raise ConfigError(name, f"expected SEAT=VALUE, got {value!r}")
            out[key] = rest
        return out

    model: str | dict[str, str] | None = None
    if ns.model:
        model = ns.model[0] if len(ns.model) == 1 and "=" not in ns.model[0] else pairs(ns.model, "model")
    change_kwargs: dict[str, Any] = {
        "drop_message": ns.drop_message,
        "replace_message": (int(ns.replace_message[0]), ns.replace_message[1]) if ns.replace_message else None,
        "set_vote": (
            (int(ns.set_vote[0]), None if ns.set_vote[1].lower() in ("none", "abstain") else ns.set_vote[1])
            if ns.set_vote
            else None
        ),
        "swap_policy": pairs(ns.swap_policy, "swap_policy") or None,
        "model": model,
    }
    change_kwargs = {k: v for k, v in change_kwargs.items() if v is not None}
    if ns.repeat is not None:
        from alignsim.analysis.counterfactual import fork_effect

        if ns.repeat < 2:
            raise ConfigError("repeat", f"needs at least 2 seeds, got {ns.repeat}")
        if not change_kwargs:
            raise ConfigError("repeat", "name the change whose effect to estimate")
        arms = repeated_forks(ns.log, seeds=range(ns.repeat), at=ns.at, out_dir=ns.out, **change_kwargs)
        effect = fork_effect([a.log_path for a, _ in arms], [b.log_path for _, b in arms], ns.outcome)
        print(f"{len(arms)} paired forks -> {arms[0][1].log_path.parent}")
        print(effect.text())
        return 0
    result = fork(ns.log, at=ns.at, seed=ns.seed, out_dir=ns.out, **change_kwargs)
    for warning in result.warnings:
        print(f"note: {warning}", file=sys.stderr)
    print(f"fork of {result.parent} at step {result.at}, change {result.change or 'none'}")
    print(f"log: {result.log_path}" + (" (done earlier)" if result.skipped else ""))
    print(diff(ns.log, result.log_path).text())
    return 0


def _diff(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="alignsim diff", description="Where two episode logs part.")
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    ns = parser.parse_args(args)
    from alignsim.fork import diff

    result = diff(ns.a, ns.b)
    print(result.text())
    return 0 if result.identical else 1


def _export(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="alignsim export", description="Export episodes to other tools' formats.")
    parser.add_argument("paths", nargs="+", type=Path, help="logs, run or sweep folders")
    parser.add_argument("--inspect", metavar="OUT", type=Path, required=True, help="write an Inspect AI eval log")
    ns = parser.parse_args(args)
    from alignsim.export.inspect import export_inspect
    from alignsim.record import BadFiles

    bad = BadFiles()
    try:
        out = export_inspect(
            ns.paths, ns.inspect, bad=bad, warn=lambda message: print(f"warning: {message}", file=sys.stderr)
        )
    except FileNotFoundError:
        _report_skipped("export", bad)
        raise
    print(f"wrote {out} (open it with: inspect view --log-dir {out.parent})")
    return _report_skipped("export", bad)


def _report_skipped(command: str, bad: Any) -> int:
    """Print one line per file a folder command skipped, then the count; 1 if any, else 0."""
    for message in bad:
        print(f"alignsim {command}: skipped {message}", file=sys.stderr)
    if bad:
        print(f"alignsim {command}: {bad.summary()}", file=sys.stderr)
    return 1 if bad else 0


# --------------------------------------------------------------------- annotate


def _annotate_parser() -> argparse.ArgumentParser:
    """The ``alignsim annotate`` options (one place to add a mode, such as ``--validate``)."""
    parser = argparse.ArgumentParser(
        prog="alignsim annotate",
        description="Annotate every public statement of episode logs with judges; sidecars go beside each log.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="logs, run or sweep folders")
    parser.add_argument(
        "--judge",
        action="append",
        default=[],
        metavar="SPEC",
        help="grammar, embedded, or a backend provider/model (openai/..., vllm/..., transformers/..., mock/...); "
        "repeat for a panel",
    )
    parser.add_argument("--seed", default="0", help="the judges' sampling seed (default 0)")
    parser.add_argument("--aggregate", default=None, help="panel aggregate: majority (default) or unanimous")
    parser.add_argument("--out", type=Path, help="folder for agreement.csv, disagreements.csv and the judge cache")
    parser.add_argument(
        "--backend-options",
        default=None,
        metavar="JSON",
        help='provider options, e.g. \'{"base_url": "http://localhost:8000/v1"}\'',
    )
    parser.add_argument(
        "--judge-params", default=None, metavar="JSON", help="judge sampling parameters, e.g. '{\"max_tokens\": 200}'"
    )
    parser.add_argument("--no-cache", action="store_true", help="do not cache judge answers (default: OUT/cache)")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="score each judge on the labelled validation set (or on PATH, a set in its format); "
        "tables print, CSVs go to --out when given",
    )
    return parser


def _annotate(args: list[str]) -> int:
    ns = _annotate_parser().parse_args(args)
    import json

    from alignsim.analysis.annotate.api import annotate, default_out
    from alignsim.record import BadFiles

    try:
        seed = int(ns.seed)
    except ValueError:
        raise ConfigError("seed", f"must be a non-negative integer, got {ns.seed!r}") from None
    options, params = None, None
    if ns.backend_options is not None:
        try:
            options = json.loads(ns.backend_options)
        except ValueError as exc:
            raise ConfigError("backend_options", f"not valid JSON: {exc}") from None
    if ns.judge_params is not None:
        try:
            params = json.loads(ns.judge_params)
        except ValueError as exc:
            raise ConfigError("judge_params", f"not valid JSON: {exc}") from None
    if ns.validate:
        return _annotate_validate(ns, seed, options)
    if not ns.paths:
        raise ConfigError("PATH", "give a log, a run folder or a sweep folder to annotate")
    out = ns.out or default_out(ns.paths)
    bad = BadFiles()
    try:
        result = annotate(
            ns.paths,
            ns.judge,
            seed=seed,
            aggregate=ns.aggregate,
            out=out,
            cache_dir=None if ns.no_cache else out / "cache",
            backend_options=options,
            judge_params=params,
            bad=bad,
        )
    except FileNotFoundError:
        _report_skipped("annotate", bad)
        raise
    print(result.text())
    return _report_skipped("annotate", bad) or (0 if result.logs else 1)


def _annotate_validate(ns: argparse.Namespace, seed: int, options: Any) -> int:
    """``alignsim annotate --validate``: each judge's figures on the validation set."""
    from alignsim.analysis.annotate.validate import validate_judges

    if len(ns.paths) > 1:
        raise ConfigError("PATH", "--validate takes at most one validation set")
    if ns.aggregate is not None:
        raise ConfigError("aggregate", "--validate scores each judge on its own; drop --aggregate")
    cache = None if ns.no_cache or ns.out is None else ns.out / "cache"
    path = ns.paths[0] if ns.paths else None
    for result in validate_judges(ns.judge, seed=seed, path=path, out=ns.out, cache_dir=cache, backend_options=options):
        print(result.text())
    return 0


# --------------------------------------------------------------------- analyze


def _analyze(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="alignsim analyze",
        description="Score episode logs (or seed-format votes.csv files): tables, plots and an HTML report.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="logs, run or sweep folders, or seed votes.csv files")
    parser.add_argument("--out", type=Path, help="output folder (default: PATH/analysis for a folder)")
    parser.add_argument("--by", default="scenario", help="comma-separated grouping columns ('' for one group)")
    parser.add_argument("--format", default="csv", choices=["csv", "parquet", "both"], help="table file format")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--jobs", type=int, default=1, help="processes for reading logs")
    parser.add_argument(
        "--no-cache", action="store_true", help="do not cache frames (default: OUT/cache; needs pyarrow)"
    )
    parser.add_argument("--no-frames", action="store_true", help="do not write the raw frames")
    parser.add_argument("--no-plots", action="store_true", help="no PNG plots")
    parser.add_argument("--no-report", action="store_true", help="no HTML report")
    parser.add_argument("--graphs", type=int, default=1, help="episodes whose trust graphs are exported")
    parser.add_argument(
        "--chance-episodes",
        type=int,
        default=None,
        metavar="N",
        help="null-policy units per group for the chance columns (default 500, or $ALIGNSIM_CHANCE_EPISODES); "
        "simulated once per configuration and cached in OUT/cache/chance",
    )
    parser.add_argument("--no-chance", action="store_true", help="no chance baselines (the chance columns stay empty)")
    ns = parser.parse_args(args)
    if ns.chance_episodes is not None and ns.chance_episodes < 1:
        parser.error(f"--chance-episodes must be at least 1, got {ns.chance_episodes}")
    from alignsim.analysis import analyze
    from alignsim.record import BadFiles

    first = ns.paths[0]
    out = ns.out or ((first if first.is_dir() else first.parent) / "analysis")
    bad = BadFiles()
    try:
        result = analyze(
            ns.paths,
            out,
            by=[c.strip() for c in ns.by.split(",") if c.strip()],
            formats=["csv", "parquet"] if ns.format == "both" else [ns.format],
            n_resamples=ns.resamples,
            seed=ns.seed,
            jobs=ns.jobs,
            cache_dir=None if ns.no_cache else out / "cache",
            write_frames=not ns.no_frames,
            make_plots=not ns.no_plots,
            make_report=not ns.no_report,
            graph_episodes=ns.graphs,
            chance=not ns.no_chance,
            chance_episodes=ns.chance_episodes,
            bad=bad,
        )
    except FileNotFoundError:
        _report_skipped("analyze", bad)
        raise
    print(result.text())
    return _report_skipped("analyze", bad) or (0 if len(result.episodes) else 1)


# --------------------------------------------------------------------- rate


def _rate(args: list[str]) -> int:
    from alignsim.analysis.ratings import BY, DEFAULT_PRIOR_SD, DEFAULT_RESAMPLES, METHODS

    parser = argparse.ArgumentParser(
        prog="alignsim rate",
        description="Rate models (or policies, or people) from game outcomes: Bradley-Terry and OpenSkill, with "
        "bootstrap intervals over episodes. Writes leaderboard.csv, side_advantage.csv and ratings.png.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="logs, run or sweep folders")
    parser.add_argument("--by", default="model", choices=BY, help="rate each model, or each model in a role or side")
    parser.add_argument(
        "--method", action="append", choices=METHODS, help="rating system (repeat for both; default: both)"
    )
    parser.add_argument("--out", type=Path, help="output folder (default: PATH/ratings for a folder)")
    parser.add_argument("--n-resamples", type=int, default=DEFAULT_RESAMPLES, help="bootstrap resamples of episodes")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--confidence", type=float, default=0.95, help="interval level")
    parser.add_argument(
        "--prior-sd", type=float, default=DEFAULT_PRIOR_SD, help="Bradley-Terry prior standard deviation (logits)"
    )
    parser.add_argument("--no-plot", action="store_true", help="no PNG plot")
    ns = parser.parse_args(args)
    from alignsim.analysis.ratings import rate, write_ratings
    from alignsim.record import BadFiles

    bad = BadFiles()
    try:
        ratings = rate(
            ns.paths,
            by=ns.by,
            methods=ns.method,
            n_resamples=ns.n_resamples,
            seed=ns.seed,
            confidence=ns.confidence,
            prior_sd=ns.prior_sd,
            bad=bad,
        )
    except FileNotFoundError:
        _report_skipped("rate", bad)
        raise
    _print_ratings(ratings)
    if ratings.games:
        first = ns.paths[0]
        out = ns.out or ((first if first.is_dir() else first.parent) / "ratings")
        files = write_ratings(ratings, out, plot=not ns.no_plot)
        print(f"wrote {', '.join(str(f) for f in files)}")
    return _report_skipped("rate", bad) or (0 if ratings.games else 1)


def _print_ratings(ratings: Any) -> None:
    """The leaderboard of each method as a rich table, with the counts and notes."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from alignsim.analysis.ratings import METHOD_NAMES

    console = Console(width=160, highlight=False)
    console.print(ratings.headline(), markup=False)
    for note in ratings.notes:
        console.print(f"note: {note}", markup=False)
    if not ratings.rateable:
        return
    level = f"{ratings.confidence:.0%}"
    for method in ratings.methods:
        part = ratings.leaderboard[ratings.leaderboard["method"] == method]
        table = Table(title=f"{METHOD_NAMES[method]}: {part['scale'].iloc[0]}, {level} bootstrap CI")
        for column in ("#", "model", *ratings.group_column, "games", "wins", "losses", "rating", f"{level} CI"):
            table.add_column(column, justify="left" if column in ("model", "role", "side") else "right")
        for rank, row in enumerate(part.itertuples(index=False), start=1):
            low, high = row.low, row.high
            interval = f"[{low:+.2f}, {high:+.2f}]" if low == low and high == high else "n/a"
            group = [str(getattr(row, c)) for c in ratings.group_column]
            cells = [str(rank), str(row.model), *group, str(row.games), str(row.wins), str(row.losses)]
            table.add_row(*map(Text, [*cells, f"{row.rating:+.2f}", interval]))  # Text: labels are data, not markup
        console.print(table)
    if not ratings.sides.empty:
        table = Table(title="Bradley-Terry side advantage (logits; sums to zero over a scenario's sides)")
        for column in ("scenario", "side", "games", "advantage", f"{level} CI"):
            table.add_column(column, justify="left" if column in ("scenario", "side") else "right")
        for row in ratings.sides.itertuples(index=False):
            cells = [str(row.scenario), str(row.side), str(row.games), f"{row.rating:+.2f}"]
            table.add_row(*map(Text, [*cells, f"[{row.low:+.2f}, {row.high:+.2f}]"]))
        console.print(table)


# --------------------------------------------------------------------- list


LIST_KINDS = {
    "envs": "environments (scenario.env_id)",
    "scenarios": "scenarios (scenario=ID)",
    "policies": "policies (scenario.seating.ROLE.policy=NAME)",
    "llm": "llm configs (llm=NAME)",
    "experiments": "experiments (+experiment=NAME)",
    "backends": "model providers (llm.model=PROVIDER/MODEL)",
}
_LIST_ALIASES = {"env": "envs", "scenario": "scenarios", "policy": "policies", "experiment": "experiments"}
_LIST_ALIASES |= {"backend": "backends", "providers": "backends", "provider": "backends"}


def _list(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="alignsim list", description="What a config can name: " + "; ".join(LIST_KINDS.values()) + "."
    )
    parser.add_argument("kind", nargs="?", choices=[*LIST_KINDS, *_LIST_ALIASES], default=None)
    ns = parser.parse_args(args)
    kinds = [_LIST_ALIASES.get(ns.kind, ns.kind)] if ns.kind else list(LIST_KINDS)
    for kind in kinds:
        print(f"{LIST_KINDS[kind]}:")
        for name, description in _listing(kind):
            print(f"  {name:34} {description}")
    return 0


def _first_paragraph(yaml_text: str, width: int = 110) -> str:
    """The opening comment of a config file, up to its first example command, on one line."""
    words: list[str] = []
    for line in yaml_text.splitlines():
        if not line.startswith("#") or line.startswith("# @package"):
            if words:
                break
            continue
        text = line[1:]
        if text.startswith("   ") or not text.strip():  # an indented example command or a blank: paragraph ends
            if words:
                break
            continue
        words += text.split()
    about = " ".join(words)
    return about if len(about) <= width else about[: width - 3].rsplit(" ", 1)[0] + "..."


def _listing(kind: str) -> list[tuple[str, str]]:
    """(name, one-line description) of everything of one kind a config can name."""
    from alignsim import agents, envs, scenarios

    if kind == "envs":
        return [(env_id, envs.spec(env_id).description) for env_id in envs.ids()]
    if kind == "scenarios":
        return [(scenario_id, scenarios.get(scenario_id).description) for scenario_id in scenarios.ids()]
    if kind == "policies":
        return [(name, agents.spec(name).description) for name in agents.ids()]
    if kind == "backends":
        from alignsim.agents.llm.backends import providers

        return [(f"{name}/MODEL", provider.description) for name, provider in sorted(providers().items())]
    from importlib.resources import files

    folder = files("alignsim.conf").joinpath("llm" if kind == "llm" else "experiment")
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)
    return [(entry.name.removesuffix(".yaml"), _first_paragraph(entry.read_text())) for entry in entries]


if __name__ == "__main__":
    sys.exit(main())
