"""The ``alignsim`` command line: a thin layer over the Python API.

alignsim run [OVERRIDE ...]        play episodes (Hydra; e.g. scenario=traitors/mini-v0 seed=7)
alignsim replay PATH [PATH ...]    re-drive logs with no policy; fail on any difference
alignsim view LOG [--private]      print a readable transcript
alignsim analyze PATH [--out DIR]  metrics with CIs, plots and an HTML report from logs
alignsim list [envs|scenarios|policies]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alignsim.errors import AlignsimError, ConfigError, LogFormatError, ReplayMismatchError

USAGE = __doc__ or ""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE.strip())
        return 0
    command, rest = argv[0], argv[1:]
    if command == "--version":
        from alignsim import __version__

        print(__version__)
        return 0
    commands = {"run": _run, "replay": _replay, "view": _view, "analyze": _analyze, "list": _list}
    if command not in commands:
        print(f"alignsim: unknown command {command!r}\n\n{USAGE.strip()}", file=sys.stderr)
        return 2
    try:
        return commands[command](rest)
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
    import hydra
    from omegaconf import DictConfig

    from alignsim.conf import register_configs

    register_configs()
    outcome: dict[str, Any] = {"code": 0}

    @hydra.main(version_base="1.3", config_path="conf", config_name="config")
    def app(cfg: DictConfig) -> dict[str, Any] | None:
        try:
            return run_from_config(cfg)
        except ConfigError as exc:
            # Raised before any episode runs: report it plainly instead of a Hydra traceback.
            print(f"alignsim run: config error: {exc}", file=sys.stderr)
            outcome["code"] = 2
            return None

    saved = sys.argv
    sys.argv = ["alignsim run", *args]
    try:
        app()
    finally:
        sys.argv = saved
    return outcome["code"]


def run_from_config(cfg: Any) -> dict[str, Any]:
    """Run a composed ``RunConfig`` (what ``alignsim run`` does after Hydra composes it)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from alignsim.run import run
    from alignsim.scenarios import ScenarioSpec

    resolved: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    if resolved.get("flush") not in ("event", "episode"):
        raise ConfigError("flush", f"must be 'event' or 'episode', got {resolved.get('flush')!r}")
    out_dir = resolved.get("out_dir") or HydraConfig.get().runtime.output_dir
    scenario = ScenarioSpec.from_dict(resolved["scenario"])
    llm = {k: v for k, v in resolved["llm"].items() if v not in (None, {}, [])}
    results = run(
        scenario,
        seed=resolved["seed"],
        episodes=resolved["episodes"],
        out_dir=out_dir,
        config=resolved,
        llm=llm,
        lockstep=resolved["lockstep"],
        flush=resolved["flush"],
        fsync=resolved["fsync"],
        resume=resolved["resume"],
        progress=resolved["progress"] and sys.stderr.isatty(),
    )
    _print_results(results, out_dir)
    return {
        "out_dir": str(out_dir),
        "episodes": [
            {"episode_id": r.episode_id, "status": r.summary.status, "winner": r.summary.winner} for r in results
        ],
    }


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
    from alignsim.record import find_logs
    from alignsim.run import replay, rerun

    logs = [log for path in ns.paths for log in find_logs(path)]
    if not logs:
        print("alignsim replay: no episode logs found", file=sys.stderr)
        return 2
    failures = 0
    for log in logs:
        if ns.rerun is not None:
            try:
                again = rerun(log, ns.rerun)
            except ReplayMismatchError as exc:
                failures += 1
                print(f"MISMATCH {log}\n  {exc}")
                continue
            print(f"ok {log}: re-run with {again.llm_calls} recorded model calls -> {again.log_path}, identical")
            continue
        try:
            report = replay(log)
        except ReplayMismatchError as exc:
            failures += 1
            print(f"MISMATCH {log}\n  {exc}")
            continue
        note = f" ({'; '.join(report.warnings)})" if report.warnings else ""
        print(f"ok {log}: {report.steps} steps, {report.events} env events, {report.digests} observations{note}")
    print(f"{len(logs) - failures}/{len(logs)} logs replay exactly")
    return 1 if failures else 0


# --------------------------------------------------------------------- view


def _view(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="alignsim view", description="Print an episode transcript.")
    parser.add_argument("log", type=Path)
    parser.add_argument(
        "--private",
        action="store_true",
        help="also show roles, private reasoning, the traitors' meeting, night votes and beliefs",
    )
    parser.add_argument("--agent", help="show only what this agent observed")
    ns = parser.parse_args(args)
    from alignsim.analysis.transcript import transcript
    from alignsim.record import read_log

    print(transcript(read_log(ns.log), private=ns.private, agent=ns.agent))
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
    ns = parser.parse_args(args)
    from alignsim.analysis import analyze

    first = ns.paths[0]
    out = ns.out or ((first if first.is_dir() else first.parent) / "analysis")
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
    )
    print(result.text())
    return 0 if len(result.episodes) else 1


# --------------------------------------------------------------------- list


def _list(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="alignsim list")
    parser.add_argument("kind", nargs="?", choices=["envs", "scenarios", "policies"], default=None)
    ns = parser.parse_args(args)
    from alignsim import agents, envs, scenarios

    kinds = [ns.kind] if ns.kind else ["envs", "scenarios", "policies"]
    for kind in kinds:
        print(f"{kind}:")
        if kind == "envs":
            for env_id in envs.ids():
                print(f"  {env_id:28} {envs.spec(env_id).description}")
        elif kind == "scenarios":
            for scenario_id in scenarios.ids():
                print(f"  {scenario_id:28} {scenarios.get(scenario_id).description}")
        else:
            for name in agents.ids():
                print(f"  {name:28} {agents.spec(name).description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
