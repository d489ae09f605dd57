"""Throughput benchmark: alignsim's Werewolf env + runner vs TextArena's SecretMafia-v0.

What it measures
----------------
1. **Agent actions per second over whole games**, at 6, 10 and 15 players, for

   * ``alignsim runner (random)``: ``alignsim.run.EpisodeRunner.run`` on
     ``werewolf/random-v0`` (uniformly random legal players) resized to N players, with
     ``flush="event"`` (the default), writing its episode log to a temporary directory. One
     runner per size is reused across games, as ``alignsim run`` does. Reset, seating, the
     header, every ``observe``/``act``/``step``, every logged event and the summary are inside
     the timed region: what a user pays per game.
   * ``alignsim env loop (random)``: the bare PettingZoo AEC loop over
     ``alignsim.envs.make("werewolf-v0")`` with the ``random`` policy: no runner, no log.
   * ``TextArena SecretMafia-v0``: ``ta.make("SecretMafia-v0")``, ``reset``, the
     ``get_observation``/``step`` loop with a random agent, and ``close``; a fresh env per
     game (the agent and the game loop are those of ``bench_traitors_env.py``).

   Both games deal K = max(1, round(0.25 * N)) wolves / mafia (SecretMafia's ratio) and one
   seer (detective) and one doctor. The unit of comparison is the **agent action** (one
   ``env.step`` with an agent's action): games differ in length, so actions per second and
   not games per second. Systems are interleaved game by game (A B C, then C B A, ...), so
   machine noise hits all alike. Each cell is the median over games of (actions in the game
   / wall time of the game), with min-max.

2. **Per-step cost by step index**: the wall time of every agent action (observation +
   decision + step, ``time.perf_counter_ns``), bucketed by the action's index in the game
   (0-49, 50-99, 100-199, 200+), median per bucket, and the env-only part (observation +
   step). Flat is the goal: a step should not cost more because the game is long.
   TextArena rebuilds each observation string from the player's whole history.

How to run
----------
::

    pip install -e ".[bench]"                         # installs textarena
    python benchmarks/bench_werewolf_env.py            # full run
    python benchmarks/bench_werewolf_env.py --quick    # smoke run, seconds
    python benchmarks/bench_werewolf_env.py --games 40 --sizes 10 --json bench.json

Options: ``--games`` (timed games per system and size, default 100), ``--step-games``
(default 30), ``--sizes`` (default ``6,10,15``), ``--warmup``, ``--seed``, ``--no-peer``,
``--log-dir``, ``--json PATH`` (every raw number). Without textarena installed the peer is
skipped with a message. Only public alignsim API is used (scenarios, ``run.EpisodeRunner``,
``envs.make``, ``agents.make``).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_traitors_env as peer

import alignsim.agents
import alignsim.envs
import alignsim.run
import alignsim.scenarios

ENV_ID = "werewolf-v0"
RANDOM_SCENARIO = "werewolf/random-v0"
BUCKETS = peer.BUCKETS
SYSTEMS: dict[str, str] = {
    "ours_runner": "alignsim runner (random)",
    "ours_env_loop": "alignsim env loop (random, no runner)",
    "textarena": "TextArena SecretMafia-v0 (random)",
}


def wolves_for(n_players: int) -> int:
    """SecretMafia's mafia count, max(1, round(0.25 N))."""
    return peer.n_traitors_for(n_players)


def env_kwargs_for(n_players: int) -> dict[str, Any]:
    """``werewolf/random-v0``'s parameters resized to N players and K wolves (one seer, one doctor)."""
    base = dict(alignsim.scenarios.get(RANDOM_SCENARIO).env_kwargs)
    return {**base, "n_players": n_players, "n_werewolves": wolves_for(n_players)}


def scenario_for(n_players: int) -> alignsim.scenarios.ScenarioSpec:
    spec = alignsim.scenarios.get(RANDOM_SCENARIO)
    return dataclasses.replace(spec, env_kwargs=env_kwargs_for(n_players))


_RUNNERS: dict[int, alignsim.run.EpisodeRunner] = {}


def time_runner_game(spec: Any, seed: int, out_root: Path) -> tuple[int, float]:
    """One episode on a runner reused across games; returns (agent actions, seconds)."""
    n = int(spec.env_kwargs["n_players"])
    runner = _RUNNERS.get(n)
    if runner is None:
        runner = _RUNNERS[n] = alignsim.run.EpisodeRunner(spec, out_dir=tempfile.mkdtemp(dir=out_root))
    start = time.perf_counter()
    result = runner.run(seed=seed, episode_index=0, resume=False)
    elapsed = time.perf_counter() - start
    if result.summary.status == "failed":
        raise RuntimeError(f"alignsim episode failed: {result.summary.error}")
    return int(result.summary.steps), elapsed


def play_env_loop(n_players: int, seed: int, per_step: bool) -> tuple[int, float, list[tuple[int, int]]]:
    """The bare AEC loop with the random policy: (actions, seconds, per-step (total ns, env ns))."""
    clock = time.perf_counter_ns
    samples: list[tuple[int, int]] = []
    start = time.perf_counter()
    env = alignsim.envs.make(ENV_ID, **env_kwargs_for(n_players))
    env.reset(seed=seed)
    policy = alignsim.agents.make("random")
    policy.reset(env.possible_agents, seed=seed, env_id=ENV_ID)
    steps = 0
    for agent in env.agent_iter():
        t0 = clock()
        obs, _reward, term, trunc, _info = env.last()
        if term or trunc:
            env.step(None)
            continue
        t1 = clock()
        action = policy.act(agent, obs, env.action_space(agent))
        t2 = clock()
        env.step(action)
        t3 = clock()
        steps += 1
        if per_step:
            samples.append((t3 - t0, (t1 - t0) + (t3 - t2)))
    policy.close()
    env.close()
    return steps, time.perf_counter() - start, samples


def throughput(
    sizes: Sequence[int], games: int, warmup: int, base_seed: int, ta: Any, out_root: Path
) -> tuple[dict[int, dict[str, peer.Series]], dict[int, int]]:
    """Whole games of every system, interleaved; also TextArena's invalid moves per size."""
    results: dict[int, dict[str, peer.Series]] = {}
    invalid: dict[int, int] = {}
    for n in sizes:
        spec = scenario_for(n)
        runners: dict[str, Callable[[int], tuple[int, float]]] = {
            "ours_runner": lambda s, sp=spec: time_runner_game(sp, s, out_root),
            "ours_env_loop": lambda s, n=n: play_env_loop(n, s, per_step=False)[:2],
        }
        invalid[n] = 0
        if ta is not None:

            def ta_game(s: int, n: int = n) -> tuple[int, float]:
                steps, seconds, _samples, bad, _chars = peer.play_textarena(ta, n, s, per_step=False)
                invalid[n] += bad
                return steps, seconds

            runners["textarena"] = ta_game
        order = list(runners)
        for w in range(warmup):
            for key in order:
                runners[key](10_000_000 + w)
        invalid[n] = 0
        results[n] = {key: peer.Series() for key in order}
        for rep in range(games):
            for key in order if rep % 2 == 0 else reversed(order):
                results[n][key].add(*runners[key](base_seed + rep))
        print(f"  throughput: {n} players done ({games} games per system)", file=sys.stderr)
    return results, invalid


def per_step_costs(sizes: Sequence[int], games: int, base_seed: int, ta: Any) -> dict[int, dict[str, Any]]:
    """Per-action samples of the bare loop and of TextArena, interleaved, bucketed by step index."""
    out: dict[int, dict[str, Any]] = {}
    for n in sizes:
        ours: list[list[tuple[int, int]]] = []
        theirs: list[list[tuple[int, int, int]]] = []
        play_env_loop(n, 20_000_000, per_step=True)  # warm-up
        if ta is not None:
            peer.play_textarena(ta, n, 20_000_000, per_step=True)
        for rep in range(games):
            seed = base_seed + 1000 + rep
            if rep % 2 == 0:
                ours.append(play_env_loop(n, seed, per_step=True)[2])
            if ta is not None:
                theirs.append(peer.play_textarena(ta, n, seed, per_step=True)[2])
            if rep % 2 == 1:
                ours.append(play_env_loop(n, seed, per_step=True)[2])
        out[n] = {
            "alignsim": peer.bucketize(ours),
            "textarena": peer.bucketize(theirs) if ta is not None else None,
            "raw": {"alignsim": ours, "textarena": theirs if ta is not None else None},
        }
        print(f"  per-step: {n} players done ({games} games per system)", file=sys.stderr)
    return out


def report(
    stats: dict[int, dict[str, Any]], invalid: dict[int, int], steps: dict[int, dict[str, Any]], have_ta: bool
) -> None:
    print("\n### Agent actions per second over whole games (median [min-max] over games)\n")
    headers = [
        "players (wolves)",
        SYSTEMS["ours_runner"],
        SYSTEMS["ours_env_loop"],
        SYSTEMS["textarena"],
        "ratio alignsim runner / TextArena",
        "mean actions/game: alignsim / TextArena",
    ]
    rows = []
    for n, s in stats.items():
        ratio = f"{s['ours_runner']['median'] / s['textarena']['median']:.2f}x" if have_ta else "n/a (peer skipped)"
        ta_len = f"{s['textarena']['mean_actions_per_game']:.0f}" if have_ta else "n/a"
        rows.append(
            [
                f"{n} ({wolves_for(n)})",
                peer.fmt_rate(s["ours_runner"]),
                peer.fmt_rate(s["ours_env_loop"]),
                peer.fmt_rate(s.get("textarena")),
                ratio,
                f"{s['ours_runner']['mean_actions_per_game']:.0f} / {ta_len}",
            ]
        )
    peer.print_table(headers, rows)
    if have_ta:
        bad = sum(invalid.values())
        print(f"\nTextArena invalid moves during the timed games: {bad}" + ("" if bad == 0 else "  <-- expected none"))

    print("\n### Per-step cost by step index (median microseconds per agent action; mean in brackets)\n")
    print("total = observation + agent decision + step; env = observation + step only.\n")
    headers = ["players", "step index", "alignsim n", "alignsim total (mean)", "alignsim env"]
    headers += ["TextArena n", "TextArena total (mean)", "TextArena env", "TextArena obs chars"]
    rows = []

    def total(row: dict[str, Any]) -> str:
        return f"{row['total_us']:.1f} ({row['total_mean_us']:.1f})" if "total_us" in row else "-"

    def cell(row: dict[str, Any], key: str, fmt: str = "{:.1f}") -> str:
        return fmt.format(row[key]) if key in row else "-"

    for n, t in steps.items():
        theirs = t["textarena"] or [{} for _ in BUCKETS]
        for mine, other in zip(t["alignsim"], theirs, strict=True):
            if mine["n"] == 0 and not other.get("n"):
                continue
            rows.append(
                [
                    str(n),
                    mine["bucket"],
                    str(mine["n"]),
                    total(mine),
                    cell(mine, "env_us"),
                    str(other.get("n", "n/a")),
                    total(other),
                    cell(other, "env_us"),
                    cell(other, "obs_chars", "{:,.0f}"),
                ]
            )
    peer.print_table(headers, rows)
    print()
    for n, t in steps.items():
        parts = []
        for name, key in (("alignsim", "alignsim"), ("TextArena", "textarena")):
            filled = [r for r in (t[key] or []) if "total_us" in r and r["n"] >= 20]
            if len(filled) >= 2:
                growth = filled[-1]["total_us"] / filled[0]["total_us"]
                parts.append(
                    f"{name} last/first bucket = {growth:.2f}x ({filled[0]['bucket']} -> {filled[-1]['bucket']})"
                )
        if parts:
            print(f"growth at {n} players: " + "; ".join(parts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--games", type=int, default=None, help="timed games per system and size (default 100; 2 with --quick)"
    )
    parser.add_argument(
        "--step-games", type=int, default=None, help="games for the per-step table (default 30; 2 with --quick)"
    )
    parser.add_argument("--sizes", type=str, default="6,10,15", help="comma-separated player counts in 6..15")
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed games per system and size (default 2; 1 with --quick)"
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--no-peer", action="store_true", help="skip TextArena even if installed")
    parser.add_argument("--log-dir", type=Path, default=None, help="where the runner's logs go (removed at the end)")
    parser.add_argument("--json", type=Path, default=None, help="write every raw number to this file")
    args = parser.parse_args(argv)

    games = args.games if args.games is not None else (2 if args.quick else 100)
    step_games = args.step_games if args.step_games is not None else (2 if args.quick else 30)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for n in sizes:
        if not 6 <= n <= 15:
            parser.error(f"player counts must be in 6..15 (SecretMafia's range), got {n}")
    if games < 1 or step_games < 1:
        parser.error("--games and --step-games must be at least 1")

    ta, why = (None, "--no-peer given") if args.no_peer else peer.load_textarena()
    info = peer.machine_info()
    print("## alignsim Werewolf vs TextArena SecretMafia-v0: random agents")
    print(f"date: {info['date_utc']}; cpu: {info['cpu']} x {info['cpus']}; python {info['python']}; {info['platform']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    cli = argv if argv is not None else sys.argv[1:]
    print(f"command: python {' '.join([Path(sys.argv[0]).as_posix(), *cli])}")
    print(
        f"games per system and size: {games} timed (+{warmup} warm-up), {step_games} for per-step costs; sizes {sizes}"
    )
    if ta is None:
        print(f"\nSKIPPING the TextArena peer: {why}\n")
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    out_root = Path(tempfile.mkdtemp(prefix="alignsim-bench-ww-", dir=args.log_dir))
    wall = time.perf_counter()
    try:
        gc.collect()
        series, invalid = throughput(sizes, games, warmup, args.seed, ta, out_root)
        steps = per_step_costs(sizes, step_games, args.seed, ta)
    finally:
        for runner in _RUNNERS.values():
            runner.close()
        _RUNNERS.clear()
        shutil.rmtree(out_root, ignore_errors=True)
    stats = {n: {k: s.stats() for k, s in by.items()} for n, by in series.items()}
    report(stats, invalid, steps, have_ta=ta is not None)
    print(f"\n(benchmark wall time {time.perf_counter() - wall:.1f} s)")
    if args.json is not None:
        payload = {
            "machine": info,
            "config": {"games": games, "step_games": step_games, "warmup": warmup, "sizes": sizes, "seed": args.seed},
            "peer": ta is not None,
            "skipped_peer_reason": why,
            "systems": SYSTEMS,
            "throughput": {
                str(n): {k: {"stats": stats[n][k], "steps": s.steps, "seconds": s.seconds} for k, s in by.items()}
                for n, by in series.items()
            },
            "textarena_invalid_moves": {str(n): v for n, v in invalid.items()},
            "per_step": {str(n): t for n, t in steps.items()},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, separators=(",", ":")))
        print(f"raw numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
