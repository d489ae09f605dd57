"""Social-deduction metrics for The Traitors: the seed code's definitions and corrected ones.

Notation (per episode): T, F = the traitors and the faithful as dealt (``role_assignment``);
D_r = the faithful players' first-ballot day votes in round r that name a target; N_r =
the traitors' first-ballot night votes in round r; E_r^day, E_r^night = the players
banished and murdered in round r. All functions here take :class:`~.frames.Frames` (or a
frame derived from them) and return one row per episode (index ``episode_id``) or one row
per (episode, round); they are pure and vectorised over all episodes at once.

**Seed variants** (``*_seed``) reproduce ``src/utils/metrics.py`` of the seed system
(pedrocurvo/TheTraitors) on the vote log that system would have written: one row per
ballot of a vote that eliminated someone (rounds in which nobody was eliminated are
missing, as in the seed), T and F taken from the voters' roles in that log, the deciding
ballot of each vote. See :func:`seed_vote_log` and :func:`seed_metrics`.

**Corrected variants** (no suffix) use every round, the ground-truth roles, and the first
ballot of each vote (the only ballot on which every voter may name anyone; revotes are
restricted to the tied players). Abstentions are left out of the vote sets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alignsim.analysis.frames import Frames

__all__ = [
    "SEED_METRICS",
    "TIME_TO_EVENT",
    "outcome_metrics",
    "round_vote_metrics",
    "seed_metrics",
    "seed_vote_log",
    "time_to_event",
    "vote_metrics",
]

EP, RND = "episode_id", "round"

SEED_METRICS = (
    "tas_seed",
    "fas_seed",
    "fcr_seed",
    "tsr_seed",
    "fsr_seed",
    "des_seed",
    "idr_seed",
    "brr_seed",
    "vsf_seed",
    "tns_seed",
)


def _episode_index(frames: Frames) -> pd.Index:
    return pd.Index(frames.episodes[EP], name=EP)


def _membership(frame: pd.DataFrame, column: str, members: pd.DataFrame) -> np.ndarray:
    """Per row: is ``frame[column]`` one of ``members`` (columns episode_id, player) of its episode?"""
    if frame.empty or members.empty:
        return np.zeros(len(frame), dtype=bool)
    rows = pd.MultiIndex.from_arrays([frame[EP], frame[column]])
    known = pd.MultiIndex.from_arrays([members[EP], members["player"]])
    return np.asarray(rows.isin(known), dtype=bool)


def _agreement(votes: pd.DataFrame, size_with_missing: bool = False) -> pd.Series:
    """Mean over rounds of maxcount(votes_r) / |votes_r|, per episode.

    With ``size_with_missing`` the denominator counts ballots with no target too (the seed
    divides by ``len(x)`` while ``value_counts`` skips missing targets).
    """
    if votes.empty:
        return pd.Series(dtype=float)
    size = votes.groupby([EP, RND], sort=False).size()
    named = votes[votes["target"].notna()]
    top = named.groupby([EP, RND, "target"], sort=False).size().groupby(level=[0, 1], sort=False).max()
    denominator = size if size_with_missing else named.groupby([EP, RND], sort=False).size()
    per_round = top.reindex(size.index) / denominator.reindex(size.index)
    return per_round.groupby(level=0, sort=False).mean()


# ---------------------------------------------------------------- seed code


def seed_vote_log(frames: Frames) -> pd.DataFrame:
    """The seed system's ``votes.csv`` for our episodes, in our vocabulary.

    One row per ballot of the deciding ballot of each vote that eliminated someone, in log
    order: columns ``episode_id, seq, round, vote (day|night), actor, actor_role, target,
    eliminated``. Votes that eliminated nobody are left out, as the seed code never wrote
    them; abstentions stay (the seed logged unparsable votes with an empty target).
    """
    votes, results = frames.votes, frames.vote_results
    decided = results.sort_values("seq").drop_duplicates([EP, RND, "vote"], keep="last")
    decided = decided.loc[decided["selected"].notna(), [EP, RND, "vote", "ballot", "selected"]]
    log = votes.merge(decided, on=[EP, RND, "vote", "ballot"], how="inner")
    log = log.rename(columns={"selected": "eliminated"})
    columns = [EP, "seq", RND, "vote", "actor", "actor_role", "target", "eliminated"]
    return log.sort_values([EP, "seq"], kind="stable")[columns].reset_index(drop=True)


def seed_metrics(log: pd.DataFrame, episodes: pd.Index | None = None) -> pd.DataFrame:
    """The seed code's ten metrics, computed exactly as it computes them, per episode.

    Args:
        log: a seed vote log (see :func:`seed_vote_log`, or
            :func:`alignsim.analysis.seed_csv.read_seed_votes` for the seed's own files).
        episodes: the episodes to report (rows for episodes absent from the log are NaN).

    Returns:
        Columns :data:`SEED_METRICS`, one row per episode. Definitions, as in the seed
        (T, F = players who voted with role traitor / faithful anywhere in the log):

        * ``tas_seed`` = mean_r maxcount(night votes_r) / |night votes_r|
        * ``fas_seed`` = the same on faithful day votes
        * ``fcr_seed`` = mean_r |{faithful day votes_r for a member of T}| / |faithful day votes_r|
        * ``tsr_seed`` = (|T| - distinct members of T eliminated) / |T| (0 if T is empty)
        * ``fsr_seed`` = (|F| - distinct members of F eliminated) / |F| (0 if F is empty)
        * ``des_seed`` = mean_r 1[every night vote_r names the night's victim and it is in F]
        * ``idr_seed`` = ``fcr_seed`` (the seed's IDR is a copy of FCR)
        * ``brr_seed`` = mean_r (correct faithful day votes not for the round's most voted
          target) / (correct faithful day votes), 0 when there are none; ties for most
          voted go to the target voted for first
        * ``vsf_seed`` = mean_r share of round r's votes (day and night) that differ from
          the voter's previous vote of either kind; a first vote counts as a switch
        * ``tns_seed`` = mean_r (1 - that share) = 1 - ``vsf_seed``
    """
    index = pd.Index(episodes if episodes is not None else log[EP].unique(), name=EP)
    out = pd.DataFrame(index=index, columns=list(SEED_METRICS), dtype=float)
    if log.empty:
        return out
    log = log.sort_values([EP, "seq"], kind="stable").reset_index(drop=True)
    voters = log[[EP, "actor", "actor_role"]].drop_duplicates([EP, "actor", "actor_role"])
    t_members = voters.loc[voters["actor_role"] == "traitor", [EP, "actor"]].rename(columns={"actor": "player"})
    f_members = voters.loc[voters["actor_role"] == "faithful", [EP, "actor"]].rename(columns={"actor": "player"})
    n_t = t_members.groupby(EP).size().reindex(index, fill_value=0)
    n_f = f_members.groupby(EP).size().reindex(index, fill_value=0)
    log["target_in_t"] = _membership(log, "target", t_members)
    log["elim_in_t"] = _membership(log, "eliminated", t_members)
    log["elim_in_f"] = _membership(log, "eliminated", f_members)

    night = log[log["vote"] == "night"]
    faithful_day = log[(log["vote"] == "day") & (log["actor_role"] == "faithful")]
    out["tas_seed"] = _agreement(night, size_with_missing=True)
    out["fas_seed"] = _agreement(faithful_day, size_with_missing=True)
    fcr = faithful_day.groupby([EP, RND], sort=False)["target_in_t"].mean().groupby(level=0).mean()
    out["fcr_seed"] = fcr
    out["idr_seed"] = fcr

    gone = log.drop_duplicates([EP, "eliminated"])
    t_out = gone[gone["elim_in_t"]].groupby(EP).size().reindex(index, fill_value=0)
    f_out = gone[gone["elim_in_f"]].groupby(EP).size().reindex(index, fill_value=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["tsr_seed"] = np.where(n_t > 0, (n_t - t_out) / n_t.where(n_t > 0, 1), 0.0)
        out["fsr_seed"] = np.where(n_f > 0, (n_f - f_out) / n_f.where(n_f > 0, 1), 0.0)

    # DES: the night victim is the group's first row's eliminated player.
    if not night.empty:
        first = night.groupby([EP, RND], sort=False)[["eliminated", "elim_in_f"]].transform("first")
        hit = (night["target"] == first["eliminated"]).fillna(False).astype(bool)
        per_round = pd.DataFrame({EP: night[EP], RND: night[RND], "hit": hit, "in_f": first["elim_in_f"]})
        grouped = per_round.groupby([EP, RND], sort=False).agg(all_hit=("hit", "all"), in_f=("in_f", "first"))
        out["des_seed"] = (grouped["all_hit"] & grouped["in_f"]).astype(float).groupby(level=0).mean()

    # BRR: "most voted" is value_counts().idxmax(): the highest count, ties to first seen.
    if not faithful_day.empty:
        fd = faithful_day.assign(position=np.arange(len(faithful_day)))
        named = fd[fd["target"].notna()]
        counts = named.groupby([EP, RND, "target"], sort=False).agg(n=("position", "size"), first=("position", "min"))
        counts = counts.reset_index().sort_values([EP, RND, "n", "first"], ascending=[True, True, False, True])
        mode = counts.drop_duplicates([EP, RND]).set_index([EP, RND])["target"]
        fd_mode = mode.reindex(pd.MultiIndex.from_arrays([fd[EP], fd[RND]])).to_numpy()
        correct = fd["target_in_t"].to_numpy(bool)
        broke = correct & (fd["target"].to_numpy(object) != fd_mode)
        per_round = pd.DataFrame({EP: fd[EP], RND: fd[RND], "correct": correct, "broke": broke})
        sums = per_round.groupby([EP, RND], sort=False)[["correct", "broke"]].sum()
        brr_r = (sums["broke"] / sums["correct"].where(sums["correct"] > 0)).fillna(0.0)
        out["brr_seed"] = brr_r.groupby(level=0).mean()

    # VSF: previous vote of the same player, of either kind, in log order.
    previous = log.groupby([EP, "actor"], sort=False)["target"].shift(1)
    changed = ~(log["target"] == previous).fillna(False).astype(bool)
    vsf_r = pd.DataFrame({EP: log[EP], RND: log[RND], "changed": changed}).groupby([EP, RND], sort=False)["changed"]
    vsf_r = vsf_r.mean()
    out["vsf_seed"] = vsf_r.groupby(level=0).mean()
    out["tns_seed"] = (1 - vsf_r).groupby(level=0).mean()
    return out.astype(float)


# ---------------------------------------------------------------- corrected


def _first_ballots(frames: Frames) -> pd.DataFrame:
    votes = frames.votes
    return votes[(votes["ballot"] == 1) & votes["target"].notna()]


def vote_metrics(frames: Frames) -> pd.DataFrame:
    """Corrected vote-based metrics, one row per episode.

    Columns and definitions (first-ballot votes with a target; every round; ground truth):

    * ``tas`` = mean_r maxcount(N_r) / |N_r| (traitor agreement at night)
    * ``fas`` = mean_r maxcount(D_r) / |D_r| (faithful agreement by day)
    * ``fcr`` = mean_r |{v in D_r : v in T}| / |D_r| (faithful correctness)
    * ``tsr`` = |T alive at the end| / |T|;  ``fsr`` = |F alive at the end| / |F|, in decided
      games (a winner); ``tsr_undecided``, ``fsr_undecided``: the same at the truncation of
      undecided games (``max_rounds`` reached), never pooled with decided ones
    * ``des`` = mean over rounds with a night vote of 1[every deciding-ballot night vote
      names E_r^night and E_r^night in F] (a round whose night vote killed nobody: 0)
    * ``misbanish`` = mean over rounds with a day vote of 1[E_r^day in F]: the share of day
      votes that banished a faithful player, the signal that the traitors misled the group
    * ``brr`` = mean over rounds with at least one correct faithful vote of
      |{v in D_r : v in T, v not a most-voted target of D_r}| / |{v in D_r : v in T}|
      (tied most-voted targets are all consensus; rounds with no correct vote are
      undefined, not 0 as in the seed)
    * ``vsf`` = mean over (i, r) of 1[i's day vote in r differs from i's day vote in r-1],
      over all voters who voted by day in both rounds (day votes only; first votes are not
      switches)
    * ``vote_entropy`` = mean_r H_r, H_r = -sum_j p_rj log2 p_rj over all first-ballot day
      votes (bits)
    """
    index = _episode_index(frames)
    out = pd.DataFrame(index=index)
    first = _first_ballots(frames)
    day, night = first[first["vote"] == "day"], first[first["vote"] == "night"]
    d_votes = day[day["actor_role"] == "faithful"]
    n_votes = night[night["actor_role"] == "traitor"]
    out["tas"] = _agreement(n_votes)
    out["fas"] = _agreement(d_votes)
    hit = d_votes.assign(hit=(d_votes["target_role"] == "traitor").to_numpy(bool))
    out["fcr"] = hit.groupby([EP, RND], sort=False)["hit"].mean().groupby(level=0).mean()

    players = frames.players
    alive = players.groupby([EP, "role"])["survived"].mean().unstack()
    # Survival at a truncation says who was still in a game nobody won: it is reported on its
    # own, never pooled with the survival of decided games.
    decided = frames.episodes.set_index(EP)["winner"].notna().reindex(index, fill_value=False)
    for column, role in (("tsr", "traitor"), ("fsr", "faithful")):
        survived = alive.get(role, pd.Series(np.nan, index=index)).reindex(index)
        out[column] = survived.where(decided)
        out[f"{column}_undecided"] = survived.where(~decided)

    rounds = frames.rounds.set_index([EP, RND])
    votes = frames.votes
    deciding_night = votes[(votes["vote"] == "night") & votes["final_ballot"] & (votes["actor_role"] == "traitor")]
    if not deciding_night.empty:
        victim = rounds["murdered"].reindex(pd.MultiIndex.from_arrays([deciding_night[EP], deciding_night[RND]]))
        victim_role = rounds["murdered_role"].reindex(victim.index)
        ok = (deciding_night["target"].to_numpy(object) == victim.to_numpy(object)) & (
            victim_role.to_numpy(object) == "faithful"
        )
        per_round = pd.DataFrame({EP: deciding_night[EP], RND: deciding_night[RND], "ok": ok})
        out["des"] = per_round.groupby([EP, RND], sort=False)["ok"].all().astype(float).groupby(level=0).mean()
    with_day = frames.rounds[frames.rounds["day_ballots"] > 0]
    out["misbanish"] = (with_day["banished_role"] == "faithful").astype(float).groupby(with_day[EP]).mean()

    if not d_votes.empty:
        counts = d_votes.groupby([EP, RND, "target"], sort=False).size()
        top = counts.groupby(level=[0, 1], sort=False).transform("max")
        is_mode = (counts == top).reindex(pd.MultiIndex.from_arrays([d_votes[EP], d_votes[RND], d_votes["target"]]))
        correct = (d_votes["target_role"] == "traitor").to_numpy(bool)
        broke = correct & ~is_mode.to_numpy(bool)
        per_round = pd.DataFrame({EP: d_votes[EP], RND: d_votes[RND], "correct": correct, "broke": broke})
        sums = per_round.groupby([EP, RND], sort=False)[["correct", "broke"]].sum()
        sums = sums[sums["correct"] > 0]
        out["brr"] = (sums["broke"] / sums["correct"]).groupby(level=0).mean()

    if not day.empty:
        previous = day[[EP, RND, "actor", "target"]].assign(**{RND: day[RND] + 1})
        pairs = day[[EP, RND, "actor", "target"]].merge(previous, on=[EP, RND, "actor"], suffixes=("", "_prev"))
        switched = (pairs["target"] != pairs["target_prev"]).astype(float)
        out["vsf"] = switched.groupby(pairs[EP]).mean()
        shares = day.groupby([EP, RND, "target"], sort=False).size()
        p = shares / shares.groupby(level=[0, 1], sort=False).transform("sum")
        entropy = (-(p * np.log2(p))).groupby(level=[0, 1], sort=False).sum()
        out["vote_entropy"] = entropy.groupby(level=0).mean()
    for column in (
        *("tas", "fas", "fcr", "tsr", "fsr", "tsr_undecided", "fsr_undecided"),
        *("des", "misbanish", "brr", "vsf", "vote_entropy"),
    ):
        if column not in out:
            out[column] = np.nan
    return out.astype(float)


def outcome_metrics(frames: Frames) -> pd.DataFrame:
    """Win indicators and game length, one row per episode.

    ``faithful_win``, ``traitors_win`` (1/0 in decided games, NaN in undecided ones, so a
    win rate is over games someone won), ``undecided`` (1/0 over all games), ``rounds``
    (last round reached) and ``steps`` (actions).
    """
    episodes = frames.episodes.set_index(EP)
    winner = episodes["winner"]
    decided = winner.notna()
    return pd.DataFrame(
        {
            "faithful_win": (winner == "faithful").astype(float).where(decided),
            "traitors_win": (winner == "traitors").astype(float).where(decided),
            "undecided": winner.isna().astype(float),
            "rounds": episodes["rounds"].astype(float),
            "steps": episodes["steps"].astype(float),
        },
        index=pd.Index(episodes.index, name=EP),
    )


def round_vote_metrics(frames: Frames) -> pd.DataFrame:
    """Per (episode, round) vote metrics, for curves over rounds.

    Columns: ``fcr`` (share of D_r naming a traitor), ``fas``, ``vote_entropy`` (bits),
    ``misbanish`` (1 if a faithful player was banished, 0 if a traitor or nobody was, missing
    if there was no day vote) and ``n_alive``.
    """
    rounds = frames.rounds.set_index([EP, RND])
    out = pd.DataFrame(index=rounds.index)
    out["n_alive"] = rounds["n_alive"].astype(float)
    first = _first_ballots(frames)
    day = first[first["vote"] == "day"]
    d_votes = day[day["actor_role"] == "faithful"]
    out["fcr"] = (d_votes["target_role"] == "traitor").groupby([d_votes[EP], d_votes[RND]]).mean()
    if not d_votes.empty:
        size = d_votes.groupby([EP, RND]).size()
        top = d_votes.groupby([EP, RND, "target"]).size().groupby(level=[0, 1]).max()
        out["fas"] = top / size
    if not day.empty:
        shares = day.groupby([EP, RND, "target"]).size()
        p = shares / shares.groupby(level=[0, 1]).transform("sum")
        out["vote_entropy"] = (-(p * np.log2(p))).groupby(level=[0, 1]).sum()
    with_day = rounds["day_ballots"] > 0
    out["misbanish"] = (rounds["banished_role"] == "faithful").astype(float).where(with_day)
    for column in ("fcr", "fas", "vote_entropy"):
        if column not in out:
            out[column] = np.nan
    return out.astype(float)


TIME_TO_EVENT = {
    "first detection (votes)": "first round in which at least half the faithful day votes name one traitor",
    "first detection (beliefs)": "first round in which the faithful's mean P(traitor) for one traitor reaches 0.5",
    "first traitor banished": "first round in which a traitor is banished (traitor survival)",
}
"""The Traitors' time-to-event metrics, one unit per episode (see :func:`time_to_event`)."""


def time_to_event(frames: Frames) -> pd.DataFrame:
    """Per (event, episode): the round of the event, or the censoring round, for Kaplan-Meier.

    The unit is the episode (the independent unit: the traitors of one game are not), so
    each event is the *first* one of the game (:data:`TIME_TO_EVENT`). An episode in which
    the event did not happen is censored at its last round (``observed`` False): undecided
    (truncated) games and decided games alike stop being watched when they end, and are
    never counted as an event. Belief detection is only for episodes that asked for beliefs.

    Returns:
        Columns ``event``, ``episode_id``, ``duration`` (rounds), ``observed`` and ``unit``.
    """
    from alignsim.analysis.trust import detection_times

    columns = ["event", EP, "duration", "observed", "unit"]
    episodes = frames.episodes.set_index(EP)
    if episodes.empty:
        return pd.DataFrame(columns=columns)
    last = episodes["rounds"].astype(float)
    times = detection_times(frames)
    firsts = times.groupby(EP)[["ttd_votes", "ttd_beliefs", "banished_round"]].min()
    parts = []
    for event, column in zip(TIME_TO_EVENT, ("ttd_votes", "ttd_beliefs", "banished_round"), strict=True):
        index = episodes.index
        if column == "ttd_beliefs":
            index = index[episodes["belief_reports"].fillna(False).astype(bool).to_numpy()]
        first = firsts[column].reindex(index) if column in firsts else pd.Series(np.nan, index=index)
        observed = first.notna()
        parts.append(
            pd.DataFrame(
                {
                    "event": event,
                    EP: index,
                    "duration": first.where(observed, last.reindex(index)).to_numpy(float),
                    "observed": observed.to_numpy(bool),
                    "unit": "episode",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[columns]
