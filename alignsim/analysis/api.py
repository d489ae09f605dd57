"""``analyze``: everything the analysis computes, from logs to tables, plots and a report.

This is what ``alignsim analyze PATH`` runs; call it from Python for the same result as
objects (an :class:`AnalysisResult`) with or without files.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignsim.analysis import families as family_registry
from alignsim.analysis import plots, trust
from alignsim.analysis.chance import NullSource
from alignsim.analysis.families import FamilyAnalysis, FamilyInput, FamilyResult
from alignsim.analysis.frames import Frames, Gathered, load_logs
from alignsim.analysis.invalid import format_rate, invalid_action_rates
from alignsim.analysis.metrics import EPISODE_COLUMNS, episode_table, round_table
from alignsim.analysis.principal_agent import GROUPABLE, PARAMETERS
from alignsim.analysis.seed_csv import find_seed_votes, read_seed_votes
from alignsim.analysis.stats import DEFAULT_RESAMPLES
from alignsim.analysis.traitors import SEED_METRICS
from alignsim.analysis.traitors_family import CURVE_UNITS, CURVES, KEY_RATES
from alignsim.errors import ConfigError, LogFormatError
from alignsim.record import BadFiles, find_logs

__all__ = ["CURVES", "EPISODE_INFO_COLUMNS", "AnalysisResult", "analyze", "load_inputs"]

EP = "episode_id"
ANALYSED_STATUSES = ("completed", "truncated")
"""Episodes that ran to an end; ``failed`` and ``started`` (cut off) ones are left out."""
EPISODE_INFO_COLUMNS = (
    EP,
    "scenario",
    "env_id",
    "family",
    "run_dir",
    "seed",
    "episode_index",
    "status",
    "winner",
    "end_reason",
    "rounds",
    "steps",
    "n_invalid_actions",
    "n_llm_calls",
)
"""The family-neutral episodes table (:attr:`AnalysisResult.episode_info`): what every game's log says."""


@dataclass
class AnalysisResult:
    """What :func:`analyze` computed: the family-neutral tables, and one result per game family.

    Frames hold every episode; tables only analysed ones. The Traitors, principal-agent and
    drift tables are attributes too (:attr:`summary`, :attr:`principal_agent`, :attr:`drift`,
    ...), read from :attr:`families`.
    """

    inputs: list[str]
    frames: Frames
    episodes: pd.DataFrame
    """Per-episode metrics (:func:`~.metrics.episode_table`) of the analysed episodes."""
    rounds: pd.DataFrame
    """Per-round metrics (:func:`~.metrics.round_table`)."""
    episode_info: pd.DataFrame
    """One row per analysed episode of every family (:data:`EPISODE_INFO_COLUMNS`)."""
    seeds: pd.DataFrame
    excluded: pd.DataFrame
    by: list[str]
    statuses: tuple[str, ...]
    n_resamples: int
    seed: int
    families: dict[str, FamilyResult] = field(default_factory=dict)
    """One result per analysed family (:mod:`~.families`), by family name."""
    notes: list[str] = field(default_factory=list)
    plots: dict[str, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    report: Path | None = None
    invalid_actions: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Invalid decisions / decisions per agent and per model, every family (:func:`~.invalid.invalid_action_rates`)."""
    chance: Any = None
    """The null-policy source of the chance columns (:class:`~.baselines.NullPlay`), None with ``chance=False``."""
    chance_configs: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The configurations the null policy played: env, parameters, policy, episodes, where they came from."""
    controls: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Known-answer controls found among the logs (:func:`~.controls.controls_report`): PASS / FAIL per control."""
    ratings: Any = None
    """Bradley-Terry ratings per model (:class:`~.ratings.Ratings`) when several models played games a side
    won; None otherwise. ``alignsim rate`` adds OpenSkill and ratings per role or side."""
    annotations: Any = None
    """Deception metrics per annotator from the sidecars beside the logs
    (:func:`~.annotate.analysis.analyze_annotations`); None when not computed."""
    belief_probes: dict[str, pd.DataFrame] = field(default_factory=dict)
    """With belief probes in the logs: the MASK lie beside the ground-truth lie
    (:func:`~.belief_probes.belief_probe_tables`: ``belief_probes``, ``belief_probe_summary``)."""

    def sections(self) -> list[tuple[FamilyAnalysis, FamilyResult]]:
        """Each family result with its plug-in, in report order."""
        pairs = []
        for analysis in family_registry.analyses():
            found = self.families.get(analysis.family)
            if found is not None:
                pairs.append((analysis, found))
        return sorted(pairs, key=lambda pair: pair[0].report_rank)

    def _traitors(self, name: str, empty: Any = None) -> Any:
        found = self.families.get("traitors")
        if found is None or found.data is None:
            return pd.DataFrame() if empty is None else empty
        return getattr(found.data, name)

    @property
    def summary(self) -> pd.DataFrame:
        """Every Traitors metric per group, with bootstrap CIs (:func:`~.metrics.summarize`)."""
        return self._traitors("summary")

    @property
    def statements(self) -> pd.DataFrame:
        """Every public structured claim, labelled (:func:`~.deception.statements`)."""
        return self._traitors("statements")

    @property
    def deception(self) -> pd.DataFrame:
        """Deception rates by speaker role and model, with CIs."""
        return self._traitors("deception")

    @property
    def detection(self) -> pd.DataFrame:
        """When each traitor was detected (:func:`~.trust.detection_times`)."""
        return self._traitors("detection")

    @property
    def trust_repair(self) -> pd.DataFrame:
        """Suspicion of exposed traitors in later episodes (:func:`~.trust.trust_repair`)."""
        return self._traitors("trust_repair")

    @property
    def trust_repair_summary(self) -> pd.DataFrame:
        """Mean excess suspicion per lag, with CIs."""
        return self._traitors("trust_repair_summary")

    @property
    def curves(self) -> dict[str, pd.DataFrame]:
        """Per-round curves by name (:data:`CURVES`), both forms, with their risk sets."""
        return self._traitors("curves", {})

    @property
    def survival(self) -> pd.DataFrame:
        """Kaplan-Meier survival tables of the time-to-event metrics (:func:`~.survival.survival_tables`)."""
        return self._traitors("survival")

    @property
    def survival_summary(self) -> pd.DataFrame:
        """Per time-to-event metric and group: units, events, censored, median time and its CI."""
        return self._traitors("survival_summary")

    @property
    def crossplay_matrix(self) -> pd.DataFrame:
        """Cross-play cells (traitor model x faithful model), when several models played."""
        return self._traitors("crossplay_matrix")

    @property
    def crossplay_skills(self) -> pd.DataFrame:
        """Deception and detection skill per model, when several models played."""
        return self._traitors("crossplay_skills")

    @property
    def power(self) -> pd.DataFrame:
        """Detectable differences and episodes needed for the Traitors proportions."""
        return self._traitors("power")

    @property
    def principal_agent(self) -> dict[str, pd.DataFrame]:
        """Principal-agent tables (:func:`~.principal_agent.analyze_principal_agent`), when such logs are present."""
        found = self.families.get("principal_agent")
        return found.data if found is not None and found.data else {}

    @property
    def drift(self) -> Any:
        """Self-evolution drift tables (:class:`~.drift.DriftResult`) when the logs hold that family."""
        found = self.families.get("self_evolution")
        return found.data if found is not None else None

    @property
    def drift_headline(self) -> pd.DataFrame:
        """Self-evolution headline statistics beside chance (:func:`~.chance.drift_headline`)."""
        found = self.families.get("self_evolution")
        return found.tables.get("drift_headline", pd.DataFrame()) if found is not None else pd.DataFrame()

    def text(self, *, width: int = 140) -> str:
        """A plain-text digest for the terminal: counts, each family's key results with CIs, files."""
        lines = []
        with pd.option_context("display.width", width, "display.max_columns", 20, "display.max_colwidth", 60):
            lines.append(f"{len(self.episodes)} episode(s) analysed; grouped by {', '.join(self.by) or '(none)'}")
            lines.extend(f"note: {note}" for note in self.notes)
            if len(self.excluded):
                counts = self.excluded["status"].value_counts()
                kinds = ", ".join(f"{n} {status}" for status, n in counts.items())
                lines.append(
                    f"warning: {len(self.excluded)} episode(s) did not finish and are left out ({kinds}); "
                    "see tables/excluded.csv"
                )
            lines.append("")
            lines.append(self.seeds.to_string(index=False))
            if not self.invalid_actions.empty:
                lines.append("")
                lines.append(_invalid_digest(self.invalid_actions, self.by))
            # Families in the order they were registered (Traitors first, as the digest always had it).
            order = {a.family: i for i, a in enumerate(family_registry.analyses())}
            for analysis, result in sorted(self.sections(), key=lambda pair: order[pair[0].family]):
                part = analysis.text(result, self)
                if part:
                    lines.append("")
                    lines.append(part)
            if self.ratings is not None:
                lines.append("")
                lines.append("Ratings (Bradley-Terry per model, logits; more: alignsim rate)")
                lines.append(self.ratings.text())
            if self.annotations is not None and self.annotations.judges:
                lines.append("")
                lines.append(self.annotations.text())
            if self.belief_probes:
                from alignsim.analysis.belief_probes import belief_probe_text

                lines.append("")
                lines.append(belief_probe_text(self.belief_probes["belief_probe_summary"]))
            if not self.controls.empty:
                from alignsim.analysis.controls import controls_text

                lines.append("")
                lines.append(controls_text(self.controls))
            if self.files:
                lines.append("")
                lines.append(f"wrote {len(self.files)} file(s)" + (f"; report: {self.report}" if self.report else ""))
        return "\n".join(lines)


def _invalid_digest(table: pd.DataFrame, by: list[str]) -> str:
    """The per-model invalid-action rates (the per-agent ones are in the table file)."""
    models = table[table["level"] == "model"]
    shown = models[[*by, "unit", "invalid", "decisions"]].rename(columns={"unit": "model"})
    shown["invalid rate [95% Wilson CI]"] = [
        format_rate(r, lo, hi) for r, lo, hi in zip(models["rate"], models["ci_low"], models["ci_high"], strict=True)
    ]
    title = "Invalid actions per model (decisions with an invalid action / decisions; per agent: invalid_actions.csv)"
    return title + "\n" + shown.to_string(index=False)


def _estimates(table: pd.DataFrame) -> list[str]:
    """``estimate [low, high]`` per row (``n/a`` where there is no estimate)."""
    out = []
    for est, low, high in zip(table["estimate"], table["ci_low"], table["ci_high"], strict=True):
        if not np.isfinite(est):
            out.append("n/a")
        else:
            out.append(f"{est:.3f} [{low:.3f}, {high:.3f}]" if np.isfinite(low) and np.isfinite(high) else f"{est:.3f}")
    return out


def _beside_chance(shown: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``shown`` with the chance columns of ``table`` (same index) as text, when it has them."""
    if "chance" not in table or table["chance"].isna().all():
        return shown
    from alignsim.analysis.chance import chance_cells

    return pd.concat([shown, chance_cells(table)], axis=1)


def load_inputs(
    paths: Sequence[str | os.PathLike[str]],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    bad: BadFiles | None = None,
) -> Frames:
    """Frames from episode logs and/or seed-format ``votes.csv`` files.

    A ``.jsonl`` file or a folder holding logs is read as alignsim logs; a ``.csv`` file,
    or a folder with ``votes.csv`` files and no logs, as the seed system's vote logs.
    ``bad``: see :func:`~.frames.load_frames`.
    """
    return _load(paths, cache_dir=cache_dir, jobs=jobs, bad=bad)[0]


def _load(
    paths: Sequence[str | os.PathLike[str]],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    bad: BadFiles | None = None,
) -> tuple[Frames, Gathered]:
    """:func:`load_inputs`, and what the family plug-ins gathered in the same (single) read of each log."""
    log_paths: list[Path] = []
    seed_paths: list[Path] = []
    for p in paths:
        path = Path(p)
        seed_file = path.is_file() and path.suffix == ".csv"
        if seed_file or (path.is_dir() and not find_logs(path) and find_seed_votes(path)):
            seed_paths.append(path)
        else:
            find_logs(path)  # raises FileNotFoundError for a missing path
            log_paths.append(path)
    parts = []
    gathered = Gathered()
    if log_paths:
        frames, gathered = load_logs(log_paths, cache_dir=cache_dir, jobs=jobs, bad=bad)
        parts.append(frames)
    if seed_paths:
        parts.append(read_seed_votes(seed_paths))
    if not parts:
        return load_logs([], cache_dir=None)
    if len(parts) == 1:
        return parts[0], gathered
    merged = {name: pd.concat([getattr(p, name) for p in parts], ignore_index=True) for name in Frames.frame_names()}
    return Frames(**merged, notes=[n for p in parts for n in p.notes]), gathered


def analyze(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    by: Sequence[str] = ("scenario",),
    statuses: Sequence[str] = ANALYSED_STATUSES,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    formats: Sequence[str] = ("csv",),
    write_frames: bool = True,
    make_plots: bool = True,
    make_report: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    graph_episodes: int = 1,
    bad: BadFiles | None = None,
    chance: bool = True,
    chance_episodes: int | None = None,
    chance_cache_dir: str | os.PathLike[str] | None = None,
) -> AnalysisResult:
    """Analyse every episode log (or seed vote log) at ``paths``.

    Args:
        paths: log files, run folders, sweep folders, or seed ``votes.csv`` files/folders.
        out_dir: where to write tables (``tables/``), frames (``frames/``), plots
            (``plots/``), trust graphs (``graphs/``) and ``report.html``; None writes nothing.
        by: episode-table columns to group aggregates by (e.g. ``scenario``, or
            ``traitor_label`` and ``faithful_label``); empty for one group.
        statuses: episode statuses to analyse (others are listed in ``excluded``).
        n_resamples: bootstrap resamples of every interval.
        seed: seed of the resampling (and of the null episodes' master seed).
        formats: ``csv`` and/or ``parquet`` (parquet needs pyarrow) for tables and frames.
        write_frames: also write the raw frames (large for big sweeps).
        make_plots: write PNG plots.
        make_report: write the HTML report (it embeds the plots).
        cache_dir: frame cache (see :func:`~.frames.load_frames`); ``out_dir/cache`` is a good place.
        jobs: worker processes for reading logs.
        graph_episodes: how many episodes get their per-round trust graphs exported and drawn.
        bad: where to record logs that cannot be read (each is then left out of every
            table, and a note says how many); None raises for the first instead.
        chance: put every headline metric beside its value under the null policy on the same
            configuration (:mod:`.chance`; simulated with scripted policies, :mod:`.baselines`).
        chance_episodes: null resampling units per group (default 500, or the
            ``ALIGNSIM_CHANCE_EPISODES`` environment variable).
        chance_cache_dir: where null episodes' frames are cached (default ``cache_dir/chance``
            when ``cache_dir`` is set, else ``~/.cache/alignsim/chance``).

    Raises:
        FileNotFoundError: a path does not exist, or holds no readable logs.
        alignsim.errors.ConfigError: an unknown ``by`` column or format.
        alignsim.errors.LogFormatError: a log cannot be read (only when ``bad`` is None).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    by = list(by)
    unknown_formats = sorted(set(formats) - {"csv", "parquet"})
    if unknown_formats:
        raise ConfigError("format", f"unknown format(s) {unknown_formats}; use csv and/or parquet")
    if "parquet" in formats and importlib.util.find_spec("pyarrow") is None:
        raise ConfigError("format", "parquet needs pyarrow: pip install 'alignsim[parquet]'")
    # Names no family could group by fail before anything is read or written.
    unknown = [c for c in by if not _groupable_anywhere(c)]
    if unknown:
        raise ConfigError("by", f"unknown column(s) {unknown}; group by any of {', '.join(_GROUPABLE_NAMES)}")
    frames, gathered = _load(paths, cache_dir=cache_dir, jobs=jobs, bad=bad)
    if frames.episodes.empty:
        readable = "readable " if bad else ""
        raise FileNotFoundError(
            f"no {readable}episode logs or seed votes.csv files found at {', '.join(map(str, paths))}"
        )
    notes = list(frames.notes)
    all_episodes = episode_table(frames)
    family_of = all_episodes["env_id"].astype(str).map(family_registry.family_of)
    present = list(dict.fromkeys(family_of))
    plugins = [a for a in family_registry.analyses() if a.always or a.family in present]
    family_columns = sorted({c for a in plugins for c in a.by_columns(gathered.rows.get(a.family, {}))})
    unknown = [c for c in by if c not in all_episodes.columns and c not in family_columns]
    if unknown:
        valid = sorted(set(EPISODE_COLUMNS[1:]) | set(family_columns))
        raise ConfigError("by", f"unknown column(s) {unknown}; group by any of {', '.join(valid)}")
    # Columns only a family's own rows have (audit_prob, ...) group that family's tables only.
    extra_by = [c for c in by if c not in all_episodes.columns]
    if extra_by:
        notes.append(f"--by {', '.join(extra_by)}: principal-agent tables only (not an episode-table column)")
    by = [c for c in by if c in all_episodes.columns]
    for family in present:
        if family_registry.get(family) is None:
            ids = sorted(set(all_episodes.loc[(family_of == family).to_numpy(bool), "env_id"].astype(str)))
            notes.append(
                f"{int((family_of == family).sum())} episode(s) of game family {family!r} ({', '.join(ids)}): no "
                "analysis is installed for it, so only the family-neutral tables (episodes, rounds, seeds, "
                "invalid actions) cover them"
            )
    keep = all_episodes["status"].isin(list(statuses)).to_numpy(bool)
    episodes = all_episodes[keep].reset_index(drop=True)
    episode_family = family_of[keep].reset_index(drop=True)
    excluded = all_episodes.loc[~keep, [EP, "scenario", "status", "run_dir"]].reset_index(drop=True)
    analysed = frames.select(episodes[EP]) if (~keep).any() else frames

    source: NullSource = _NoChance()
    if chance:
        from alignsim.analysis.baselines import NullPlay

        if chance_cache_dir is None and cache_dir is not None:
            chance_cache_dir = Path(cache_dir) / "chance"
        source = NullPlay(
            dict(zip(frames.episodes[EP], frames.episodes["path"], strict=True)),
            episodes=chance_episodes,
            seed=seed,
            cache_dir=chance_cache_dir,
            headers=gathered.headers,
        )
    rounds = round_table(analysed)
    result = AnalysisResult(
        inputs=[str(p) for p in paths],
        frames=frames,
        episodes=episodes,
        rounds=rounds,
        episode_info=_episode_info(frames, episodes, episode_family),
        seeds=_seeds(all_episodes, by),
        excluded=excluded,
        by=by,
        statuses=tuple(statuses),
        n_resamples=n_resamples,
        seed=seed,
        notes=notes,
        invalid_actions=invalid_action_rates(analysed, episodes, by=by),
    )
    for plugin in plugins:
        mine = (episode_family == plugin.family).to_numpy(bool)
        if mine.all():  # one family: the very same tables, no copies
            run_episodes, run_frames, run_rounds = episodes, analysed, rounds
        else:
            run_episodes = episodes[mine]
            run_frames = analysed.select(run_episodes[EP])
            run_rounds = rounds[rounds[EP].isin(run_episodes[EP]).to_numpy(bool)]
        found = plugin.analyze(
            FamilyInput(
                family=plugin.family,
                episodes=run_episodes,
                frames=run_frames,
                rounds=run_rounds,
                rows=gathered.rows.get(plugin.family, {}),
                by=by,
                extra_by=extra_by,
                statuses=tuple(statuses),
                n_resamples=n_resamples,
                seed=seed,
                chance=source,
                bad=bad,
            )
        )
        result.families[plugin.family] = found
        result.notes.extend(found.notes)
    from alignsim.analysis.annotate.analysis import analyze_annotations

    result.annotations = analyze_annotations(analysed, episodes[EP], n_resamples=n_resamples, seed=seed)
    result.notes.extend(result.annotations.notes)
    result.belief_probes = _belief_probes(result, gathered)
    from alignsim.analysis.controls import controls_report

    result.controls = controls_report(result, source, n_resamples=n_resamples, seed=seed)
    from alignsim.analysis.ratings import report_ratings

    result.ratings = report_ratings(frames, n_resamples=n_resamples, seed=seed)
    if chance:
        result.chance = source
        result.chance_configs = source.table()  # type: ignore[attr-defined]
        result.notes.extend(source.notes())  # type: ignore[attr-defined]
    if out_dir is not None:
        edges = trust.trust_edges(analysed)
        _write(result, Path(out_dir), formats, write_frames, make_plots, make_report, edges, graph_episodes)
    return result


def _belief_probes(result: AnalysisResult, gathered: Gathered) -> dict[str, pd.DataFrame]:
    """The belief-probe tables of the analysed episodes played with ``belief_probes: true``
    (empty when there are none): their probes and principal-agent claims read from the logs,
    the Traitors claims from the labelled statements."""
    from alignsim.analysis.belief_probes import belief_probe_tables, claims_from_statements, read_probes
    from alignsim.record.io import read_header

    paths = dict(zip(result.frames.episodes[EP], result.frames.episodes["path"], strict=True))
    probed = []
    for eid in result.episodes[EP]:
        header = gathered.headers.get(eid)
        if header is None and str(paths.get(eid, "")).endswith(".jsonl"):
            try:
                header = read_header(paths[eid])
            except (OSError, LogFormatError):
                header = None  # already reported, or left out, by the frames' reader
        if header is not None and (header.config.get("scenario") or {}).get("belief_probes"):
            probed.append(eid)
    if not probed:
        return {}
    probes, claims = read_probes(paths[eid] for eid in probed)
    statements = result.statements
    if len(statements):
        traitors = claims_from_statements(statements[statements[EP].isin(probed)])
        claims = pd.concat([c for c in (claims, traitors) if len(c)], ignore_index=True) if len(claims) else traitors
    return belief_probe_tables(claims, probes, by=["speaker_role"])


def _episode_info(frames: Frames, episodes: pd.DataFrame, family: pd.Series) -> pd.DataFrame:
    """The family-neutral episodes table of the analysed ``episodes``."""
    info = frames.episodes.set_index(EP).reindex(episodes[EP]).reset_index()
    info.insert(3, "family", family.to_numpy())
    return info[list(EPISODE_INFO_COLUMNS)]


_GROUPABLE_NAMES = sorted(
    {*EPISODE_COLUMNS[1:], *GROUPABLE, *PARAMETERS, "sanction_amount", "penalty_amount", "seat.<setting>"}
)


def _groupable_anywhere(column: str) -> bool:
    """Whether some family could group by ``column`` (an episode column, a principal-agent
    decision column or env parameter, or a seat setting ``seat.<name>``)."""
    return column in _GROUPABLE_NAMES or column.startswith("seat.")


class _NoChance:
    """The null source of ``chance=False``: no null episodes, so the chance columns stay empty."""

    def data(self, family: str, episode_ids: Any) -> None:
        return None


def _seeds(episodes: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: episode counts by status, master seeds, episode indices and run folders."""
    rows = []
    groups = episodes.groupby(by, sort=True, dropna=False) if by else [((), episodes)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        statuses = part["status"].value_counts()
        seeds = sorted(part["seed"].unique().tolist())
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "episodes": len(part),
                **{status: int(statuses.get(status, 0)) for status in ("completed", "truncated", "failed", "started")},
                "seeds": ", ".join(str(s) for s in seeds[:20])
                + (f" (+{len(seeds) - 20} more)" if len(seeds) > 20 else ""),
                "episode_index": f"{part['episode_index'].min()}..{part['episode_index'].max()}",
                "run_dirs": part["run_dir"].nunique(),
            }
        )
    return pd.DataFrame(rows)


def _write(
    result: AnalysisResult,
    out: Path,
    formats: Sequence[str],
    write_frames: bool,
    make_plots: bool,
    make_report: bool,
    edges: pd.DataFrame,
    graph_episodes: int,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    files = result.files
    tables = {
        "episode_info": result.episode_info,
        "episodes": result.episodes,
        "rounds": result.rounds,
        "seeds": result.seeds,
        "excluded": result.excluded,
        "invalid_actions": result.invalid_actions,
        "chance_configs": result.chance_configs,
    }
    for _, family_result in result.sections():
        tables.update(family_result.tables)
    if not result.controls.empty:
        tables["controls"] = result.controls
    if result.ratings is not None:
        tables["ratings"] = result.ratings.leaderboard
        tables["side_advantage"] = result.ratings.sides
    if result.annotations is not None:
        tables.update(result.annotations.tables)
    tables.update(result.belief_probes)
    for name, table in tables.items():
        for fmt in formats:
            path = out / "tables" / f"{name}.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "csv":
                table.to_csv(path, index=False)
            else:
                table.to_parquet(path, index=False)
            files.append(path)
    if write_frames:
        files.extend(result.frames.write(out / "frames", formats=formats))

    chosen = _graph_episodes(result, graph_episodes)
    graphs = {eid: trust.trust_graphs(result.frames, eid, edges) for eid in chosen}
    for eid, per_round in graphs.items():
        files.extend(trust.write_graphs(per_round, out / "graphs", eid))
    if make_plots and len(result.episodes):
        result.plots.update(_plots(result, out / "plots", graphs))
        files.extend(result.plots.values())
    for analysis, family_result in result.sections():
        files.extend(analysis.write(family_result, out, result, plot=make_plots))
    if make_report:
        result.report = out / "report.html"
        files.append(result.report)
        from alignsim.analysis.report import render_report

        render_report(result, result.report)


def _graph_episodes(result: AnalysisResult, count: int) -> list[str]:
    """``count`` analysed episodes whose trust graphs are drawn and exported: by id, those of
    3 or 4 rounds first (long enough to show change, short enough to read), then the rest."""
    episodes = result.episodes.sort_values(EP)
    readable = episodes["rounds"].between(3, 4)
    ordered = pd.concat([episodes[readable], episodes[~readable].sort_values("rounds", ascending=False)])
    return ordered[EP].head(count).tolist()


def _plots(result: AnalysisResult, out: Path, graphs: dict[str, dict]) -> dict[str, Path]:
    made: dict[str, Path] = {}
    by = result.by
    if not result.summary.empty:  # empty when no Traitors episodes were analysed
        made["metric_bars"] = plots.plot_metric_bars(
            result.summary,
            KEY_RATES,
            out / "metric_bars.png",
            by=by,
            title="Key rates (bootstrap 95% CI over episodes)",
        )
        pairs = [(name, name.removesuffix("_seed")) for name in SEED_METRICS]
        made["seed_vs_corrected"] = plots.plot_seed_vs_corrected(
            result.summary, pairs, out / "seed_vs_corrected.png", by=by
        )
    if result.curves:
        made["round_curves"] = plots.plot_round_curves(
            result.curves,
            out / "round_curves.png",
            by=by,
            title="Per-round curves (mean over episodes, 95% CI)",
            titles=CURVES,
            units=CURVE_UNITS,
            risk_label="episodes still running",
        )
    if not result.statements.empty:
        made["deception"] = plots.plot_deception(result.statements, out / "deception.png")
    if not result.frames.beliefs.empty and (result.frames.beliefs["actor_role"] == "faithful").any():
        made["calibration"] = plots.plot_calibration(result.frames.beliefs, out / "calibration.png")
    for eid, per_round in graphs.items():
        # Games without players' trust (principal-agent, self-evolution) have rounds but no nodes.
        if any(graph.number_of_nodes() for graph in per_round.values()):
            made["trust_rounds"] = plots.plot_trust_rounds(
                per_round, out / "trust_rounds.png", title=f"Trust graph over rounds: {eid}"
            )
            break
    if not result.crossplay_matrix.empty:
        made["crossplay"] = plots.plot_crossplay(result.crossplay_matrix, "tsr", out / "crossplay_tsr.png")
    if result.ratings is not None:
        from alignsim.analysis.ratings import plot_ratings

        made["ratings"] = plot_ratings(result.ratings, out / "ratings.png")
    return made
