"""Ratings of models (or scripted policies, or people) from game outcomes, with bootstrap intervals.

Every finished episode of a game whose roles play for sides (:attr:`GameInfo.role_sides
<alignsim.envs.GameInfo.role_sides>`) and that a side won is one match between teams: the
players of each side. A rated *unit* is a seat's label (its model, else its policy name with
its arguments; a human seat's label is whatever its seat records), or, with ``by="role"`` /
``by="side"``, a (label, role) or (label, side) pair. Two systems are fitted:

* **Bradley-Terry** (``bt``), by penalised maximum likelihood. Team ``k`` of an episode has
  strength ``S_k = mean of its members' ratings + a_(scenario, side_k)``, and the winner is drawn
  with ``P(team k wins) = exp(S_k) / sum_j exp(S_j)`` (the logistic model for two sides).

  - *Mean, not sum*: a team's strength is the mean of its seats' ratings, so a side of four
    players of model A is as strong as A, whatever the side's size. With a sum, team size
    (4 faithful against 1 traitor) would enter every comparison and a self-play game
    (A against A) would look informative; with the mean it carries no information, as it
    should. Mixed teams count each model by its share of the seats.
  - *Side advantage*: ``a_(scenario, side)`` absorbs how much a side wins whoever plays it
    (in the Traitors the odds depend on the numbers), so a model that happened to play the
    stronger side more often is not credited with the side's advantage. With ``by="role"``
    or ``by="side"`` the unit already carries its side, and no side term is fitted.
  - *Scale*: ratings are in logits: a difference of 1 between two single-model teams is odds
    of e:1. The likelihood does not change when every rating (or every side term of a
    scenario) moves by the same amount; a Gaussian prior ``N(0, prior_sd^2)`` on every
    parameter (a ridge) picks the solution whose ratings sum to zero within each group of
    units that played each other, and keeps every estimate finite when one model always wins.
    With the default ``prior_sd=2``, a model that won all of 20 games against one opponent
    is rated about 3.7 logits above it (odds of 42:1), not infinitely far.

* **OpenSkill** (``openskill``; the Plackett-Luce model of the ``openskill`` package): an online
  Bayesian update per episode in the order the episodes were played, with its own ``mu`` and
  ``sigma``. Its team strength is the sum over the distinct models of a team (the package's
  convention); a model seated on several sides of one episode is left out of that episode's
  update (it played against itself). It has no side term.

Intervals come from the bootstrap over episodes (resampled with replacement, ``seed``-ed),
over the resamples in which the unit played: BCa for Bradley-Terry (in the seeded simulation
of 150-game datasets, 95% percentile intervals covered 93.6% and BCa ones 95.9%, with 1,000
resamples; percentile above :data:`BCA_MAX_PATTERNS` distinct line-ups), percentile for
OpenSkill. BCa endpoints lie deep in the tails: use 1,000 resamples or more (the default).
Episodes that did not finish (``truncated``: censored, the game had not ended; ``failed``;
cut off) and finished games no side won are not rated; they are counted in
:attr:`Ratings.excluded`.
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

from alignsim.analysis.families import role_sides
from alignsim.errors import ConfigError

__all__ = [
    "BY",
    "METHODS",
    "Games",
    "Ratings",
    "fit_bradley_terry",
    "games_from_frames",
    "plot_ratings",
    "rate",
    "rating_cells",
    "ratings_from_frames",
    "report_ratings",
    "write_ratings",
]

BY = ("model", "role", "side")
"""What a rated unit is: a model (label), or a model in one role, or a model on one side."""
METHODS = ("bt", "openskill")
METHOD_NAMES = {"bt": "Bradley-Terry", "openskill": "OpenSkill"}
DEFAULT_PRIOR_SD = 2.0
"""Standard deviation (logits) of the Gaussian prior on every Bradley-Terry parameter."""
DEFAULT_RESAMPLES = 1000
_CHUNK = 64
BCA_MAX_PATTERNS = 500
"""Up to this many distinct matches (line-up and winner), Bradley-Terry intervals are BCa (one
jackknife fit per distinct match); above, percentile."""
"""Bootstrap replicates fitted together (memory: chunk x match patterns x teams x parameters)."""


@dataclass
class Games:
    """The rated episodes as matches between teams, in the order they were played.

    ``design[e, k, p]``: the weight of parameter ``p`` in the strength of team ``k`` of episode
    ``e`` (a unit's share of the team's seats; 1 for the team's side term); ``present[e, k]``:
    whether episode ``e`` has a team ``k``; ``winner[e]``: the index of the winning team.
    """

    units: list[tuple[str, str]]
    """Rated units: (label, role or side; '' when rating by model)."""
    side_terms: list[tuple[str, str]]
    """Side-advantage parameters: (scenario, side); they follow the units in ``design``."""
    episode_ids: list[str]
    design: np.ndarray
    present: np.ndarray
    winner: np.ndarray
    members: list[list[dict[int, int]]]
    """Per episode, per team: unit index -> seats it held."""
    excluded: dict[str, int] = field(default_factory=dict)
    """Episodes not rated, by reason."""

    @property
    def n_params(self) -> int:
        """Units plus side terms: the length of a parameter vector."""
        return len(self.units) + len(self.side_terms)


@dataclass
class Ratings:
    """What :func:`rate` fitted: the leaderboard of every method, side terms, counts and notes."""

    leaderboard: pd.DataFrame
    """One row per (method, unit): ``model``, [``role`` | ``side``], ``games``, ``wins``, ``losses``,
    ``mixed`` (games with seats on both a winning and a losing side), ``rating``, ``low``,
    ``high``, ``method``, ``interval`` (``BCa`` or ``percentile``), ``se`` (bootstrap standard
    deviation), ``sigma`` (OpenSkill's own),
    ``resamples`` (in which the unit played), ``confidence``, ``scale``."""
    sides: pd.DataFrame
    """Bradley-Terry side advantages: ``scenario``, ``side``, ``games``, ``rating``, ``low``, ``high``."""
    by: str
    methods: tuple[str, ...]
    games: int
    """Episodes rated."""
    excluded: dict[str, int]
    notes: list[str] = field(default_factory=list)
    n_resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    confidence: float = 0.95

    @property
    def rateable(self) -> bool:
        """At least one game and two units: there is something to compare."""
        return self.games > 0 and self.leaderboard[["model", *self.group_column]].drop_duplicates().shape[0] > 1

    @property
    def group_column(self) -> list[str]:
        """``[by]`` when a unit is a model in a role or side, else ``[]``."""
        return [] if self.by == "model" else [self.by]

    def text(self) -> str:
        """A plain-text leaderboard per method, with the counts and notes."""
        lines = [self.headline()]
        lines.extend(f"note: {note}" for note in self.notes)
        for method in self.methods:
            part = self.leaderboard[self.leaderboard["method"] == method]
            if part.empty:
                continue
            shown = part[["model", *self.group_column, "games", "wins", "losses"]].copy()
            shown.insert(0, "#", range(1, len(shown) + 1))
            shown[f"rating [{self.confidence:.0%} CI]"] = rating_cells(part)
            lines.append("")
            lines.append(f"{METHOD_NAMES[method]} ({part['scale'].iloc[0]})")
            lines.append(shown.to_string(index=False))
        if not self.sides.empty:
            shown = self.sides[["scenario", "side", "games"]].copy()
            shown[f"advantage [{self.confidence:.0%} CI]"] = rating_cells(self.sides)
            lines.append("")
            lines.append("Bradley-Terry side advantage (logits; sums to zero over a scenario's sides)")
            lines.append(shown.to_string(index=False))
        return "\n".join(lines)

    def headline(self) -> str:
        """One line: games rated, and those not rated by reason."""
        excluded = sum(self.excluded.values())
        reasons = "; ".join(f"{n} {reason}" for reason, n in sorted(self.excluded.items()))
        return f"{self.games} game(s) rated" + (f"; {excluded} not rated ({reasons})" if excluded else "")


def rating_cells(table: pd.DataFrame) -> list[str]:
    """``rating [low, high]`` per row of a table with those columns (``n/a`` without a rating)."""
    cells = []
    for rating, low, high in zip(table["rating"], table["low"], table["high"], strict=True):
        if not np.isfinite(rating):
            cells.append("n/a")
        elif np.isfinite(low) and np.isfinite(high):
            cells.append(f"{rating:+.2f} [{low:+.2f}, {high:+.2f}]")
        else:
            cells.append(f"{rating:+.2f}")
    return cells


# ------------------------------------------------------------------ games from logs

_NOT_FINISHED = {
    "truncated": "truncated (censored: the game had not ended)",
    "failed": "failed",
    "started": "cut off (no episode_end)",
}


def games_from_frames(frames: Any, *, by: str = "model", side_terms: bool | None = None) -> Games:
    """The rated matches of every episode in ``frames`` (a :class:`~.frames.Frames`).

    Args:
        frames: the loaded logs (:func:`~.frames.load_frames`); episodes, players and their labels.
        by: ``model`` (a unit per label), ``role`` or ``side`` (a unit per label and role or side).
        side_terms: fit a side advantage per (scenario, side); default: only when ``by="model"``.
    """
    if by not in BY:
        raise ConfigError("by", f"must be one of {', '.join(BY)}, got {by!r}")
    if side_terms is None:
        side_terms = by == "model"
    episodes = frames.episodes.sort_values(["created_at", "episode_id"], kind="stable")
    seats: dict[str, list[tuple[str, str]]] = {}
    for eid, role, label in zip(
        frames.players["episode_id"], frames.players["role"], frames.players["label"], strict=True
    ):
        seats.setdefault(str(eid), []).append((str(role), str(label) if isinstance(label, str) and label else "?"))
    units: dict[tuple[str, str], int] = {}
    terms: dict[tuple[str, str], int] = {}
    excluded: dict[str, int] = {}
    rated: list[tuple[str, list[tuple[str, dict[int, int]]], int, str]] = []
    for eid, env_id, scenario, status, winner in zip(
        episodes["episode_id"],
        episodes["env_id"],
        episodes["scenario"],
        episodes["status"],
        episodes["winner"],
        strict=True,
    ):
        reason = None
        sides = role_sides(str(env_id))
        teams: dict[str, dict[int, int]] = {}
        if status != "completed":
            reason = _NOT_FINISHED.get(str(status), str(status))
        elif not sides:
            reason = "a game without sides"
        elif not isinstance(winner, str) or not winner:
            reason = "no side won"
        else:
            for role, label in seats.get(str(eid), []):
                side = sides.get(role)
                if side is None:
                    continue
                key = (label, "" if by == "model" else role if by == "role" else side)
                index = units.setdefault(key, len(units))
                team = teams.setdefault(side, {})
                team[index] = team.get(index, 0) + 1
            if len(teams) < 2:
                reason = "fewer than two sides seated"
            elif winner not in teams:
                reason = "the winning side had no seats"
        if reason is not None:
            excluded[reason] = excluded.get(reason, 0) + 1
            continue
        order = sorted(teams)
        if side_terms:
            for side in order:
                terms.setdefault((str(scenario), side), len(terms))
        rated.append((str(eid), [(side, teams[side]) for side in order], order.index(str(winner)), str(scenario)))
    n_units = len(units)
    width = max((len(lineup) for _, lineup, _, _ in rated), default=2)
    design = np.zeros((len(rated), width, n_units + len(terms)))
    present = np.zeros((len(rated), width), dtype=bool)
    winners = np.zeros(len(rated), dtype=np.int64)
    members: list[list[dict[int, int]]] = []
    for e, (_, lineup, win, where) in enumerate(rated):
        for k, (side, seated_units) in enumerate(lineup):
            seated = sum(seated_units.values())
            for unit, count in seated_units.items():
                design[e, k, unit] = count / seated
            if side_terms:
                design[e, k, n_units + terms[(where, side)]] = 1.0
            present[e, k] = True
        winners[e] = win
        members.append([seated_units for _, seated_units in lineup])
    return Games(
        units=list(units),
        side_terms=list(terms),
        episode_ids=[eid for eid, *_ in rated],
        design=design,
        present=present,
        winner=winners,
        members=members,
        excluded=excluded,
    )


# ------------------------------------------------------------------ Bradley-Terry


def _patterns(games: Games) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct matches (same teams, same winner): their design, teams present, winner, and
    each episode's pattern index. Fitting on patterns with counts is what makes thousands of
    bootstrap fits of a big sweep cheap: a sweep has few distinct line-ups."""
    n = len(games.winner)
    flat = np.concatenate(
        [games.design.reshape(n, -1), games.present.astype(float), games.winner[:, None].astype(float)], axis=1
    )
    unique, inverse = np.unique(flat, axis=0, return_inverse=True)
    e_shape = games.design.shape[1:]
    size = e_shape[0] * e_shape[1]
    design = unique[:, :size].reshape(-1, *e_shape)
    present = unique[:, size : size + e_shape[0]].astype(bool)
    winner = unique[:, -1].astype(np.int64)
    return design, present, winner, inverse.reshape(-1)


def fit_bradley_terry(
    design: np.ndarray,
    present: np.ndarray,
    winner: np.ndarray,
    counts: np.ndarray,
    *,
    prior_sd: float = DEFAULT_PRIOR_SD,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> np.ndarray:
    """Penalised maximum-likelihood Bradley-Terry (Plackett-Luce winner) fits, many at once.

    Args:
        design: ``(n, teams, params)`` team strengths' weights per match (see :class:`Games`).
        present: ``(n, teams)`` which teams a match has.
        winner: ``(n,)`` index of the winning team.
        counts: ``(B, n)`` how often each match counts in each of ``B`` fits (bootstrap weights).
        prior_sd: standard deviation of the Gaussian prior on every parameter (ridge
            ``1 / prior_sd**2``); it makes the objective strictly concave, so the fit is unique
            and finite.
        max_iter: Newton iterations at most.
        tol: stop when every fit's Newton decrement is below this.

    Returns:
        ``(B, params)``: the maximum a posteriori parameters of each fit (Newton's method with
        a backtracking line search; the objective is concave, so it converges to the optimum).
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    n_fits, n_params = counts.shape[0], design.shape[2]
    ridge = 1.0 / prior_sd**2
    theta = np.zeros((n_fits, n_params))
    if n_params == 0:
        return theta
    n, width = present.shape
    win_rows = design[np.arange(n), winner]  # (n, params)
    rows = design.reshape(n * width, n_params)
    # Every team row's outer product, flattened: the Hessian's first term is then one matrix
    # product per iteration (BLAS), not a four-index einsum.
    outer = (rows[:, :, None] * rows[:, None, :]).reshape(n * width, n_params * n_params)
    mask = np.where(present, 0.0, -np.inf)
    pick = np.broadcast_to(winner[None, :, None], (n_fits, n, 1))

    def objective(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        strength = (values @ rows.T).reshape(len(values), n, width) + mask
        log_p = strength - np.logaddexp.reduce(strength, axis=2, keepdims=True)
        log_p = np.where(present, log_p, -np.inf)
        won = np.take_along_axis(log_p, pick[: len(values)], 2)[..., 0]
        return -(counts[: len(values)] * won).sum(axis=1) + 0.5 * ridge * (values**2).sum(axis=1), log_p

    value, log_p = objective(theta)
    eye = np.eye(n_params)
    done = np.zeros(n_fits, dtype=bool)
    for _ in range(max_iter):
        prob = np.exp(log_p)  # 0 where a team is absent
        weighted = (counts[:, :, None] * prob).reshape(n_fits, n * width)
        mean_row = sum(prob[:, :, k, None] * design[None, :, k, :] for k in range(width))
        grad = np.matmul(counts[:, None, :], mean_row)[:, 0] - counts @ win_rows + ridge * theta
        hess = (
            (weighted @ outer).reshape(n_fits, n_params, n_params)
            - np.matmul((counts[:, :, None] * mean_row).transpose(0, 2, 1), mean_row)
            + ridge * eye
        )
        step = -np.linalg.solve(hess, grad[..., None])[..., 0]
        slope = (grad * step).sum(axis=1)
        done = np.abs(slope) < tol  # converged fits keep their values
        if done.all():
            break
        size = np.ones(n_fits)
        new_theta, new_value, new_log_p = theta.copy(), value.copy(), log_p.copy()
        for _halving in range(30):
            trial = theta + size[:, None] * step
            trial_value, trial_log_p = objective(trial)
            accept = ~done & (trial_value <= value + 1e-4 * size * slope)
            new_theta[accept], new_value[accept] = trial[accept], trial_value[accept]
            new_log_p[accept] = trial_log_p[accept]
            done |= accept
            if done.all():
                break
            size = np.where(done, size, size / 2)
        theta, value, log_p = new_theta, new_value, new_log_p
    return theta


def _resample_counts(inverse: np.ndarray, n_patterns: int, n_fits: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_fits, n_patterns)`` pattern counts of ``n_fits`` bootstrap resamples of the episodes."""
    n = len(inverse)
    drawn = inverse[rng.integers(0, n, size=(n_fits, n))]
    offsets = (np.arange(n_fits) * n_patterns)[:, None]
    return np.bincount((drawn + offsets).ravel(), minlength=n_fits * n_patterns).reshape(n_fits, n_patterns)


def _bt_estimates(
    games: Games, n_resamples: int, seed: int, prior_sd: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Point estimates ``(params,)``, bootstrap fits ``(B, params)``, per fit which parameters
    played in the resample ``(B, params)``, and the BCa acceleration per parameter (from the
    jackknife; None above :data:`BCA_MAX_PATTERNS` distinct matches, where percentile
    intervals are used)."""
    design, present, winner, inverse = _patterns(games)
    full = np.bincount(inverse, minlength=len(winner))
    estimate = fit_bradley_terry(design, present, winner, full[None, :], prior_sd=prior_sd)[0]
    involved = np.abs(design).sum(axis=1) > 0  # (patterns, params)
    rng = np.random.default_rng(seed)
    fits, played = [], []
    for start in range(0, n_resamples, _CHUNK):
        counts = _resample_counts(inverse, len(winner), min(_CHUNK, n_resamples - start), rng)
        fits.append(fit_bradley_terry(design, present, winner, counts, prior_sd=prior_sd))
        played.append((counts @ involved) > 0)
    acceleration = None
    if len(winner) <= BCA_MAX_PATTERNS:
        # Leaving out one episode of a pattern gives the same fit for every episode of it:
        # one jackknife fit per distinct match, weighted by how many episodes it has.
        leave_one_out = np.concatenate(
            [
                fit_bradley_terry(
                    design,
                    present,
                    winner,
                    full[None, :] - np.eye(len(winner))[start : start + _CHUNK],
                    prior_sd=prior_sd,
                )
                for start in range(0, len(winner), _CHUNK)
            ]
        )
        centre = (full[:, None] * leave_one_out).sum(axis=0) / full.sum()
        spread = centre[None, :] - leave_one_out
        second = (full[:, None] * spread**2).sum(axis=0)
        third = (full[:, None] * spread**3).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            acceleration = np.where(second > 0, third / (6 * second**1.5), 0.0)
    return estimate, np.concatenate(fits), np.concatenate(played), acceleration


def _intervals(
    estimate: np.ndarray,
    fits: np.ndarray,
    played: np.ndarray,
    confidence: float,
    acceleration: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bootstrap intervals, bootstrap standard deviations and the resamples used, per parameter
    (only resamples in which the parameter's unit played: in the others the prior alone sets it).

    BCa (bias-corrected and accelerated) where ``acceleration`` is given, else percentile.
    """
    from scipy.special import ndtr, ndtri

    alpha = (1 - confidence) / 2
    low, high, se, used = (np.full(len(estimate), np.nan) for _ in range(4))
    for p in range(len(estimate)):
        values = fits[played[:, p], p]
        used[p] = len(values)
        if not len(values):
            continue
        levels = np.array([alpha, 1 - alpha])
        if acceleration is not None:
            below = (np.sum(values < estimate[p]) + 0.5 * np.sum(values == estimate[p])) / len(values)
            bias = ndtri(np.clip(below, 0.5 / len(values), 1 - 0.5 / len(values)))
            z = ndtri(levels)
            levels = ndtr(bias + (bias + z) / (1 - acceleration[p] * (bias + z)))
        low[p], high[p] = np.quantile(values, levels)
        se[p] = values.std(ddof=1) if len(values) > 1 else np.nan
    return low, high, se, used


# ------------------------------------------------------------------ OpenSkill


def _openskill_pass(model: Any, games: Games, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Final ``mu`` and ``sigma`` per unit after rating the episodes ``order`` in turn."""
    n_units = len(games.units)
    mu = np.full(n_units, float(model.mu))
    sigma = np.full(n_units, float(model.sigma))
    for e in order:
        teams = games.members[e]
        counts: dict[int, int] = {}
        for team in teams:
            for unit in team:
                counts[unit] = counts.get(unit, 0) + 1
        lineup = [[u for u in team if counts[u] == 1] for team in teams]
        kept = [k for k, team in enumerate(lineup) if team]
        if len(kept) < 2 or games.winner[e] not in kept:
            continue
        ranks = [0 if k == games.winner[e] else 1 for k in kept]
        rated = model.rate([[model.rating(mu=mu[u], sigma=sigma[u]) for u in lineup[k]] for k in kept], ranks=ranks)
        for k, team in zip(kept, rated, strict=True):
            for unit, rating in zip(lineup[k], team, strict=True):
                mu[unit], sigma[unit] = rating.mu, rating.sigma
    return mu, sigma


def _openskill_estimates(
    games: Games, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from openskill.models import PlackettLuce

    model = PlackettLuce()
    n = len(games.winner)
    mu, sigma = _openskill_pass(model, games, np.arange(n))
    involved = np.zeros((n, len(games.units)), dtype=bool)
    for e, teams in enumerate(games.members):
        for team in teams:
            involved[e, list(team)] = True
    rng = np.random.default_rng(seed)
    fits = np.empty((n_resamples, len(games.units)))
    played = np.empty_like(fits, dtype=bool)
    for b in range(n_resamples):
        order = np.sort(rng.integers(0, n, size=n))  # resampled episodes, in the order they were played
        fits[b] = _openskill_pass(model, games, order)[0]
        played[b] = involved[order].any(axis=0)
    return mu, sigma, fits, played


# ------------------------------------------------------------------ the API


def _check(by: str, methods: Sequence[str], n_resamples: int, confidence: float, prior_sd: float) -> tuple[str, ...]:
    if by not in BY:
        raise ConfigError("by", f"must be one of {', '.join(BY)}, got {by!r}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ConfigError(
            "method", f"must be one or more of {', '.join(METHODS)}, got {', '.join(methods) or '(none)'}"
        )
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ConfigError("n_resamples", f"must be a whole number of at least 1, got {n_resamples!r}")
    if not 0 < confidence < 1:
        raise ConfigError("confidence", f"must be between 0 and 1, got {confidence!r}")
    if not (np.isfinite(prior_sd) and prior_sd > 0):
        raise ConfigError("prior_sd", f"must be a positive number, got {prior_sd!r}")
    if "openskill" in methods and not openskill_available():
        raise ConfigError("method", "openskill is not installed: pip install 'alignsim[ratings]'")
    return tuple(dict.fromkeys(methods))


def openskill_available() -> bool:
    """Whether the ``openskill`` package (the ``ratings`` extra) is installed."""
    return importlib.util.find_spec("openskill") is not None


def ratings_from_frames(
    frames: Any,
    *,
    by: str = "model",
    methods: Sequence[str] = ("bt",),
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
    prior_sd: float = DEFAULT_PRIOR_SD,
) -> Ratings:
    """Ratings of every unit in ``frames`` (see the module docstring; :func:`rate` reads the logs)."""
    methods = _check(by, methods, n_resamples, confidence, prior_sd)
    games = games_from_frames(frames, by=by)
    group = [] if by == "model" else [by]
    columns = ["model", *group, "games", "wins", "losses", "mixed", "rating", "low", "high", "method"]
    columns += ["interval", "se", "sigma", "resamples", "confidence", "scale"]
    base = _counts(games).rename(columns={"group": by})
    notes = _design_notes(games)
    n_units = len(games.units)
    tables, sides = [], pd.DataFrame(columns=["scenario", "side", "games", "rating", "low", "high", "se"])
    if len(games.winner) and n_units > 1:
        for method in methods:
            table = base.copy()
            if method == "bt":
                estimate, fits, played, acceleration = _bt_estimates(games, n_resamples, seed, prior_sd)
                low, high, se, used = _intervals(estimate, fits, played, confidence, acceleration)
                table["interval"] = "BCa" if acceleration is not None else "percentile"
                table["sigma"] = np.nan
                table["scale"] = "logit"
                if games.side_terms:
                    sides = pd.DataFrame(
                        {
                            "scenario": [s for s, _ in games.side_terms],
                            "side": [side for _, side in games.side_terms],
                            "games": _term_games(games),
                            "rating": estimate[n_units:],
                            "low": low[n_units:],
                            "high": high[n_units:],
                            "se": se[n_units:],
                        }
                    )
            else:
                estimate, sigma, fits, played = _openskill_estimates(games, n_resamples, seed)
                low, high, se, used = _intervals(estimate, fits, played, confidence)
                table["sigma"] = sigma
                table["scale"] = "openskill mu (starts at 25)"
                table["interval"] = "percentile"
            table["rating"], table["low"], table["high"] = estimate[:n_units], low[:n_units], high[:n_units]
            table["se"], table["resamples"] = se[:n_units], used[:n_units].astype(int)
            table["method"] = method
            table["confidence"] = confidence
            tables.append(table.sort_values(["rating", "model"], ascending=[False, True], kind="stable"))
    else:
        table = base.copy()
        for column in ("rating", "low", "high", "se", "sigma"):
            table[column] = np.nan
        table["resamples"], table["method"], table["confidence"], table["scale"] = 0, "", confidence, ""
        table["interval"] = ""
        tables.append(table)
        if not len(games.winner):
            notes.append("no game could be rated: nothing finished with a winning side (see the counts)")
        else:
            notes.append(
                f"only one {'model' if by == 'model' else 'model and ' + by} played ({_unit_name(games.units[0])}): "
                "ratings compare several, so there is nothing to rate"
            )
    leaderboard = pd.concat(tables, ignore_index=True)[columns]
    return Ratings(
        leaderboard=leaderboard,
        sides=sides,
        by=by,
        methods=methods,
        games=len(games.winner),
        excluded=games.excluded,
        notes=notes,
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
    )


def report_ratings(frames: Any, *, n_resamples: int, seed: int) -> Ratings | None:
    """Bradley-Terry ratings per model for ``alignsim analyze`` (OpenSkill is ``alignsim rate``'s),
    or None when fewer than two models played a rated game."""
    ratings = ratings_from_frames(frames, methods=("bt",), n_resamples=n_resamples, seed=seed)
    return ratings if ratings.rateable else None


def _unit_name(unit: tuple[str, str]) -> str:
    return f"{unit[0]} as {unit[1]}" if unit[1] else unit[0]


def _counts(games: Games) -> pd.DataFrame:
    """Games, wins, losses and mixed (seats on a winning and a losing side) per unit."""
    n_units = len(games.units)
    played, wins, losses = (np.zeros(n_units, dtype=int) for _ in range(3))
    for teams, win in zip(games.members, games.winner, strict=True):
        won = set(teams[win])
        lost = {u for k, team in enumerate(teams) if k != win for u in team}
        for unit in won | lost:
            played[unit] += 1
            wins[unit] += unit in won and unit not in lost
            losses[unit] += unit in lost and unit not in won
    frame = pd.DataFrame({"model": [u for u, _ in games.units]})
    group = {g for _, g in games.units}
    if group != {""}:
        frame["group"] = [g for _, g in games.units]
    frame["games"], frame["wins"], frame["losses"] = played, wins, losses
    frame["mixed"] = played - wins - losses
    return frame


def _term_games(games: Games) -> list[int]:
    n_units = len(games.units)
    return [int((games.design[:, :, n_units + t] > 0).any(axis=1).sum()) for t in range(len(games.side_terms))]


def _design_notes(games: Games) -> list[str]:
    """Warnings about what the games cannot tell apart."""
    notes: list[str] = []
    n_units = len(games.units)
    if not len(games.winner) or n_units < 2:
        return notes
    # Units that never met (directly or through others) are on separate scales.
    parent = list(range(n_units))

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for teams in games.members:
        units = [u for team in teams for u in team]
        for u in units[1:]:
            parent[find(u)] = find(units[0])
    groups: dict[int, list[str]] = {}
    for u in range(n_units):
        groups.setdefault(find(u), []).append(_unit_name(games.units[u]))
    if len(groups) > 1:
        listed = "; ".join(", ".join(g) for g in groups.values())
        notes.append(
            f"the models form {len(groups)} groups that never played each other ({listed}): ratings compare "
            "only within a group (each group is centred on 0)"
        )
    design, present, winner, _ = _patterns(games)
    rows = [
        design[n, winner[n]] - design[n, k]
        for n in range(len(winner))
        for k in np.flatnonzero(present[n])
        if k != winner[n]
    ]
    rank = np.linalg.matrix_rank(np.array(rows)) if rows else 0
    scenarios = len({s for s, _ in games.side_terms})
    if games.n_params - rank > len(groups) + scenarios:
        notes.append(
            "the games do not separate every rating from the others (e.g. a model that always played the same "
            "side against the same opponent, or only self-play): the prior decides part of them; play each model "
            "on each side, or rate --by side"
        )
    return notes


def rate(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    by: str = "model",
    methods: Sequence[str] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
    prior_sd: float = DEFAULT_PRIOR_SD,
    bad: Any = None,
) -> Ratings:
    """Ratings of the models in the episode logs at ``paths`` (files, run or sweep folders).

    ``methods``: any of :data:`METHODS`; default: Bradley-Terry, and OpenSkill when the
    ``openskill`` package is installed (a note says when it is not).

    Invalid arguments raise :class:`~alignsim.errors.ConfigError` naming the field before any
    log is read; a missing path raises ``FileNotFoundError``; ``bad`` (a
    :class:`~alignsim.record.BadFiles`) collects unreadable logs, which are then skipped.
    """
    missing = methods is None and not openskill_available()
    if methods is None:
        methods = [m for m in METHODS if m != "openskill" or not missing]
    methods = _check(by, methods, n_resamples, confidence, prior_sd)
    from alignsim.analysis.api import load_inputs

    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    frames = load_inputs(paths, bad=bad)
    if frames.episodes.empty:
        readable = "readable " if bad else ""
        raise FileNotFoundError(f"no {readable}episode logs found at {', '.join(map(str, paths))}")
    ratings = ratings_from_frames(
        frames, by=by, methods=methods, n_resamples=n_resamples, seed=seed, confidence=confidence, prior_sd=prior_sd
    )
    if missing:
        ratings.notes.append(
            "OpenSkill left out: the openskill package is not installed: pip install 'alignsim[ratings]'"
        )
    return ratings


def write_ratings(ratings: Ratings, out: str | os.PathLike[str], *, plot: bool = True) -> list[Path]:
    """Write ``leaderboard.csv``, ``side_advantage.csv`` (a header only without side terms) and
    ``ratings.png`` under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "leaderboard.csv", out / "side_advantage.csv"]
    ratings.leaderboard.to_csv(files[0], index=False)
    ratings.sides.to_csv(files[1], index=False)  # header only when no side term was fitted: never a stale one
    if plot and ratings.rateable:
        files.append(plot_ratings(ratings, out / "ratings.png"))
    return files


def plot_ratings(ratings: Ratings, path: str | os.PathLike[str]) -> Path:
    """A forest plot per method: each unit's rating with its interval, best at the top."""
    from matplotlib.figure import Figure

    methods = [m for m in ratings.methods if (ratings.leaderboard["method"] == m).any()]
    height = 1.2 + 0.32 * max(1, len(ratings.leaderboard) // max(1, len(methods)))
    fig = Figure(figsize=(5.2 * len(methods), height), layout="constrained")
    for i, method in enumerate(methods):
        ax = fig.add_subplot(1, len(methods), i + 1)
        part = ratings.leaderboard[ratings.leaderboard["method"] == method].iloc[::-1]
        names = [
            _short(_unit_name((m, g)) if ratings.by != "model" else m)
            for m, g in zip(part["model"], part[ratings.by] if ratings.by != "model" else [""] * len(part), strict=True)
        ]
        y = np.arange(len(part))
        rating = part["rating"].to_numpy(float)
        low = np.where(np.isfinite(part["low"]), part["low"], rating)
        high = np.where(np.isfinite(part["high"]), part["high"], rating)
        ax.errorbar(rating, y, xerr=[rating - low, high - rating], fmt="o", color="#1f77b4", capsize=3)
        ax.set_yticks(y, names)
        ax.axvline(0 if method == "bt" else 25, color="#999", lw=0.8, ls="--")
        ax.set_xlabel(part["scale"].iloc[0] if len(part) else "")
        ax.set_title(f"{METHOD_NAMES[method]} ({ratings.confidence:.0%} bootstrap CI)", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _short(text: str, width: int = 42) -> str:
    """A tick label: cut to ``width``, with ``$`` escaped (a label is data, never mathtext)."""
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")
