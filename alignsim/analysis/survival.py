"""Time-to-event metrics with censoring: Kaplan-Meier survival tables and median times.

A time-to-event metric (rounds until a traitor is first detected, until a traitor is
first banished, until a self-evolution unit tips) is observed only while its episode
runs. A unit whose episode ended before the event happened is **censored** at its last
round: it counts in the risk set up to that round and never as an event. Averaging only
the units that had the event (what a "mean time to detection among detected" does)
answers a different question, and one biased towards short times.

The estimator is Kaplan-Meier, computed by statsmodels' ``SurvfuncRight`` (installed
with ``alignsim[drift]``): the survival table (time, at risk, events, censored, S(t), its
Greenwood standard error and a pointwise 95% interval on the complementary log-log scale)
and the median time with its Brookmeyer-Crowley interval (``quantile_ci``, cloglog). The
median is the first time at which S(t) < 0.5 (statsmodels' convention); it is missing
("not reached") when fewer than half the units had the event by the last time observed,
and an interval whose upper end is not reached has ``inf`` there.

The units must be independent (the caller picks them: episodes in the Traitors analysis,
see :func:`alignsim.analysis.traitors.time_to_event`; the resampling unit of the drift
analysis, see :func:`alignsim.analysis.drift.units_of`).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = ["KM_METHOD", "available", "kaplan_meier", "survival_tables"]

KM_METHOD = "Kaplan-Meier (Greenwood SE, cloglog pointwise CI); median: Brookmeyer-Crowley (cloglog)"

_TABLE = ["time", "at_risk", "events", "censored", "survival", "se", "ci_low", "ci_high"]
_SUMMARY = ["units", "events", "censored", "median", "median_ci_low", "median_ci_high", "method"]


def available() -> bool:
    """Whether statsmodels (``pip install 'alignsim[drift]'``) is installed."""
    return importlib.util.find_spec("statsmodels") is not None


def kaplan_meier(
    durations: Sequence[float] | np.ndarray,
    events: Sequence[bool] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """The Kaplan-Meier survival table and median time of independent units.

    Args:
        durations: per unit, the time of the event, or the last time it was observed
            (censored) when it had none.
        events: per unit, whether the event happened at ``durations`` (False: censored).
        confidence: level of the intervals.

    Returns:
        ``(table, summary)``: one table row per distinct time (``time``, ``at_risk`` just
        before it, ``events``, ``censored`` at it, ``survival`` S(t), ``se``, ``ci_low``,
        ``ci_high``; the interval is missing where S(t) is 0 or 1) and a summary with
        ``units``, ``events``, ``censored``, ``median``, ``median_ci_low``,
        ``median_ci_high`` and ``method``.

    Raises:
        ImportError: statsmodels is not installed.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    time = np.asarray(durations, dtype=float)
    status = np.asarray(events, dtype=bool)
    summary: dict[str, object] = {
        "units": len(time),
        "events": int(status.sum()),
        "censored": int((~status).sum()),
        "median": math.nan,
        "median_ci_low": math.nan,
        "median_ci_high": math.nan,
        "method": KM_METHOD,
    }
    if len(time) == 0:
        return pd.DataFrame(columns=_TABLE), summary
    times = np.unique(time)
    censored = np.array([int(((time == t) & ~status).sum()) for t in times])
    at_risk = np.array([int((time >= t).sum()) for t in times])
    n_events = np.array([int(((time == t) & status).sum()) for t in times])
    table = pd.DataFrame({"time": times, "at_risk": at_risk, "events": n_events, "censored": censored})
    table["survival"], table["se"] = 1.0, 0.0
    if not status.any():
        table["ci_low"], table["ci_high"] = math.nan, math.nan
        return table, summary
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = SurvfuncRight(time, status.astype(int))
        median = fit.quantile(0.5)
        low, high = fit.quantile_ci(0.5, alpha=1 - confidence, method="cloglog")
    # SurvfuncRight lists only the times with events; S(t) is a step function, so a time
    # with only censoring carries the value of the last event time before it.
    step = pd.Series(fit.surv_prob, index=fit.surv_times.astype(float))
    step_se = pd.Series(fit.surv_prob_se, index=fit.surv_times.astype(float))
    table["survival"] = step.reindex(times).ffill().fillna(1.0).to_numpy()
    table["se"] = step_se.reindex(times).ffill().fillna(0.0).to_numpy()
    survival, se = table["survival"].to_numpy(), table["se"].to_numpy()
    table["ci_low"], table["ci_high"] = _cloglog_interval(survival, se, confidence)
    summary.update(
        median=float(median) if np.isfinite(median) else math.nan,
        median_ci_low=float(low) if low is not None and np.isfinite(low) else math.nan,
        median_ci_high=float(high) if high is not None and not np.isnan(high) else math.nan,
    )
    return table, summary


def _cloglog_interval(survival: np.ndarray, se: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval of S(t) from the Greenwood SE on the log(-log S) scale (stays in
    (0, 1)); missing where S(t) is 0 or 1, where this scale says nothing."""
    z = float(sps.norm.ppf(1 - (1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = (survival > 0) & (survival < 1) & (se > 0)
        log_s = np.log(np.where(inside, survival, 0.5))
        half = z * se / np.abs(np.where(inside, survival, 0.5) * log_s)
        centre = np.log(-log_s)
        low = np.exp(-np.exp(centre + half))
        high = np.exp(-np.exp(centre - half))
    return np.where(inside, low, np.nan), np.where(inside, high, np.nan)


def survival_tables(
    data: pd.DataFrame,
    *,
    by: Sequence[str],
    event: str = "event",
    duration: str = "duration",
    observed: str = "observed",
    unit: str = "unit",
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan-Meier per (``event`` name, ``by`` group) of a long table of units.

    ``data`` has one row per (event name, unit): the ``event`` name, ``duration``,
    ``observed`` (bool) and ``unit`` (what one row is, e.g. ``episode``), plus the ``by``
    columns. Returns ``(curves, summary)``: the survival tables stacked with the event and
    group columns in front, and one summary row per (event, group) with the unit named.
    Both are empty when statsmodels is not installed.
    """
    keys = [event, *by]
    curve_columns = [*keys, *_TABLE]
    summary_columns = [*keys, "unit", *_SUMMARY]
    if data.empty or not available():
        return pd.DataFrame(columns=curve_columns), pd.DataFrame(columns=summary_columns)
    curves, rows = [], []
    for key, part in data.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        table, summary = kaplan_meier(
            part[duration].to_numpy(float), part[observed].to_numpy(bool), confidence=confidence
        )
        front = dict(zip(keys, key, strict=True))
        curves.append(table.assign(**front))
        rows.append({**front, "unit": ", ".join(sorted(set(part[unit].astype(str)))), **summary})
    return pd.concat(curves, ignore_index=True)[curve_columns], pd.DataFrame(rows, columns=summary_columns)
