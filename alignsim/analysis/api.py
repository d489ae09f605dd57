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

from alignsim.analysis import crossplay, deception, plots, trust
from alignsim.analysis.chance import NullSource, drift_headline, principal_agent_chance, traitors_chance
from alignsim.analysis.drift import analyze_drift
from alignsim.analysis.frames import Frames, load_frames
from alignsim.analysis.invalid import format_rate, invalid_action_rates
from alignsim.analysis.metrics import EPISODE_COLUMNS, episode_table, round_curve, round_table, summarize
from alignsim.analysis.principal_agent import GROUPABLE, PARAMETERS
from alignsim.analysis.seed_csv import find_seed_votes, read_seed_votes
from alignsim.analysis.stats import DEFAULT_RESAMPLES, detectable_difference, episodes_needed_proportions
from alignsim.analysis.survival import available as survival_tables_available
from alignsim.analysis.survival import survival_tables
from alignsim.analysis.traitors import SEED_METRICS, time_to_event
from alignsim.errors import ConfigError
from alignsim.record import BadFiles, find_logs
from alignsim.record.io import LOG_SUFFIX

__all__ = ["AnalysisResult", "analyze", "load_inputs"]

EP = "episode_id"
ANALYSED_STATUSES = ("completed", "truncated")
"""Episodes that ran to an end; ``failed`` and ``started`` (cut off) ones are left out."""

CURVES = {
    "fcr": "Faithful votes for a traitor (FCR_r)",
    "misbanish": "Faithful banished (mis-banishment_r)",
    "dpr_traitor": "Traitor claims that are lies",
    "traitor_mass": "Faithful belief mass on traitors",
    "stability": "Suspicion graph stability (TNS_r)",
    "vote_entropy": "Day-vote entropy (bits)",
    "detected_votes": "Traitors detected by faithful votes, by round r",
}
"""Per-round curves of the Traitors analysis: each in two forms (``conditional`` on the game
still running, and ``cumulative`` over all games; :func:`~.metrics.round_curve`)."""
_CURVE_UNITS = {"stability": "Jaccard similarity", "vote_entropy": "bits"}
_CURVE_CARRY = {"detected_votes": "state"}
"""Curves of a state that accumulates (carried as is past a game's end); the others are
rates, whose cumulative form is the mean over rounds 1..r."""
_KEY_RATES = (
    "faithful_win",
    "misbanish",
    "fcr",
    "tsr",
    "fsr",
    "dpr_traitor",
    "honesty_faithful",
    "evasion_rate_faithful",
    "accusation_precision",
    "accusation_recall",
    "detected_votes",
)
_POWER_METRICS = ("faithful_win", "misbanish", "fcr", "tsr", "dpr_traitor")


@dataclass
class AnalysisResult:
    """What :func:`analyze` computed. Frames hold every episode; tables only analysed ones."""

    inputs: list[str]
    frames: Frames
    episodes: pd.DataFrame
    """Per-episode metrics (:func:`~.metrics.episode_table`) of the analysed episodes."""
    rounds: pd.DataFrame
    """Per-round metrics (:func:`~.metrics.round_table`)."""
    summary: pd.DataFrame
    """Every metric per group, with bootstrap CIs (:func:`~.metrics.summarize`)."""
    statements: pd.DataFrame
    deception: pd.DataFrame
    """Deception rates by speaker role and model, with CIs."""
    detection: pd.DataFrame
    trust_repair: pd.DataFrame
    trust_repair_summary: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    """Per-round curves by name (:data:`CURVES`), both forms, with their risk sets."""
    survival: pd.DataFrame
    """Kaplan-Meier survival tables of the time-to-event metrics (:func:`~.survival.survival_tables`)."""
    survival_summary: pd.DataFrame
    """Per time-to-event metric and group: units, events, censored, median time and its CI."""
    crossplay_matrix: pd.DataFrame
    crossplay_skills: pd.DataFrame
    power: pd.DataFrame
    seeds: pd.DataFrame
    excluded: pd.DataFrame
    by: list[str]
    statuses: tuple[str, ...]
    n_resamples: int
    seed: int
    notes: list[str] = field(default_factory=list)
    drift: Any = None
    """Self-evolution drift tables (:class:`~.drift.DriftResult`) when the logs hold that family."""
    plots: dict[str, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    report: Path | None = None
    principal_agent: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Principal-agent tables (:func:`~.principal_agent.analyze_principal_agent`), when such logs are present."""
    invalid_actions: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Invalid decisions / decisions per agent and per model, every family (:func:`~.invalid.invalid_action_rates`)."""
    drift_headline: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Self-evolution headline statistics beside chance (:func:`~.chance.drift_headline`)."""
    chance: Any = None
    """The null-policy source of the chance columns (:class:`~.baselines.NullPlay`), None with ``chance=False``."""
    chance_configs: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The configurations the null policy played: env, parameters, policy, episodes, where they came from."""
    controls: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Known-answer controls found among the logs (:func:`~.controls.controls_report`): PASS / FAIL per control."""

    def text(self, *, width: int = 140) -> str:
        """A plain-text digest for the terminal: counts, key metrics with CIs, files."""
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
            lines.append("")
            key = self.summary[self.summary["metric"].isin(_TEXT_METRICS)].copy()
            if not key.empty:
                key["95% CI"] = [
                    f"[{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) and np.isfinite(hi) else "-"
                    for lo, hi in zip(key["ci_low"], key["ci_high"], strict=True)
                ]
                # A metric with nothing to measure says so instead of showing NaN or a value.
                key["estimate"] = [
                    f"{est:.3f}" if n > 0 and np.isfinite(est) else f"n/a (n={int(n)})"
                    for est, n in zip(key["estimate"], key["n"], strict=True)
                ]
                shown = key[[*self.by, "label", "estimate", "95% CI", "n"]].rename(columns={"label": "metric"})
                lines.append(_beside_chance(shown, key).to_string(index=False))
            if not self.invalid_actions.empty:
                lines.append("")
                lines.append(_invalid_digest(self.invalid_actions, self.by))
            if not self.survival_summary.empty:
                km = self.survival_summary
                shown = km[["event", *self.by, "units", "events", "censored"]].copy()
                shown["median rounds"] = [f"{m:g}" if np.isfinite(m) else "n/a (not reached)" for m in km["median"]]
                shown["95% CI"] = [
                    f"[{lo:g}, {hi:g}]" if np.isfinite(lo) else "-"
                    for lo, hi in zip(km["median_ci_low"], km["median_ci_high"], strict=True)
                ]
                lines.append("")
                lines.append("Time to event (Kaplan-Meier; a game ending without the event is censored at its end):")
                lines.append(shown.to_string(index=False))
            if "pa_tinmen" in self.principal_agent:
                from alignsim.analysis.principal_agent import text_digest

                lines.append("")
                lines.append(text_digest(self.principal_agent))
                rates = self.principal_agent.get("pa_rates", pd.DataFrame())
                key = rates[rates["metric"].isin(_PA_CHANCE_METRICS)] if "chance" in rates else rates.iloc[:0]
                if not key.empty:
                    group = list(rates.columns[: rates.columns.get_loc("metric")])
                    shown = key[[*group, "metric"]].assign(**{"estimate [95% CI]": _estimates(key)})
                    lines.append("")
                    lines.append("Principal-agent rates beside chance (the null policy on the same configuration)")
                    lines.append(_beside_chance(shown, key).to_string(index=False))
            if self.drift is not None:
                lines.append("")
                lines.append(self.drift.text())
                if not self.drift_headline.empty:
                    head = self.drift_headline
                    shown = head[["scenario", "variant", "game", "metric"]].assign(
                        **{"estimate [95% CI]": _estimates(head)}
                    )
                    lines.append("")
                    lines.append("Self-evolution headline beside chance (the null policy on the same configuration)")
                    lines.append(_beside_chance(shown, head).to_string(index=False))
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


_PA_CHANCE_METRICS = ("customer_rate", "override_rate", "honesty", "surplus")
_TEXT_METRICS = (
    "faithful_win",
    "rounds",
    "misbanish",
    "fcr",
    "idr",
    "fcr_seed",
    "tsr",
    "dpr_traitor",
    "honesty_faithful",
    "brier",
)


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
    if log_paths:
        parts.append(load_frames(log_paths, cache_dir=cache_dir, jobs=jobs, bad=bad))
    if seed_paths:
        parts.append(read_seed_votes(seed_paths))
    if not parts:
        return load_frames([], cache_dir=None)
    if len(parts) == 1:
        return parts[0]
    merged = {name: pd.concat([getattr(p, name) for p in parts], ignore_index=True) for name in Frames.frame_names()}
    return Frames(**merged, notes=[n for p in parts for n in p.notes])


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
        n_resamples, seed: bootstrap settings.
        formats: ``csv`` and/or ``parquet`` (parquet needs pyarrow) for tables and frames.
        write_frames: also write the raw frames (large for big sweeps).
        make_plots, make_report: write PNG plots / the HTML report (the report embeds the plots).
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
    from alignsim.analysis import principal_agent as pa

    # Names no family could group by fail before anything is read or written.
    unknown = [c for c in by if not _groupable_anywhere(c)]
    if unknown:
        raise ConfigError("by", f"unknown column(s) {unknown}; group by any of {', '.join(_GROUPABLE_NAMES)}")
    frames = load_inputs(paths, cache_dir=cache_dir, jobs=jobs, bad=bad)
    if frames.episodes.empty:
        readable = "readable " if bad else ""
        raise FileNotFoundError(
            f"no {readable}episode logs or seed votes.csv files found at {', '.join(map(str, paths))}"
        )
    notes = list(frames.notes)
    all_episodes = episode_table(frames)
    # The family readers read only the logs of their family that the frames could read.
    logs = frames.episodes[frames.episodes["path"].str.endswith(LOG_SUFFIX).fillna(False).to_numpy(bool)]
    pa_logs = logs.loc[logs["env_id"].str.startswith("principal_agent-").to_numpy(bool), "path"].tolist()
    pa_decisions = pa.decision_frame(pa_logs, bad=bad) if pa_logs else None
    pa_columns = pa.by_columns(pa_decisions) if pa_decisions is not None else []
    unknown = [c for c in by if c not in all_episodes.columns and c not in pa_columns]
    if unknown:
        valid = sorted(set(EPISODE_COLUMNS[1:]) | set(pa_columns))
        raise ConfigError("by", f"unknown column(s) {unknown}; group by any of {', '.join(valid)}")
    # Columns only principal-agent decisions have (audit_prob, ...) group those tables only.
    pa_only = [c for c in by if c not in all_episodes.columns]
    if pa_only:
        notes.append(f"--by {', '.join(pa_only)}: principal-agent tables only (not an episode-table column)")
    by = [c for c in by if c in all_episodes.columns]
    keep = all_episodes["status"].isin(list(statuses)).to_numpy(bool)
    episodes = all_episodes[keep].reset_index(drop=True)
    excluded = all_episodes.loc[~keep, [EP, "scenario", "status", "run_dir"]].reset_index(drop=True)
    analysed = frames.select(episodes[EP]) if (~keep).any() else frames

    # The Traitors metrics (win rates, FCR, TSR, ...) mean nothing for the other families.
    other_family = episodes["env_id"].str.match(r"^(principal_agent|self_evolution|threshold_game)-")
    summary = summarize(episodes[~other_family], by=by, n_resamples=n_resamples, seed=seed)
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
        )
    summary = traitors_chance(summary, episodes[~other_family], by, source, n_resamples=n_resamples, seed=seed)
    rounds = round_table(analysed)
    curves = {
        name: round_curve(
            rounds,
            name,
            by=by,
            proportion=name != "vote_entropy",
            carry=_CURVE_CARRY.get(name, "rate"),
            n_resamples=n_resamples,
            seed=seed,
        )
        for name in CURVES
        if name in rounds.columns and rounds[name].notna().any()
    }
    traitors_only = analysed.select(episodes.loc[~other_family, EP]) if other_family.any() else analysed
    survival, survival_summary = survival_tables(
        time_to_event(traitors_only).join(episodes.set_index(EP)[by], on=EP), by=by
    )
    if not survival_tables_available() and len(survival_summary) == 0 and (~other_family).any():
        notes.append("time-to-event tables (Kaplan-Meier) need statsmodels: pip install 'alignsim[drift]'")
    statements = deception.statements(analysed)
    rates = deception.rates_by(statements, n_resamples=n_resamples, seed=seed)
    edges = trust.trust_edges(analysed)
    detection = trust.detection_times(analysed)
    repair = trust.trust_repair(analysed, edges)
    repair_summary = _repair_summary(repair, n_resamples, seed)
    several = episodes["traitor_label"].nunique() > 1 or episodes["faithful_label"].nunique() > 1
    matrix = crossplay.crossplay_matrix(episodes, n_resamples=n_resamples, seed=seed) if several else pd.DataFrame()
    skills = crossplay.crossplay_skills(episodes, n_resamples=n_resamples, seed=seed) if several else pd.DataFrame()
    result = AnalysisResult(
        inputs=[str(p) for p in paths],
        frames=frames,
        episodes=episodes,
        rounds=rounds,
        summary=summary,
        statements=statements,
        deception=rates,
        detection=detection,
        trust_repair=repair,
        trust_repair_summary=repair_summary,
        curves=curves,
        survival=survival,
        survival_summary=survival_summary,
        crossplay_matrix=matrix,
        crossplay_skills=skills,
        power=_power(summary, by),
        seeds=_seeds(all_episodes, by),
        excluded=excluded,
        by=by,
        statuses=tuple(statuses),
        n_resamples=n_resamples,
        seed=seed,
        notes=notes,
        invalid_actions=invalid_action_rates(analysed, episodes, by=by),
    )
    if pa_decisions is not None:
        tables = pa.analyze_principal_agent(
            pa_logs,
            by=[*by, *pa_only],
            n_resamples=n_resamples,
            seed=seed,
            statuses=statuses,
            decisions=pa_decisions,
        )
        result.principal_agent = principal_agent_chance(tables, source, n_resamples=n_resamples, seed=seed)
    drift_logs = logs.loc[logs["env_id"].str.match(r"^(self_evolution|threshold_game)-").to_numpy(bool), "path"]
    drifting = analyze_drift(drift_logs.tolist(), n_resamples=n_resamples, seed=seed, statuses=statuses, bad=bad)
    result.drift = None if drifting.frames.empty else drifting
    if result.drift is not None:
        result.drift_headline = drift_headline(result.drift, source, n_resamples=n_resamples, seed=seed)
    from alignsim.analysis.controls import controls_report

    result.controls = controls_report(result, source, n_resamples=n_resamples, seed=seed)
    if chance:
        result.chance = source
        result.chance_configs = source.table()  # type: ignore[attr-defined]
        result.notes.extend(source.notes())  # type: ignore[attr-defined]
    if out_dir is not None:
        _write(result, Path(out_dir), formats, write_frames, make_plots, make_report, edges, graph_episodes)
    return result


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


def _repair_summary(repair: pd.DataFrame, n_resamples: int, seed: int) -> pd.DataFrame:
    """Mean excess suspicion per lag (round 1, and all rounds), pooled over betrayals and
    bootstrapped over the episodes the betrayals happened in (betrayals in one episode are
    not independent)."""
    from alignsim.analysis.stats import ratio_interval

    columns = ["lag (episodes)", "rounds", "excess suspicion", "ci_low", "ci_high", "betrayals", "episodes"]
    rows = []
    for lag, part in repair.dropna(subset=["excess"]).groupby("lag", sort=True):
        for scope, values in (("round 1", part[part["round"] == 1]), ("all rounds", part)):
            per_betrayal = values.groupby([EP, "agent"])["excess"].mean().reset_index()
            per_episode = per_betrayal.groupby(EP)["excess"].agg(["sum", "size"])
            est = ratio_interval(
                per_episode["sum"].to_numpy(float),
                per_episode["size"].to_numpy(float),
                proportion=False,  # excess suspicion is a signed difference
                n_resamples=n_resamples,
                seed=seed,
            )[0]
            rows.append(
                {
                    "lag (episodes)": lag,
                    "rounds": scope,
                    "excess suspicion": est.estimate,
                    "ci_low": est.ci_low,
                    "ci_high": est.ci_high,
                    "betrayals": len(per_betrayal),
                    "episodes": est.n,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _power(summary: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    rows = []
    for row in summary[summary["metric"].isin(_POWER_METRICS)].itertuples(index=False):
        p, n = float(row.estimate), int(row.n)
        if not (np.isfinite(p) and n > 0):
            continue
        record = {c: getattr(row, c) for c in by}
        record.update({"metric": row.label, "observed": p, "episodes": n})
        record["detectable rise (n per arm)"] = detectable_difference(n, min(p, 1 - p))
        for d in (0.05, 0.10):
            other = p + d if p + d <= 1 else p - d
            record[f"episodes per arm for ±{d:.2f}"] = episodes_needed_proportions(p, other)
        rows.append(record)
    return pd.DataFrame(rows)


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
        "episodes": result.episodes,
        "rounds": result.rounds,
        "summary": result.summary,
        "statements": result.statements,
        "deception_rates": result.deception,
        "detection": result.detection,
        "trust_repair": result.trust_repair,
        "trust_repair_summary": result.trust_repair_summary,
        "power": result.power,
        "seeds": result.seeds,
        "excluded": result.excluded,
        "invalid_actions": result.invalid_actions,
        "chance_configs": result.chance_configs,
        **{f"curve_{name}": curve for name, curve in result.curves.items()},
        "survival": result.survival,
        "survival_summary": result.survival_summary,
        **result.principal_agent,
    }
    if not result.drift_headline.empty:
        tables["drift_headline"] = result.drift_headline
    if not result.controls.empty:
        tables["controls"] = result.controls
    if not result.crossplay_matrix.empty:
        tables["crossplay_matrix"] = result.crossplay_matrix
        tables["crossplay_skills"] = result.crossplay_skills
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
    if result.drift is not None:
        files.extend(result.drift.write(out, plot=make_plots))
        if result.drift.plot is not None:
            result.plots["drift_curves"] = result.drift.plot
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
            _KEY_RATES,
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
            units=_CURVE_UNITS,
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
    return made
