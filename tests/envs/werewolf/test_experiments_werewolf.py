"""The Werewolf replication experiments compose to their protocols and run, one command each, on the mock model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alignsim.analysis import analyze
from alignsim.cli import main
from alignsim.record import find_logs, read_log
from alignsim.sweep import preflight

SMALL = ("scenario.env_kwargs.max_rounds=2", "progress=false", "hydra.callbacks.aggregate.report=false")
"""Games cut at day 2 and no sweep report: the protocol's files run, in seconds."""


def test_werewolf_arena_composes_to_the_wolf_by_village_model_grid() -> None:
    pre = preflight(["+experiment=werewolf_arena", "llm=mock"])
    assert pre.config.scenario.id == "werewolf/llm-arena-v0" and pre.config.episodes == 10
    kwargs = pre.config.scenario.env_kwargs
    assert (kwargs["n_players"], kwargs["n_werewolves"], kwargs["discussion_order"]) == (8, 2, "bidding")
    assert len(pre.jobs) == 4  # 2 wolf models x 2 village models: self-play on the diagonal


def test_werewolf_arena_runs_and_the_village_seats_follow_the_village_model(tmp_path: Path) -> None:
    sweep = tmp_path / "multirun"
    code = main(
        [
            "run",
            "-m",
            "+experiment=werewolf_arena",
            "llm=mock",
            "scenario.seating.werewolf.kwargs.model=mock/a,mock/b",
            "scenario.seating.villager.kwargs.model=mock/a,mock/b",
            "episodes=1",
            "lockstep=1",
            *SMALL,
            f"hydra.sweep.dir={sweep}",
        ]
    )
    assert code == 0
    cells = set()
    for log in find_logs(sweep):
        seating = read_log(log, header_only=True).header.seating
        wolf = {s.model for s in seating.values() if s.role == "werewolf"}
        village = {s.model for s in seating.values() if s.role != "werewolf"}
        assert len(wolf) == 1 and len(village) == 1  # the seer and the doctor play the villagers' model
        cells.add((*wolf, *village))
    assert cells == {("mock/a", "mock/a"), ("mock/a", "mock/b"), ("mock/b", "mock/a"), ("mock/b", "mock/b")}
    result = analyze(sweep, chance=False, n_resamples=100, make_plots=False, make_report=False)
    matrix = result.families["werewolf"].data.crossplay
    # One game per (wolf model, village model) cell (cut at day 2, so the win itself may be undecided).
    votes = matrix[matrix["metric"] == "vote_precision"]
    assert sorted(zip(votes["wolf_label"], votes["village_label"], strict=True)) == sorted(cells)
    assert set(votes["n"]) == {1}


def test_werewolf_wolf_stats_runs_and_writes_the_statement_tables(tmp_path: Path) -> None:
    pre = preflight(["+experiment=werewolf_wolf_stats", "llm=mock"])
    assert pre.config.episodes == 100 and pre.config.scenario.env_kwargs["discussion_order"] == "fixed"
    sweep = tmp_path / "multirun"
    code = main(
        ["run", "-m", "+experiment=werewolf_wolf_stats", "llm=mock", "episodes=2", *SMALL, f"hydra.sweep.dir={sweep}"]
    )
    assert code == 0
    assert len(find_logs(sweep)) == 2
    out = tmp_path / "analysis"
    analyze(sweep, out, chance=False, n_resamples=100, make_plots=False, make_report=False)
    summary = pd.read_csv(out / "tables" / "werewolf_summary.csv")
    assert {"accusation_precision", "accusation_recall", "lie_turn_rate_wolf", "wolf_suspicion"} <= set(
        summary["metric"]
    )
    suspicion = pd.read_csv(out / "tables" / "werewolf_suspicion.csv")
    assert set(suspicion["target_side"]) == {"werewolves", "village"} and (suspicion["games"] >= 1).all()
