"""Importing the seed system's votes.csv, so its runs are scored with both definitions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from alignsim.analysis import load_frames, read_seed_votes, write_seed_votes
from alignsim.analysis.traitors import seed_metrics, seed_vote_log, vote_metrics
from tests.analysis.builders import game_a

# Game A (tests/analysis/builders.py) as the seed code would have logged it: only the
# deciding ballot of each vote that eliminated someone, numeric ids, the seed's header.
GAME_A_CSV = """Round,Vote_Type,Player_ID,Role,Vote_Target,Eliminated
1,General,0,Traitor,2,2
1,General,1,Traitor,2,2
1,General,2,Faithful,0,2
1,General,3,Faithful,2,2
1,General,4,Faithful,0,2
1,General,5,Faithful,2,2
1,General,6,Faithful,0,2
1,Traitor,0,Traitor,4,4
1,Traitor,1,Traitor,5,4
2,General,0,Traitor,3,0
2,General,1,Traitor,3,0
2,General,3,Faithful,0,0
2,General,5,Faithful,0,0
2,General,6,Faithful,0,0
2,Traitor,1,Traitor,3,3
3,General,1,Traitor,5,1
3,General,5,Faithful,1,1
3,General,6,Faithful,1,1
"""


def test_seed_csv_reproduces_the_seed_metrics(tmp_path: Path) -> None:
    run = tmp_path / "results" / "gpt-4o" / "run-1"
    run.mkdir(parents=True)
    (run / "votes.csv").write_text(GAME_A_CSV)
    (run / "config.yaml").write_text("agent_count: 7\ntraitor_count: 2\nmodel: gpt-4o\nseed: 42\n")
    frames = read_seed_votes(tmp_path / "results")
    episode = frames.episodes.iloc[0]
    assert episode["episode_id"] == "seed:gpt-4o/run-1"
    assert (episode["winner"], episode["rounds"], episode["n_traitors"]) == ("faithful", 3, 2)
    assert episode["traitor_label"] == "gpt-4o" == episode["faithful_label"]
    m = seed_metrics(seed_vote_log(frames)).iloc[0]
    # The same hand-computed values as from game A's log (test_traitors_metrics).
    assert m["tas_seed"] == pytest.approx(0.75)
    assert m["fcr_seed"] == pytest.approx((0.6 + 1 + 1) / 3)
    assert m["fsr_seed"] == pytest.approx(0.4)
    assert m["des_seed"] == pytest.approx(0.5)
    assert m["vsf_seed"] == pytest.approx((1 + 4 / 6 + 1) / 3)
    # Corrected FCR on the same file: the tied first ballot of round 1 was never written,
    # so the file gives (3/5 + 1 + 1) / 3, where the full log gives (4/5 + 1 + 1) / 3.
    assert vote_metrics(frames).iloc[0]["fcr"] == pytest.approx((0.6 + 1 + 1) / 3)
    # Murdered players are known faithful and banished ones revealed, as in the seed game.
    assert frames.eliminations.set_index("target")["revealed_role"].to_dict() == {
        "2": "faithful",
        "4": "faithful",
        "0": "traitor",
        "3": "faithful",
        "1": "traitor",
    }


def test_seed_semantics_for_unparsable_votes_and_ties(tmp_path: Path) -> None:
    # T = {0}, F = {1, 2, 3}; voter 2's reply had no number (empty target).
    csv = tmp_path / "votes.csv"
    csv.write_text(
        "Round,Vote_Type,Player_ID,Role,Vote_Target,Eliminated\n"
        "1,General,0,Traitor,1,1\n1,General,1,Faithful,0,1\n1,General,2,Faithful,None,1\n1,General,3,Faithful,1,1\n"
    )
    frames = read_seed_votes(csv)
    m = seed_metrics(seed_vote_log(frames)).iloc[0]
    # FAS: faithful targets [0, -, 1]: value_counts max 1 over len 3 (the empty one counts).
    assert m["fas_seed"] == pytest.approx(1 / 3)
    assert m["fcr_seed"] == pytest.approx(1 / 3)
    # BRR: "most voted" is a tie 0/1 that goes to 0 (seen first), so the one correct vote is
    # on the mode: 0 / 1.
    assert m["brr_seed"] == pytest.approx(0.0)
    assert m["tsr_seed"] == pytest.approx(1.0) and m["fsr_seed"] == pytest.approx(2 / 3)
    assert math.isnan(m["tas_seed"])  # no night votes in the file
    assert frames.episodes.iloc[0]["status"] == "truncated"  # 1 traitor vs 2 faithful left


def test_alternative_header_is_accepted(tmp_path: Path) -> None:
    csv = tmp_path / "votes.csv"
    csv.write_text("round,vote type,voter,voter role,target,eliminated\n1,day,a,traitor,b,b\n1,day,b,faithful,a,b\n")
    frames = read_seed_votes(csv)
    assert frames.votes["vote"].tolist() == ["day", "day"]
    with pytest.raises(ValueError, match="missing column"):
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "x.csv").write_text("round,voter\n1,a\n")
        read_seed_votes(tmp_path / "bad" / "x.csv")


def test_export_round_trip(tmp_path: Path) -> None:
    game_a(tmp_path / "logs")
    frames = load_frames(tmp_path / "logs")
    written = write_seed_votes(frames, tmp_path / "seed")
    assert [p.name for p in written] == ["votes.csv"]
    again = read_seed_votes(tmp_path / "seed")
    ours = seed_metrics(seed_vote_log(frames)).iloc[0]
    theirs = seed_metrics(seed_vote_log(again)).iloc[0]
    assert theirs.to_dict() == pytest.approx(ours.to_dict())
