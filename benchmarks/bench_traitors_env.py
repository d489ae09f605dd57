"""Throughput benchmark: alignsim's Traitors env + runner vs TextArena's SecretMafia-v0.

What it measures
----------------
1. **Agent actions per second over whole games**, at 6, 10 and 15 players, for

   * ``alignsim runner (random)``: ``alignsim.run.EpisodeRunner.run`` on
     ``traitors/random-v0`` (uniformly random legal players), ``flush="event"`` (the
     default), writing its episode log to a temporary directory. One runner per size is
     reused across games, as ``alignsim run`` does for a run's episodes (env and policy
     objects are built once). Reset, policy seating, the header, every
     ``observe``/``act``/``step``, every logged event and the atomically written summary
     are inside the timed region: that is what a user pays per game.
   * ``alignsim runner (heuristic)``: the same on ``traitors/classic-v0`` (scripted
     heuristic players).
   * ``alignsim runner (random, flush=episode)``: the random runner buffering its log
     until the end of the episode, to show what per-event flushing costs.
   * ``alignsim env loop (random)``: the bare PettingZoo AEC loop over
     ``alignsim.envs.make("traitors-v0")`` with the ``random`` policy, no runner, no log.
   * ``TextArena SecretMafia-v0``: ``ta.make("SecretMafia-v0")`` (default wrappers, so
     the observation is the LLM-ready history string), ``reset``, the
     ``get_observation``/``step`` loop with a random agent, and ``close``; a fresh env
     per game.

   All systems use K = max(1, round(0.25 * N)) traitors / mafia (SecretMafia's ratio).
   The alignsim scenarios keep their other parameters (classic protocol: two discussion
   passes, traitors' meeting, post-banishment comments), so a game is a different
   number of actions on each side; the unit of comparison is the **agent action**
   (one ``env.step`` with an agent's action). Systems are interleaved game by game
   (A B C ... then ... C B A), so machine noise hits all of them alike. Each cell is the
   median over games of (actions in the game / wall time of the game), with min-max.

2. **Per-step cost against game length**: for each system, the wall time of every
   agent action (observation + agent's decision + step, timed with
   ``time.perf_counter_ns``), bucketed by the action's index in the game (0-49, 50-99,
   100-199, 200+), median per bucket. Also the env-only part (observation + step,
   without the agent's decision). TextArena rebuilds each observation string from the
   player's whole history, so its per-step cost should grow with the game; alignsim's
   observations are incremental.

The TextArena random agent plays valid moves in every phase: a canned sentence in the
day discussion, ``[X]`` for a living player in the day vote, a living non-mafia player
for the mafia's night vote, another living player for the doctor and the detective. It
reads the phase and the living players from the env's state, the cheap equivalent of the
action mask alignsim's random policy reads from its observation, and draws from its own
``random.Random`` (``reset`` reseeds the process-wide ``random`` module). Invalid moves
are counted and reported; there should be none.

How to run
----------
::

    pip install -e ".[bench]"          # installs textarena==0.7.4
    python benchmarks/bench_traitors_env.py                    # full run, ~1 min on 2 cores
    python benchmarks/bench_traitors_env.py --quick            # smoke run, seconds
    python benchmarks/bench_traitors_env.py --games 40 --sizes 10 --json bench.json

Options: ``--games`` (timed games per system and size, default 100), ``--step-games``
(games for the per-step table, default 30), ``--sizes`` (default ``6,10,15``),
``--warmup``, ``--seed``, ``--no-peer``, ``--log-dir`` (disk for the runner's logs),
``--json PATH`` (every raw number: per-game actions and seconds, per-step samples).

Without textarena installed, the peer is skipped with a message and only alignsim is
measured. Only public alignsim API is used (scenarios, ``run.EpisodeRunner``,
``envs.make``, ``agents.make``), so the script keeps working as the internals change.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import alignsim.agents
import alignsim.envs
import alignsim.run
import alignsim.scenarios

ENV_ID = "traitors-v0"
RANDOM_SCENARIO = "traitors/random-v0"
HEURISTIC_SCENARIO = "traitors/classic-v0"
TA_ENV_ID = "SecretMafia-v0"
TA_EXPECTED_VERSION = "0.7.4"
MAFIA_RATIO = 0.25  # SecretMafia-v0's default
BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 50), (50, 100), (100, 200), (200, None))

PHRASES = (
    "I have nothing to add yet.",
    "Let's hear from the others first.",
    "I am keeping an open mind.",
    "Something feels off, but I cannot say what.",
    "I will vote with my gut today.",
)

# Column keys -> labels, in the order they are run and printed.
SYSTEMS: dict[str, str] = {
    "ours_random": "alignsim runner (random)",
    "ours_heuristic": "alignsim runner (heuristic)",
    "ours_random_episode_flush": "alignsim runner (random, flush=episode)",
    "ours_env_loop": "alignsim env loop (random, no runner)",
    "textarena": "TextArena SecretMafia-v0 (random)",
}


def n_traitors_for(n_players: int) -> int:
    """SecretMafia's mafia count, which also satisfies alignsim's 2K < N for N >= 3."""
    return max(1, round(MAFIA_RATIO * n_players))


def bucket_label(lo: int, hi: int | None) -> str:
    return f"{lo}-{hi - 1}" if hi is not None else f"{lo}+"


# ---------------------------------------------------------------- alignsim side


def scenario_for(scenario_id: str, n_players: int) -> alignsim.scenarios.ScenarioSpec:
    spec = alignsim.scenarios.get(scenario_id)
    return dataclasses.replace(
        spec,
        env_kwargs={
            **spec.env_kwargs,
            "n_players": n_players,
            "n_traitors": n_traitors_for(n_players),
        },
    )


_RUNNERS: dict[tuple[str, int, str], alignsim.run.EpisodeRunner] = {}


def time_runner_game(spec: Any, seed: int, out_root: Path, flush: str) -> tuple[int, float]:
    """One episode on an ``EpisodeRunner`` reused across games (as ``alignsim run`` and
    ``alignsim.run.run`` reuse it); returns (agent actions, seconds).

    Everything per episode is inside the timed region: reset, header, the log file,
    every event written, and the atomically written summary.
    """
    key = (spec.id, int(spec.env_kwargs["n_players"]), flush)
    runner = _RUNNERS.get(key)
    if runner is None:
        out_dir = tempfile.mkdtemp(dir=out_root)
        runner = _RUNNERS[key] = alignsim.run.EpisodeRunner(spec, out_dir=out_dir, flush=flush)
    start = time.perf_counter()
    result = runner.run(seed=seed, episode_index=0, resume=False)
    elapsed = time.perf_counter() - start
    if result.summary.status == "failed":
        raise RuntimeError(f"alignsim episode failed: {result.summary.error}")
    return int(result.summary.steps), elapsed


def play_env_loop(n_players: int, seed: int, per_step: bool) -> tuple[int, float, list[tuple[int, int]]]:
    """The bare AEC loop with the random policy. Returns (actions, seconds, per-step samples).

    Per-step samples are (total ns, env-only ns) per agent action: observation (``last``)
    + decision + step, and the same without the decision.
    """
    clock = time.perf_counter_ns
    samples: list[tuple[int, int]] = []
    start = time.perf_counter()
    env = alignsim.envs.make(ENV_ID, n_players=n_players, n_traitors=n_traitors_for(n_players))
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


# ---------------------------------------------------------------- TextArena side


def load_textarena() -> tuple[Any, str | None]:
    """(module, None) or (None, reason it is unavailable)."""
    try:
        import textarena as ta
    except ImportError as exc:
        return None, f'textarena is not installed ({exc}); run: pip install -e ".[bench]"'
    version = _version("textarena")
    if version != TA_EXPECTED_VERSION:
        print(
            f"warning: textarena {version} installed; this benchmark was written against "
            f"{TA_EXPECTED_VERSION} (its random agent reads SecretMafia's phase and living players)"
        )
    return ta, None


def _unwrap(env: Any) -> Any:
    while hasattr(env, "env"):
        env = env.env
    return env


class SecretMafiaRandomAgent:
    """Random valid moves for SecretMafia-v0, from its own RNG.

    Reads the phase, living players and roles from the env's state (what an action mask
    would tell it); never parses the observation string, so the agent's own cost stays
    flat and small.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def act(self, core: Any, player_id: int) -> str:
        rng = self.rng
        phase = core.phase.name
        alive = core.state.game_state["alive_players"]
        if phase == "DAY_DISCUSSION":
            return PHRASES[rng.randrange(len(PHRASES))]
        if phase == "DAY_VOTING":
            return f"[{alive[rng.randrange(len(alive))]}]"
        if phase == "NIGHT_MAFIA":
            roles = core.player_roles
            targets = [p for p in alive if roles[p] != "Mafia"]
        else:  # NIGHT_DOCTOR, NIGHT_DETECTIVE: anyone else alive
            targets = [p for p in alive if p != player_id]
        return f"[{targets[rng.randrange(len(targets))]}]"


def play_textarena(ta: Any, n_players: int, seed: int, per_step: bool) -> tuple[int, float, list[Any], int, int]:
    """One SecretMafia game on a fresh env. Returns (actions, seconds, per-step samples,
    invalid moves, chars of the last observation).

    Per-step samples are (total ns, env-only ns, observation chars).
    """
    clock = time.perf_counter_ns
    samples: list[tuple[int, int, int]] = []
    agent = SecretMafiaRandomAgent(seed)
    invalid = 0
    steps = 0
    obs_chars = 0
    start = time.perf_counter()
    env = ta.make(TA_ENV_ID)
    env.reset(num_players=n_players, seed=seed)
    core = _unwrap(env)
    done = False
    while not done:
        t0 = clock()
        player_id, observation = env.get_observation()
        t1 = clock()
        action = agent.act(core, player_id)
        t2 = clock()
        done, _info = env.step(action)
        t3 = clock()
        steps += 1
        # state.step() clears made_invalid_move but leaves error_count at 1 after a bad move.
        if getattr(core.state, "error_count", 0):
            invalid += 1
        if per_step:
            obs_chars = len(observation)
            samples.append((t3 - t0, (t1 - t0) + (t3 - t2), obs_chars))
    _rewards, game_info = env.close()
    elapsed = time.perf_counter() - start
    invalid += sum(bool(info.get("invalid_move")) for info in game_info.values())
    return steps, elapsed, samples, invalid, obs_chars


# ---------------------------------------------------------------- measurement


@dataclasses.dataclass
class Series:
    steps: list[int] = dataclasses.field(default_factory=list)
    seconds: list[float] = dataclasses.field(default_factory=list)

    def add(self, steps: int, seconds: float) -> None:
        self.steps.append(steps)
        self.seconds.append(seconds)

    @property
    def rates(self) -> list[float]:
        return [s / t for s, t in zip(self.steps, self.seconds, strict=True) if t > 0]

    def stats(self) -> dict[str, float] | None:
        if not self.steps:
            return None
        rates = self.rates
        return {
            "games": len(self.steps),
            "median": statistics.median(rates),
            "min": min(rates),
            "max": max(rates),
            "pooled": sum(self.steps) / sum(self.seconds),
            "mean_actions_per_game": statistics.fmean(self.steps),
            "median_game_ms": statistics.median(self.seconds) * 1e3,
        }


def throughput(
    sizes: Sequence[int], games: int, warmup: int, base_seed: int, ta: Any, out_root: Path
) -> tuple[dict[int, dict[str, Series]], dict[int, int]]:
    results: dict[int, dict[str, Series]] = {}
    invalid: dict[int, int] = {}
    for n in sizes:
        specs = {
            "random": scenario_for(RANDOM_SCENARIO, n),
            "heuristic": scenario_for(HEURISTIC_SCENARIO, n),
        }
        runners: dict[str, Callable[[int], tuple[int, float]]] = {
            "ours_random": lambda s, sp=specs["random"]: time_runner_game(sp, s, out_root, "event"),
            "ours_heuristic": lambda s, sp=specs["heuristic"]: time_runner_game(sp, s, out_root, "event"),
            "ours_random_episode_flush": lambda s, sp=specs["random"]: time_runner_game(sp, s, out_root, "episode"),
            "ours_env_loop": lambda s, n=n: play_env_loop(n, s, per_step=False)[:2],
        }
        invalid[n] = 0
        if ta is not None:

            def ta_game(s: int, n: int = n) -> tuple[int, float]:
                steps, seconds, _samples, bad, _chars = play_textarena(ta, n, s, per_step=False)
                invalid[n] += bad
                return steps, seconds

            runners["textarena"] = ta_game
        order = list(runners)
        for w in range(warmup):
            for key in order:
                runners[key](10_000_000 + w)
        invalid[n] = 0
        results[n] = {key: Series() for key in order}
        for rep in range(games):
            seed = base_seed + rep
            for key in order if rep % 2 == 0 else reversed(order):
                results[n][key].add(*runners[key](seed))
        print(f"  throughput: {n} players done ({games} games per system)", file=sys.stderr)
    return results, invalid


def per_step_costs(sizes: Sequence[int], games: int, base_seed: int, ta: Any) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for n in sizes:
        ours: list[list[tuple[int, int]]] = []
        peer: list[list[tuple[int, int, int]]] = []
        play_env_loop(n, 20_000_000, per_step=True)  # warm-up
        if ta is not None:
            play_textarena(ta, n, 20_000_000, per_step=True)
        for rep in range(games):
            seed = base_seed + 1000 + rep
            first_ours = rep % 2 == 0
            if first_ours:
                ours.append(play_env_loop(n, seed, per_step=True)[2])
            if ta is not None:
                peer.append(play_textarena(ta, n, seed, per_step=True)[2])
            if not first_ours:
                ours.append(play_env_loop(n, seed, per_step=True)[2])
        out[n] = {
            "alignsim": bucketize(ours),
            "textarena": bucketize(peer) if ta is not None else None,
            # every sample, per game: [total ns, env-only ns(, observation chars)] per action
            "raw": {"alignsim": ours, "textarena": peer if ta is not None else None},
        }
        print(f"  per-step: {n} players done ({games} games per system)", file=sys.stderr)
    return out


def bucketize(games: list[list[tuple[int, ...]]]) -> list[dict[str, Any]]:
    rows = []
    for lo, hi in BUCKETS:
        picked = [s for game in games for s in game[lo:hi]]
        row: dict[str, Any] = {"bucket": bucket_label(lo, hi), "n": len(picked)}
        if picked:
            row["total_us"] = statistics.median(s[0] for s in picked) / 1e3
            row["env_us"] = statistics.median(s[1] for s in picked) / 1e3
            row["total_mean_us"] = statistics.fmean(s[0] for s in picked) / 1e3
            if len(picked[0]) > 2:
                row["obs_chars"] = statistics.median(s[2] for s in picked)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- reporting


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def alignsim_source_digest() -> str:
    """A short hash of the alignsim sources measured (the tree may be uncommitted)."""
    root = Path(alignsim.run.__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=6)
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def machine_info() -> dict[str, Any]:
    return {
        "date_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {p: _version(p) for p in ("alignsim", "textarena", "pettingzoo", "gymnasium", "numpy", "msgspec")},
        "alignsim_source_digest": alignsim_source_digest(),
    }


def fmt_rate(stats: dict[str, float] | None) -> str:
    if stats is None:
        return "n/a"
    return f"{stats['median']:,.0f} [{stats['min']:,.0f}-{stats['max']:,.0f}]"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(
            "| "
            + " | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
            + " |"
        )


def report(
    stats: dict[int, dict[str, Any]],
    invalid: dict[int, int],
    steps_table: dict[int, dict[str, Any]],
    have_ta: bool,
) -> None:
    print("\n### Agent actions per second over whole games (median [min-max] over games)\n")
    headers = [
        "players (traitors)",
        "alignsim runner (random)",
        "alignsim runner (heuristic)",
        "TextArena SecretMafia-v0",
        "ratio alignsim random / TextArena",
    ]
    rows = []
    for n, s in stats.items():
        ratio = f"{s['ours_random']['median'] / s['textarena']['median']:.2f}x" if have_ta else "n/a (peer skipped)"
        rows.append(
            [
                f"{n} ({n_traitors_for(n)})",
                fmt_rate(s["ours_random"]),
                fmt_rate(s["ours_heuristic"]),
                fmt_rate(s.get("textarena")),
                ratio,
            ]
        )
    print_table(headers, rows)

    print("\n### Context: game length, runner overhead and logging cost\n")
    headers = [
        "players",
        "mean actions/game: alignsim random / heuristic / TextArena",
        "alignsim env loop, no runner (actions/s)",
        "runner flush=event (actions/s)",
        "runner flush=episode (actions/s)",
        "flush=episode / flush=event",
    ]
    rows = []
    for n, s in stats.items():
        ta_len = f"{s['textarena']['mean_actions_per_game']:.0f}" if have_ta else "n/a"
        rows.append(
            [
                str(n),
                f"{s['ours_random']['mean_actions_per_game']:.0f} / "
                f"{s['ours_heuristic']['mean_actions_per_game']:.0f} / {ta_len}",
                fmt_rate(s["ours_env_loop"]),
                fmt_rate(s["ours_random"]),
                fmt_rate(s["ours_random_episode_flush"]),
                f"{s['ours_random_episode_flush']['median'] / s['ours_random']['median']:.2f}x",
            ]
        )
    print_table(headers, rows)
    if have_ta:
        bad = sum(invalid.values())
        print(
            f"\nTextArena invalid moves during the timed games: {bad}"
            + ("" if bad == 0 else "  <-- the random agent should make none; check the textarena version")
        )

    print("\n### Per-step cost by step index (median microseconds per agent action)\n")
    print(
        "total = observation + agent decision + step, median (mean in brackets: the rare "
        "expensive steps, e.g. resolving a vote, count there); env = observation + step only."
    )
    print("alignsim: bare AEC loop (env.last + policy.act + env.step); TextArena: get_observation + agent + step.\n")
    headers = [
        "players",
        "step index",
        "alignsim n",
        "alignsim total (mean)",
        "alignsim env",
        "TextArena n",
        "TextArena total (mean)",
        "TextArena env",
        "TextArena obs chars",
    ]
    rows = []
    for n, t in steps_table.items():
        peer = t["textarena"] or [{} for _ in BUCKETS]
        for ours_row, ta_row in zip(t["alignsim"], peer, strict=True):
            if ours_row["n"] == 0 and not ta_row.get("n"):
                continue

            def cell(row: dict[str, Any], key: str, fmt: str = "{:.1f}") -> str:
                return fmt.format(row[key]) if key in row else "-"

            def total(row: dict[str, Any]) -> str:
                if "total_us" not in row:
                    return "-"
                return f"{row['total_us']:.1f} ({row['total_mean_us']:.1f})"

            rows.append(
                [
                    str(n),
                    ours_row["bucket"],
                    str(ours_row["n"]),
                    total(ours_row),
                    cell(ours_row, "env_us"),
                    str(ta_row.get("n", "n/a")),
                    total(ta_row),
                    cell(ta_row, "env_us"),
                    cell(ta_row, "obs_chars", "{:,.0f}"),
                ]
            )
    print_table(headers, rows)
    print()
    for n, t in steps_table.items():
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
        "--games",
        type=int,
        default=None,
        help="timed games per system and size (default 100; 3 with --quick)",
    )
    parser.add_argument(
        "--step-games",
        type=int,
        default=None,
        help="games per system and size for the per-step table (default 30; 2 with --quick)",
    )
    parser.add_argument(
        "--sizes",
        type=str,
        default="6,10,15",
        help="comma-separated player counts, each in 6..15 (default 6,10,15)",
    )
    parser.add_argument("--warmup", type=int, default=None, help="untimed games per system and size (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="base seed")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--no-peer", action="store_true", help="skip TextArena even if installed")
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="where the runner's episode logs go (a temporary folder inside it, removed at the "
        "end); default: the system temp dir. Logging cost depends on this disk.",
    )
    parser.add_argument("--json", type=Path, default=None, help="write every raw number to this file")
    args = parser.parse_args(argv)

    games = args.games if args.games is not None else (3 if args.quick else 100)
    step_games = args.step_games if args.step_games is not None else (2 if args.quick else 30)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for n in sizes:
        if not 6 <= n <= 15:
            parser.error(f"player counts must be in 6..15 (SecretMafia's range), got {n}")
    if games < 1 or step_games < 1:
        parser.error("--games and --step-games must be at least 1")

    ta, why = (None, "--no-peer given") if args.no_peer else load_textarena()
    info = machine_info()
    print("## alignsim Traitors vs TextArena SecretMafia-v0: random agents")
    print(f"date: {info['date_utc']}; cpu: {info['cpu']} x {info['cpus']}; python {info['python']}; {info['platform']}")
    print(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + f" (alignsim source digest {info['alignsim_source_digest']})"
    )
    cli = argv if argv is not None else sys.argv[1:]
    print(f"command: python {' '.join([Path(sys.argv[0]).as_posix(), *cli])}")
    print(
        f"games per system and size: {games} timed (+{warmup} warm-up), "
        f"{step_games} for per-step costs; sizes {sizes}; traitors/mafia = max(1, round(0.25 N))"
    )
    if ta is None:
        print(f"\nSKIPPING the TextArena peer: {why}\n")

    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    out_root = Path(tempfile.mkdtemp(prefix="alignsim-bench-", dir=args.log_dir))
    print(f"runner logs under: {out_root} (removed at the end)")
    wall = time.perf_counter()
    try:
        gc.collect()
        series, invalid = throughput(sizes, games, warmup, args.seed, ta, out_root)
        steps_table = per_step_costs(sizes, step_games, args.seed, ta)
    finally:
        shutil.rmtree(out_root, ignore_errors=True)
    stats = {n: {k: s.stats() for k, s in by.items()} for n, by in series.items()}
    report(stats, invalid, steps_table, have_ta=ta is not None)
    print(f"\n(benchmark wall time {time.perf_counter() - wall:.1f} s)")

    if args.json is not None:
        payload = {
            "machine": info,
            "config": {
                "games": games,
                "step_games": step_games,
                "warmup": warmup,
                "sizes": sizes,
                "seed": args.seed,
                "peer": ta is not None,
                "skipped_peer_reason": why,
                "buckets": [bucket_label(lo, hi) for lo, hi in BUCKETS],
                "systems": SYSTEMS,
            },
            "throughput": {
                str(n): {k: {"stats": stats[n][k], "steps": s.steps, "seconds": s.seconds} for k, s in by.items()}
                for n, by in series.items()
            },
            "textarena_invalid_moves": {str(n): v for n, v in invalid.items()},
            "per_step": {str(n): t for n, t in steps_table.items()},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, separators=(",", ":")))
        print(f"raw numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
