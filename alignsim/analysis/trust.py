"""Trust and suspicion graphs over rounds, and the metrics read off them.

Each round r of an episode has a directed graph on the players alive at the start of the
round. An edge i -> j carries what i showed about j in that round:

* ``votes``: i's first-ballot day vote named j;
* ``accusations``: public claims by i that j is a traitor;
* ``defences``: public claims by i that j is faithful;
* ``belief``: i's reported P(j is a traitor), when the game asks for belief reports.

i **suspects** j in round r when ``votes + accusations > 0``; i **trusts** j when
``defences > 0`` and i does not suspect j. Claims made during the introductions (round 0)
are not part of any round's graph. Edges involving players dead at the start of the round
are dropped.

:func:`trust_graphs` returns these as :class:`networkx.DiGraph` objects (one per round) for
plotting and export (:func:`write_graphs`: GraphML and node-link JSON). The per-round
metrics (:func:`round_trust_metrics`) are computed for all episodes at once on adjacency
tensors, because building tens of thousands of networkx graphs takes minutes; they follow
networkx's definitions, and a test checks them against networkx:

* ``reciprocity``: share of suspicion edges whose reverse is also an edge
  (``nx.overall_reciprocity``);
* ``clustering``: mean local clustering coefficient of the undirected suspicion graph over
  the living players, isolated players counting 0 (``nx.average_clustering``);
* ``stability`` (corrected TNS): Jaccard similarity of the suspicion edge sets of rounds
  r-1 and r, on the players alive at the start of both; undefined when both are empty;
* ``belief_stability``: Pearson correlation of the belief matrices of rounds r-1 and r over
  the (reporter, subject) pairs reported in both;
* ``traitor_mass``: mean over faithful reporters of the share of their reported suspicion
  that falls on living traitors, sum_{j in T} b_ij / sum_j b_ij.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from alignsim.analysis.frames import Frames

__all__ = [
    "detection_times",
    "round_detection",
    "round_trust_metrics",
    "suspicion_received",
    "trust_edges",
    "trust_graphs",
    "trust_repair",
    "write_graphs",
]

EP, RND = "episode_id", "round"
_CHUNK = 4096
"""Graphs processed per block of the adjacency tensors (bounds memory)."""


def trust_edges(frames: Frames) -> pd.DataFrame:
    """One row per (episode, round, source, target) with any signal between them.

    Columns: ``episode_id, round, source, target, votes, accusations, defences, belief,
    suspects, trusts`` (see the module docstring). Computed once per frames object.
    """
    return frames.cached("trust_edges", lambda: _trust_edges(frames))


def _trust_edges(frames: Frames) -> pd.DataFrame:
    votes = frames.votes
    day = votes[(votes["vote"] == "day") & (votes["ballot"] == 1) & votes["target"].notna()]
    parts = [pd.DataFrame({EP: day[EP], RND: day[RND], "source": day["actor"], "target": day["target"], "votes": 1.0})]
    claims = frames.claims
    about = claims[(claims["channel"] == "public") & (claims["subject"] != claims["speaker"]) & (claims[RND] >= 1)]
    accuse = about["claimed_role"] == "traitor"
    parts.append(
        pd.DataFrame(
            {
                EP: about[EP],
                RND: about[RND],
                "source": about["speaker"],
                "target": about["subject"],
                "accusations": accuse.astype(float),
                "defences": (~accuse).astype(float),
            }
        )
    )
    beliefs = frames.beliefs
    parts.append(
        pd.DataFrame(
            {
                EP: beliefs[EP],
                RND: beliefs[RND],
                "source": beliefs["actor"],
                "target": beliefs["subject"],
                "belief": beliefs["prob"],
            }
        )
    )
    edges = pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True)
    for column in ("votes", "accusations", "defences", "belief"):
        if column not in edges:
            edges[column] = np.nan
    keys = [EP, RND, "source", "target"]
    edges = (
        edges.groupby(keys, sort=False)
        .agg(
            votes=("votes", "sum"),
            accusations=("accusations", "sum"),
            defences=("defences", "sum"),
            belief=("belief", "last"),
        )
        .reset_index()
    )
    # Only players alive at the start of the round are part of its graph.
    players = frames.players[[EP, "agent", "eliminated_round"]]
    for end in ("source", "target"):
        out = players.rename(columns={"agent": end, "eliminated_round": f"{end}_out"})
        edges = edges.merge(out, on=[EP, end], how="left")
    alive = (edges["source_out"].isna() | (edges["source_out"] >= edges[RND])) & (
        edges["target_out"].isna() | (edges["target_out"] >= edges[RND])
    )
    edges = edges[alive.to_numpy(bool)].drop(columns=["source_out", "target_out"])
    edges["suspects"] = (edges["votes"] + edges["accusations"]) > 0
    edges["trusts"] = (edges["defences"] > 0) & ~edges["suspects"]
    return edges.sort_values(keys).reset_index(drop=True)


def trust_graphs(frames: Frames, episode_id: str, edges: pd.DataFrame | None = None) -> dict[int, nx.DiGraph]:
    """The trust/suspicion graph of every round of one episode, as networkx digraphs.

    Nodes are the players alive at the start of the round, with attributes ``role`` (ground
    truth), ``fate`` (``banished``/``murdered`` if eliminated in this round, else ``""``);
    edges carry ``votes``, ``accusations``, ``defences``, ``suspects``, ``trusts`` and, when
    reported, ``belief``. Graph attributes: ``episode_id``, ``round``.
    """
    edges = trust_edges(frames.select([episode_id])) if edges is None else edges[edges[EP] == episode_id]
    players = frames.players[frames.players[EP] == episode_id]
    rounds = frames.rounds[frames.rounds[EP] == episode_id]
    graphs: dict[int, nx.DiGraph] = {}
    for r in rounds[RND].tolist():
        graph = nx.DiGraph(episode_id=episode_id, round=int(r))
        for row in players.itertuples(index=False):
            out = row.eliminated_round
            if pd.isna(out) or out >= r:
                fate = row.elimination_cause if (not pd.isna(out) and out == r) else ""
                graph.add_node(row.agent, role=row.role, fate=fate)
        for row in edges[edges[RND] == r].itertuples(index=False):
            attributes: dict[str, int | bool | float] = {
                "votes": int(row.votes),
                "accusations": int(row.accusations),
                "defences": int(row.defences),
                "suspects": bool(row.suspects),
                "trusts": bool(row.trusts),
            }
            if not pd.isna(row.belief):
                attributes["belief"] = float(row.belief)
            graph.add_edge(row.source, row.target, **attributes)
        graphs[int(r)] = graph
    return graphs


def write_graphs(graphs: dict[int, nx.DiGraph], out_dir: str | os.PathLike[str], stem: str) -> list[Path]:
    """Write each round's graph as ``<stem>-round<r>.graphml`` and all rounds as ``<stem>.json``
    (networkx node-link data, one entry per round)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for r, graph in graphs.items():
        path = out / f"{stem}-round{r}.graphml"
        nx.write_graphml(graph, path)
        written.append(path)
    path = out / f"{stem}.json"
    data = {str(r): nx.node_link_data(g, edges="edges") for r, g in graphs.items()}
    path.write_text(json.dumps(data, indent=1))
    written.append(path)
    return written


# ---------------------------------------------------------------- tensors


class _Tensors:
    """Adjacency and belief tensors, one slice per (episode, round) of ``frames.rounds``."""

    def __init__(self, frames: Frames, edges: pd.DataFrame) -> None:
        rounds = frames.rounds[[EP, RND]].reset_index(drop=True)
        self.rounds = rounds
        players = frames.players
        slot = players.groupby(EP, sort=False).cumcount()
        self.n = int(slot.max()) + 1 if len(slot) else 0
        self.index_of = pd.Series(slot.to_numpy(), index=pd.MultiIndex.from_arrays([players[EP], players["agent"]]))
        self.graph_of = pd.Series(np.arange(len(rounds)), index=pd.MultiIndex.from_arrays([rounds[EP], rounds[RND]]))
        g = len(rounds)
        # alive[g, i]: player i alive at the start of the round; exists[g, i]: player slot used.
        grid = rounds.reset_index().merge(
            players[[EP, "agent", "role", "eliminated_round"]].assign(slot=slot.to_numpy()), on=EP
        )
        alive_rows = grid["eliminated_round"].isna() | (grid["eliminated_round"] >= grid[RND])
        self.alive = np.zeros((g, self.n), dtype=bool)
        self.traitor = np.zeros((g, self.n), dtype=bool)
        self.faithful = np.zeros((g, self.n), dtype=bool)
        gi, si = grid["index"].to_numpy(), grid["slot"].to_numpy()
        self.alive[gi, si] = alive_rows.to_numpy(bool)
        self.traitor[gi, si] = (grid["role"] == "traitor").to_numpy(bool)
        self.faithful[gi, si] = (grid["role"] == "faithful").to_numpy(bool)
        self.edges = edges
        keys = pd.MultiIndex.from_arrays([edges[EP], edges[RND]])
        self.edge_graph = self.graph_of.reindex(keys).to_numpy()
        self.edge_source = self.index_of.reindex(pd.MultiIndex.from_arrays([edges[EP], edges["source"]])).to_numpy()
        self.edge_target = self.index_of.reindex(pd.MultiIndex.from_arrays([edges[EP], edges["target"]])).to_numpy()

    def blocks(self):
        """Yield ``(start, stop, suspicion, belief)`` tensors for consecutive blocks of graphs."""
        g = len(self.rounds)
        valid = ~(np.isnan(self.edge_graph) | np.isnan(self.edge_source) | np.isnan(self.edge_target))
        eg = np.where(valid, self.edge_graph, -1).astype(np.int64)
        es = np.where(valid, self.edge_source, 0).astype(np.int64)
        et = np.where(valid, self.edge_target, 0).astype(np.int64)
        suspects = self.edges["suspects"].to_numpy(bool)
        belief = self.edges["belief"].to_numpy(float)
        order = np.argsort(eg, kind="stable")
        eg, es, et, suspects, belief = eg[order], es[order], et[order], suspects[order], belief[order]
        # Each block starts one graph early, so round-to-round comparisons see the previous graph.
        for start in range(0, g, _CHUNK):
            lo, stop = max(0, start - 1), min(g, start + _CHUNK)
            a, b = np.searchsorted(eg, [lo, stop])
            sus = np.zeros((stop - lo, self.n, self.n), dtype=bool)
            bel = np.full((stop - lo, self.n, self.n), np.nan)
            sel = slice(a, b)
            sus[eg[sel] - lo, es[sel], et[sel]] = suspects[sel]
            bel[eg[sel] - lo, es[sel], et[sel]] = belief[sel]
            yield lo, start, stop, sus, bel


def round_trust_metrics(frames: Frames, edges: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (episode, round) graph metrics; see the module docstring for definitions.

    Columns: ``n_suspicion_edges``, ``reciprocity``, ``clustering``, ``stability``,
    ``belief_stability``, ``traitor_mass``.
    """
    if edges is None:
        return frames.cached("round_trust_metrics", lambda: round_trust_metrics(frames, trust_edges(frames)))
    tensors = _Tensors(frames, edges)
    rounds = tensors.rounds
    g = len(rounds)
    columns = {
        name: np.full(g, np.nan)
        for name in ("n_suspicion_edges", "reciprocity", "clustering", "stability", "belief_stability", "traitor_mass")
    }
    episode_codes = pd.factorize(rounds[EP])[0]
    for lo, start, stop, sus, bel in tensors.blocks():
        own = slice(start - lo, stop - lo)
        a = sus[own]
        alive = tensors.alive[start:stop]
        n_edges = a.sum(axis=(1, 2)).astype(float)
        mutual = (a & a.transpose(0, 2, 1)).sum(axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            columns["n_suspicion_edges"][start:stop] = n_edges
            columns["reciprocity"][start:stop] = np.where(n_edges > 0, mutual / n_edges, np.nan)
            u = (a | a.transpose(0, 2, 1)).astype(np.float32)
            idx = np.arange(tensors.n)
            u[:, idx, idx] = 0.0
            degree = u.sum(axis=2)
            triangles = ((u @ u) * u).sum(axis=2) / 2.0
            local = np.where(degree >= 2, 2.0 * triangles / (degree * (degree - 1.0)), 0.0)
            n_alive = alive.sum(axis=1)
            columns["clustering"][start:stop] = np.where(n_alive > 0, (local * alive).sum(axis=1) / n_alive, np.nan)

            # Round-to-round comparisons within the same episode.
            prev_rows = np.arange(start, stop) - 1
            same = np.zeros(stop - start, dtype=bool)
            ok = prev_rows >= 0
            same[ok] = episode_codes[prev_rows[ok]] == episode_codes[start:stop][ok]
            if same.any():
                cur_local = np.flatnonzero(same) + (start - lo)
                prev_local = cur_local - 1
                both = tensors.alive[start:stop][same] & tensors.alive[prev_rows[same]]
                mask = both[:, :, None] & both[:, None, :]
                now, before = sus[cur_local] & mask, sus[prev_local] & mask
                inter = (now & before).sum(axis=(1, 2))
                union = (now | before).sum(axis=(1, 2))
                stability = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
                columns["stability"][np.flatnonzero(same) + start] = stability
                b_now, b_before = bel[cur_local], bel[prev_local]
                common = np.isfinite(b_now) & np.isfinite(b_before)
                columns["belief_stability"][np.flatnonzero(same) + start] = _masked_pearson(b_now, b_before, common)

            # Share of faithful reporters' suspicion on living traitors.
            b = bel[own]
            reported = np.isfinite(b)
            total = np.where(reported, b, 0.0).sum(axis=2)
            on_traitors = np.where(reported & (tensors.traitor[start:stop] & alive)[:, None, :], b, 0.0).sum(axis=2)
            reporter = tensors.faithful[start:stop] & reported.any(axis=2) & (total > 0)
            share = np.where(reporter, on_traitors / np.where(total > 0, total, 1.0), 0.0)
            n_rep = reporter.sum(axis=1)
            columns["traitor_mass"][start:stop] = np.where(n_rep > 0, share.sum(axis=1) / np.maximum(n_rep, 1), np.nan)
    out = pd.DataFrame(columns)
    out.index = pd.MultiIndex.from_arrays([rounds[EP], rounds[RND]], names=[EP, RND])
    return out


def _masked_pearson(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pearson correlation of x and y over ``mask``, per leading index; NaN if undefined."""
    k = mask.sum(axis=(1, 2)).astype(float)
    xs, ys = np.where(mask, x, 0.0), np.where(mask, y, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = xs.sum(axis=(1, 2)) / k
        my = ys.sum(axis=(1, 2)) / k
        dx = np.where(mask, x - mx[:, None, None], 0.0)
        dy = np.where(mask, y - my[:, None, None], 0.0)
        cov = (dx * dy).sum(axis=(1, 2))
        var = np.sqrt((dx * dx).sum(axis=(1, 2)) * (dy * dy).sum(axis=(1, 2)))
        r = cov / var
    return np.where((k >= 3) & (var > 0), r, np.nan)


# ---------------------------------------------------------------- per player


def suspicion_received(frames: Frames, edges: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (episode, round, agent alive at the start of it): share of the other living players
    who suspected the agent that round (``suspected_by``)."""
    if edges is None:
        edges = trust_edges(frames)
    sus = edges[edges["suspects"]]
    incoming = sus.groupby([EP, RND, "target"]).size().rename("n").reset_index().rename(columns={"target": "agent"})
    grid = frames.rounds[[EP, RND, "n_alive"]].merge(frames.players[[EP, "agent", "role", "eliminated_round"]], on=EP)
    grid = grid[(grid["eliminated_round"].isna() | (grid["eliminated_round"] >= grid[RND])).to_numpy(bool)]
    grid = grid.merge(incoming, on=[EP, RND, "agent"], how="left")
    others = (grid["n_alive"] - 1).where(grid["n_alive"] > 1)
    grid["suspected_by"] = grid["n"].fillna(0) / others
    return grid[[EP, RND, "agent", "role", "suspected_by"]].reset_index(drop=True)


def detection_times(frames: Frames) -> pd.DataFrame:
    """When each traitor was detected, one row per (episode, traitor).

    * ``ttd_votes``: the first round in which at least half of the faithful players who
      cast a first-ballot day vote voted for this traitor;
    * ``ttd_beliefs``: the first round in which the faithful players' mean reported
      P(traitor) for this traitor reached 0.5;
    * ``banished_round``: the round the traitor was banished (missing if never).

    A traitor never detected has a missing time (censored: the game ended first).
    """
    players = frames.players
    traitors = players.loc[players["role"] == "traitor", [EP, "agent", "eliminated_round", "elimination_cause"]]
    out = traitors.rename(columns={"agent": "traitor"}).reset_index(drop=True)
    votes = frames.votes
    d = votes[(votes["vote"] == "day") & (votes["ballot"] == 1) & (votes["actor_role"] == "faithful")]
    voters = d.groupby([EP, RND]).size().rename("voters")
    share = d[d["target"].notna()].groupby([EP, RND, "target"]).size().rename("n").reset_index()
    share = share.join(voters, on=[EP, RND])
    hit = share[(share["n"] / share["voters"]) >= 0.5]
    first_vote = hit.groupby([EP, "target"])[RND].min().rename("ttd_votes")
    b = frames.beliefs
    fb = b[b["actor_role"] == "faithful"].groupby([EP, RND, "subject"])["prob"].mean().rename("mean_prob").reset_index()
    first_belief = fb[fb["mean_prob"] >= 0.5].groupby([EP, "subject"])[RND].min().rename("ttd_beliefs")
    key = pd.MultiIndex.from_arrays([out[EP], out["traitor"]])
    out["ttd_votes"] = pd.array(first_vote.reindex(key).to_numpy(), dtype="Float64").astype(float)
    out["ttd_beliefs"] = pd.array(first_belief.reindex(key).to_numpy(), dtype="Float64").astype(float)
    banished = out["elimination_cause"] == "banished"
    out["banished_round"] = out["eliminated_round"].astype(float).where(banished)
    return out[[EP, "traitor", "ttd_votes", "ttd_beliefs", "banished_round"]]


def round_detection(frames: Frames) -> pd.DataFrame:
    """Per (episode, round reached): the share of the dealt traitors detected by that round.

    ``detected_votes`` counts the traitors whose ``ttd_votes`` (see :func:`detection_times`)
    is at most the round; ``detected_beliefs`` the same by beliefs, only in episodes that
    asked for belief reports (missing otherwise). Index ``(episode_id, round)``. A state
    that accumulates: its curve over all games carries a game's final value past its end
    (``round_curve(..., carry="state")``).
    """
    grid = frames.rounds[[EP, RND]]
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(grid))
    times = detection_times(frames)
    dealt = frames.episodes.set_index(EP)["n_traitors"].astype(float)
    asked = frames.episodes.set_index(EP)["belief_reports"].fillna(False).astype(bool)
    for kind in ("votes", "beliefs"):
        found = times[[EP, f"ttd_{kind}"]].dropna().rename(columns={f"ttd_{kind}": "at"}).merge(grid, on=EP)
        found = found[found["at"] <= found[RND]]
        detected = found.groupby([EP, RND]).size().reindex(out.index, fill_value=0).astype(float)
        share = detected / dealt.reindex(grid[EP]).where(lambda d: d > 0).to_numpy()
        if kind == "beliefs":
            share = share.where(asked.reindex(grid[EP]).to_numpy(bool))
        out[f"detected_{kind}"] = share
    return out


def trust_repair(frames: Frames, edges: pd.DataFrame | None = None, *, max_lag: int = 3) -> pd.DataFrame:
    """Suspicion towards a seat in the episodes after it was exposed as a traitor.

    In a persistent population the same agent plays the same seat in every episode of a
    run, with whatever memory its policy keeps. A **betrayal** is a seat exposed as a
    traitor (banished, role revealed) in episode e. For each later episode e + lag of the
    same population (same run folder and scenario, in episode order), and each round,
    the seat's ``suspected_by`` share is compared with the seat's own baseline: its mean
    share in that round over the population's episodes not within ``max_lag`` after one
    of its exposures. ``excess`` > 0 means the seat is still distrusted; repair is the
    excess going back to 0. Policies without cross-episode memory should show no excess.

    Returns:
        One row per (betrayal, lag, round): ``episode_id`` (of the betrayal), ``agent``,
        ``lag``, ``round``, ``suspected_by``, ``baseline``, ``excess``.
    """
    received = suspicion_received(frames, edges)
    episodes = frames.episodes[[EP, "run_dir", "scenario", "episode_index"]].copy()
    episodes["population"] = pd.factorize(episodes["run_dir"] + "\0" + episodes["scenario"])[0]
    episodes = episodes.sort_values(["population", "episode_index"])
    episodes["position"] = episodes.groupby("population").cumcount()
    place = episodes.set_index(EP)[["population", "position"]]
    exposed = frames.players[
        (frames.players["role"] == "traitor") & (frames.players["elimination_cause"] == "banished")
    ]
    exposed = exposed[[EP, "agent"]].join(place, on=EP)
    received = received.join(place, on=EP)
    columns = [EP, "agent", "lag", RND, "suspected_by", "baseline", "excess"]
    if exposed.empty or received.empty:
        return pd.DataFrame(columns=columns)
    # Episodes within max_lag after an exposure of the seat are not part of its baseline.
    shadow = pd.concat(
        [exposed.assign(position=exposed["position"] + lag) for lag in range(1, max_lag + 1)], ignore_index=True
    )[["population", "position", "agent"]].drop_duplicates()
    marked = received.merge(shadow.assign(shadowed=True), on=["population", "position", "agent"], how="left")
    clean = marked[marked["shadowed"].isna()]
    baseline = clean.groupby(["population", "agent", RND])["suspected_by"].mean().rename("baseline")
    rows = []
    for lag in range(1, max_lag + 1):
        later = exposed.assign(position=exposed["position"] + lag)
        hit = later.merge(
            received[["population", "position", "agent", RND, "suspected_by"]],
            on=["population", "position", "agent"],
        )
        rows.append(hit.assign(lag=lag))
    result = pd.concat(rows, ignore_index=True).join(baseline, on=["population", "agent", RND])
    result["excess"] = result["suspected_by"] - result["baseline"]
    return result[columns].sort_values(["lag", RND, EP]).reset_index(drop=True)
