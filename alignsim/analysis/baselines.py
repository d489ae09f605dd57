"""Null-policy episodes for the chance baselines, simulated with scripted policies and cached.

This is the one analysis module that plays episodes (``tests/analysis/test_purity.py``
allows it and no other): a metric's chance value is the metric on episodes of the same
configuration played by a null policy, and those episodes do not exist until they are
simulated. Everything else in :mod:`alignsim.analysis` stays a pure function of logs, and
the chance columns (:mod:`.chance`) are a pure function of logs plus these episodes.

For each analysed episode, its configuration comes from its log header: env id, env
parameters, and the null policy, which is the first of: the scenario's ``null_policy`` as
recorded in the header's resolved config, the registered scenario's ``null_policy``, the
env's declared ``GameInfo.null_policy`` (for an env without one, its
``metadata["null_policy"]``), and uniformly random legal play (``random``). Every
seat is given to the null policy. A group of episodes played on several configurations
gets null episodes on each in the same proportions.

Null episodes play master seed ``1_000_000 + seed`` (so they never share the env draws of a
run seeded below a million), episode indices 0, 1, ...; since each episode is a function of
its seed and index, a cache holding the first K episodes of a configuration serves any
request for up to K and is extended, not redone, for more. The cache holds the frames the
analysis needs (per-episode metric sums, or per-choice rows), one folder per digest of
(env id, env parameters, null policy, seed, alignsim version, the source of the analysis,
envs and scripted policies), under ``OUT/cache/chance`` (``alignsim analyze``) or
:func:`default_cache_dir` (``~/.cache/alignsim/chance`` unless ``$ALIGNSIM_CHANCE_CACHE`` or
``$XDG_CACHE_HOME`` say otherwise).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from alignsim.errors import AlignsimError
from alignsim.record import read_log, write_atomic

__all__ = [
    "DEFAULT_EPISODES",
    "NULL_SEED_OFFSET",
    "NullConfig",
    "NullPlay",
    "default_cache_dir",
    "default_episodes",
    "null_config",
]

DEFAULT_EPISODES = 500
"""Null resampling units per analysed group: episodes, or seats where seats are the unit (single-agent
self-evolution). Wilson half-width at p = 0.3 is about 0.04 with 500 units."""
EPISODES_VARIABLE = "ALIGNSIM_CHANCE_EPISODES"
"""Environment variable that overrides :data:`DEFAULT_EPISODES` (``alignsim analyze --chance-episodes`` wins)."""
CACHE_VARIABLE = "ALIGNSIM_CHANCE_CACHE"
"""Environment variable naming the default cache folder (see :func:`default_cache_dir`)."""
NULL_SEED_OFFSET = 1_000_000
CACHE_VERSION = 1
"""Bumped whenever what the cache stores changes."""
ANALYSED = ("completed", "truncated")
FAMILIES = ("traitors", "principal_agent", "self_evolution", "threshold_game")
"""The built-in frames a caller may ask for (:meth:`NullPlay.data`); a family plug-in with a
:meth:`~.families.FamilyAnalysis.null_frame` adds its own."""
SEAT_UNITS = frozenset({"self_evolution"})
"""Families whose resampling unit is the seat, not the episode (independent single-agent runs)."""
EP = "episode_id"


def default_episodes() -> int:
    """:data:`DEFAULT_EPISODES`, or the value of the ``ALIGNSIM_CHANCE_EPISODES`` environment variable."""
    value = os.environ.get(EPISODES_VARIABLE, "").strip()
    if not value:
        return DEFAULT_EPISODES
    try:
        episodes = int(value)
    except ValueError:
        raise AlignsimError(f"{EPISODES_VARIABLE} must be a whole number, got {value!r}") from None
    if episodes < 1:
        raise AlignsimError(f"{EPISODES_VARIABLE} must be at least 1, got {episodes}")
    return episodes


def default_cache_dir() -> Path:
    """``$ALIGNSIM_CHANCE_CACHE`` if set, else ``$XDG_CACHE_HOME/alignsim/chance`` (by default
    ``~/.cache/alignsim/chance``)."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "alignsim" / "chance"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class NullConfig:
    """One configuration to simulate: an env and its parameters, with every seat played by the null policy."""

    family: str
    """The scenario family (the part of the scenario id before ``/``), for the null scenario's id."""
    env_id: str
    env_kwargs: str
    """Canonical JSON of the env parameters."""
    policy: str
    policy_kwargs: str
    """Canonical JSON of the null policy's arguments."""
    seats: int

    def spec(self) -> Any:
        """The null scenario: this env and parameters, every seat the null policy."""
        from alignsim.scenarios import ScenarioSpec, SeatSpec

        seat = SeatSpec(self.policy, MappingProxyType(json.loads(self.policy_kwargs)))
        return ScenarioSpec(
            id=f"{self.family}/chance-null-v0",
            env_id=self.env_id,
            env_kwargs=MappingProxyType(json.loads(self.env_kwargs)),
            seating=MappingProxyType({"*": seat}),
            description="Chance baseline: every seat played by the null policy.",
        )

    def label(self) -> str:
        """A short name for the report: ``policy(kwargs) on env_id``."""
        kwargs = json.loads(self.policy_kwargs)
        args = f"({', '.join(f'{k}={v}' for k, v in kwargs.items())})" if kwargs else ""
        return f"{self.policy}{args} on {self.env_id}"


@functools.cache
def _env_null_policy(env_id: str, env_kwargs: str) -> Any:
    from alignsim import envs

    # What the game declares; an env that predates GameInfo may still name it in its metadata.
    declared = envs.game_info(env_id).null_policy
    if declared is not None:
        return declared
    env = envs.make(env_id, **json.loads(env_kwargs))
    try:
        return dict(getattr(env, "metadata", {}) or {}).get("null_policy")
    finally:
        env.close()


def null_config(header: Any) -> NullConfig:
    """The configuration of the chance baseline of the episode whose log header is ``header``."""
    from alignsim import scenarios
    from alignsim.scenarios import ScenarioSpec

    env_kwargs = _canonical(header.env_kwargs)
    declared: Any = None
    config = header.config if isinstance(header.config, Mapping) else {}
    scenario = config.get("scenario")
    if isinstance(scenario, Mapping) and scenario.get("null_policy"):
        declared = scenario["null_policy"]
    if declared is None:
        try:
            registered = scenarios.get(header.scenario)
        except (KeyError, AlignsimError):
            registered = None
        if registered is not None and registered.null_policy is not None:
            declared = registered.null_policy.to_dict()
    if declared is None:
        declared = _env_null_policy(header.env_id, env_kwargs)
    if declared is None:
        declared = "random"
    # Parsed as a seat of a scenario, so that a bad declaration fails naming its field.
    parsed = ScenarioSpec.from_dict({"id": "chance/null-v0", "env_id": header.env_id, "seating": {"*": declared}})
    seat = parsed.seating["*"]
    family = re.sub(r"[^a-z0-9_]", "_", str(header.scenario).split("/", 1)[0].lower()) or "chance"
    return NullConfig(
        family=family,
        env_id=header.env_id,
        env_kwargs=env_kwargs,
        policy=seat.policy,
        policy_kwargs=_canonical(dict(seat.kwargs)),
        seats=len(header.seating),
    )


@functools.cache
def _code_digest() -> str:
    """A digest of the source that decides null episodes and their frames (analysis, envs, scripted
    policies, the runner), so that a cache never outlives the code that filled it."""
    root = Path(__file__).resolve().parent.parent
    files = sorted(
        [
            *root.glob("analysis/*.py"),
            *root.glob("envs/**/*.py"),
            *root.glob("agents/scripted/*.py"),
            *root.glob("agents/policy.py"),
            root / "run.py",
        ]
    )
    digest = hashlib.blake2b(digest_size=8)
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _version() -> str:
    try:
        return importlib.metadata.version("alignsim")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _extract(family: str, folder: Path) -> pd.DataFrame:
    """The ``family`` frame of the finished null episodes in ``folder``, with ``episode_index``."""
    if family == "traitors":
        from alignsim.analysis.frames import load_frames
        from alignsim.analysis.metrics import episode_table

        table = episode_table(load_frames(folder))
        table = table[table["status"].isin(ANALYSED)]
        numeric = table.select_dtypes("number")
        return pd.concat([table[[EP]], numeric], axis=1).reset_index(drop=True)
    if family == "principal_agent":
        from alignsim.analysis.chance import principal_agent_sums
        from alignsim.analysis.principal_agent import decision_frame

        decisions = decision_frame(folder)
        decisions = decisions[decisions["status"].isin(ANALYSED)]
        sums = principal_agent_sums(decisions)
        if sums.empty:
            return sums
        index = decisions.groupby(EP)["episode_index"].first()
        return sums.assign(episode_index=index.reindex(sums.index)).reset_index()
    if family in ("self_evolution", "threshold_game"):
        from alignsim.analysis.drift import load_drift

        frames = load_drift(folder, statuses=ANALYSED)
        frame = frames.compliance if family == "self_evolution" else frames.threshold
        index = frames.episodes.set_index(EP)["episode_index"]
        return frame.assign(episode_index=frame[EP].map(index)).reset_index(drop=True)
    frame = _plugin_null_frame(family, folder)
    if frame is None:
        raise AlignsimError(f"no chance baseline for {family!r}; known: {', '.join(FAMILIES)}")
    return frame


def _plugin_null_frame(family: str, folder: Path | None) -> pd.DataFrame | None:
    """A family plug-in's null frame (:meth:`~.families.FamilyAnalysis.null_frame`) of the logs in
    ``folder``; with ``folder`` None, an empty frame when the plug-in has a baseline at all."""
    from alignsim.analysis import families

    plugin = families.get(family)
    if plugin is None or type(plugin).null_frame is families.FamilyAnalysis.null_frame:
        return None
    if folder is None:
        return pd.DataFrame()
    return plugin.null_frame(folder)


class NullPlay:
    """Null-policy frames for analysed episodes (the :class:`~.chance.NullSource` of ``alignsim analyze``).

    Args:
        logs: episode id -> log path of the analysed episodes (their headers give the configurations).
        episodes: null resampling units per analysed group (see :data:`DEFAULT_EPISODES`).
        seed: the analysis seed; null episodes play master seed ``NULL_SEED_OFFSET + seed``.
        cache_dir: where simulated frames are kept (None: :func:`default_cache_dir`).
        headers: headers already read, by episode id, so that a log is not read again for its
            configuration.
    """

    def __init__(
        self,
        logs: Mapping[str, str | os.PathLike[str]],
        *,
        episodes: int | None = None,
        seed: int = 0,
        cache_dir: str | os.PathLike[str] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> None:
        self.logs = {str(k): Path(v) for k, v in logs.items()}
        self.headers = dict(headers or {})
        """Headers already read (by episode id), so that a log is not read again for its configuration."""
        self.episodes = default_episodes() if episodes is None else int(episodes)
        if self.episodes < 1:
            raise AlignsimError(f"chance episodes must be at least 1, got {self.episodes}")
        self.seed = NULL_SEED_OFFSET + int(seed)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._configs: dict[str, NullConfig | None] = {}
        self._frames: dict[tuple[NullConfig, str, int], pd.DataFrame | None] = {}
        self.simulated: dict[NullConfig, int] = {}
        """Episodes simulated in this process, per configuration (the rest came from the cache)."""
        self.failures: dict[NullConfig, str] = {}
        self.unresolved: dict[str, str] = {}
        """Configurations whose null could not even be set up (e.g. an env not installed here), with why."""
        self.used: dict[NullConfig, int] = {}
        """Null episodes used per configuration (the largest request)."""

    def config(self, episode_id: str) -> NullConfig | None:
        """The null configuration of an analysed episode (None for seed-format inputs without a header)."""
        if episode_id not in self._configs:
            path = self.logs.get(episode_id)
            config = None
            header = self.headers.get(episode_id)
            if header is None and path is not None and path.suffix == ".jsonl" and path.exists():
                header = read_log(path, header_only=True).header
            if header is not None:
                try:
                    config = null_config(header)
                except (AlignsimError, KeyError, TypeError) as exc:  # e.g. an env this install does not have
                    self.unresolved.setdefault(f"{header.env_id} ({header.scenario})", str(exc))
            self._configs[episode_id] = config
        return self._configs[episode_id]

    def data(self, family: str, episode_ids: Iterable[str]) -> pd.DataFrame | None:
        """The ``family`` frame of null episodes on the configurations of ``episode_ids``, in their mix.

        A configuration played by k of the m episodes gets ``episodes * k / m`` null units
        (rounded up). Null episode ids are prefixed with ``null:`` and the configuration digest.
        """
        if family not in FAMILIES and _plugin_null_frame(family, None) is None:
            raise AlignsimError(f"no chance baseline for {family!r}; known: {', '.join(FAMILIES)}")
        counts = Counter(c for c in (self.config(str(e)) for e in episode_ids) if c is not None)
        total = sum(counts.values())
        parts = []
        for config, count in sorted(counts.items(), key=lambda item: item[0].label() + item[0].env_kwargs):
            units = self.episodes * count / total
            per_episode = max(1, config.seats) if family in SEAT_UNITS else 1
            frame = self._frame(config, family, max(1, math.ceil(units / per_episode)))
            if frame is not None and not frame.empty:
                parts.append(frame.assign(**{EP: f"null:{self._digest(config, family)[:8]}:" + frame[EP].astype(str)}))
        if not parts:
            return None
        return pd.concat(parts, ignore_index=True)

    def table(self) -> pd.DataFrame:
        """One row per configuration the null played (or could not): env, parameters, null policy,
        null episodes used, how many were simulated now (the rest came from the cache), and why not."""
        rows = [
            {
                "env_id": config.env_id,
                "env_kwargs": config.env_kwargs,
                "null_policy": config.policy,
                "null_policy_kwargs": config.policy_kwargs,
                "seed": self.seed,
                "episodes": self.used.get(config, 0),
                "simulated_now": self.simulated.get(config, 0),
                "error": self.failures.get(config, ""),
            }
            for config in sorted({*self.used, *self.failures}, key=lambda c: c.label() + c.env_kwargs)
        ]
        rows.extend(
            {"env_id": what, "env_kwargs": "", "null_policy": "", "null_policy_kwargs": "", "seed": self.seed}
            | {"episodes": 0, "simulated_now": 0, "error": why}
            for what, why in self.unresolved.items()
        )
        columns = ["env_id", "env_kwargs", "null_policy", "null_policy_kwargs", "seed", "episodes", "simulated_now"]
        return pd.DataFrame(rows, columns=[*columns, "error"])

    def notes(self) -> list[str]:
        """What the report should say about the chance columns (and any configuration without them)."""
        if not self.used and not self.failures and not self.unresolved:
            return []
        simulated = sum(self.simulated.values())
        policies = ", ".join(sorted({c.policy for c in self.used})) or "none"
        lines = [
            f"chance: every headline metric beside its value under the null policy ({policies}) on the same "
            f"configuration, {self.episodes} null units per group, master seed {self.seed}; "
            f"{len(self.used)} configuration(s), {simulated} null episode(s) simulated now, the rest from the cache "
            f"in {self.cache_dir} (tables/chance_configs.csv)"
        ]
        lines.extend(f"chance: no baseline for {c.label()}: {why}" for c, why in self.failures.items())
        lines.extend(f"chance: no baseline for {what}: {why}" for what, why in self.unresolved.items())
        return lines

    # ------------------------------------------------------------------ cache

    def _digest(self, config: NullConfig, family: str) -> str:
        payload = {
            "env_id": config.env_id,
            "env_kwargs": json.loads(config.env_kwargs),
            "policy": config.policy,
            "policy_kwargs": json.loads(config.policy_kwargs),
            "seed": self.seed,
            "family": family,
            "alignsim": _version(),
            "code": _code_digest(),
            "cache_version": CACHE_VERSION,
        }
        return hashlib.sha256(_canonical(payload).encode()).hexdigest()

    def _frame(self, config: NullConfig, family: str, episodes: int) -> pd.DataFrame | None:
        memo = (config, family, episodes)
        if memo in self._frames:
            return self._frames[memo]
        if config in self.failures:
            return None
        folder = self.cache_dir / self._digest(config, family)[:24]
        table, have = self._read(folder, family)
        if have < episodes:
            try:
                fresh = self._simulate(config, family, range(have, episodes))
            except AlignsimError as exc:
                self.failures[config] = str(exc)
                self._frames[memo] = None
                return None
            self.simulated[config] = self.simulated.get(config, 0) + episodes - have
            table = fresh if table is None else pd.concat([table, fresh], ignore_index=True)
            self._write(folder, family, config, table, episodes)
        assert table is not None
        self.used[config] = max(self.used.get(config, 0), episodes)
        # In episode order whatever order the cache was filled in: bootstrap draws depend on row order.
        frame = table[table["episode_index"] < episodes].sort_values("episode_index", kind="stable")
        frame = frame.reset_index(drop=True)
        self._frames[memo] = frame
        return frame

    def _read(self, folder: Path, family: str) -> tuple[pd.DataFrame | None, int]:
        meta, data = folder / "meta.json", folder / f"{family}.csv"
        if not (meta.exists() and data.exists()):
            return None, 0
        try:
            episodes = int(json.loads(meta.read_text(encoding="utf-8"))["episodes"])
            table = pd.read_csv(data, dtype={EP: str})
        except (OSError, ValueError, KeyError, pd.errors.ParserError):
            return None, 0  # unreadable: simulated again and rewritten (the cache is ours)
        return table, episodes

    def _write(self, folder: Path, family: str, config: NullConfig, table: pd.DataFrame, episodes: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / f"{family}.csv", table.to_csv(index=False).encode())
        meta = {
            "episodes": episodes,
            "family": family,
            "env_id": config.env_id,
            "env_kwargs": json.loads(config.env_kwargs),
            "policy": config.policy,
            "policy_kwargs": json.loads(config.policy_kwargs),
            "seed": self.seed,
            "alignsim": _version(),
            "code": _code_digest(),
            "cache_version": CACHE_VERSION,
        }
        write_atomic(folder / "meta.json", json.dumps(meta, indent=2, sort_keys=True).encode())

    def _simulate(self, config: NullConfig, family: str, indices: range) -> pd.DataFrame:
        from alignsim.run import EpisodeRunner, validate_scenario

        spec = config.spec()
        validate_scenario(spec)
        with tempfile.TemporaryDirectory(prefix="alignsim-chance-") as tmp:
            with EpisodeRunner(spec, out_dir=tmp, flush="episode") as runner:
                runner.run_many([(self.seed, i) for i in indices], resume=False)
            return _extract(family, Path(tmp))
