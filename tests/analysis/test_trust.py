"""Trust graphs and their metrics on hand-built logs, checked by hand and against networkx.

Suspicion edges of game A (first-ballot day votes + public accusations, rounds >= 1, both
ends alive at the start of the round):
  r1: p0->p2 p1->p2 p2->p0 p3->p2 p4->p0 p5->p0 p6->p1 p6->p2 (c9, after the banishment)
      trust: p1->p0 (c3 vouches; p3 vouches for p2 after the reveal but also suspects p2)
  r2: p0->p3 p1->p3 p3->p0 p5->p0 p6->p0;  trust: p5->p1
  r3: p1->p5 p5->p1 p6->p1
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from alignsim.analysis import load_frames
from alignsim.analysis.metrics import episode_table
from alignsim.analysis.trust import round_trust_metrics, trust_edges, trust_graphs, trust_repair, write_graphs
from tests.analysis.builders import LogBuilder, game_a, p


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("game_a_trust")
    game_a(folder)
    return load_frames(folder)


def test_graphs_per_round(frames) -> None:
    graphs = trust_graphs(frames, "hand-a")
    assert sorted(graphs) == [1, 2, 3]
    assert graphs[1].number_of_nodes() == 7 and graphs[2].number_of_nodes() == 5 and graphs[3].number_of_nodes() == 3
    suspicion = {r: {(u, v) for u, v, d in g.edges(data=True) if d["suspects"]} for r, g in graphs.items()}
    assert suspicion[1] == {
        (p(0), p(2)),
        (p(1), p(2)),
        (p(2), p(0)),
        (p(3), p(2)),
        (p(4), p(0)),
        (p(5), p(0)),
        (p(6), p(1)),
        (p(6), p(2)),
    }
    assert graphs[1].edges[p(1), p(0)]["trusts"] and graphs[2].edges[p(5), p(1)]["trusts"]
    assert graphs[1].edges[p(2), p(0)]["belief"] == pytest.approx(0.8)
    assert graphs[1].nodes[p(2)]["fate"] == "banished" and graphs[1].nodes[p(4)]["fate"] == "murdered"
    assert graphs[1].nodes[p(0)]["role"] == "traitor"


def test_round_metrics_by_hand(frames) -> None:
    m = round_trust_metrics(frames).loc["hand-a"]
    # Reciprocity: r1 p0<->p2 (2 of 8 edges); r2 p0<->p3 (2 of 5); r3 p1<->p5 (2 of 3).
    assert m["reciprocity"].tolist() == pytest.approx([2 / 8, 2 / 5, 2 / 3])
    # Clustering r1: one triangle p1-p2-p6; local C: p1 1, p6 1, p2 2*1/(4*3) = 1/6, others 0.
    assert m["clustering"].tolist() == pytest.approx([(1 + 1 + 1 / 6) / 7, 0.0, 0.0])
    # Stability r2 on players alive in r1 and r2 (p0 p1 p3 p5 p6): r1 edges {p5->p0, p6->p1},
    # r2 edges {p0->p3, p1->p3, p3->p0, p5->p0, p6->p0}: 1 shared of 6 -> 1/6. r3 on {p1 p5 p6}:
    # r2 has none there, r3 has 3 -> 0.
    assert np.isnan(m["stability"].iloc[0])
    assert m["stability"].tolist()[1:] == pytest.approx([1 / 6, 0.0])
    # Belief stability r2 vs r1 over the 8 (reporter, subject) pairs reported both times:
    # p3->{p0,p1,p5,p6}: (0.9,0.3) (0.5,0.2) (0.1,0.1) (0.1,0.1); p0->{p1,p3,p5,p6}: (1,1) (0,0) x3.
    # Pearson r = 0.8375 / sqrt(1.235 * 0.78875) = 0.848558.
    assert m["belief_stability"].iloc[1] == pytest.approx(0.8375 / np.sqrt(1.235 * 0.78875))
    table = episode_table(frames).set_index("episode_id").loc["hand-a"]
    assert table["tns"] == pytest.approx((1 / 6 + 0) / 2)
    assert table["tns_belief"] == pytest.approx(0.8375 / np.sqrt(1.235 * 0.78875))
    assert table["reciprocity"] == pytest.approx((2 / 8 + 2 / 5 + 2 / 3) / 3)


def test_vectorised_metrics_match_networkx(frames, run_dir: Path) -> None:
    from alignsim.run import run

    run("traitors/random-v0", seed=3, episodes=3, out_dir=run_dir)
    generated = load_frames(run_dir)
    for source in (frames, generated):
        edges = trust_edges(source)
        metrics = round_trust_metrics(source, edges)
        for episode_id in source.episodes["episode_id"]:
            for r, graph in trust_graphs(source, episode_id, edges).items():
                suspicion = nx.DiGraph()
                suspicion.add_nodes_from(graph.nodes)
                suspicion.add_edges_from((u, v) for u, v, d in graph.edges(data=True) if d["suspects"])
                row = metrics.loc[(episode_id, r)]
                expected = nx.overall_reciprocity(suspicion) if suspicion.number_of_edges() else np.nan
                assert row["reciprocity"] == pytest.approx(expected, nan_ok=True)
                assert row["clustering"] == pytest.approx(nx.average_clustering(suspicion.to_undirected()))


def test_export_graphml_and_json(frames, tmp_path: Path) -> None:
    graphs = trust_graphs(frames, "hand-a")
    written = write_graphs(graphs, tmp_path, "hand-a")
    assert len(written) == 4
    again = nx.read_graphml(tmp_path / "hand-a-round2.graphml")
    assert set(again.edges) == set(graphs[2].edges)
    data = json.loads((tmp_path / "hand-a.json").read_text())
    assert sorted(data) == ["1", "2", "3"] and len(data["3"]["edges"]) == 3


def test_trust_repair_across_episodes(tmp_path: Path) -> None:
    """A 4-seat population over 3 episodes; p0 is exposed as a traitor in episode 0.

    Round-1 share of the other 3 players suspecting p0: episode 0: 3/3, episode 1: 3/3,
    episode 2: 0/3. With max_lag=1 only episode 1 follows the exposure, so p0's baseline is
    the mean of episodes 0 and 2 = 0.5, and the excess at lag 1 is 1.0 - 0.5 = 0.5.
    """
    roles = [{p(0): "traitor"}, {p(1): "traitor"}, {p(2): "traitor"}]
    votes = [
        {p(0): p(1), p(1): p(0), p(2): p(0), p(3): p(0)},
        {p(0): p(3), p(1): p(0), p(2): p(0), p(3): p(0)},
        {p(0): p(1), p(1): p(2), p(2): p(1), p(3): p(1)},
    ]
    banished = [p(0), p(0), None]
    for index in range(3):
        all_roles = {p(i): "faithful" for i in range(4)} | roles[index]
        b = LogBuilder(tmp_path / f"e{index}.jsonl", all_roles, episode_index=index)
        b.at(1, "day_vote")
        b.vote("day", votes[index])
        b.result("day", banished[index])
        if banished[index]:
            b.eliminate(banished[index], "banished")
        b.end("faithful" if index == 0 else None)
    repair = trust_repair(load_frames(tmp_path), max_lag=1)
    row = repair[(repair["lag"] == 1) & (repair["round"] == 1)]
    assert row["agent"].tolist() == [p(0)]
    assert row["suspected_by"].iloc[0] == pytest.approx(1.0)
    assert row["baseline"].iloc[0] == pytest.approx(0.5)
    assert row["excess"].iloc[0] == pytest.approx(0.5)
