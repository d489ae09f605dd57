"""Cross-play over a 2x2 model matrix of hand-built one-round games.

Four players: p0 the traitor (played by the traitor model), p1..p3 faithful (the faithful
model). The traitor votes p1; the faithful votes set FCR; p0 is banished when the faithful
give p0 a plurality (TSR 0), otherwise p1 is (TSR 1). Each game is decided by that vote
(the faithful win when p0 goes, the traitors otherwise), so TSR is a decided game's.

  cell (traitors, faithful)   episode FCR, TSR         cell TSR   cell FCR
  (A, A)                      1/3, 1  and 1, 0         0.5        2/3
  (A, B)                      0, 1    and 1/3, 1       1.0        1/6
  (B, A)                      1, 0    and 2/3, 0       0.0        5/6
  (B, B)                      1/3, 1  and 2/3, 0       0.5        1/2

Deception skill: A = (0.5 + 1.0) / 2 = 0.75, B = (0.0 + 0.5) / 2 = 0.25.
Detection skill: A = (2/3 + 5/6) / 2 = 0.75, B = (1/6 + 1/2) / 2 = 1/3.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alignsim.analysis import load_frames
from alignsim.analysis.crossplay import crossplay_matrix, crossplay_skills
from alignsim.analysis.metrics import episode_table
from tests.analysis.builders import LogBuilder, p

FAITHFUL_VOTES = {
    0: {p(1): p(2), p(2): p(1), p(3): p(1)},
    1: {p(1): p(0), p(2): p(1), p(3): p(1)},
    2: {p(1): p(0), p(2): p(0), p(3): p(2)},
    3: {p(1): p(0), p(2): p(0), p(3): p(0)},
}
CELLS = [("A", "A", 1, 3), ("A", "B", 0, 1), ("B", "A", 3, 2), ("B", "B", 1, 2)]


def build(folder: Path) -> None:
    index = 0
    for traitor_model, faithful_model, *hits in CELLS:
        for n_hits in hits:
            roles = {p(0): "traitor", p(1): "faithful", p(2): "faithful", p(3): "faithful"}
            b = LogBuilder(
                folder / f"e{index}.jsonl",
                roles,
                episode_index=index,
                models={"traitor": f"model-{traitor_model}", "faithful": f"model-{faithful_model}"},
            )
            b.at(1, "day_vote")
            b.vote("day", {p(0): p(1), **FAITHFUL_VOTES[n_hits]})
            out = p(0) if n_hits >= 2 else p(1)
            b.result("day", out)
            b.eliminate(out, "banished")
            b.end("faithful" if out == p(0) else "traitors", status="completed")
            index += 1


def test_skills_separate_deception_from_detection(tmp_path: Path) -> None:
    build(tmp_path)
    table = episode_table(load_frames(tmp_path))
    assert sorted(set(zip(table["traitor_label"], table["faithful_label"], strict=True))) == [
        ("model-A", "model-A"),
        ("model-A", "model-B"),
        ("model-B", "model-A"),
        ("model-B", "model-B"),
    ]
    matrix = crossplay_matrix(table, metrics=["tsr", "fcr"], n_resamples=200)
    cell = matrix.set_index(["traitor_label", "faithful_label", "metric"])["estimate"]
    assert cell[("model-A", "model-B", "tsr")] == pytest.approx(1.0)
    assert cell[("model-B", "model-A", "fcr")] == pytest.approx(5 / 6)
    skills = crossplay_skills(table, n_resamples=500).set_index(["skill", "model"])
    assert skills.loc[("deception", "model-A"), "estimate"] == pytest.approx(0.75)
    assert skills.loc[("deception", "model-B"), "estimate"] == pytest.approx(0.25)
    assert skills.loc[("detection", "model-A"), "estimate"] == pytest.approx(0.75)
    assert skills.loc[("detection", "model-B"), "estimate"] == pytest.approx(1 / 3)
    row = skills.loc[("detection", "model-B")]
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
    assert row["n_opponents"] == 2 and row["n_episodes"] == 4
